package ml

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestUsable(t *testing.T) {
	for _, v := range []float64{0, -0.0, 1, -1, 1e150, -1e150, math.SmallestNonzeroFloat64, 12345.678} {
		if !Usable(v) {
			t.Errorf("Usable(%v) = false", v)
		}
	}
	for _, v := range []float64{math.Nextafter(1e150, math.Inf(1)), -math.Nextafter(1e150, math.Inf(1)), 1.3e154, -1e300,
		math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
		if Usable(v) {
			t.Errorf("Usable(%v) = true", v)
		}
	}
}

func TestValueError(t *testing.T) {
	err := ValueError(RowName(2), "x", 1e200)
	wantInputError(t, err, "row 3", `column "x"`, "1e+200", "finite", "±1e+150")
	// A string is quoted, so that a cell's spaces show.
	wantInputError(t, ValueError(RowName(0), "b", " inf"), "row 1", `" inf"`)
}

func TestRowNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{RowName(0), "row 1"},
		{RowName(41), "row 42"},
		{RowAtLine(0, 1), "row 1"},
		{RowAtLine(2, 4), "row 3 (line 4)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCheckUsable(t *testing.T) {
	cols := []*Column{
		NewNumeric("a", []float64{1, math.NaN(), 3, 2e150}),
		NewCategorical("c", []int32{0, 0, 0, 0}, []string{"1e999"}), // text: not checked
		NewNumeric("b", []float64{1e150, -1e150, math.Inf(-1), 4}),
	}
	// The first refused value by row, whichever column it is in.
	wantInputError(t, CheckUsable(cols, nil), "row 3", `"b"`, "-Inf")
	wantInputError(t, CheckUsable(cols, []int{0, 1, 3}), "row 4", `"a"`, "2e+150")
	if err := CheckUsable(cols, []int{0, 1}); err != nil {
		t.Errorf("rows 1 and 2 (NaN is missing, ±1e150 allowed): %v", err)
	}
}

func TestCheckClassLabels(t *testing.T) {
	for _, values := range [][]float64{{0, 1, 1, 0}, {1, 2, 3, 10}, {-3, 7, math.NaN(), 1e15}} {
		if err := CheckClassLabels(NewNumeric("y", values), nil); err != nil {
			t.Errorf("%v: %v", values, err)
		}
	}
	err := CheckClassLabels(NewNumeric("y", []float64{1, 2, 2.5, 0.1}), nil)
	wantInputError(t, err, `"y"`, "row 3", "2.5", "REGRESSION")
	// Only the rows asked for.
	if err := CheckClassLabels(NewNumeric("y", []float64{1, 2, 2.5}), []int{0, 1}); err != nil {
		t.Error(err)
	}
	wantInputError(t, CheckClassLabels(NewNumeric("y", []float64{1, 1e200}), nil), "row 2", "±1e+150")

	// Training refuses a continuous target for classification, integer
	// labels are classes.
	x := NewNumeric("x", []float64{1, 2, 3, 4, 5, 6, 7, 8})
	_, err = Train(context.Background(), TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, []*Column{x},
		NewNumeric("y", []float64{2.5, 3.1, 3.7, 1.2, 2.2, 3.3, 1.1, 0.4}))
	wantInputError(t, err, `"y"`, "row 1", "2.5", "REGRESSION")
	m, err := Train(context.Background(), TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, []*Column{x},
		NewNumeric("y", []float64{1, 1, 1, 2, 2, 10, 10, 10}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Classes, ",") != "1,2,10" {
		t.Errorf("classes %q", m.Classes)
	}
}

// TestStatisticsNearTheBound: column summaries and the preprocessor's
// mean and standard deviation stay finite and right for values near
// ±MaxAbsValue, whose squares overflow float64, and beyond (a dataset
// stored before the bound was enforced).
func TestStatisticsNearTheBound(t *testing.T) {
	for _, c := range []struct {
		values    []float64
		mean, std float64
	}{
		{[]float64{1e150, -1e150, 1e150, -1e150}, 0, 1e150},
		{[]float64{1e150, 1e150, 1e150}, 1e150, 0},
		{[]float64{-1e150, 0, 1e150, math.NaN()}, 0, 1e150 * math.Sqrt(2.0/3)},
		{[]float64{1.3e154, -1.3e154}, 0, 1.3e154},
		{[]float64{1e300, 0}, 5e299, 5e299},
	} {
		col := NewNumeric("x", c.values)
		s := col.Summary(3)
		if s.Mean == nil || s.Std == nil || relDiff(*s.Mean, c.mean) > 1e-12 && math.Abs(*s.Mean) > 1e-300 || relDiff(*s.Std, c.std) > 1e-12 {
			t.Errorf("Summary of %v: mean %v std %v, want %v and %v", c.values, s.Mean, s.Std, c.mean, c.std)
		}
		if c.values[0] > MaxAbsValue {
			continue // the preprocessor refuses them
		}
		p, err := FitPreprocessor([]*Column{col}, true)
		if err != nil {
			t.Fatal(err)
		}
		f := p.Features[0]
		// The missing value counts as the median in the preprocessor's
		// statistics, so only the complete columns are compared.
		if math.IsInf(f.Std, 0) || math.IsNaN(f.Std) || math.IsNaN(f.Mean) {
			t.Errorf("preprocessor statistics of %v: mean %v std %v", c.values, f.Mean, f.Std)
		}
		if !math.IsNaN(c.values[len(c.values)-1]) && (relDiff(f.Std, c.std) > 1e-12 || math.Abs(f.Mean-c.mean) > 1e-12*c.std) {
			t.Errorf("preprocessor statistics of %v: mean %v std %v, want %v and %v", c.values, f.Mean, f.Std, c.mean, c.std)
		}
		x, err := p.Transform([]*Column{col})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range x.RawMatrix().Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("scaled %v: %v", c.values, x.RawMatrix().Data)
				break
			}
		}
	}
	// Ordinary values are summarised bit for bit as without scaling.
	values := []float64{3.25, -1e10, 7, 1e-3, 42, 1e70}
	var mean, m2 float64
	for k, v := range values {
		d := v - mean
		mean += d / float64(k+1)
		m2 += d * (v - mean)
	}
	s := NewNumeric("x", values).Summary(3)
	if *s.Mean != mean || *s.Std != math.Sqrt(m2/float64(len(values))) {
		t.Errorf("summary %v %v, want %v %v", *s.Mean, *s.Std, mean, math.Sqrt(m2/float64(len(values))))
	}
	// An infinity (no import lets one in) leaves the statistics out.
	if s := NewNumeric("x", []float64{1, math.Inf(1)}).Summary(3); s.Mean != nil || s.Std != nil || s.Max != nil || *s.Min != 1 {
		t.Errorf("summary with +Inf: %+v", s)
	}
}

// TestMetricsNearTheBound: regression metrics and their summaries over
// folds sum squares scaled, so that errors too large to square stay
// finite, while ordinary errors give the unscaled figures to the bit.
func TestMetricsNearTheBound(t *testing.T) {
	m := RegressionMetrics([]float64{1e154, -1e154, 0, 5e153}, []float64{0, 0, 1e153, 5e153})
	// Errors 1e154, -1e154, -1e153, 0: mean square (2.01e308)/4.
	if m.MSE == nil || relDiff(*m.MSE, 2.01e308/4) > 1e-12 || relDiff(*m.RMSE, math.Sqrt(2.01e308/4)) > 1e-12 {
		t.Errorf("mse %v rmse %v", *m.MSE, *m.RMSE)
	}
	if m.R2 == nil || math.IsNaN(*m.R2) || math.IsInf(*m.R2, 0) {
		t.Errorf("r2 %v", *m.R2)
	}
	y, p := []float64{3, -0.5, 2, 7}, []float64{2.5, 0.0, 2, 8}
	if got := MeanSquaredError(y, p); got != (0.25+0.25+0+1)/4 {
		t.Errorf("ordinary mse %v", got)
	}
	mean, std := SummarizeMetrics([]*Metrics{{MSE: ptr(1e300)}, {MSE: ptr(3e300)}})
	if relDiff(*mean.MSE, 2e300) > 1e-12 || relDiff(*std.MSE, 1e300) > 1e-12 {
		t.Errorf("summary of mse 1e300 and 3e300: mean %v std %v", *mean.MSE, *std.MSE)
	}
}

// TestSamplingShapNearTheBound: sampled Shapley values of predictions near
// ±1e150 stay finite (their squares, for the variances that share the
// efficiency gap, are summed scaled) and add up to the prediction.
func TestSamplingShapNearTheBound(t *testing.T) {
	n := 40
	a, b, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		a[i], b[i] = float64(i%5), float64(i%7)
		y[i] = []float64{1e150, -1e150, 3, -9e149}[i%4]
	}
	features := []*Column{NewNumeric("a", a), NewNumeric("b", b)}
	m, err := Train(context.Background(), TrainConfig{Algorithm: "KNN"}, features, NewNumeric("y", y))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := m.Explain(context.Background(), features, features, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ex {
		if e.Method != ExplainSamplingSHAP {
			t.Fatalf("method %s", e.Method)
		}
		sum := e.Baseline
		for _, c := range e.Contributions {
			if math.IsNaN(c.Contribution) || math.IsInf(c.Contribution, 0) {
				t.Fatalf("row %d: contribution %v", i, c.Contribution)
			}
			sum += c.Contribution
		}
		if math.Abs(sum-e.Prediction) > 1e-9*1e150 {
			t.Errorf("row %d: baseline + contributions %v, prediction %v", i, sum, e.Prediction)
		}
	}
}

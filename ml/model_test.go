package ml

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the golden model files in testdata/models")

func TestTrainErrors(t *testing.T) {
	x := NewNumeric("x", []float64{1, 2, 3, 4})
	cases := []struct {
		name     string
		cfg      TrainConfig
		features []*Column
		target   *Column
		parts    []string
	}{
		{"one class", TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, []*Column{x},
			NewCategorical("y", []int32{0, 0, -1, 0}, []string{"a", "b"}), []string{"at least two classes", `"y"`, `"a"`}},
		{"one numeric class", TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, []*Column{x},
			NewNumeric("y", []float64{1, 1, 1, 1}), []string{"at least two classes", `"1"`}},
		{"categorical regression target", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{x},
			NewCategorical("y", []int32{0, 1, 0, 1}, []string{"a", "b"}), []string{"numeric target", `"y"`}},
		{"no rows", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{NewNumeric("x", nil)},
			NewNumeric("y", nil), []string{"no rows"}},
		{"all targets missing", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{x},
			NewNumeric("y", []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN()}), []string{"no rows", `"y"`, "missing"}},
		{"no features", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, nil,
			NewNumeric("y", []float64{1, 2, 3, 4}), []string{"no feature columns"}},
		{"infinite feature", TrainConfig{Algorithm: "LINEAR_REGRESSION"},
			[]*Column{NewNumeric("x", []float64{1, 2, math.Inf(1), 4})}, NewNumeric("y", []float64{1, 2, 3, 4}),
			[]string{`"x"`, "row 3", "finite"}},
		{"infinite target", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{x},
			NewNumeric("y", []float64{1, math.Inf(-1), 3, 4}), []string{`"y"`, "row 2", "finite"}},
		{"length mismatch", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{x},
			NewNumeric("y", []float64{1, 2}), []string{`"x"`, "4 rows", "2"}},
		{"feature is target", TrainConfig{Algorithm: "LINEAR_REGRESSION"}, []*Column{x},
			NewNumeric("x", []float64{1, 2, 3, 4}), []string{`"x"`, "target"}},
		{"task mismatch", TrainConfig{Algorithm: "LINEAR_REGRESSION", Task: Classification}, []*Column{x},
			NewNumeric("y", []float64{1, 2, 3, 4}), []string{"LINEAR_REGRESSION", "CLASSIFICATION"}},
		{"bad param", TrainConfig{Algorithm: "LOGISTIC_REGRESSION", Params: map[string]any{"C": -1}}, []*Column{x},
			NewNumeric("y", []float64{0, 1, 0, 1}), []string{"C", "> 0"}},
		{"unknown algorithm", TrainConfig{Algorithm: "MAGIC"}, []*Column{x},
			NewNumeric("y", []float64{0, 1, 0, 1}), []string{`"MAGIC"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Train(context.Background(), c.cfg, c.features, c.target)
			wantInputError(t, err, c.parts...)
			t.Log(err)
		})
	}
}

func TestTrainCancelled(t *testing.T) {
	features, target := readCSV(t, "iris")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	// The estimator itself stops on a cancelled context (checked by the
	// optimiser at every evaluation).
	x, y := syntheticClassification(2000, 10, 4)
	params, _ := ResolveParams("LOGISTIC_REGRESSION", map[string]any{"tol": 1e-12})
	est := newLogisticRegression(params)
	if err := est.Fit(ctx, x, y, Classification, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with cancelled context: %v", err)
	}
}

// TestTrainNumericClassesAndMissingTargets: rows with a missing target are
// dropped and numeric class labels sort numerically.
func TestTrainNumericClassesAndMissingTargets(t *testing.T) {
	x := NewNumeric("x", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8})
	y := NewNumeric("y", []float64{10, 10, 2, 2, math.NaN(), 1, 1, 10, 2})
	m := trainOrFatal(t, TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, []*Column{x}, y)
	if !slices.Equal(m.Classes, []string{"1", "2", "10"}) {
		t.Errorf("classes %q, want [1 2 10]", m.Classes)
	}
	if m.Task != Classification || m.Target != "y" || m.Params["maxIter"] != 1000 {
		t.Errorf("model %+v", m)
	}
	// Evaluate matches numeric labels by their text, and a label never seen
	// in training (3) is a miss.
	metrics, err := m.Evaluate([]*Column{NewNumeric("x", []float64{0, 0, 1})}, NewNumeric("y", []float64{10, 3, math.NaN()}))
	if err != nil {
		t.Fatal(err)
	}
	if metrics.Rows != 2 || *metrics.Accuracy != 0.5 {
		t.Errorf("rows %d accuracy %v; want 2 and 0.5", metrics.Rows, *metrics.Accuracy)
	}
	// Errors name the caller's row even when rows without a target precede it.
	_, err = m.Evaluate([]*Column{NewNumeric("x", []float64{0, math.Inf(1)})}, NewNumeric("y", []float64{math.NaN(), 1}))
	wantInputError(t, err, `"x"`, "row 2")
	// A categorical test target with the same labels also matches.
	metrics, err = m.Evaluate([]*Column{NewNumeric("x", []float64{0})}, NewCategorical("y", []int32{0}, []string{"10"}))
	if err != nil || *metrics.Accuracy != 1 {
		t.Errorf("categorical test target: %v %v", metrics, err)
	}
}

func TestPredictSchema(t *testing.T) {
	features, target := colorDataset(100, 2)
	m := trainOrFatal(t, TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target)
	if len(m.Features) != 2 || m.Features[0].Name != "size" || m.Features[1].Type != Categorical {
		t.Errorf("features %+v", m.Features)
	}
	_, err := m.Predict(features[:1])
	wantInputError(t, err, "1 feature columns", `"size"`, `"color"`)
	_, err = m.Predict([]*Column{features[1], features[0]})
	wantInputError(t, err, `"color"`, `"size"`)
	_, err = m.Predict([]*Column{NewCategorical("size", []int32{0}, []string{"x"}), features[1]})
	wantInputError(t, err, `"size"`, "NUMERIC")
	_, err = m.Evaluate(features, NewCategorical("kind", []int32{0}, []string{"a"}))
	wantInputError(t, err, `"kind"`, "rows")

	out, err := m.Predict([]*Column{NewNumeric("size", nil), NewCategorical("color", nil, nil)})
	if err != nil || len(out.Labels) != 0 || out.Proba != nil {
		t.Errorf("no rows: %+v, %v", out, err)
	}

	reg := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features[:1], NewNumeric("y", features[0].Num))
	_, err = reg.Evaluate(features[:1], target)
	wantInputError(t, err, "numeric target", `"kind"`)
	if _, _, ok := reg.Coefficients(); !ok {
		t.Error("linear model has no coefficients")
	}
}

// goldenCase is a small model whose v1 encoding is committed in
// testdata/models, with the predictions it must keep making.
type goldenCase struct {
	file    string
	train   func(t *testing.T) *Model
	predict []*Column
	// want holds the regression values, or the flattened probabilities.
	want []float64
}

func goldenCases() []goldenCase {
	nan := math.NaN()
	predict := []*Column{
		NewNumeric("size", []float64{8, nan, 12.5, 10}),
		NewCategorical("color", []int32{0, 1, 2, -1}, []string{"blue", "red", "mauve"}),
	}
	return []goldenCase{
		{
			file: "linear_v1.json",
			train: func(t *testing.T) *Model {
				features, _ := colorDataset(200, 3)
				y := make([]float64, features[0].Len())
				for i := range y {
					y[i] = 3 + float64(i%7)
					if !features[0].IsMissing(i) {
						y[i] += 2 * features[0].Num[i]
					}
					if features[1].Text(i) == "red" {
						y[i] -= 5
					}
				}
				return trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, NewNumeric("y", y))
			},
			predict: predict,
			want:    []float64{21.073414890842777, 20.081904009141354, 28.036239953103866, 23.11754584594217},
		},
		{
			file: "logistic_v1.json",
			train: func(t *testing.T) *Model {
				features, target := colorDataset(200, 4)
				return trainOrFatal(t, TrainConfig{Algorithm: "LOGISTIC_REGRESSION", Params: map[string]any{"C": 0.5}}, features, target)
			},
			predict: predict,
			want: []float64{
				0.04674305612787653, 0.052787660155348554, 0.9004692837167749,
				0.879122490870017, 0.07943685420375932, 0.041440654926223626,
				0.25250845624414003, 0.42775762696592584, 0.31973391678993407,
				0.28914103964273796, 0.39653894954321733, 0.31432001081404465,
			},
		},
	}
}

func predictionValues(t *testing.T, m *Model, features []*Column) []float64 {
	t.Helper()
	out, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	if m.Task == Regression {
		return out.Values
	}
	return slices.Clone(out.Proba.RawMatrix().Data)
}

// TestGoldenModels loads the committed v1 encodings and checks they still
// predict the values recorded when they were written, so that a format
// change cannot silently break stored models. Run with -update-golden to
// rewrite the files (and then update want from the logged values).
func TestGoldenModels(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.file, func(t *testing.T) {
			path := filepath.Join(testdataDir, "models", gc.file)
			if *updateGolden {
				data, err := gc.train(t).MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := LoadModel(data)
			if err != nil {
				t.Fatalf("golden model no longer loads: %v", err)
			}
			got := predictionValues(t, m, gc.predict)
			if *updateGolden {
				t.Logf("want: %#v", got)
				return
			}
			if len(got) != len(gc.want) {
				t.Fatalf("got %d values, want %d", len(got), len(gc.want))
			}
			for i := range got {
				// Exact on amd64; the slack covers FMA-fusing architectures.
				if math.Abs(got[i]-gc.want[i]) > 1e-12*math.Max(1, math.Abs(gc.want[i])) {
					t.Errorf("value %d: %.17g, golden %.17g", i, got[i], gc.want[i])
				}
			}
		})
	}
}

// TestModelRoundTrip: a saved and loaded model predicts bit-identically and
// reports the same metadata and coefficients.
func TestModelRoundTrip(t *testing.T) {
	for _, gc := range goldenCases() {
		m := gc.train(t)
		loaded := reloaded(t, m)
		if loaded.Algorithm != m.Algorithm || loaded.Task != m.Task || loaded.Target != m.Target ||
			!slices.Equal(loaded.Classes, m.Classes) || len(loaded.Features) != len(m.Features) {
			t.Errorf("%s: metadata changed: %+v vs %+v", gc.file, loaded, m)
		}
		for k, v := range m.Params {
			if loaded.Params[k] != v {
				t.Errorf("%s: param %s %#v, was %#v", gc.file, k, loaded.Params[k], v)
			}
		}
		before, after := predictionValues(t, m, gc.predict), predictionValues(t, loaded, gc.predict)
		for i := range before {
			if math.Float64bits(before[i]) != math.Float64bits(after[i]) {
				t.Errorf("%s value %d: %v before save, %v after load", gc.file, i, before[i], after[i])
			}
		}
		c1, i1, _ := m.Coefficients()
		c2, i2, _ := loaded.Coefficients()
		if !slices.Equal(c1, c2) || !slices.Equal(i1, i2) {
			t.Errorf("%s: coefficients changed", gc.file)
		}
		data, _ := m.MarshalBinary()
		again, _ := loaded.MarshalBinary()
		if !bytes.Equal(data, again) {
			t.Errorf("%s: re-encoding differs", gc.file)
		}
	}
}

func TestLoadModelErrors(t *testing.T) {
	gc := goldenCases()[1]
	data, err := gc.train(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	cases := map[string]string{
		"not json":          "garbage",
		"truncated":         s[:len(s)/2],
		"no format":         strings.Replace(s, `"format":1`, `"fmt":1`, 1),
		"format 2":          strings.Replace(s, `"format":1`, `"format":2`, 1),
		"unknown algorithm": strings.Replace(s, `"LOGISTIC_REGRESSION"`, `"MAGIC"`, 1),
		"wrong task":        strings.Replace(s, `"CLASSIFICATION"`, `"REGRESSION"`, 1),
		"bad param":         strings.Replace(s, `"C":0.5`, `"C":-1`, 1),
		"missing weights":   strings.Replace(s, `"Coef":[[`, `"Coef":[[1],[`, 1),
		"no classes":        strings.Replace(s, `"classes":["a","b","c"]`, `"classes":["a"]`, 1),
		"no preprocessor":   strings.Replace(s, `"preprocessor":`, `"preprocessorX":`, 1),
	}
	for name, enc := range cases {
		if enc == s {
			t.Fatalf("%s: replacement did not apply", name)
		}
		_, err := LoadModel([]byte(enc))
		if err == nil {
			t.Errorf("%s: loaded without error", name)
			continue
		}
		var ie *InputError
		if errors.As(err, &ie) {
			t.Errorf("%s: a stored-model error should not be an *InputError: %v", name, err)
		}
		if name == "format 2" && !strings.Contains(err.Error(), "unsupported format version 2") {
			t.Errorf("format 2: unclear error %q", err)
		}
	}
}

// TestCoefficientsScale: raw-scale coefficients give the estimator's
// decision function on raw inputs, and standardised ones on standardised
// inputs, for a scaled (logistic) and an unscaled (OLS) model.
func TestCoefficientsScale(t *testing.T) {
	features, target := readCSV(t, "wine")
	for _, m := range []*Model{
		trainOrFatal(t, TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target),
		trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features[1:], NewNumeric("alcohol", features[0].Num)),
	} {
		cols := features
		if m.Task == Regression {
			cols = features[1:]
		}
		raw, rawB, _ := m.Coefficients()
		std, stdB, _ := m.StandardizedCoefficients()
		x, _ := m.prep.Transform(cols)
		w, b := m.est.(Linear).Weights()
		p := len(cols)
		for i := range 5 {
			for k := range b {
				want := b[k] + mat.Dot(w.RowView(k), x.RowView(i))
				zRaw, zStd := rawB[k].Value, stdB[k].Value
				for j, col := range cols {
					f := m.Features[j]
					zRaw += raw[k*p+j].Weight * col.Num[i]
					zStd += std[k*p+j].Weight * (col.Num[i] - f.Mean) / f.Std
				}
				if relDiff(zRaw, want) > 1e-9 || relDiff(zStd, want) > 1e-9 {
					t.Errorf("%s row %d class %d: raw %v, standardised %v, estimator %v", m.Algorithm, i, k, zRaw, zStd, want)
				}
			}
		}
	}
}

// TestDesignMatrixLimit: a design matrix over MaxDesignCells is refused
// before it is allocated, naming its size.
func TestDesignMatrixLimit(t *testing.T) {
	x := NewNumeric("x", []float64{1, 2, 3, 4})
	color := NewStringColumn("color", Categorical, []string{"red", "green", "blue", "red"})
	y := NewNumeric("y", []float64{1, 2, 3, 4})
	cfg := TrainConfig{Algorithm: "LINEAR_REGRESSION", MaxDesignCells: 15} // 4 rows × 4 columns
	_, err := Train(context.Background(), cfg, []*Column{x, color}, y)
	var input *InputError
	if !errors.As(err, &input) || !strings.Contains(err.Error(), "4 rows × 4 columns") {
		t.Fatalf("4 × 4 cells against a limit of 15: %v", err)
	}
	cfg.MaxDesignCells = 16
	if _, err := Train(context.Background(), cfg, []*Column{x, color}, y); err != nil {
		t.Fatalf("4 × 4 cells against a limit of 16: %v", err)
	}
}

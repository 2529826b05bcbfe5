package ml

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func trainOrFatal(t testing.TB, cfg TrainConfig, features []*Column, target *Column) *Model {
	t.Helper()
	m, err := Train(context.Background(), cfg, features, target)
	if err != nil {
		t.Fatalf("train %s: %v", cfg.Algorithm, err)
	}
	return m
}

// TestOLSDiabetesAllRows reproduces scikit-learn's LinearRegression on the
// whole diabetes dataset.
func TestOLSDiabetesAllRows(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target)
	want := []float64{-10.0099, -239.8156, 519.8459, 324.3846, -792.1756, 476.739, 101.0433, 177.0632, 751.2737, 67.6267}
	coefs, intercepts, ok := m.Coefficients()
	if !ok {
		t.Fatal("Coefficients not available for OLS")
	}
	if len(coefs) != len(want) || len(intercepts) != 1 {
		t.Fatalf("got %d coefficients and %d intercepts, want %d and 1", len(coefs), len(intercepts), len(want))
	}
	for j, c := range coefs {
		if c.Feature != features[j].Name || c.Class != "" {
			t.Errorf("coefficient %d is for %q/%q, want %q/\"\"", j, c.Feature, c.Class, features[j].Name)
		}
		if math.Abs(c.Weight-want[j]) > 1e-3 {
			t.Errorf("%s: weight %.6f, want %.4f", c.Feature, c.Weight, want[j])
		}
	}
	if math.Abs(intercepts[0].Value-152.1335) > 1e-3 {
		t.Errorf("intercept %.6f, want 152.1335", intercepts[0].Value)
	}
}

// TestOLSDiabetesSplit matches the train-split coefficients and test R² of
// scikit-learn.
func TestOLSDiabetesSplit(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	train, test := readSplit(t, "diabetes")
	m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, takeColumns(features, train), target.Take(train))

	ref := sklearnCoefficients(t, "diabetes", "linear_regression")
	var wantCoef []float64
	var wantIntercept float64
	if err := json.Unmarshal(ref.Coef, &wantCoef); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ref.Intercept, &wantIntercept); err != nil {
		t.Fatal(err)
	}
	coefs, intercepts, _ := m.Coefficients()
	for j, c := range coefs {
		if c.Feature != ref.Features[j] {
			t.Fatalf("coefficient %d is %q, want %q", j, c.Feature, ref.Features[j])
		}
		if math.Abs(c.Weight-wantCoef[j]) > 1e-3 {
			t.Errorf("%s: weight %.6f, want %.6f", c.Feature, c.Weight, wantCoef[j])
		}
	}
	if math.Abs(intercepts[0].Value-wantIntercept) > 1e-3 {
		t.Errorf("intercept %.6f, want %.6f", intercepts[0].Value, wantIntercept)
	}

	metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*float64{"r2": metrics.R2, "rmse": metrics.RMSE, "mae": metrics.MAE} {
		want := sklearnMetric(t, "diabetes", "linear_regression", name)
		if got == nil || math.Abs(*got-want) > 1e-3 {
			t.Errorf("test %s = %v, want %.6f", name, got, want)
		}
	}
	if metrics.Accuracy != nil || metrics.ConfusionMatrix != nil {
		t.Error("regression metrics carry classification fields")
	}
}

// TestOLSRankDeficient duplicates a column: the design loses rank, the fit
// must fall back to the minimum-norm solution (the duplicated weight split
// evenly), keep finite weights and predict like the full-rank model.
func TestOLSRankDeficient(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	full := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target)

	dup := NewNumeric("bmi_copy", features[2].Num)
	withDup := append(append([]*Column(nil), features...), dup)
	m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, withDup, target)
	if got := m.est.(*LinearRegression).Solver; got != "svd" {
		t.Errorf("solver %q, want svd for a rank-deficient design", got)
	}
	coefs, _, _ := m.Coefficients()
	fullCoefs, _, _ := full.Coefficients()
	for _, c := range coefs {
		if math.IsNaN(c.Weight) || math.IsInf(c.Weight, 0) {
			t.Fatalf("%s: non-finite weight %v", c.Feature, c.Weight)
		}
	}
	bmi, bmiCopy := coefs[2].Weight, coefs[len(coefs)-1].Weight
	if math.Abs(bmi-bmiCopy) > 1e-6 || math.Abs(bmi+bmiCopy-fullCoefs[2].Weight) > 1e-6 {
		t.Errorf("bmi weights %.6f + %.6f, want two equal halves of %.6f", bmi, bmiCopy, fullCoefs[2].Weight)
	}
	got, err := m.Predict(withDup)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := full.Predict(features)
	for i := range want.Values {
		if math.Abs(got.Values[i]-want.Values[i]) > 1e-8 {
			t.Fatalf("row %d: prediction %.10f, full-rank model %.10f", i, got.Values[i], want.Values[i])
		}
	}
}

// TestOLSConstantColumn gives a constant column weight 0 without
// disturbing the others.
func TestOLSConstantColumn(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	full := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target)
	constant := make([]float64, target.Len())
	for i := range constant {
		constant[i] = 0.1 // not exactly representable: its mean has rounding error
	}
	m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_REGRESSION"},
		append([]*Column{NewNumeric("constant", constant)}, features...), target)
	coefs, icpt, _ := m.Coefficients()
	fullCoefs, fullIcpt, _ := full.Coefficients()
	if coefs[0].Weight != 0 {
		t.Errorf("constant column weight %v, want 0", coefs[0].Weight)
	}
	for j, c := range coefs[1:] {
		if math.Abs(c.Weight-fullCoefs[j].Weight) > 1e-9*math.Abs(fullCoefs[j].Weight) {
			t.Errorf("%s: %v, without the constant column %v", c.Feature, c.Weight, fullCoefs[j].Weight)
		}
	}
	if math.Abs(icpt[0].Value-fullIcpt[0].Value) > 1e-9 {
		t.Errorf("intercept %v, want %v", icpt[0].Value, fullIcpt[0].Value)
	}
}

// TestLeastSquaresExact recovers an exact linear relation, with and without
// intercept, including features with a large common offset (which the
// centring must handle without losing precision).
func TestLeastSquaresExact(t *testing.T) {
	const n = 50000 // several parallel segments
	x := mat.NewDense(n, 3, nil)
	y := make([]float64, n)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range n {
		a, b, c := r.Float64(), 1e6+r.Float64(), r.NormFloat64()
		x.SetRow(i, []float64{a, b, c})
		y[i] = 2*a - 3*b + 0.5*c + 10
	}
	for _, fitIntercept := range []bool{true, false} {
		w, b, solver, err := LeastSquares(x, y, fitIntercept)
		if err != nil {
			t.Fatal(err)
		}
		wantB := 10.0
		if !fitIntercept {
			// Without an intercept the offset of column b absorbs it only
			// approximately; check the fit is the true least-squares one by
			// comparing with the SVD path instead.
			ne := computeNormalEquations(x, y, false)
			ws, err := solveSVD(x, y, ne, 0)
			if err != nil {
				t.Fatal(err)
			}
			for j := range w {
				if relDiff(w[j], ws[j]) > 1e-6 {
					t.Errorf("no intercept (%s): w[%d] = %v, SVD gives %v", solver, j, w[j], ws[j])
				}
			}
			if b != 0 {
				t.Errorf("no intercept: b = %v, want 0", b)
			}
			continue
		}
		for j, want := range []float64{2, -3, 0.5} {
			if math.Abs(w[j]-want) > 1e-7 {
				t.Errorf("w[%d] = %.12f, want %v (solver %s)", j, w[j], want, solver)
			}
		}
		if math.Abs(b-wantB) > 1e-3 {
			t.Errorf("b = %.9f, want %v", b, wantB)
		}
	}
}

// TestNormalEquationsIndependentOfCores: the parallel reduction is in a
// fixed order, so the fit is bit-identical with 1 or more cores.
func TestNormalEquationsIndependentOfCores(t *testing.T) {
	x, y := syntheticRegression(100000, 7, 3)
	fit := func(procs int) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		w, b, _, err := LeastSquares(x, y, true)
		if err != nil {
			t.Fatal(err)
		}
		return append(w, b)
	}
	one, many := fit(1), fit(4)
	for j := range one {
		if one[j] != many[j] {
			t.Fatalf("weight %d: %v with 1 core, %v with 4", j, one[j], many[j])
		}
	}
	// And the fit is right: w_j = j+1, b = 3.
	for j := range 7 {
		if math.Abs(one[j]-float64(j+1)) > 1e-2 {
			t.Errorf("w[%d] = %v, want %d", j, one[j], j+1)
		}
	}
}

// TestCholeskyMatchesSVD: both solvers give the same answer on a
// well-conditioned problem.
func TestCholeskyMatchesSVD(t *testing.T) {
	x, y := syntheticRegression(2000, 6, 9)
	ne := computeNormalEquations(x, y, true)
	wc, ok := solveNormalEquations(ne, 0)
	if !ok {
		t.Fatal("Cholesky path refused a well-conditioned problem")
	}
	ws, err := solveSVD(x, y, ne, 0)
	if err != nil {
		t.Fatal(err)
	}
	for j := range wc {
		if relDiff(wc[j], ws[j]) > 1e-10 {
			t.Errorf("w[%d]: Cholesky %v, SVD %v", j, wc[j], ws[j])
		}
	}
}

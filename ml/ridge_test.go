package ml

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// regressionParity trains algorithm with params on the train rows of
// dataset, checks the test R² against scikit-learn's model within the
// quality bar and returns the fitted model and its test R².
func regressionParity(t *testing.T, dataset, algorithm string, params map[string]any, sklearnModel string) (*Model, float64) {
	t.Helper()
	features, target := readCSV(t, dataset)
	train, test := readSplit(t, dataset)
	m := trainOrFatal(t, TrainConfig{Algorithm: algorithm, Params: params}, takeColumns(features, train), target.Take(train))
	metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
	if err != nil {
		t.Fatal(err)
	}
	want := sklearnMetric(t, dataset, sklearnModel, "r2")
	if math.Abs(*metrics.R2-want) > 0.02 {
		t.Errorf("%s on %s: test r2 %.6f, sklearn %.6f", algorithm, dataset, *metrics.R2, want)
	}
	t.Logf("%s on %s: test r2 %.6f, sklearn %.6f", algorithm, dataset, *metrics.R2, want)
	return m, *metrics.R2
}

// wantCoefficients compares a regression model's raw-scale coefficients
// with a coefficients.json entry: |Δ| ≤ tol·max(1, |want|).
func wantCoefficients(t *testing.T, m *Model, dataset, model string, tol float64) {
	t.Helper()
	ref := sklearnCoefficients(t, dataset, model)
	var wantCoef []float64
	var wantIntercept float64
	if err := json.Unmarshal(ref.Coef, &wantCoef); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ref.Intercept, &wantIntercept); err != nil {
		t.Fatal(err)
	}
	coefs, intercepts, ok := m.Coefficients()
	if !ok || len(coefs) != len(wantCoef) || len(intercepts) != 1 {
		t.Fatalf("got %d coefficients (ok %v), want %d", len(coefs), ok, len(wantCoef))
	}
	for j, c := range coefs {
		if c.Feature != ref.Features[j] {
			t.Fatalf("coefficient %d is %q, want %q", j, c.Feature, ref.Features[j])
		}
		if math.Abs(c.Weight-wantCoef[j]) > tol*math.Max(1, math.Abs(wantCoef[j])) {
			t.Errorf("%s: weight %.6f, sklearn %.6f", c.Feature, c.Weight, wantCoef[j])
		}
	}
	if math.Abs(intercepts[0].Value-wantIntercept) > tol*math.Max(1, math.Abs(wantIntercept)) {
		t.Errorf("intercept %.6f, sklearn %.6f", intercepts[0].Value, wantIntercept)
	}
}

// TestRidgeMatchesSklearn: Ridge(alpha=1) on the diabetes train rows has
// scikit-learn's coefficients (printed to 6 decimals) and test R². Diabetes
// is the only regression dataset.
func TestRidgeMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"diabetes"} {
		t.Run(dataset, func(t *testing.T) {
			m, _ := regressionParity(t, dataset, "RIDGE", nil, "ridge_a1")
			wantCoefficients(t, m, dataset, "ridge_alpha_1", 1e-6)
			if got := m.est.(*Ridge).Solver; got != "cholesky" {
				t.Errorf("solver %q, want cholesky", got)
			}
		})
	}
}

// TestRidgeByHand: one centred feature x = (−1, 0, 1) + 5, y = (1, 2, 3):
// XcᵀXc = 2 and Xcᵀyc = 2, so w = 2/(2 + α) and b = ȳ − 5w = 2 − 5w.
// Without intercept, w = Σxy/(Σx² + α) = 32/(77 + α).
func TestRidgeByHand(t *testing.T) {
	x := mat.NewDense(3, 1, []float64{4, 5, 6})
	y := []float64{1, 2, 3}
	for _, alpha := range []float64{0, 1, 10} {
		m := &Ridge{Alpha: alpha, FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		w := 2 / (2 + alpha)
		if math.Abs(m.Coef[0]-w) > 1e-14 || math.Abs(m.Intercept-(2-5*w)) > 1e-13 {
			t.Errorf("alpha %v: w %v, b %v; want %v, %v", alpha, m.Coef[0], m.Intercept, w, 2-5*w)
		}
		m = &Ridge{Alpha: alpha}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		if w := 32 / (77 + alpha); math.Abs(m.Coef[0]-w) > 1e-14 || m.Intercept != 0 {
			t.Errorf("alpha %v, no intercept: w %v, b %v; want %v, 0", alpha, m.Coef[0], m.Intercept, w)
		}
	}
}

// TestRidgeNormalEquations: on a random problem the weights satisfy
// (XcᵀXc + αI)w = Xcᵀyc, solved here independently by LU on the
// explicitly centred design; α = 0 agrees with LinearRegression.
func TestRidgeNormalEquations(t *testing.T) {
	x, y := syntheticRegression(500, 5, 11)
	n, p := x.Dims()
	xc := mat.DenseCopyOf(x)
	for j := range p {
		mean := mat.Sum(xc.ColView(j)) / float64(n)
		for i := range n {
			xc.Set(i, j, xc.At(i, j)-mean)
		}
	}
	yMean := 0.0
	for _, v := range y {
		yMean += v / float64(n)
	}
	yc := mat.NewVecDense(n, nil)
	for i, v := range y {
		yc.SetVec(i, v-yMean)
	}
	for _, alpha := range []float64{0.5, 100, 1e5} {
		var a mat.Dense
		a.Mul(xc.T(), xc)
		for j := range p {
			a.Set(j, j, a.At(j, j)+alpha)
		}
		var rhs, want mat.VecDense
		rhs.MulVec(xc.T(), yc)
		if err := want.SolveVec(&a, &rhs); err != nil {
			t.Fatal(err)
		}
		w, _, solver, err := RidgeRegression(x, y, alpha, true)
		if err != nil {
			t.Fatal(err)
		}
		for j := range p {
			if relDiff(w[j], want.AtVec(j)) > 1e-9 {
				t.Errorf("alpha %v (%s): w[%d] = %v, want %v", alpha, solver, j, w[j], want.AtVec(j))
			}
		}
		// The SVD path solves the same system.
		ws, err := solveSVD(x, y, computeNormalEquations(x, y, true), alpha)
		if err != nil {
			t.Fatal(err)
		}
		for j := range p {
			if relDiff(ws[j], want.AtVec(j)) > 1e-9 {
				t.Errorf("alpha %v, SVD path: w[%d] = %v, want %v", alpha, j, ws[j], want.AtVec(j))
			}
		}
	}
	w0, b0, _, err := RidgeRegression(x, y, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	wl, bl, _, err := LeastSquares(x, y, true)
	if err != nil {
		t.Fatal(err)
	}
	for j := range p {
		if w0[j] != wl[j] {
			t.Errorf("alpha 0: w[%d] = %v, OLS %v", j, w0[j], wl[j])
		}
	}
	if b0 != bl {
		t.Errorf("alpha 0: b = %v, OLS %v", b0, bl)
	}
}

// TestRidgeCollinear duplicates a column. With a tiny α the scaled system
// is too ill-conditioned for Cholesky and the fit falls back to the SVD;
// either way ridge splits the weight evenly between the two copies (the
// penalty is smallest for equal halves) and predicts like OLS without the
// copy. A constant column gets weight 0.
func TestRidgeCollinear(t *testing.T) {
	x, y := syntheticRegression(300, 3, 5)
	n, _ := x.Dims()
	wide := mat.NewDense(n, 5, nil)
	for i := range n {
		row := x.RawRowView(i)
		wide.SetRow(i, []float64{row[0], row[1], row[2], row[1], 7})
	}
	base, _, _, err := LeastSquares(x, y, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		alpha  float64
		solver string
	}{{1e-13, "svd"}, {0, "svd"}, {1e-3, "cholesky"}} {
		w, _, solver, err := RidgeRegression(wide, y, c.alpha, true)
		if err != nil {
			t.Fatal(err)
		}
		if solver != c.solver {
			t.Errorf("alpha %v: solver %q, want %q", c.alpha, solver, c.solver)
		}
		if math.Abs(w[1]-w[3]) > 1e-6 || math.Abs(w[1]+w[3]-base[1]) > 1e-5 {
			t.Errorf("alpha %v: copies weighted %v and %v, want halves of %v", c.alpha, w[1], w[3], base[1])
		}
		if w[4] != 0 {
			t.Errorf("alpha %v: constant column weight %v, want 0", c.alpha, w[4])
		}
	}
}

// TestRidgeShrinks: the weight norm decreases as α grows, and a huge α
// leaves only the intercept (the mean of y).
func TestRidgeShrinks(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	prev := math.Inf(1)
	for _, alpha := range []float64{0, 0.1, 1, 10, 1e12} {
		m := trainOrFatal(t, TrainConfig{Algorithm: "RIDGE", Params: map[string]any{"alpha": alpha}}, features, target)
		est := m.est.(*Ridge)
		norm := 0.0
		for _, v := range est.Coef {
			norm += v * v
		}
		if !(norm < prev) {
			t.Errorf("alpha %v: ‖w‖² = %v, not below %v", alpha, norm, prev)
		}
		prev = norm
		if alpha == 1e12 {
			mean := 0.0
			for _, v := range target.Num {
				mean += v / float64(len(target.Num))
			}
			if norm > 1e-12 || math.Abs(est.Intercept-mean) > 1e-6 {
				t.Errorf("alpha 1e12: ‖w‖² = %v, b = %v; want ≈0 and mean(y) = %v", norm, est.Intercept, mean)
			}
		}
	}
}

// TestRidgeRoundTrip: a saved and loaded ridge model predicts identically;
// a corrupt weight count fails at load.
func TestRidgeRoundTrip(t *testing.T) {
	linearRoundTrip(t, "RIDGE", map[string]any{"alpha": 0.5})
}

// linearRoundTrip trains algorithm on diabetes, saves and loads it, checks
// identical predictions and that a model with a weight missing is rejected.
func linearRoundTrip(t *testing.T, algorithm string, params map[string]any) {
	t.Helper()
	features, target := readCSV(t, "diabetes")
	m := trainOrFatal(t, TrainConfig{Algorithm: algorithm, Params: params}, features, target)
	loaded := reloaded(t, m)
	want, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Values {
		if got.Values[i] != want.Values[i] {
			t.Fatalf("row %d: loaded model predicts %v, original %v", i, got.Values[i], want.Values[i])
		}
	}
	for k, v := range params {
		if loaded.Params[k] != v {
			t.Errorf("loaded param %s = %v, want %v", k, loaded.Params[k], v)
		}
	}

	data, _ := m.MarshalBinary()
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	est := env["estimator"].(map[string]any)
	est["Coef"] = est["Coef"].([]any)[1:]
	corrupt, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(corrupt); err == nil {
		t.Error("a model with a weight missing loaded without error")
	}
}

// TestRidgeParams: invalid parameters are input errors naming them.
func TestRidgeParams(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	for _, c := range []struct {
		params map[string]any
		parts  []string
	}{
		{map[string]any{"alpha": -1.0}, []string{"alpha", ">= 0"}},
		{map[string]any{"alpha": "strong"}, []string{"alpha", "number"}},
		{map[string]any{"fitIntercept": 1}, []string{"fitIntercept", "boolean"}},
		{map[string]any{"l1Ratio": 0.5}, []string{`"l1Ratio"`, "alpha, fitIntercept"}},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "RIDGE", Params: c.params}, features, target)
		wantInputError(t, err, c.parts...)
	}
	_, err := Train(context.Background(), TrainConfig{Algorithm: "RIDGE", Task: Classification}, features, target)
	wantInputError(t, err, "RIDGE", "CLASSIFICATION")
}

// BenchmarkRidge times Ridge.Fit (parallel Gram matrix + Cholesky) on a
// dense 200,000×20 synthetic design.
func BenchmarkRidge(b *testing.B) {
	for _, size := range []struct{ n, p int }{{200000, 20}} {
		b.Run(fmt.Sprintf("%dx%d", size.n, size.p), func(b *testing.B) {
			x, y := syntheticRegression(size.n, size.p, 1)
			b.SetBytes(int64(size.n * size.p * 8))
			for b.Loop() {
				m := &Ridge{Alpha: 1, FitIntercept: true}
				if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

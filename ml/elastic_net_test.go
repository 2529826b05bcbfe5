package ml

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestElasticNetMatchesSklearn: scikit-learn has no elastic-net reference,
// but its two ends do: ρ = 1 is Lasso(alpha) and ρ = 0 with α = 1/n is
// Ridge(alpha=1) (see ElasticNet). Both must meet the bar on diabetes and
// reproduce the scikit-learn coefficients.
func TestElasticNetMatchesSklearn(t *testing.T) {
	train, _ := readSplit(t, "diabetes")
	for _, c := range []struct {
		name, sklearnModel, sklearnCoefs string
		params                           map[string]any
	}{
		{"lasso end", "lasso_a0.1", "lasso_alpha_0.1", map[string]any{"alpha": 0.1, "l1Ratio": 1.0}},
		{"ridge end", "ridge_a1", "ridge_alpha_1", map[string]any{"alpha": 1 / float64(len(train)), "l1Ratio": 0.0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := regressionParity(t, "diabetes", "ELASTIC_NET", c.params, c.sklearnModel)
			wantCoefficients(t, m, "diabetes", c.sklearnCoefs, 1e-6)
		})
	}
	// The default mix converges; α = 1 is strong on diabetes' small feature
	// scale, so it explains little of the variance (logged for the record).
	features, target := readCSV(t, "diabetes")
	_, test := readSplit(t, "diabetes")
	m := trainOrFatal(t, TrainConfig{Algorithm: "ELASTIC_NET"}, takeColumns(features, train), target.Take(train))
	if est := m.est.(*ElasticNet); !est.Converged {
		t.Errorf("defaults did not converge in %d sweeps", est.Iterations)
	}
	metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("defaults (alpha 1, l1Ratio 0.5): test r2 %.4f", *metrics.R2)
}

// TestElasticNetEnds: l1Ratio = 1 is LASSO bit for bit, and l1Ratio = 0 is
// RIDGE with alpha n·α: (1/2n)‖r‖² + ½α‖w‖² times 2n is ‖r‖² + n·α‖w‖².
func TestElasticNetEnds(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	n := float64(target.Len())
	weights := func(algorithm string, params map[string]any) []float64 {
		m := trainOrFatal(t, TrainConfig{Algorithm: algorithm, Params: params}, features, target)
		w, b := m.est.(Linear).Weights()
		return append(mat.Row(nil, 0, w), b[0])
	}
	for _, alpha := range []float64{0.01, 0.5} {
		enet := weights("ELASTIC_NET", map[string]any{"alpha": alpha, "l1Ratio": 1.0})
		lasso := weights("LASSO", map[string]any{"alpha": alpha})
		ridge := weights("RIDGE", map[string]any{"alpha": n * alpha})
		enetRidge := weights("ELASTIC_NET", map[string]any{"alpha": alpha, "l1Ratio": 0.0})
		for j := range enet {
			if enet[j] != lasso[j] {
				t.Errorf("alpha %v: l1Ratio 1 weight %d = %v, LASSO %v", alpha, j, enet[j], lasso[j])
			}
			if enetRidge[j] != ridge[j] {
				t.Errorf("alpha %v: l1Ratio 0 weight %d = %v, RIDGE(n·α) %v", alpha, j, enetRidge[j], ridge[j])
			}
		}
	}
}

// TestElasticNetDescentReachesRidge: l1Ratio = 0 is solved in closed form,
// so check separately that the coordinate descent's L2 term is right: with
// l1 = 0 it converges to the ridge solution, and a tiny ρ stays next to it.
func TestElasticNetDescentReachesRidge(t *testing.T) {
	x, y := syntheticRegression(400, 6, 12)
	n, p := x.Dims()
	const alpha = 0.3
	ridge, _, _, err := RidgeRegression(x, y, float64(n)*alpha, true)
	if err != nil {
		t.Fatal(err)
	}
	ne := computeNormalEquations(x, y, true)
	w := make([]float64, p)
	if _, err := coordinateDescent(context.Background(), newGramCD(ne, 1), w, 0, float64(n)*alpha, 0, 500); err != nil {
		t.Fatal(err)
	}
	for j := range p {
		if relDiff(w[j], ridge[j]) > 1e-10 {
			t.Errorf("w[%d]: descent %v, ridge %v", j, w[j], ridge[j])
		}
	}
	m := &ElasticNet{Alpha: alpha, L1Ratio: 1e-9, MaxIter: 1000, Tol: 1e-10, FitIntercept: true}
	if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	for j := range p {
		if relDiff(m.Coef[j], ridge[j]) > 1e-6 {
			t.Errorf("l1Ratio 1e-9: w[%d] = %v, ridge %v", j, m.Coef[j], ridge[j])
		}
	}
}

// TestElasticNetByHand solves a correlated two-feature case by hand. The
// design has XᵀX/n = [[1, ½], [½, 1]] and Xᵀy/n = (2, 3/2) after centring.
// With α = 0.4 and ρ = ½ (l1 = l2 = 0.2) both weights are positive, so the
// optimality conditions are the linear system
//
//	(XᵀX/n + l2·I)·w = Xᵀy/n − l1·(1, 1)
//	[[1.2, 0.5], [0.5, 1.2]]·w = (1.8, 1.3)
//
// whose solution is w = (1.51, 0.66)/1.19.
func TestElasticNetByHand(t *testing.T) {
	x1 := []float64{1, 1, -1, -1}
	x3 := []float64{1, -1, 1, -1}
	a, b := 0.5, math.Sqrt(0.75) // x2 = a·x1 + b·x3: x1ᵀx2/n = a, ‖x2‖²/n = 1
	c3 := 0.5 / b                // y = 5 + 2·x1 + c3·x3: x2ᵀy/n = 2a + b·c3 = 3/2
	x := mat.NewDense(4, 2, nil)
	y := make([]float64, 4)
	for i := range 4 {
		x.SetRow(i, []float64{x1[i] + 10, a*x1[i] + b*x3[i] - 3})
		y[i] = 5 + 2*x1[i] + c3*x3[i]
	}
	m := &ElasticNet{Alpha: 0.4, L1Ratio: 0.5, MaxIter: 200, Tol: 0, FitIntercept: true}
	if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	want := []float64{1.51 / 1.19, 0.66 / 1.19}
	for j := range want {
		if math.Abs(m.Coef[j]-want[j]) > 1e-12 {
			t.Errorf("w[%d] = %.15f, want %.15f", j, m.Coef[j], want[j])
		}
	}
	// b = ȳ − μ·w with ȳ = 5, μ = (10, −3).
	if wantB := 5 - 10*want[0] + 3*want[1]; math.Abs(m.Intercept-wantB) > 1e-11 {
		t.Errorf("b = %v, want %v", m.Intercept, wantB)
	}
}

func TestElasticNetRoundTrip(t *testing.T) {
	linearRoundTrip(t, "ELASTIC_NET", map[string]any{"alpha": 0.01, "l1Ratio": 0.7})
}

// TestElasticNetParams: defaults as scikit-learn's; invalid parameters are
// input errors naming them.
func TestElasticNetParams(t *testing.T) {
	params, err := ResolveParams("ELASTIC_NET", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"alpha": 1.0, "l1Ratio": 0.5, "maxIter": 1000, "tol": 1e-4, "fitIntercept": true} {
		if params[k] != want {
			t.Errorf("default %s = %v, want %v", k, params[k], want)
		}
	}
	features, target := readCSV(t, "diabetes")
	for _, c := range []struct {
		params map[string]any
		parts  []string
	}{
		{map[string]any{"l1Ratio": 1.5}, []string{"l1Ratio", "in [0, 1]"}},
		{map[string]any{"l1Ratio": -0.1}, []string{"l1Ratio", "in [0, 1]"}},
		{map[string]any{"alpha": -1}, []string{"alpha", ">= 0"}},
		{map[string]any{"maxIter": 2.5}, []string{"maxIter", "integer"}},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "ELASTIC_NET", Params: c.params}, features, target)
		wantInputError(t, err, c.parts...)
	}
	// Direct construction bypasses ResolveParams; Fit still refuses.
	m := &ElasticNet{Alpha: 1, L1Ratio: 2, MaxIter: 10, Tol: 1e-4}
	x, y := orthogonalDesign()
	wantInputError(t, m.Fit(context.Background(), x, y, Regression, 0), "l1Ratio")
}

package ml

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestLassoMatchesSklearn: Lasso(alpha=0.1) on the diabetes train rows has
// scikit-learn's coefficients (the same zeros, the others to 1e-6
// relative: the same coordinate-descent iterates with the same stopping
// sweep) and test R². Diabetes is the only regression dataset.
func TestLassoMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"diabetes"} {
		t.Run(dataset, func(t *testing.T) {
			m, _ := regressionParity(t, dataset, "LASSO", map[string]any{"alpha": 0.1}, "lasso_a0.1")
			wantCoefficients(t, m, dataset, "lasso_alpha_0.1", 1e-6)
			est := m.est.(*ElasticNet)
			if !est.Converged || est.Solver != "cd_gram" {
				t.Errorf("converged %v with solver %q, want true with cd_gram", est.Converged, est.Solver)
			}
			coefs, _, _ := m.Coefficients()
			zeros := 0
			for _, c := range coefs {
				if c.Weight == 0 {
					zeros++
				}
			}
			if zeros != 3 {
				t.Errorf("%d zero weights, sklearn has 3", zeros)
			}
			t.Logf("%d sweeps, dual gap %.3g", est.Iterations, est.DualGap)
		})
	}
}

// orthogonalDesign has two centred orthogonal columns with ‖xⱼ‖² = n = 4
// and y = 5 + 2·x₁ + x₂, so that x₁ᵀy/n = 2 and x₂ᵀy/n = 1. With XᵀX = n·I the elastic net separates by coordinate:
//
//	wⱼ = S(xⱼᵀy/n, α·ρ) / (1 + α·(1−ρ)),   b = mean(y) = 5,
//
// and coordinate descent reaches it in one sweep.
func orthogonalDesign() (*mat.Dense, []float64) {
	x := mat.NewDense(4, 2, []float64{
		1, 1,
		1, -1,
		-1, 1,
		-1, -1,
	})
	return x, []float64{8, 6, 4, 2}
}

func TestLassoByHand(t *testing.T) {
	x, y := orthogonalDesign()
	for _, c := range []struct {
		alpha, l1Ratio float64
		want           []float64
	}{
		{0.5, 1, []float64{1.5, 0.5}},
		{1.5, 1, []float64{0.5, 0}},
		{2.5, 1, []float64{0, 0}},
		{1, 0.5, []float64{1, 1.0 / 3}},
		{1, 0.9, []float64{1.1 / 1.1, 0.1 / 1.1}},
	} {
		m := &ElasticNet{Alpha: c.alpha, L1Ratio: c.l1Ratio, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		for j, want := range c.want {
			if math.Abs(m.Coef[j]-want) > 1e-14 {
				t.Errorf("alpha %v l1Ratio %v: w[%d] = %v, want %v", c.alpha, c.l1Ratio, j, m.Coef[j], want)
			}
		}
		if math.Abs(m.Intercept-5) > 1e-14 || !m.Converged {
			t.Errorf("alpha %v l1Ratio %v: b = %v (converged %v), want 5", c.alpha, c.l1Ratio, m.Intercept, m.Converged)
		}
	}
}

// TestLassoDualityGap evaluates the gap by hand on the orthogonal design
// (centred y = (3, 1, −1, −3), ‖y‖² = 20, Xᵀy = (8, 4)) with l1 = n·α = 4:
//
//   - at w = 0, r = y and c = l1/‖Xᵀy‖∞ = ½, so
//     gap = ½(1 + c²)‖y‖² − c‖y‖² = ½(1 − c)²‖y‖² = 2.5;
//   - at the optimum w = (1, 0), r = (2, 0, 0, −2), Xᵀr = (4, 4), c = 1,
//     gap = ‖r‖² + l1‖w‖₁ − rᵀy = 8 + 4 − 12 = 0,
//
// in both the Gram and the residual forms.
func TestLassoDualityGap(t *testing.T) {
	x, y := orthogonalDesign()
	ne := computeNormalEquations(x, y, true)
	gram := newGramCD(ne, 20)
	resid, _, _ := newResidualCD(x, y, true)
	for name, data := range map[string]cdData{"gram": gram, "residual": resid} {
		xtr := make([]float64, 2)
		if gap := dualityGap(data, []float64{0, 0}, xtr, 4, 0); math.Abs(gap-2.5) > 1e-14 {
			t.Errorf("%s: gap at 0 = %v, want 2.5", name, gap)
		}
		data.update(0, 1)
		if gap := dualityGap(data, []float64{1, 0}, xtr, 4, 0); math.Abs(gap) > 1e-14 {
			t.Errorf("%s: gap at the optimum = %v, want 0", name, gap)
		}
	}
}

// TestLassoKKT checks the optimality conditions of a tightly converged fit
// on diabetes for several α and ρ: with r the residual,
//
//	xⱼᵀr/n − α(1−ρ)wⱼ = α·ρ·sign(wⱼ)  if wⱼ ≠ 0,   |xⱼᵀr/n| ≤ α·ρ  if wⱼ = 0,
//
// and the Gram and residual forms of coordinate descent agree.
func TestLassoKKT(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	prep, err := FitPreprocessor(features, false)
	if err != nil {
		t.Fatal(err)
	}
	x, err := prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	y := target.Num
	n, p := x.Dims()
	for _, c := range []struct{ alpha, l1Ratio float64 }{{0.1, 1}, {0.01, 1}, {0.003, 0.5}, {0.3, 1}, {0.001, 0.1}} {
		m := &ElasticNet{Alpha: c.alpha, L1Ratio: c.l1Ratio, MaxIter: 100000, Tol: 1e-12, FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		r := make([]float64, n)
		dst := mat.NewDense(n, 1, nil)
		m.Predict(x, dst)
		for i := range n {
			r[i] = y[i] - dst.At(i, 0)
		}
		l1, l2 := c.alpha*c.l1Ratio, c.alpha*(1-c.l1Ratio)
		for j := range p {
			g := mat.Dot(x.ColView(j), mat.NewVecDense(n, r))/float64(n) - l2*m.Coef[j]
			switch {
			case m.Coef[j] == 0 && math.Abs(g) > l1*(1+1e-6):
				t.Errorf("alpha %v l1Ratio %v: w[%d] = 0 but |xᵀr/n| = %v > %v", c.alpha, c.l1Ratio, j, math.Abs(g), l1)
			case m.Coef[j] != 0 && math.Abs(g-l1*math.Copysign(1, m.Coef[j])) > 1e-6*l1:
				t.Errorf("alpha %v l1Ratio %v: w[%d] = %v but xᵀr/n − l2·w = %v", c.alpha, c.l1Ratio, j, m.Coef[j], g)
			}
		}

		// The residual form of the same problem.
		cd, xMean, yMean := newResidualCD(x, y, true)
		w := make([]float64, p)
		res, err := coordinateDescent(context.Background(), cd, w, float64(n)*l1, float64(n)*l2, 1e-12, 100000)
		if err != nil || !res.Converged {
			t.Fatalf("residual form: converged %v, %v", res.Converged, err)
		}
		b := yMean
		for j := range p {
			b -= xMean[j] * w[j]
			if math.Abs(w[j]-m.Coef[j]) > 1e-6*math.Max(1, math.Abs(m.Coef[j])) {
				t.Errorf("alpha %v l1Ratio %v: w[%d]: residual form %v, Gram form %v", c.alpha, c.l1Ratio, j, w[j], m.Coef[j])
			}
		}
		if math.Abs(b-m.Intercept) > 1e-6*math.Abs(b) {
			t.Errorf("alpha %v l1Ratio %v: intercept: residual form %v, Gram form %v", c.alpha, c.l1Ratio, b, m.Intercept)
		}
	}
}

// TestLassoWideDesign: a design wider than maxGramCDColumns (and than its
// row count) uses the residual form; only the first three of its columns
// carry signal, and the lasso finds them, with the optimality conditions
// holding for the rest.
func TestLassoWideDesign(t *testing.T) {
	const n, p = 200, maxGramCDColumns + 1
	x, _ := syntheticRegression(n, p, 3)
	y := make([]float64, n)
	for i := range n {
		y[i] = 3*x.At(i, 0) - 2*x.At(i, 1) + x.At(i, 2) + 0.01*float64(i%7)
	}
	m := &ElasticNet{Alpha: 0.05, L1Ratio: 1, MaxIter: 1000, Tol: 1e-8, FitIntercept: true}
	if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	if m.Solver != "cd" || !m.Converged {
		t.Fatalf("solver %q converged %v, want cd, true", m.Solver, m.Converged)
	}
	for j, want := range []float64{3, -2, 1} {
		if math.Abs(m.Coef[j]-want) > 0.1 {
			t.Errorf("w[%d] = %v, want about %v", j, m.Coef[j], want)
		}
	}
	nonzero := 0
	for _, v := range m.Coef[3:] {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero > p/10 {
		t.Errorf("%d of %d noise columns have non-zero weight", nonzero, p-3)
	}
}

// TestLassoAlphaMax: at α ≥ max|xⱼᵀ(y − ȳ)|/n every weight is zero and the
// model predicts the mean; just below, one weight is non-zero.
func TestLassoAlphaMax(t *testing.T) {
	x, y := syntheticRegression(1000, 4, 8)
	n, p := x.Dims()
	ne := computeNormalEquations(x, y, true)
	alphaMax := 0.0
	for j := range p {
		alphaMax = math.Max(alphaMax, math.Abs(ne.Xty[j])/float64(n))
	}
	fit := func(alpha float64) *ElasticNet {
		m := &ElasticNet{Alpha: alpha, L1Ratio: 1, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := fit(alphaMax * (1 + 1e-9))
	for j, v := range m.Coef {
		if v != 0 {
			t.Errorf("alpha = alpha_max: w[%d] = %v, want 0", j, v)
		}
	}
	if math.Abs(m.Intercept-ne.YMean) > 1e-12*math.Abs(ne.YMean) || m.Iterations != 1 {
		t.Errorf("alpha = alpha_max: b = %v after %d sweeps, want mean(y) = %v after 1", m.Intercept, m.Iterations, ne.YMean)
	}
	m = fit(alphaMax * 0.99)
	nonzero := 0
	for _, v := range m.Coef {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero != 1 {
		t.Errorf("alpha just below alpha_max: %d non-zero weights, want 1", nonzero)
	}
}

// TestLassoZeroAlphaIsOLS: α = 0 is solved as ordinary least squares.
func TestLassoZeroAlphaIsOLS(t *testing.T) {
	x, y := syntheticRegression(500, 5, 2)
	m := &ElasticNet{Alpha: 0, L1Ratio: 1, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
	if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	w, b, _, err := LeastSquares(x, y, true)
	if err != nil {
		t.Fatal(err)
	}
	for j := range w {
		if m.Coef[j] != w[j] {
			t.Errorf("w[%d] = %v, OLS %v", j, m.Coef[j], w[j])
		}
	}
	if m.Intercept != b || !m.Converged {
		t.Errorf("b = %v (converged %v), OLS %v", m.Intercept, m.Converged, b)
	}
}

// TestLassoIterationLimit: hitting maxIter is not an error but is
// recorded; the default settings converge. Also: a constant column and
// fitIntercept=false.
func TestLassoIterationLimit(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	m := trainOrFatal(t, TrainConfig{Algorithm: "LASSO", Params: map[string]any{"alpha": 0.01, "maxIter": 2}}, features, target)
	if est := m.est.(*ElasticNet); est.Converged || est.Iterations != 2 {
		t.Errorf("maxIter 2: converged %v after %d sweeps; want false after 2", est.Converged, est.Iterations)
	}
	m = trainOrFatal(t, TrainConfig{Algorithm: "LASSO", Params: map[string]any{"alpha": 0.01}}, features, target)
	if est := m.est.(*ElasticNet); !est.Converged || !(est.DualGap >= 0) {
		t.Errorf("defaults: converged %v after %d sweeps, gap %v", est.Converged, est.Iterations, est.DualGap)
	}

	constant := NewNumeric("constant", make([]float64, target.Len()))
	for i := range constant.Num {
		constant.Num[i] = 0.1
	}
	m = trainOrFatal(t, TrainConfig{Algorithm: "LASSO", Params: map[string]any{"alpha": 0.01, "fitIntercept": false}},
		append([]*Column{constant}, features...), target)
	coefs, intercepts, _ := m.Coefficients()
	// Without intercept the constant column stands in for it.
	if coefs[0].Weight < 1000 || intercepts[0].Value != 0 {
		t.Errorf("no intercept: constant column weight %v, intercept %v; want ≈ 10·mean(y), 0", coefs[0].Weight, intercepts[0].Value)
	}
	m = trainOrFatal(t, TrainConfig{Algorithm: "LASSO", Params: map[string]any{"alpha": 0.01}},
		append([]*Column{constant}, features...), target)
	if coefs, _, _ := m.Coefficients(); coefs[0].Weight != 0 {
		t.Errorf("constant column weight %v with intercept, want 0", coefs[0].Weight)
	}
}

// TestLassoCancelled: Fit returns the context's error once it is done.
func TestLassoCancelled(t *testing.T) {
	x, y := syntheticRegression(1000, 5, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &ElasticNet{Alpha: 0.1, L1Ratio: 1, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
	if err := m.Fit(ctx, x, y, Regression, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit returned %v", err)
	}
}

// TestLassoIndependentOfCores: the Gram matrix is reduced in a fixed
// order, so the fit is bit-identical with one core or several.
func TestLassoIndependentOfCores(t *testing.T) {
	x, y := syntheticRegression(50000, 6, 4)
	fit := func(procs int) []float64 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m := &ElasticNet{Alpha: 0.5, L1Ratio: 1, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			t.Fatal(err)
		}
		return append(m.Coef, m.Intercept)
	}
	one, many := fit(1), fit(4)
	for j := range one {
		if one[j] != many[j] {
			t.Fatalf("weight %d: %v with 1 core, %v with 4", j, one[j], many[j])
		}
	}
}

func TestLassoRoundTrip(t *testing.T) {
	linearRoundTrip(t, "LASSO", map[string]any{"alpha": 0.1})
}

// TestLassoParams: invalid parameters are input errors naming them.
func TestLassoParams(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	for _, c := range []struct {
		params map[string]any
		parts  []string
	}{
		{map[string]any{"alpha": -0.1}, []string{"alpha", ">= 0"}},
		{map[string]any{"maxIter": 0}, []string{"maxIter", ">= 1"}},
		{map[string]any{"tol": -1}, []string{"tol", ">= 0"}},
		{map[string]any{"l1Ratio": 0.5}, []string{`"l1Ratio"`, "alpha, maxIter, tol, fitIntercept"}},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "LASSO", Params: c.params}, features, target)
		wantInputError(t, err, c.parts...)
	}
}

// BenchmarkLasso times LASSO's Fit (parallel Gram matrix + coordinate
// descent) on a dense 200,000×20 synthetic design, and the residual form
// of the descent on the same data for comparison.
func BenchmarkLasso(b *testing.B) {
	for _, size := range []struct{ n, p int }{{200000, 20}} {
		x, y := syntheticRegression(size.n, size.p, 1)
		b.Run(fmt.Sprintf("%dx%d", size.n, size.p), func(b *testing.B) {
			b.SetBytes(int64(size.n * size.p * 8))
			for b.Loop() {
				m := &ElasticNet{Alpha: 1, L1Ratio: 1, MaxIter: 1000, Tol: 1e-4, FitIntercept: true}
				if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
					b.Fatal(err)
				}
				if !m.Converged {
					b.Fatal("did not converge")
				}
			}
		})
		b.Run(fmt.Sprintf("%dx%d/residual", size.n, size.p), func(b *testing.B) {
			b.SetBytes(int64(size.n * size.p * 8))
			for b.Loop() {
				cd, _, _ := newResidualCD(x, y, true)
				w := make([]float64, size.p)
				res, err := coordinateDescent(context.Background(), cd, w, float64(size.n), 0, 1e-4, 1000)
				if err != nil || !res.Converged {
					b.Fatalf("converged %v, %v", res.Converged, err)
				}
			}
		})
	}
}

package ml

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestLinearSVMMatchesSklearn trains on the .split train rows of each
// classification dataset and compares the test accuracy with
// scikit-learn's StandardScaler + LinearSVC (which, like this fit, stops
// at 1000 epochs without converging on digits).
func TestLinearSVMMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"iris", "wine", "breast_cancer", "digits"} {
		t.Run(dataset, func(t *testing.T) {
			m, metrics, fit := fitOnSplit(t, dataset, TrainConfig{Algorithm: "LINEAR_SVM", Task: Classification})
			want := sklearnMetric(t, dataset, "linear_svc", "accuracy")
			if *metrics.Accuracy < want-0.02 {
				t.Errorf("test accuracy %.4f, sklearn %.4f", *metrics.Accuracy, want)
			}
			est := m.est.(*LinearSVM)
			t.Logf("accuracy %.4f, sklearn %.4f; log loss %.4f; fit %v; %d epochs, converged %v, temperature %.3g",
				*metrics.Accuracy, want, *metrics.LogLoss, fit, est.Iterations, est.Converged, est.Temperature)
		})
	}
}

// fitLinearSVM fits a LinearSVM with default parameters overridden by
// params on a design matrix.
func fitLinearSVM(t testing.TB, x *mat.Dense, y []float64, nClasses int, params map[string]any) *LinearSVM {
	t.Helper()
	resolved, err := ResolveParams("LINEAR_SVM", params)
	if err != nil {
		t.Fatal(err)
	}
	m := newLinearSVM(resolved).(*LinearSVM)
	if err := m.Fit(context.Background(), x, y, Classification, nClasses); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLinearSVMTwoPoints checks both losses on x = −1 (class 0) and x = +1
// (class 1) with the intercept as a regularised feature. By symmetry b = 0,
// and w minimises ½w² + 2C·ℓ(w): for the squared hinge w = 4C/(1+4C), for
// the hinge w = 1 once 2C ≥ 1.
func TestLinearSVMTwoPoints(t *testing.T) {
	x := mat.NewDense(2, 1, []float64{-1, 1})
	y := []float64{0, 1}
	for _, tc := range []struct {
		loss string
		c    float64
		w    float64
	}{
		{"squared_hinge", 1, 0.8},
		{"squared_hinge", 0.25, 0.5},
		{"hinge", 1, 1},
		{"hinge", 0.25, 0.5}, // 2C < 1: w = 2C, all rows inside the margin
	} {
		m := fitLinearSVM(t, x, y, 2, map[string]any{"loss": tc.loss, "C": tc.c, "tol": 1e-10})
		if math.Abs(m.Coef[0][0]-tc.w) > 1e-6 || math.Abs(m.Intercept[0]) > 1e-6 || !m.Converged {
			t.Errorf("%s C=%v: w = %v, b = %v, converged %v; want w = %v, b = 0", tc.loss, tc.c, m.Coef[0][0], m.Intercept[0], m.Converged, tc.w)
		}
	}
}

// TestLinearSVMOptimality checks that the squared-hinge solution zeroes the
// gradient of the primal objective ½‖w̃‖² + C·Σ max(0, 1 − yᵢw̃ᵀx̃ᵢ)², and
// that without an intercept b stays 0.
func TestLinearSVMOptimality(t *testing.T) {
	x, y := syntheticClassification(2000, 6, 3)
	n, p := x.Dims()
	for _, fitIntercept := range []bool{true, false} {
		const c = 0.5
		m := fitLinearSVM(t, x, y, 2, map[string]any{"C": c, "tol": 1e-9, "maxIter": 100000, "fitIntercept": fitIntercept})
		if !m.Converged {
			t.Fatalf("fitIntercept=%v: not converged in %d epochs", fitIntercept, m.Iterations)
		}
		w, b := m.Coef[0], m.Intercept[0]
		grad := append(slices.Clone(w), b) // ∂/∂(w, b) of ½‖w̃‖²
		for i := range n {
			xi := x.RawRowView(i)
			yi := 2*y[i] - 1
			if slack := 1 - yi*(floats.Dot(w, xi)+b); slack > 0 {
				floats.AddScaled(grad[:p], -2*c*slack*yi, xi)
				grad[p] += -2 * c * slack * yi
			}
		}
		if !fitIntercept {
			if b != 0 {
				t.Errorf("no intercept: b = %v", b)
			}
			grad[p] = 0 // b is not a variable
		}
		if g := floats.Norm(grad, math.Inf(1)); g > 1e-5 {
			t.Errorf("fitIntercept=%v: primal gradient %v (‖·‖∞ = %.3g)", fitIntercept, grad, g)
		}
	}
}

// TestLinearSVMProbabilities checks that the predicted class is the
// decision function's argmax, that probabilities are the temperature
// softmax of the decision values given by the Coefficients, and the binary
// layout (one weight row, for the second class).
func TestLinearSVMProbabilities(t *testing.T) {
	for _, dataset := range []string{"digits", "breast_cancer"} {
		features, target := readCSV(t, dataset)
		m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_SVM", Task: Classification}, features, target)
		est := m.est.(*LinearSVM)
		out, err := m.Predict(features)
		if err != nil {
			t.Fatal(err)
		}
		coefs, intercepts, ok := m.Coefficients()
		if !ok {
			t.Fatal("LINEAR_SVM has no coefficients")
		}
		rows := len(m.Classes)
		if rows == 2 {
			rows = 1
			if intercepts[0].Class != m.Classes[1] {
				t.Errorf("binary weights labelled %q, want %q", intercepts[0].Class, m.Classes[1])
			}
		}
		if len(intercepts) != rows || len(coefs) != rows*len(features) {
			t.Fatalf("%s: %d intercepts and %d coefficients", dataset, len(intercepts), len(coefs))
		}
		n := target.Len()
		for i := range n {
			f := make([]float64, rows)
			for k := range rows {
				f[k] = intercepts[k].Value
				for j := range features {
					f[k] += coefs[k*len(features)+j].Weight * features[j].Num[i]
				}
			}
			z := f
			if rows == 1 {
				z = []float64{0, f[0]}
			}
			want := make([]float64, len(z))
			softmaxScaled(z, est.Temperature, want)
			got := out.Proba.RawRowView(i)
			if !floats.EqualApprox(got, want, 1e-9) {
				t.Fatalf("%s row %d: probabilities %v, softmax of s·decision %v", dataset, i, got, want)
			}
			if out.Labels[i] != floats.MaxIdx(z) {
				t.Fatalf("%s row %d: label %d, decision argmax %d (%v)", dataset, i, out.Labels[i], floats.MaxIdx(z), z)
			}
		}
	}
}

// TestFitTemperature recovers the scale of logits drawn from a softmax
// model.
func TestFitTemperature(t *testing.T) {
	const n, k, s = 40000, 3, 2.5
	r := rand.New(rand.NewPCG(5, 6))
	z := mat.NewDense(n, k, nil)
	labels := make([]int, n)
	p := make([]float64, k)
	for i := range n {
		row := z.RawRowView(i)
		for c := range row {
			row[c] = r.NormFloat64()
		}
		softmaxScaled(row, s, p)
		u, c := r.Float64(), 0
		for ; c < k-1 && u > p[c]; c++ {
			u -= p[c]
		}
		labels[i] = c
	}
	if got := fitTemperature(z, labels, k); math.Abs(got-s) > 0.1 {
		t.Errorf("temperature %v, want about %v", got, s)
	}
	// Uninformative logits: the smallest temperature.
	for i := range n {
		z.Set(i, 0, 1)
		z.Set(i, 1, 0)
		z.Set(i, 2, 0)
	}
	if got := fitTemperature(z, labels, k); got > 1e-5 || !(got > 0) {
		t.Errorf("temperature of constant logits %v, want tiny and positive", got)
	}
}

func TestLinearSVMRoundTrip(t *testing.T) {
	features, target := readCSV(t, "wine")
	m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_SVM", Params: map[string]any{"loss": "hinge"}}, features, target)
	loaded := reloaded(t, m)
	before, _ := m.Predict(features)
	after, err := loaded.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(before.Proba, after.Proba) {
		t.Error("probabilities changed after save and load")
	}
	est := *m.est.(*LinearSVM)
	est.Temperature = 0
	if err := est.checkShape(len(m.OutputNames()), Classification, len(m.Classes)); err == nil {
		t.Error("checkShape accepted a zero temperature")
	}
	est = *m.est.(*LinearSVM)
	if err := est.checkShape(len(m.OutputNames())+1, Classification, len(m.Classes)); err == nil {
		t.Error("checkShape accepted weights for the wrong number of inputs")
	}
}

// TestLinearSVMSeed: the seed orders the coordinate updates, so the same
// seed gives the same model and another seed (before convergence) a
// different one.
func TestLinearSVMSeed(t *testing.T) {
	features, target := readCSV(t, "digits")
	fit := func(seed int) *LinearSVM {
		m := trainOrFatal(t, TrainConfig{Algorithm: "LINEAR_SVM", Task: Classification,
			Params: map[string]any{"seed": seed, "maxIter": 20}}, features, target)
		return m.est.(*LinearSVM)
	}
	a, b, c := fit(1), fit(1), fit(2)
	for k := range a.Coef {
		if !floats.Equal(a.Coef[k], b.Coef[k]) {
			t.Fatal("same seed gave different weights")
		}
	}
	if floats.Equal(a.Coef[0], c.Coef[0]) {
		t.Error("different seeds gave the same weights")
	}
}

func TestLinearSVMParamErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"loss": "log"}, "loss"},
		{map[string]any{"C": -1}, "C"},
		{map[string]any{"tol": 0}, "tol"},
		{map[string]any{"maxIter": 0}, "maxIter"},
		{map[string]any{"penalty": "l1"}, "penalty"},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "LINEAR_SVM", Params: tc.params}, features, target)
		wantInputError(t, err, tc.want)
	}
}

func TestLinearSVMCancelled(t *testing.T) {
	x, y := syntheticClassification(1000, 4, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := newLinearSVM(map[string]any{"C": 1.0, "tol": 1e-4, "maxIter": 1000, "loss": "squared_hinge", "fitIntercept": true, "seed": 0})
	if err := m.Fit(ctx, x, y, Classification, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context returned %v", err)
	}
}

// BenchmarkLinearSVM times binary LinearSVM.Fit on 200,000×20.
func BenchmarkLinearSVM(b *testing.B) {
	x, y := syntheticClassification(200000, 20, 1)
	b.ResetTimer()
	for b.Loop() {
		m := fitLinearSVM(b, x, y, 2, nil)
		b.ReportMetric(float64(m.Iterations), "epochs")
	}
}

// BenchmarkLinearSVMMulticlass times 4-class (one-vs-rest) LinearSVM.Fit
// on 200,000×20, whose machines run in parallel.
func BenchmarkLinearSVMMulticlass(b *testing.B) {
	x, y := svmBlobs(200000, 20, 4, 1)
	b.ResetTimer()
	for b.Loop() {
		m := fitLinearSVM(b, x, y, 4, nil)
		b.ReportMetric(float64(m.Iterations), "epochs")
	}
}

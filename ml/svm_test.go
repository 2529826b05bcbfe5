package ml

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestSVMMatchesSklearn trains on the .split train rows of each
// classification dataset and compares the test accuracy with
// scikit-learn's StandardScaler + SVC (rbf, C=1, gamma="scale"). The
// one-vs-one machines are libsvm's, so the vote (which Labels follows)
// gives scikit-learn's accuracy exactly on all four datasets.
func TestSVMMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"iris", "wine", "breast_cancer", "digits"} {
		t.Run(dataset, func(t *testing.T) {
			m, metrics, fit := fitOnSplit(t, dataset, TrainConfig{Algorithm: "SVM", Task: Classification})
			want := sklearnMetric(t, dataset, "svc_rbf", "accuracy")
			if *metrics.Accuracy < want-0.02 {
				t.Errorf("test accuracy %.4f, sklearn %.4f", *metrics.Accuracy, want)
			}
			est := m.est.(*SVM)
			t.Logf("accuracy %.4f, sklearn %.4f; fit %v; %d support vectors, %d SMO steps",
				*metrics.Accuracy, want, fit, len(est.SupportVectors), est.Iterations)
		})
	}
}

// TestSVMLabelsFollowVote checks that the predicted class is the
// one-vs-one vote (SVC.predict) for every row, and that the probabilities
// are distributions.
func TestSVMLabelsFollowVote(t *testing.T) {
	for _, dataset := range []string{"iris", "breast_cancer"} {
		features, target := readCSV(t, dataset)
		train, test := readSplit(t, dataset)
		m := trainOrFatal(t, TrainConfig{Algorithm: "SVM"}, takeColumns(features, train), target.Take(train))
		testFeatures := takeColumns(features, test)
		out, err := m.Predict(testFeatures)
		if err != nil {
			t.Fatal(err)
		}
		x, err := m.prep.Transform(testFeatures)
		if err != nil {
			t.Fatal(err)
		}
		est := m.est.(*SVM)
		_, p := x.Dims()
		votes := est.votes(est.support(p).decisionValues(x))
		for i, v := range votes {
			row := out.Proba.RawRowView(i)
			if out.Labels[i] != v {
				t.Errorf("%s row %d: label %d, vote %d (p = %v)", dataset, i, out.Labels[i], v, row)
			}
			if s := floats.Sum(row); math.Abs(s-1) > 1e-12 || floats.Min(row) < 0 {
				t.Errorf("%s row %d: probabilities %v", dataset, i, row)
			}
		}
	}
}

// TestSMOSolution checks solveSMO against a two-point problem with a known
// solution, then checks the optimality (KKT) conditions on a random
// problem, solved both from the shared kernel matrix and through a small
// row cache (which forces evictions and compaction of shrunk rows).
func TestSMOSolution(t *testing.T) {
	linear := svmKernel{kind: kernelLinear}
	// x = −1 (y = −1) and x = +1 (y = +1): with C = 10 the hard-margin
	// solution f(x) = x, α = (½, ½), ρ = 0; with C = 0.1 both α are at the
	// bound and f(x) = 0.2x.
	two := mat.NewDense(2, 1, []float64{-1, 1})
	for _, tc := range []struct{ c, alpha float64 }{{10, 0.5}, {0.1, 0.1}} {
		res, err := solveSMO(context.Background(), newQMatrix(newKernelData(two, linear, true), []int{0, 1}, 100),
			[]float64{-1, 1}, tc.c, 1e-9, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.alpha[0]-tc.alpha) > 1e-12 || math.Abs(res.alpha[1]-tc.alpha) > 1e-12 || math.Abs(res.rho) > 1e-12 || !res.converged {
			t.Errorf("C=%v: α = %v, ρ = %v, converged %v; want α = %v, ρ = 0", tc.c, res.alpha, res.rho, res.converged, tc.alpha)
		}
	}

	const n, p, c, tol = 600, 5, 1.0, 1e-4
	r := rand.New(rand.NewPCG(3, 4))
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		for j := range p {
			x.Set(i, j, r.NormFloat64())
		}
		y[i] = 1
		if x.At(i, 0)*x.At(i, 1)+0.3*r.NormFloat64() < 0 { // not linearly separable
			y[i] = -1
		}
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	kern := svmKernel{kind: kernelRBF, gamma: 0.2}
	var alphas [2][]float64
	for mode, share := range []bool{true, false} {
		data := newKernelData(x, kern, share)
		res, err := solveSMO(context.Background(), newQMatrix(data, rows, 20*n), y, c, tol, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !res.converged {
			t.Fatalf("share=%v: not converged after %d steps", share, res.iterations)
		}
		alphas[mode] = res.alpha
		// yᵢf(xᵢ) − 1 = ∇ᵢ − yᵢρ must be ≥ 0 where α = 0, ≤ 0 where α = C
		// and 0 in between, to within the stopping tolerance.
		sum, free := 0.0, 0
		for i := range n {
			a := res.alpha[i]
			if a < 0 || a > c {
				t.Fatalf("α[%d] = %v outside [0, %v]", i, a, c)
			}
			sum += y[i] * a
			f := -res.rho
			for k := range n {
				f += y[k] * res.alpha[k] * kern.value(floats.Dot(x.RawRowView(i), x.RawRowView(k)), data.norm[i], data.norm[k])
			}
			margin := y[i]*f - 1
			switch {
			case a == 0 && margin < -tol,
				a == c && margin > tol,
				a > 0 && a < c && math.Abs(margin) > tol:
				t.Errorf("share=%v row %d: α = %v but y·f − 1 = %v", share, i, a, margin)
			}
			if a > 0 && a < c {
				free++
			}
		}
		if math.Abs(sum) > 1e-9 {
			t.Errorf("share=%v: Σ yα = %v, want 0", share, sum)
		}
		t.Logf("share=%v: %d steps, %d free support vectors", share, res.iterations, free)
	}
	for i := range n {
		if math.Abs(alphas[0][i]-alphas[1][i]) > 1e-6 {
			t.Fatalf("α[%d] = %v from the shared matrix, %v from the row cache", i, alphas[0][i], alphas[1][i])
		}
	}
}

// TestFitPlattSigmoid recovers the sigmoid of data drawn from it, and stays
// finite on separable data.
func TestFitPlattSigmoid(t *testing.T) {
	const a, b = -2.0, 0.5
	r := rand.New(rand.NewPCG(1, 2))
	dec := make([]float64, 50000)
	positive := make([]bool, len(dec))
	for i := range dec {
		dec[i] = 6*r.Float64() - 3
		positive[i] = r.Float64() < 1/(1+math.Exp(a*dec[i]+b))
	}
	s := fitPlattSigmoid(dec, positive)
	if math.Abs(s.A-a) > 0.1 || math.Abs(s.B-b) > 0.1 {
		t.Errorf("fitted A = %v, B = %v; want about %v, %v", s.A, s.B, a, b)
	}
	if got, want := s.prob(1), 1/(1+math.Exp(s.A+s.B)); math.Abs(got-want) > 1e-15 {
		t.Errorf("P(+1 | 1) = %v, want %v", got, want)
	}

	sep := fitPlattSigmoid([]float64{-2, -1, 1, 2}, []bool{false, false, true, true})
	if !(sep.A < 0) || math.IsInf(sep.A, 0) || math.IsNaN(sep.B) {
		t.Errorf("separable data: A = %v, B = %v; want finite A < 0", sep.A, sep.B)
	}
	// Platt's targets are 3/4 and 1/4 here, which the fit must reach.
	if p := sep.prob(2); math.Abs(p-0.75) > 0.05 {
		t.Errorf("separable data: P(+1 | 2) = %v, want about 0.75", p)
	}
}

// TestCouplePairwise recovers a distribution from its exact pairwise
// probabilities r_ij = p_i/(p_i + p_j).
func TestCouplePairwise(t *testing.T) {
	want := []float64{0.5, 0.3, 0.15, 0.05}
	k := len(want)
	r, q := make([][]float64, k), make([][]float64, k)
	for i := range k {
		r[i], q[i] = make([]float64, k), make([]float64, k)
		for j := range k {
			if i != j {
				r[i][j] = want[i] / (want[i] + want[j])
			}
		}
	}
	got := make([]float64, k)
	couplePairwise(r, got, q, make([]float64, k))
	if math.Abs(floats.Sum(got)-1) > 1e-12 {
		t.Errorf("coupled probabilities %v do not sum to 1", got)
	}
	for i := range k {
		if math.Abs(got[i]-want[i]) > 1e-3 {
			t.Errorf("coupled probabilities %v, want %v", got, want)
			break
		}
	}
}

func TestFavourVote(t *testing.T) {
	p := []float64{0.5, 0.3, 0.2}
	favourVote(p, 2)
	if !(p[2] > p[0] && p[0] > p[1]) || math.Abs(floats.Sum(p)-1) > 1e-12 {
		t.Errorf("after favouring class 2: %v; want it the largest, the others in their order, sum 1", p)
	}
	if p[2]-p[0] > 1e-6 {
		t.Errorf("after favouring class 2: %v; the shift should be minimal", p)
	}
	q := []float64{0.2, 0.7, 0.1}
	favourVote(q, 1)
	if q[0] != 0.2 || q[1] != 0.7 || q[2] != 0.1 {
		t.Errorf("favouring the most probable class changed %v", q)
	}
}

// TestSVMKernels trains every kernel on breast_cancer, and checks that the
// decision value of the linear kernel is the linear function given by its
// support vectors.
func TestSVMKernels(t *testing.T) {
	features, target := readCSV(t, "breast_cancer")
	train, test := readSplit(t, "breast_cancer")
	for _, tc := range []struct {
		params map[string]any
		minAcc float64
	}{
		{map[string]any{"kernel": "linear"}, 0.94},
		{map[string]any{"kernel": "poly", "degree": 2, "coef0": 1.0}, 0.93},
		{map[string]any{"kernel": "poly"}, 0.85},
		{map[string]any{"kernel": "sigmoid", "gamma": 0.01}, 0.93},
		{map[string]any{"kernel": "rbf", "gamma": 0.05, "C": 10.0}, 0.92},
	} {
		m := trainOrFatal(t, TrainConfig{Algorithm: "SVM", Params: tc.params}, takeColumns(features, train), target.Take(train))
		metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
		if err != nil {
			t.Fatal(err)
		}
		if *metrics.Accuracy < tc.minAcc {
			t.Errorf("%v: test accuracy %.4f < %.2f", tc.params, *metrics.Accuracy, tc.minAcc)
		}
		t.Logf("%v: test accuracy %.4f", tc.params, *metrics.Accuracy)
		est := m.est.(*SVM)
		if g, ok := tc.params["gamma"]; ok && est.KernelGamma != g {
			t.Errorf("%v: γ = %v", tc.params, est.KernelGamma)
		}
		if tc.params["kernel"] != "linear" {
			continue
		}
		x, _ := m.prep.Transform(takeColumns(features, test))
		n, p := x.Dims()
		w := make([]float64, p)
		for k, sv := range est.SupportVectors {
			floats.AddScaled(w, est.DualCoef[0][k], sv)
		}
		dec := est.support(p).decisionValues(x)
		for i := range n {
			if want := floats.Dot(w, x.RawRowView(i)) + est.Intercept[0]; math.Abs(dec.At(i, 0)-want) > 1e-9 {
				t.Fatalf("row %d: decision value %v, w·x + b = %v", i, dec.At(i, 0), want)
			}
		}
	}
}

// TestSVMScaleGamma checks gamma="scale" = 1/(p·Var(X)) over all entries.
func TestSVMScaleGamma(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{0, 1, 2, 5}) // mean 2, variance (4+1+0+9)/4
	if got, want := scaleGamma(x), 1/(2*3.5); math.Abs(got-want) > 1e-15 {
		t.Errorf("scale γ = %v, want %v", got, want)
	}
	if got := scaleGamma(mat.NewDense(2, 2, []float64{3, 3, 3, 3})); got != 1 {
		t.Errorf("scale γ of constant data = %v, want 1", got)
	}
}

// TestSVMCacheModes fits the same data with the whole kernel matrix shared
// and with small per-problem row caches: the models must agree.
func TestSVMCacheModes(t *testing.T) {
	x, y := svmBlobs(1500, 4, 3, 7)
	var probs [2]*mat.Dense
	for mode, cacheSize := range []float64{200, 1} { // 1 MB < 1500²·8·2 bytes
		params := svmDefaults()
		params["cacheSize"] = cacheSize
		m := newSVM(params).(*SVM)
		if err := m.Fit(context.Background(), x, y, Classification, 3); err != nil {
			t.Fatal(err)
		}
		n, _ := x.Dims()
		probs[mode] = mat.NewDense(n, 3, nil)
		m.Predict(x, probs[mode])
	}
	if !mat.EqualApprox(probs[0], probs[1], 1e-6) {
		t.Errorf("probabilities differ between the shared kernel matrix and the row caches")
	}
}

// svmBlobs returns n rows of p features in k overlapping Gaussian classes.
func svmBlobs(n, p, k int, seed uint64) (*mat.Dense, []float64) {
	r := rand.New(rand.NewPCG(seed, 9))
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		c := r.IntN(k)
		y[i] = float64(c)
		for j := range p {
			x.Set(i, j, r.NormFloat64()+1.5*math.Cos(float64(c*(j+1))))
		}
	}
	return x, y
}

func TestSVMRoundTrip(t *testing.T) {
	features, target := readCSV(t, "wine")
	m := trainOrFatal(t, TrainConfig{Algorithm: "SVM", Params: map[string]any{"kernel": "poly", "gamma": 0.1}}, features, target)
	loaded := reloaded(t, m)
	before, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	after, err := loaded.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(before.Proba, after.Proba) {
		t.Error("probabilities changed after save and load")
	}

	// A corrupt encoding fails at load, not at prediction.
	est := *m.est.(*SVM)
	est.DualCoef = est.DualCoef[:1]
	if err := est.checkShape(len(m.OutputNames()), Classification, len(m.Classes)); err == nil {
		t.Error("checkShape accepted a dual coefficient row short")
	}
	est = *m.est.(*SVM)
	est.SupportCounts = []int{1, 1, 1}
	if err := est.checkShape(len(m.OutputNames()), Classification, len(m.Classes)); err == nil {
		t.Error("checkShape accepted wrong support vector counts")
	}
}

// TestSVMSeed: the seed draws the Platt cross-validation folds, so it
// changes the probabilities but not the machines.
func TestSVMSeed(t *testing.T) {
	features, target := readCSV(t, "iris")
	fit := func(seed int) *SVM {
		m := trainOrFatal(t, TrainConfig{Algorithm: "SVM", Params: map[string]any{"seed": seed}}, features, target)
		return m.est.(*SVM)
	}
	a, b, c := fit(1), fit(1), fit(2)
	if !floats.Equal(a.ProbA, b.ProbA) || !floats.Equal(a.ProbB, b.ProbB) || !floats.Equal(a.Intercept, b.Intercept) {
		t.Error("same seed gave different models")
	}
	if floats.Equal(a.ProbA, c.ProbA) {
		t.Error("different seeds gave the same Platt sigmoids")
	}
	if !floats.Equal(a.Intercept, c.Intercept) || !floats.Equal(a.DualCoef[0], c.DualCoef[0]) {
		t.Error("the seed changed the machines")
	}
}

func TestSVMParamErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"kernel": "cubic"}, "kernel"},
		{map[string]any{"C": 0}, "C"},
		{map[string]any{"gamma": -1}, "gamma"},
		{map[string]any{"degree": 0}, "degree"},
		{map[string]any{"tol": 0}, "tol"},
		{map[string]any{"maxIter": -2}, "maxIter"},
		{map[string]any{"cacheSize": 0.5}, "cacheSize"},
		{map[string]any{"shrinking": false}, "shrinking"},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "SVM", Params: tc.params}, features, target)
		wantInputError(t, err, tc.want)
	}
	if _, err := Train(context.Background(), TrainConfig{Algorithm: "SVM", Task: Regression}, features, features[0]); err == nil {
		t.Error("SVM trained for regression")
	}
}

func TestSVMCancelled(t *testing.T) {
	x, y := svmBlobs(2000, 4, 2, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := newSVM(svmDefaults()).(*SVM)
	if err := m.Fit(ctx, x, y, Classification, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with a cancelled context returned %v", err)
	}
}

// TestSVMMaxIter: a step limit stops every machine early and is reported.
func TestSVMMaxIter(t *testing.T) {
	x, y := svmBlobs(400, 4, 2, 2)
	params := svmDefaults()
	params["maxIter"] = 5
	m := newSVM(params).(*SVM)
	if err := m.Fit(context.Background(), x, y, Classification, 2); err != nil {
		t.Fatal(err)
	}
	if m.Converged || m.Iterations != 5 {
		t.Errorf("converged %v after %d steps with maxIter 5", m.Converged, m.Iterations)
	}
}

// BenchmarkSVM times SVM.Fit (rbf kernel, with the Platt cross-validation)
// on a 20,000×20 binary synthetic set: kernel SVM training grows faster
// than the square of the rows, so the 200,000-row set of the other
// benchmarks would take far too long.
func BenchmarkSVM(b *testing.B) {
	x, y := syntheticClassification(20000, 20, 1)
	b.ResetTimer()
	for b.Loop() {
		m := newSVM(svmDefaults()).(*SVM)
		if err := m.Fit(context.Background(), x, y, Classification, 2); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(m.SupportVectors)), "SVs")
		b.ReportMetric(float64(m.Iterations), "steps")
	}
}

// BenchmarkSVMDigits times the whole Train path on the digits train split
// (1437×64, 10 classes: 45 machines and their Platt folds); scikit-learn's
// SVC takes 61 ms without probabilities.
func BenchmarkSVMDigits(b *testing.B) {
	features, target := readCSV(b, "digits")
	train, _ := readSplit(b, "digits")
	f, tg := takeColumns(features, train), target.Take(train)
	for b.Loop() {
		trainOrFatal(b, TrainConfig{Algorithm: "SVM", Task: Classification}, f, tg)
	}
}

// svmDefaults returns the SVM's default parameters.
func svmDefaults() map[string]any {
	params, err := ResolveParams("SVM", nil)
	if err != nil {
		panic(err)
	}
	return params
}

package ml

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// sklearnBoostingMetrics are scikit-learn 1.2.1's test metrics of
// GradientBoostingClassifier(random_state=0) and
// GradientBoostingRegressor(random_state=0) on the .split rows (measured
// with the environment of testdata/reference/sklearn.json, which has no
// boosting entry).
var sklearnBoostingMetrics = map[string]float64{
	"iris":          0.9666666666666667,
	"wine":          0.9722222222222222,
	"breast_cancer": 0.9649122807017544,
	"digits":        0.9583333333333334,
	"diabetes":      0.20592648398710256,
}

// TestGradientBoostingMatchesSklearn compares the default boosting model
// with scikit-learn's (100 stages of depth-3 trees, learning rate 0.1),
// and, as a sanity bound, with the reference random forest: boosting may
// trail the forest on these small sets (scikit-learn's by up to 0.065 on
// diabetes) but not by more than 0.1.
func TestGradientBoostingMatchesSklearn(t *testing.T) {
	for _, d := range treeParityDatasets {
		t.Run(d.name, func(t *testing.T) {
			_, got, elapsed := treeParityScore(t, d.name, d.task, d.metric, TrainConfig{Algorithm: "GRADIENT_BOOSTING"})
			checkTreeParity(t, d.metric, got, sklearnBoostingMetrics[d.name], elapsed)
			if forest := sklearnMetric(t, d.name, "forest_100", d.metric); got < forest-0.1 {
				t.Errorf("test %s %.4f, more than 0.1 below scikit-learn's forest (%.4f)", d.metric, got, forest)
			}
		})
	}
}

// TestGradientBoostingSameAsSklearn compares the class probabilities on
// the iris test rows with scikit-learn's GradientBoostingClassifier
// (random_state=0). The trees are scikit-learn's until a split that is
// tied in exact arithmetic is decided by rounding (the first is in stage
// 2, where petal length and width give the same partition: which wins
// depends on the order in which each sorts equal values when summing the
// residuals). From there the trees may differ, but the probabilities
// still agree to 1e-4.
func TestGradientBoostingSameAsSklearn(t *testing.T) {
	want := [][3]float64{
		{0.999995, 3.71458e-06, 8.20359e-07}, {0.999996, 3.41626e-06, 8.20405e-07}, {0.999996, 3.41626e-06, 8.20405e-07},
		{0.999995, 3.71458e-06, 8.20359e-07}, {0.999995, 3.71458e-06, 8.20359e-07}, {0.999995, 4.03079e-06, 8.20315e-07},
		{0.999995, 3.71458e-06, 8.20359e-07}, {0.999995, 3.71458e-06, 8.20359e-07}, {0.999995, 3.71458e-06, 8.20359e-07},
		{0.999996, 3.41626e-06, 8.20405e-07}, {6.22144e-07, 0.999999, 7.86413e-07}, {5.21223e-06, 0.999978, 1.63756e-05},
		{4.16484e-06, 0.99999, 5.33787e-06}, {1.44262e-06, 0.999997, 1.81956e-06}, {4.16484e-06, 0.99999, 5.33787e-06},
		{4.16484e-06, 0.99999, 5.33787e-06}, {1.61645e-06, 0.999995, 3.61406e-06}, {4.16484e-06, 0.99999, 5.33787e-06},
		{4.16484e-06, 0.99999, 5.33787e-06}, {4.16484e-06, 0.99999, 5.33787e-06}, {1.21514e-06, 2.18935e-06, 0.999997},
		{1.25739e-06, 2.26769e-06, 0.999996}, {2.82366e-06, 5.33142e-05, 0.999944}, {4.03117e-06, 0.000495402, 0.999501},
		{6.29837e-06, 0.999971, 2.30257e-05}, {8.49066e-06, 0.000239017, 0.999752}, {1.21514e-06, 2.18935e-06, 0.999997},
		{1.25862e-06, 2.26769e-06, 0.999996}, {2.60473e-06, 1.28387e-05, 0.999985}, {1.25862e-06, 2.26769e-06, 0.999996},
	}
	features, target := readCSV(t, "iris")
	train, test := readSplit(t, "iris")
	m := trainOrFatal(t, TrainConfig{Algorithm: "GRADIENT_BOOSTING"}, takeColumns(features, train), target.Take(train))
	out, err := m.Predict(takeColumns(features, test))
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, row := range want {
		for k, w := range row {
			worst = math.Max(worst, math.Abs(out.Proba.At(i, k)-w))
		}
	}
	if worst > 1e-4 {
		t.Errorf("probabilities differ from scikit-learn's by up to %.3g", worst)
	}
	t.Logf("largest difference from scikit-learn's probabilities: %.2g", worst)
}

// TestGradientBoostingNewtonStep checks one binary stage by hand: on
// x = (0, 0, 1, 1), y = (0, 1, 1, 1), F₀ = log(0.75/0.25) = log 3, the
// residuals are y − 0.75 and the stump splits x at 0.5. Each leaf gets
// Σr / Σp(1−p): −0.5/0.375 on the left, 0.5/0.375 on the right.
func TestGradientBoostingNewtonStep(t *testing.T) {
	x := mat.NewDense(4, 1, []float64{0, 0, 1, 1})
	m := newGradientBoosting(map[string]any{"nEstimators": 1, "learningRate": 1.0, "maxDepth": 1, "subsample": 1.0,
		"minSamplesLeaf": 1, "validationFraction": 0.1, "nIterNoChange": 0, "seed": 0}).(*GradientBoosting)
	if err := m.Fit(context.Background(), x, []float64{0, 1, 1, 1}, Classification, 2); err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.Init[0]-math.Log(3)) > 1e-15 {
		t.Errorf("F₀ = %v, want log 3", m.Init[0])
	}
	proba := mat.NewDense(2, 2, nil)
	m.Predict(mat.NewDense(2, 1, []float64{0, 1}), proba)
	for i, f := range []float64{math.Log(3) - 4.0/3, math.Log(3) + 4.0/3} {
		if want := sigmoid(f); math.Abs(proba.At(i, 1)-want) > 1e-14 || math.Abs(proba.At(i, 0)+proba.At(i, 1)-1) > 1e-15 {
			t.Errorf("x=%d: P(1) = %v, want σ(%v) = %v", i, proba.At(i, 1), f, want)
		}
	}
}

// TestGradientBoostingLearnsFunctions fits known functions with
// interactions a linear model cannot express, and checks held-out
// accuracy: regression y = 3·sin(x₀) + x₁² (+ noise, two useless
// features), binary XOR of signs, and three classes by angle.
func TestGradientBoostingLearnsFunctions(t *testing.T) {
	const n, p = 1500, 4
	r := rand.New(rand.NewPCG(9, 9))
	x := mat.NewDense(n, p, nil)
	for i := range n {
		for j := range p {
			x.Set(i, j, 6*r.Float64()-3)
		}
	}
	split := 1000
	xTrain, xTest := x.Slice(0, split, 0, p).(*mat.Dense), x.Slice(split, n, 0, p).(*mat.Dense)
	fit := func(y []float64, task Task, classes int) *mat.Dense {
		t.Helper()
		m := newGradientBoosting(map[string]any{"nEstimators": 200, "learningRate": 0.1, "maxDepth": 3, "subsample": 1.0,
			"minSamplesLeaf": 1, "validationFraction": 0.1, "nIterNoChange": 0, "seed": 0})
		if err := m.Fit(context.Background(), xTrain, y[:split], task, classes); err != nil {
			t.Fatal(err)
		}
		out := mat.NewDense(n-split, max(classes, 1), nil)
		m.Predict(xTest, out)
		return out
	}

	y := make([]float64, n)
	for i := range n {
		y[i] = 3*math.Sin(x.At(i, 0)) + x.At(i, 1)*x.At(i, 1) + 0.1*r.NormFloat64()
	}
	if r2 := R2Score(y[split:], mat.Col(nil, 0, fit(y, Regression, 0))); r2 < 0.95 {
		t.Errorf("regression: held-out r2 %.3f, want ≥ 0.95", r2)
	}

	accuracy := func(proba *mat.Dense, y []float64) float64 {
		correct := 0
		for i, k := range ArgmaxRows(proba) {
			if float64(k) == y[i] {
				correct++
			}
		}
		return float64(correct) / float64(len(y))
	}
	for i := range n {
		y[i] = boostingIndicator(x.At(i, 0)*x.At(i, 1) > 0)
	}
	proba := fit(y, Classification, 2)
	if acc := accuracy(proba, y[split:]); acc < 0.95 {
		t.Errorf("XOR: held-out accuracy %.3f, want ≥ 0.95", acc)
	}
	for i := range n {
		y[i] = math.Floor((math.Atan2(x.At(i, 1), x.At(i, 0)) + math.Pi) / (2 * math.Pi / 3))
		y[i] = min(y[i], 2)
	}
	proba = fit(y, Classification, 3)
	if acc := accuracy(proba, y[split:]); acc < 0.9 {
		t.Errorf("angle sectors: held-out accuracy %.3f, want ≥ 0.9", acc)
	}
	for i := range n - split {
		if s := floats.Sum(proba.RawRowView(i)); math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
	}
}

// TestGradientBoostingEarlyStopping: on pure noise the held-out loss stops
// improving early, so far fewer than nEstimators stages are kept; the
// initial score is the mean of the training (not held-out) rows.
func TestGradientBoostingEarlyStopping(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const n = 400
	x := mat.NewDense(n, 3, nil)
	y := make([]float64, n)
	for i := range n {
		for j := range 3 {
			x.Set(i, j, r.NormFloat64())
		}
		y[i] = r.NormFloat64()
	}
	params := map[string]any{"nEstimators": 500, "learningRate": 0.1, "maxDepth": 3, "subsample": 1.0,
		"minSamplesLeaf": 1, "validationFraction": 0.2, "nIterNoChange": 5, "seed": 0}
	m := newGradientBoosting(params).(*GradientBoosting)
	if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	if s := m.Stages(); s < 5 || s > 50 {
		t.Errorf("early stopping kept %d of 500 stages on noise", s)
	}
	if mean := floats.Sum(y) / n; math.Abs(m.Init[0]-mean) < 1e-15 {
		t.Error("initial score is the mean of all rows, held-out ones included")
	}
	params["nIterNoChange"] = 0
	full := newGradientBoosting(params).(*GradientBoosting)
	if err := full.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	if full.Stages() != 500 || math.Abs(full.Init[0]-floats.Sum(y)/n) > 1e-15 {
		t.Errorf("without early stopping: %d stages, F₀ %v (want 500, the mean %v)", full.Stages(), full.Init[0], floats.Sum(y)/n)
	}
}

// TestHoldOutIsStratified: each class keeps its share of held-out rows.
func TestHoldOutIsStratified(t *testing.T) {
	labels := make([]int32, 100)
	for i := range labels {
		labels[i] = int32(min(i/10, 2)) // 10, 10 and 80 rows
	}
	held := boostingHoldOut(labels, 3, len(labels), 0.2, newNumpyRandomState(1))
	counts := make([]int, 3)
	for i, h := range held {
		if h {
			counts[labels[i]]++
		}
	}
	if !slices.Equal(counts, []int{2, 2, 16}) {
		t.Errorf("held out %v rows per class, want [2 2 16]", counts)
	}
}

func TestGradientBoostingReproducible(t *testing.T) {
	features, target := readCSV(t, "wine")
	encode := func(seed int) []byte {
		m := trainOrFatal(t, TrainConfig{Algorithm: "GRADIENT_BOOSTING", Params: map[string]any{"nEstimators": 20, "subsample": 0.5, "seed": seed}}, features, target)
		data, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	a := encode(1)
	if !slices.Equal(encode(1), a) {
		t.Error("seed 1 gave two different models")
	}
	if slices.Equal(encode(2), a) {
		t.Error("seeds 1 and 2 gave the same model with subsample 0.5")
	}
}

func TestGradientBoostingSaveLoad(t *testing.T) {
	for _, d := range []struct {
		name string
		task Task
	}{{"iris", Classification}, {"breast_cancer", Classification}, {"diabetes", Regression}} {
		t.Run(d.name, func(t *testing.T) {
			features, target := readCSV(t, d.name)
			m := trainOrFatal(t, TrainConfig{Algorithm: "GRADIENT_BOOSTING", Task: d.task, Params: map[string]any{"nEstimators": 10}}, features, target)
			treeRoundTrip(t, m, features)
			if s := floats.Sum(m.est.(Importancer).FeatureImportances()); math.Abs(s-1) > 1e-12 {
				t.Errorf("importances sum to %v", s)
			}
			for what, edit := range map[string]func(est map[string]any){
				"extra initial score": func(est map[string]any) { est["Init"] = append(est["Init"].([]any), json.Number("0")) },
				"tree missing":        func(est map[string]any) { est["Trees"] = est["Trees"].([]any)[1:] },
				"leaf out of range": func(est map[string]any) {
					tree := est["Trees"].([]any)[0].(map[string]any)
					tree["Value"] = tree["Value"].([]any)[:1]
				},
			} {
				if len(m.est.(*GradientBoosting).Init) == 1 && what == "tree missing" {
					continue // one tree per stage: any number is valid
				}
				if _, err := LoadModel(corruptEstimator(t, m, edit)); err == nil {
					t.Errorf("%s: corrupt model loaded", what)
				}
			}
		})
	}
}

func TestGradientBoostingParams(t *testing.T) {
	features, target := readCSV(t, "iris")
	for _, c := range []struct {
		params map[string]any
		parts  []string
	}{
		{map[string]any{"learningRate": 0.0}, []string{"learningRate", "> 0"}},
		{map[string]any{"subsample": 0.0}, []string{"subsample", "(0, 1]"}},
		{map[string]any{"subsample": 1.5}, []string{"subsample"}},
		{map[string]any{"maxDepth": 0}, []string{"maxDepth", ">= 1"}},
		{map[string]any{"validationFraction": 1.0}, []string{"validationFraction", "(0, 1)"}},
		{map[string]any{"nIterNoChange": -1}, []string{"nIterNoChange"}},
		{map[string]any{"nEstimators": 0}, []string{"nEstimators"}},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "GRADIENT_BOOSTING", Params: c.params}, features, target)
		wantInputError(t, err, c.parts...)
	}
}

func TestGradientBoostingCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, y := syntheticRegression(100, 3, 1)
	m := estimatorWith(t, "GRADIENT_BOOSTING", map[string]any{"nEstimators": 10})
	if err := m.Fit(ctx, x, y, Regression, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit returned %v", err)
	}
}

// BenchmarkGradientBoosting fits 100 stages of depth-3 trees on
// 200,000×20.
func BenchmarkGradientBoosting(b *testing.B) {
	benchmarkFit(b, 200000, 20, func() Estimator {
		return estimatorWith(b, "GRADIENT_BOOSTING", map[string]any{"nEstimators": 100})
	}, nil)
}

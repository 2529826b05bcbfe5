package ml

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// colourEffect is the effect of each colour level on explainData's target.
var colourEffect = map[string]float64{"red": 0, "green": 1, "blue": -2}

// explainData returns n rows of independent features a, b ~ N(0, 1), a
// categorical colour, a noise column no target uses, and the targets
// y = 3a − 2b (+ the colour's effect if withColour) and a three-class
// label of 3a − 2b.
func explainData(n int, seed uint64, withColour bool) (features []*Column, y, label *Column) {
	rng := rand.New(rand.NewPCG(seed, 7))
	a, b, noise, ys := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	codes, labels := make([]int32, n), make([]int32, n)
	levels := []string{"red", "green", "blue"}
	for i := range n {
		a[i], b[i], noise[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		codes[i] = int32(rng.IntN(3))
		s := 3*a[i] - 2*b[i]
		ys[i] = s
		if withColour {
			ys[i] += colourEffect[levels[codes[i]]]
		}
		switch {
		case s < -1.5:
			labels[i] = 0
		case s > 1.5:
			labels[i] = 2
		default:
			labels[i] = 1
		}
	}
	features = []*Column{NewNumeric("a", a), NewNumeric("b", b), NewCategorical("colour", codes, levels), NewNumeric("noise", noise)}
	return features, NewNumeric("y", ys), NewCategorical("label", labels, []string{"low", "mid", "high"})
}

func trainExplained(t testing.TB, algorithm string, task Task, params map[string]any, features []*Column, target *Column) *Model {
	t.Helper()
	m, err := Train(context.Background(), TrainConfig{Algorithm: algorithm, Task: task, Params: params}, features, target)
	if err != nil {
		t.Fatalf("train %s: %v", algorithm, err)
	}
	return m
}

// explainHidden hides an estimator's type and optional interfaces, which
// makes Explain fall back to sampling.
type explainHidden struct{ Estimator }

func hideEstimator(m *Model) *Model {
	h := *m
	h.est = explainHidden{m.est}
	return &h
}

// leadingRows returns the first n rows of cols.
func leadingRows(cols []*Column, n int) []*Column {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return takeColumns(cols, rows)
}

func explainOK(t testing.TB, m *Model, features, background []*Column, seed uint64) []Explanation {
	t.Helper()
	ex, err := m.Explain(context.Background(), features, background, seed)
	if err != nil {
		t.Fatalf("explain %s: %v", m.Algorithm, err)
	}
	if len(ex) != features[0].Len() {
		t.Fatalf("%d explanations for %d rows", len(ex), features[0].Len())
	}
	return ex
}

// checkLocalAccuracy checks Baseline + Σ contributions = Prediction, the
// prediction and baseline against Predict, the method and the class.
func checkLocalAccuracy(t *testing.T, m *Model, features, background []*Column, ex []Explanation, method string) {
	t.Helper()
	out, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	bg, err := m.Predict(background)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ex {
		if e.Method != method {
			t.Fatalf("row %d: method %s, want %s", i, e.Method, method)
		}
		k, pred := 0, 0.0
		if m.Task == Classification {
			k = out.Labels[i]
			pred = out.Proba.At(i, k)
			if e.Class != m.Classes[k] {
				t.Errorf("row %d: explains class %q, predicted %q", i, e.Class, m.Classes[k])
			}
		} else {
			pred = out.Values[i]
			if e.Class != "" {
				t.Errorf("row %d: regression explanation of class %q", i, e.Class)
			}
		}
		if e.Prediction != pred {
			t.Errorf("row %d: prediction %v, Predict gives %v", i, e.Prediction, pred)
		}
		var base float64
		for r := range background[0].Len() {
			if m.Task == Classification {
				base += bg.Proba.At(r, k)
			} else {
				base += bg.Values[r]
			}
		}
		base /= float64(background[0].Len())
		if math.Abs(e.Baseline-base) > 1e-12*(1+math.Abs(base)) {
			t.Errorf("row %d: baseline %v, mean background prediction %v", i, e.Baseline, base)
		}
		total := e.Baseline
		for j, c := range e.Contributions {
			if c.Feature != m.Features[j].Name {
				t.Fatalf("row %d: contribution %d is %q, want %q", i, j, c.Feature, m.Features[j].Name)
			}
			total += c.Contribution
		}
		if math.Abs(total-e.Prediction) > 1e-12*(1+math.Abs(e.Prediction)) {
			t.Errorf("row %d: baseline + contributions = %v, prediction %v (off by %g)", i, total, e.Prediction, total-e.Prediction)
		}
	}
}

func meanOf(v []float64) float64 { return floats.Sum(v) / float64(len(v)) }

// trainScaled trains a regression algorithm behind a standardising
// Preprocessor, whatever its NeedsScaling.
func trainScaled(t *testing.T, algorithm string, features []*Column, y *Column) *Model {
	t.Helper()
	alg, _ := lookupAlgorithm(algorithm)
	params, err := ResolveParams(algorithm, nil)
	if err != nil {
		t.Fatal(err)
	}
	prep, err := FitPreprocessor(features, true)
	if err != nil {
		t.Fatal(err)
	}
	x, err := prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	est := alg.newEstimator(params)
	if err := est.Fit(context.Background(), x, y.Num, Regression, 0); err != nil {
		t.Fatal(err)
	}
	return &Model{Algorithm: algorithm, Task: Regression, Params: params, Features: cloneFeatures(prep.Features), Target: y.Name, prep: prep, est: est}
}

func TestExplainLinearRegressionExact(t *testing.T) {
	features, y, _ := explainData(400, 1, false)
	background := leadingRows(features, 100)
	rows := takeColumns(features, []int{200, 201, 202, 203, 204})
	models := map[string]*Model{
		"LINEAR_REGRESSION":        trainExplained(t, "LINEAR_REGRESSION", Regression, nil, features, y),
		"LINEAR_REGRESSION/scaled": trainScaled(t, "LINEAR_REGRESSION", features, y),
		"RIDGE":                    trainExplained(t, "RIDGE", Regression, map[string]any{"alpha": 1e-9}, features, y),
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			ex := explainOK(t, m, rows, background, 0)
			checkLocalAccuracy(t, m, rows, background, ex, ExplainExactLinear)
			meanA, meanB := meanOf(background[0].Num), meanOf(background[1].Num)
			for i, e := range ex {
				a, b := rows[0].Num[i], rows[1].Num[i]
				want := []float64{3 * (a - meanA), -2 * (b - meanB), 0, 0}
				for j, c := range e.Contributions {
					if math.Abs(c.Contribution-want[j]) > 1e-6 {
						t.Errorf("row %d %s: contribution %v, want %v", i, c.Feature, c.Contribution, want[j])
					}
				}
				if e.Contributions[0].Value != a || e.Contributions[0].Text != rows[0].Text(i) {
					t.Errorf("row %d: value %v %q, want %v", i, e.Contributions[0].Value, e.Contributions[0].Text, a)
				}
			}
		})
	}
}

func TestExplainCategorical(t *testing.T) {
	features, y, _ := explainData(400, 2, true)
	background := leadingRows(features, 90)
	rows := takeColumns(features, []int{300, 301, 302, 303, 304, 305})
	m := trainExplained(t, "LINEAR_REGRESSION", "", nil, features, y)
	ex := explainOK(t, m, rows, background, 0)
	checkLocalAccuracy(t, m, rows, background, ex, ExplainExactLinear)
	var meanEffect float64
	for r := range 90 {
		meanEffect += colourEffect[background[2].Text(r)]
	}
	meanEffect /= 90
	for i, e := range ex {
		c := e.Contributions[2]
		if !math.IsNaN(c.Value) || c.Text != rows[2].Text(i) {
			t.Errorf("row %d: categorical value %v %q, want NaN %q", i, c.Value, c.Text, rows[2].Text(i))
		}
		// The colour's one-hot columns are one player: its effect minus the
		// background's mean effect.
		if want := colourEffect[c.Text] - meanEffect; math.Abs(c.Contribution-want) > 1e-6 {
			t.Errorf("row %d colour %s: contribution %v, want %v", i, c.Text, c.Contribution, want)
		}
	}

	// Sampling gets the same values: the model is additive, so every
	// permutation gives the same marginal contributions.
	h := hideEstimator(m)
	sampled := explainOK(t, h, rows, background, 3)
	checkLocalAccuracy(t, h, rows, background, sampled, ExplainSamplingSHAP)
	for i := range ex {
		for j, c := range sampled[i].Contributions {
			if want := ex[i].Contributions[j].Contribution; math.Abs(c.Contribution-want) > 1e-9 {
				t.Errorf("row %d %s: sampled %v, exact %v", i, c.Feature, c.Contribution, want)
			}
		}
	}
}

// bruteForceShapley returns the interventional Shapley values of output k
// of row of features against background, by enumerating every coalition
// and predicting the hybrid columns with Predict.
func bruteForceShapley(t *testing.T, m *Model, features []*Column, row int, background []*Column, k int) []float64 {
	t.Helper()
	p, nz := len(features), background[0].Len()
	same := make([]int, nz)
	for r := range same {
		same[r] = row
	}
	v := make([]float64, 1<<p)
	for s := range v {
		hybrid := make([]*Column, p)
		for j := range p {
			if s&(1<<j) != 0 {
				hybrid[j] = features[j].Take(same)
			} else {
				hybrid[j] = background[j]
			}
		}
		out, err := m.Predict(hybrid)
		if err != nil {
			t.Fatal(err)
		}
		for r := range nz {
			if m.Task == Classification {
				v[s] += out.Proba.At(r, k)
			} else {
				v[s] += out.Values[r]
			}
		}
		v[s] /= float64(nz)
	}
	fact := func(n int) float64 { return math.Gamma(float64(n + 1)) }
	phi := make([]float64, p)
	for s := range v {
		size := 0
		for j := range p {
			size += s >> j & 1
		}
		for j := range p {
			if s&(1<<j) == 0 {
				phi[j] += fact(size) * fact(p-size-1) / fact(p) * (v[s|1<<j] - v[s])
			}
		}
	}
	return phi
}

func TestExplainTreeSHAPMatchesBruteForce(t *testing.T) {
	features, y, label := explainData(300, 3, true)
	background := leadingRows(features, 25)
	rows := takeColumns(features, []int{100, 101, 102, 103})
	cases := []struct {
		algorithm string
		task      Task
		params    map[string]any
	}{
		{"DECISION_TREE", Regression, nil},
		{"DECISION_TREE", Classification, nil},
		{"RANDOM_FOREST", Regression, map[string]any{"nEstimators": 10}},
		{"RANDOM_FOREST", Classification, map[string]any{"nEstimators": 10}},
		{"GRADIENT_BOOSTING", Regression, map[string]any{"nEstimators": 30}},
	}
	for _, c := range cases {
		t.Run(c.algorithm+"/"+string(c.task), func(t *testing.T) {
			target := y
			if c.task == Classification {
				target = label
			}
			m := trainExplained(t, c.algorithm, c.task, c.params, features, target)
			ex := explainOK(t, m, rows, background, 0)
			checkLocalAccuracy(t, m, rows, background, ex, ExplainTreeSHAP)
			for i, e := range ex {
				k := 0
				if c.task == Classification {
					k = slices.Index(m.Classes, e.Class)
				}
				want := bruteForceShapley(t, m, rows, i, background, k)
				for j, got := range e.Contributions {
					if math.Abs(got.Contribution-want[j]) > 1e-10 {
						t.Errorf("row %d %s: TreeSHAP %v, brute force %v", i, got.Feature, got.Contribution, want[j])
					}
				}
			}
		})
	}
}

// TestExplainSamplingAccuracy compares sampled values of models with
// interactions against the brute-force ones: the mean of runs with
// different seeds must be within a few standard errors (as measured
// across the runs) of the exact value, so the estimates are unbiased.
func TestExplainSamplingAccuracy(t *testing.T) {
	features, y, label := explainData(300, 4, true)
	background := leadingRows(features, 40)
	rows := takeColumns(features, []int{200, 201, 202})
	cases := []struct {
		algorithm string
		task      Task
		params    map[string]any
	}{
		{"RANDOM_FOREST", Regression, map[string]any{"nEstimators": 10}},
		{"KNN", Regression, nil},
		{"GRADIENT_BOOSTING", Classification, map[string]any{"nEstimators": 20}},
		{"LOGISTIC_REGRESSION", Classification, nil},
	}
	const runs = 16
	for _, c := range cases {
		t.Run(c.algorithm+"/"+string(c.task), func(t *testing.T) {
			target := y
			if c.task == Classification {
				target = label
			}
			m := trainExplained(t, c.algorithm, c.task, c.params, features, target)
			if c.algorithm == "RANDOM_FOREST" {
				m = hideEstimator(m)
			}
			ex := explainOK(t, m, rows, background, 5)
			checkLocalAccuracy(t, m, rows, background, ex, ExplainSamplingSHAP)

			x, err := m.prep.Transform(rows)
			if err != nil {
				t.Fatal(err)
			}
			z, err := m.prep.Transform(background)
			if err != nil {
				t.Fatal(err)
			}
			e := m.newExplainer(z)
			var meanErr, largest float64 // a single run's mean |error|, the largest |φ|
			for i, ei := range ex {
				k := max(slices.Index(m.Classes, ei.Class), 0)
				want := bruteForceShapley(t, m, rows, i, background, k)
				p := len(want)
				total, totalSq := make([]float64, p), make([]float64, p)
				for seed := range uint64(runs) {
					phi, _, err := e.sampling(context.Background(), x.RawRowView(i), ei.Prediction, k, rand.New(rand.NewPCG(seed, explainStream^uint64(i))))
					if err != nil {
						t.Fatal(err)
					}
					// Every background row is walked from equally often:
					// the raw estimates already add up.
					if got := ei.Baseline + floats.Sum(phi); math.Abs(got-ei.Prediction) > 1e-12 {
						t.Errorf("row %d seed %d: raw estimates add up to %v, prediction %v", i, seed, got, ei.Prediction)
					}
					for j, v := range phi {
						total[j] += v
						totalSq[j] += v * v
						meanErr += math.Abs(v-want[j]) / float64(runs*p*len(ex))
					}
				}
				for j := range p {
					avg := total[j] / runs
					se := math.Sqrt(max(0, totalSq[j]/runs-avg*avg) / (runs - 1))
					// 1e-3: an effect too rare for any run to meet has no
					// spread but a small error.
					if d := math.Abs(avg - want[j]); d > 5*se+1e-3 {
						t.Errorf("row %d feature %d: mean sampled %v ± %.2g, brute force %v", i, j, avg, se, want[j])
					}
					largest = max(largest, math.Abs(want[j]))
				}
			}
			t.Logf("mean error of one run %.2g; largest contribution %.2g", meanErr, largest)
		})
	}
}

// TestExplainSamplingSubsample checks the gap adjustment when there are
// more background rows than pairs of walks.
func TestExplainSamplingSubsample(t *testing.T) {
	features, y, _ := explainData(2000, 5, true)
	background := leadingRows(features, shapleyMaxPairs+500)
	rows := takeColumns(features, []int{1900, 1901})
	m := hideEstimator(trainExplained(t, "RANDOM_FOREST", Regression, map[string]any{"nEstimators": 5, "maxDepth": 6}, features, y))
	ex := explainOK(t, m, rows, background, 1)
	checkLocalAccuracy(t, m, rows, background, ex, ExplainSamplingSHAP)

	x, err := m.prep.Transform(rows)
	if err != nil {
		t.Fatal(err)
	}
	z, err := m.prep.Transform(background)
	if err != nil {
		t.Fatal(err)
	}
	e := m.newExplainer(z)
	var spread float64 // std of the background predictions
	for r := range background[0].Len() {
		d := e.fz.At(r, 0) - ex[0].Baseline
		spread += d * d
	}
	spread = math.Sqrt(spread / float64(background[0].Len()))
	for i, ei := range ex {
		phi, _, err := e.sampling(context.Background(), x.RawRowView(i), ei.Prediction, 0, rand.New(rand.NewPCG(1, explainStream^uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		// The subsample's mean prediction misses the baseline by about
		// spread/√pairs (times the finite-population correction).
		gap := ei.Prediction - ei.Baseline - floats.Sum(phi)
		if gap == 0 || math.Abs(gap) > 4*spread/math.Sqrt(shapleyMaxPairs) {
			t.Errorf("row %d: raw estimates miss the prediction by %v (background spread %v)", i, gap, spread)
		}
		for j := range phi {
			if math.Abs(ei.Contributions[j].Contribution-phi[j]) > math.Abs(gap)+1e-12 {
				t.Errorf("row %d feature %d: adjusted %v from %v, more than the gap %v", i, j, ei.Contributions[j].Contribution, phi[j], gap)
			}
		}
	}
}

// TestExplainKnownCase: y = 3a − 2b with independent features gives
// contributions ≈ 3(a − mean a) and −2(b − mean b), and ≈ 0 to features
// the model ignores, whatever the method.
func TestExplainKnownCase(t *testing.T) {
	features, y, _ := explainData(1000, 6, false)
	background := leadingRows(features, 100)
	rows := takeColumns(features, []int{500, 501, 502, 503, 504, 505, 506, 507})
	meanA, meanB := meanOf(background[0].Num), meanOf(background[1].Num)
	cases := []struct {
		algorithm string
		method    string
		hide      bool
		params    map[string]any
		tolerance float64 // in units of y's std (√13)
	}{
		{"LINEAR_REGRESSION", ExplainExactLinear, false, nil, 1e-9},
		{"LINEAR_REGRESSION", ExplainSamplingSHAP, true, nil, 1e-9},
		{"GRADIENT_BOOSTING", ExplainTreeSHAP, false, map[string]any{"nEstimators": 200, "maxDepth": 1}, 0.1},
		{"MLP", ExplainSamplingSHAP, false, map[string]any{"hiddenLayerSizes": "16", "maxIter": 500}, 0.1},
	}
	for _, c := range cases {
		t.Run(c.method+"/"+c.algorithm, func(t *testing.T) {
			m := trainExplained(t, c.algorithm, Regression, c.params, features, y)
			if c.hide {
				m = hideEstimator(m)
			}
			ex := explainOK(t, m, rows, background, 2)
			checkLocalAccuracy(t, m, rows, background, ex, c.method)
			tol := c.tolerance * math.Sqrt(13)
			for i, e := range ex {
				want := []float64{3 * (rows[0].Num[i] - meanA), -2 * (rows[1].Num[i] - meanB), 0, 0}
				for j, got := range e.Contributions {
					if math.Abs(got.Contribution-want[j]) > tol {
						t.Errorf("row %d %s: contribution %v, want %v ± %.2g", i, got.Feature, got.Contribution, want[j], tol)
					}
				}
			}
		})
	}
}

// TestExplainClassification checks that classifiers explain the predicted
// class's probability.
func TestExplainClassification(t *testing.T) {
	features, _, label := explainData(300, 7, false)
	background := leadingRows(features, 50)
	rows := takeColumns(features, []int{100, 101, 102, 103, 104, 105})
	cases := []struct {
		algorithm string
		method    string
	}{
		{"LOGISTIC_REGRESSION", ExplainSamplingSHAP},
		{"DECISION_TREE", ExplainTreeSHAP},
		{"RANDOM_FOREST", ExplainTreeSHAP},
		{"GRADIENT_BOOSTING", ExplainSamplingSHAP},
		{"NAIVE_BAYES", ExplainSamplingSHAP},
	}
	for _, c := range cases {
		t.Run(c.algorithm, func(t *testing.T) {
			m := trainExplained(t, c.algorithm, Classification, map[string]any{}, features, label)
			ex := explainOK(t, m, rows, background, 0)
			checkLocalAccuracy(t, m, rows, background, ex, c.method)
			classes := map[string]bool{}
			for i, e := range ex {
				classes[e.Class] = true
				// a pushes towards "high" and b towards "low": the signs
				// of their contributions follow, when they are large.
				a, b := e.Contributions[0].Contribution, e.Contributions[1].Contribution
				switch e.Class {
				case "high":
					if 3*rows[0].Num[i] > 1 && !(a > 0) {
						t.Errorf("row %d explains %q with a = %v contributing %v", i, e.Class, rows[0].Num[i], a)
					}
				case "low":
					if -2*rows[1].Num[i] < -1 && !(b > 0) {
						t.Errorf("row %d explains %q with b = %v contributing %v", i, e.Class, rows[1].Num[i], b)
					}
				}
			}
			if len(classes) < 2 {
				t.Errorf("all rows explain the same class %v; want rows of several classes", classes)
			}
		})
	}
}

func TestExplainReproducible(t *testing.T) {
	features, y, _ := explainData(300, 8, true)
	background := leadingRows(features, 30)
	rows := takeColumns(features, []int{200, 201, 202})
	m := trainExplained(t, "KNN", Regression, nil, features, y)
	first := explainOK(t, m, rows, background, 11)
	again := explainOK(t, m, rows, background, 11)
	other := explainOK(t, m, rows, background, 12)
	// Row i's generator depends on i and the seed, not on the other rows.
	mixed := explainOK(t, m, takeColumns(features, []int{200, 250, 202}), background, 11)
	differ := false
	for i := range first {
		for j, c := range first[i].Contributions {
			if !sameContribution(c, again[i].Contributions[j]) {
				t.Errorf("row %d %s: %v then %v with the same seed", i, c.Feature, c.Contribution, again[i].Contributions[j].Contribution)
			}
			differ = differ || c.Contribution != other[i].Contributions[j].Contribution
		}
	}
	if !differ {
		t.Error("seeds 11 and 12 give identical explanations")
	}
	for _, i := range []int{0, 2} {
		for j, c := range mixed[i].Contributions {
			if want := first[i].Contributions[j]; !sameContribution(c, want) {
				t.Errorf("row %d %s: %v among other rows, %v before", i, c.Feature, c.Contribution, want.Contribution)
			}
		}
	}
}

// sameContribution compares contributions bit for bit (NaN values too).
func sameContribution(a, b Contribution) bool {
	return a.Feature == b.Feature && a.Text == b.Text &&
		math.Float64bits(a.Value) == math.Float64bits(b.Value) &&
		math.Float64bits(a.Contribution) == math.Float64bits(b.Contribution)
}

func TestExplainCancelled(t *testing.T) {
	features, y, label := explainData(200, 9, true)
	background := leadingRows(features, 20)
	rows := leadingRows(features, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	models := []*Model{
		trainExplained(t, "LINEAR_REGRESSION", Regression, nil, features, y),
		trainExplained(t, "RANDOM_FOREST", Regression, map[string]any{"nEstimators": 3}, features, y),
		trainExplained(t, "KNN", Classification, nil, features, label),
	}
	for _, m := range models {
		if _, err := m.Explain(ctx, rows, background, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error %v, want context.Canceled", m.Algorithm, err)
		}
		// The long loops check too.
		x, _ := m.prep.Transform(rows)
		z, _ := m.prep.Transform(background)
		e := m.newExplainer(z)
		if _, _, err := e.sampling(ctx, x.RawRowView(0), 0, 0, rand.New(rand.NewPCG(0, 0))); !errors.Is(err, context.Canceled) {
			t.Errorf("%s sampling: error %v, want context.Canceled", m.Algorithm, err)
		}
		if e.trees != nil {
			if _, err := e.treeSHAP(ctx, x.RawRowView(0), 0); !errors.Is(err, context.Canceled) {
				t.Errorf("%s TreeSHAP: error %v, want context.Canceled", m.Algorithm, err)
			}
		}
	}
}

// fakeLinear claims to be linear but predicts exp(x·w): Explain must notice
// that the linear contributions do not add up and sample instead.
type fakeLinear struct{ w []float64 }

func (f *fakeLinear) Fit(context.Context, *mat.Dense, []float64, Task, int) error { return nil }
func (f *fakeLinear) Predict(x, dst *mat.Dense) {
	n, _ := x.Dims()
	for i := range n {
		dst.Set(i, 0, math.Exp(mat.Dot(x.RowView(i), mat.NewVecDense(len(f.w), f.w))))
	}
}
func (f *fakeLinear) Weights() (*mat.Dense, []float64) {
	return mat.NewDense(1, len(f.w), append([]float64(nil), f.w...)), []float64{0}
}

func TestExplainExactFallsBack(t *testing.T) {
	features, y, _ := explainData(200, 10, false)
	m := trainExplained(t, "LINEAR_REGRESSION", Regression, nil, features, y)
	m.est = &fakeLinear{w: []float64{0.3, -0.2, 0.1, 0, 0.1, 0.05}}
	background := leadingRows(features, 20)
	rows := takeColumns(features, []int{100, 101})
	ex := explainOK(t, m, rows, background, 0)
	checkLocalAccuracy(t, m, rows, background, ex, ExplainSamplingSHAP)
}

func TestExplainInputErrors(t *testing.T) {
	features, y, _ := explainData(100, 11, true)
	m := trainExplained(t, "LINEAR_REGRESSION", Regression, nil, features, y)
	bg := leadingRows(features, 10)
	ctx := context.Background()

	_, err := m.Explain(ctx, features[:3], bg, 0)
	wantInputError(t, err, "got 3 feature columns")
	_, err = m.Explain(ctx, features, bg[1:], 0)
	wantInputError(t, err, "background sample", "got 3 feature columns")
	_, err = m.Explain(ctx, features, leadingRows(features, 0), 0)
	wantInputError(t, err, "background sample has no rows")
	inf := leadingRows(features, 10)
	inf[0].Num[3] = math.Inf(1)
	_, err = m.Explain(ctx, features, inf, 0)
	wantInputError(t, err, "background sample", `"a"`, "row 4")

	ex, err := m.Explain(ctx, leadingRows(features, 0), bg, 0)
	if err != nil || len(ex) != 0 {
		t.Errorf("no rows: %v, %v; want none and no error", ex, err)
	}

	km := trainExplained(t, "KMEANS", Clustering, nil, features, nil)
	_, err = km.Explain(ctx, features, bg, 0)
	wantInputError(t, err, "clustering")
}

func TestExplainMissingValues(t *testing.T) {
	features, y, _ := explainData(200, 12, true)
	m := trainExplained(t, "RANDOM_FOREST", Regression, map[string]any{"nEstimators": 5}, features, y)
	rows := leadingRows(features, 2)
	rows[0].Num[1] = math.NaN()
	rows[2].Codes[0] = -1
	bg := takeColumns(features, []int{50, 51, 52, 53})
	ex := explainOK(t, m, rows, bg, 0)
	checkLocalAccuracy(t, m, rows, bg, ex, ExplainTreeSHAP)
	if c := ex[1].Contributions[0]; !math.IsNaN(c.Value) || c.Text != "" {
		t.Errorf("missing numeric value: %v %q", c.Value, c.Text)
	}
	if c := ex[0].Contributions[2]; !math.IsNaN(c.Value) || c.Text != "" {
		t.Errorf("missing level: %v %q", c.Value, c.Text)
	}
}

func TestShapleyWeights(t *testing.T) {
	w := shapleyWeights(6)
	fact := func(n int) float64 { return math.Gamma(float64(n + 1)) }
	for a := 1; a <= 6; a++ {
		for b := 0; a+b <= 6; b++ {
			if want := fact(a-1) * fact(b) / fact(a+b); math.Abs(w[a][b]-want) > 1e-15*want {
				t.Errorf("w[%d][%d] = %v, want %v", a, b, w[a][b], want)
			}
		}
	}
}

// explainBenchData is 20 numeric features with interactions.
func explainBenchData(n int) ([]*Column, *Column) {
	rng := rand.New(rand.NewPCG(3, 3))
	const p = 20
	cols := make([][]float64, p)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	y := make([]float64, n)
	for i := range n {
		for j := range p {
			cols[j][i] = rng.NormFloat64()
		}
		y[i] = 2*cols[0][i] - cols[1][i]*cols[2][i] + math.Sin(cols[3][i]) + 0.1*rng.NormFloat64()
	}
	features := make([]*Column, p)
	for j := range features {
		features[j] = NewNumeric(fmt.Sprintf("x%d", j), cols[j])
	}
	return features, NewNumeric("y", y)
}

// BenchmarkExplainForest explains one row of a 100-tree, 20-feature random
// forest against 100 background rows.
func BenchmarkExplainForest(b *testing.B) {
	features, y := explainBenchData(2000)
	m := trainExplained(b, "RANDOM_FOREST", Regression, nil, features, y)
	background := leadingRows(features, 100)
	row := takeColumns(features, []int{1500})
	for _, c := range []struct {
		name string
		m    *Model
	}{{"TreeSHAP", m}, {"Sampling", hideEstimator(m)}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.m.Explain(context.Background(), row, background, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestTreeDepth(t *testing.T) {
	// Root splits; its left child is a leaf; its right child splits into
	// two leaves: depth 2.
	tree := Tree{
		Feature:   []int32{0, -1, 1, -1, -1},
		Threshold: []float64{0, 0, 0, 0, 0},
		Next:      []int32{2, 0, 4, 1, 2},
		Value:     []float64{1, 2, 3},
	}
	if err := tree.check(2, 1, false); err != nil {
		t.Fatal(err)
	}
	if d, _ := treeDepth(&tree, nil); d != 2 {
		t.Errorf("depth %d, want 2", d)
	}
	leaf := Tree{Feature: []int32{-1}, Threshold: []float64{0}, Next: []int32{0}, Value: []float64{1}}
	if d, _ := treeDepth(&leaf, nil); d != 0 {
		t.Errorf("single leaf: depth %d, want 0", d)
	}
}

// TestExplainManyFeatures: past maxSampledFeatures features a linear
// classifier is explained by its scores, exactly, and a model that would
// need sampling is refused rather than taking millions of predictions.
func TestExplainManyFeatures(t *testing.T) {
	p := maxSampledFeatures + 1
	features, target := wideColumns(p, 40, 3)
	rows := takeRowsOf(features, []int{0, 1})
	background := takeRowsOf(features, []int{2, 3, 4, 5})

	lin, err := Train(context.Background(), TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := lin.Explain(context.Background(), rows, background, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range ex {
		sum := e.Baseline
		for _, c := range e.Contributions {
			sum += c.Contribution
		}
		if e.Method != ExplainLinearScore || len(e.Contributions) != p || math.Abs(sum-e.Prediction) > 1e-9*(1+math.Abs(e.Prediction)) {
			t.Errorf("row %d: %s, %d contributions adding to %v, prediction %v", i, e.Method, len(e.Contributions), sum, e.Prediction)
		}
	}

	knn, err := Train(context.Background(), TrainConfig{Algorithm: "KNN"}, features, target)
	if err != nil {
		t.Fatal(err)
	}
	var input *InputError
	if _, err := knn.Explain(context.Background(), rows, background, 0); !errors.As(err, &input) {
		t.Errorf("KNN on %d features: %v, want an *InputError", p, err)
	}
}

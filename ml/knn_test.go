package ml

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// splitMetric trains cfg on the train rows of dataset's .split and returns
// the test metric sklearn.json reports for the task (accuracy or r2) and
// the fit time.
func splitMetric(t *testing.T, dataset string, cfg TrainConfig) (metric float64, fit time.Duration) {
	t.Helper()
	features, target := readCSV(t, dataset)
	train, test := readSplit(t, dataset)
	if dataset == "digits" {
		cfg.Task = Classification
	}
	start := time.Now()
	m := trainOrFatal(t, cfg, takeColumns(features, train), target.Take(train))
	fit = time.Since(start)
	metrics, err := m.Evaluate(takeColumns(features, test), target.Take(test))
	if err != nil {
		t.Fatal(err)
	}
	if m.Task == Regression {
		return *metrics.R2, fit
	}
	return *metrics.Accuracy, fit
}

// sklearnFitSeconds returns fit_s of a sklearn.json entry.
func sklearnFitSeconds(t *testing.T, dataset, model string) float64 {
	t.Helper()
	var ref struct {
		Results []sklearnResult `json:"results"`
	}
	readJSON(t, "reference/sklearn.json", &ref)
	for _, r := range ref.Results {
		if r.Dataset == dataset && r.Model == model {
			return r.FitS
		}
	}
	t.Fatalf("sklearn.json has no %s/%s", dataset, model)
	return 0
}

// TestKNNMatchesSklearn: KNN with the defaults (k=5, uniform, Euclidean on
// standardised features) scores within 0.02 of scikit-learn's knn_5 on
// every dataset's test rows.
func TestKNNMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"iris", "wine", "breast_cancer", "digits", "diabetes"} {
		t.Run(dataset, func(t *testing.T) {
			got, fit := splitMetric(t, dataset, TrainConfig{Algorithm: "KNN"})
			metric := "accuracy"
			if dataset == "diabetes" {
				metric = "r2"
			}
			want := sklearnMetric(t, dataset, "knn_5", metric)
			if math.Abs(got-want) > 0.02 && got < want {
				t.Errorf("test %s %.4f, sklearn %.4f", metric, got, want)
			}
			t.Logf("test %s %.4f (sklearn %.4f); fit %v (sklearn %.4fs)", metric, got, want, fit, sklearnFitSeconds(t, dataset, "knn_5"))
		})
	}
}

// TestKNNDiabetesUnscaled: on the raw diabetes features (as scikit-learn's
// knn_5 regression was run, without a scaler) the estimator reproduces
// scikit-learn's test R² exactly. Through Train the features are
// standardised, which is not quite a no-op here: the training split's
// column standard deviations differ by up to 5%, which changes some
// neighbours (test R² 0.1819 against 0.1725; see TestKNNMatchesSklearn).
func TestKNNDiabetesUnscaled(t *testing.T) {
	features, target := readCSV(t, "diabetes")
	train, test := readSplit(t, "diabetes")
	prep, err := FitPreprocessor(takeColumns(features, train), false)
	if err != nil {
		t.Fatal(err)
	}
	xTrain, _ := prep.Transform(takeColumns(features, train))
	xTest, _ := prep.Transform(takeColumns(features, test))
	m := newKNN(map[string]any{"k": 5, "weights": "uniform", "metric": "euclidean"})
	if err := m.Fit(context.Background(), xTrain, target.Take(train).Num, Regression, 0); err != nil {
		t.Fatal(err)
	}
	pred := mat.NewDense(len(test), 1, nil)
	m.Predict(xTest, pred)
	got, want := R2Score(target.Take(test).Num, pred.RawMatrix().Data), sklearnMetric(t, "diabetes", "knn_5", "r2")
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("unscaled test R² %.15g, sklearn %.15g", got, want)
	}
}

// TestKNNByHand checks predictions on one-dimensional training rows
// 0, 1, 2, 10 with classes a, a, b, b and targets 1, 2, 3, 10.
func TestKNNByHand(t *testing.T) {
	x := mat.NewDense(4, 1, []float64{0, 1, 2, 10})
	classes := []float64{0, 0, 1, 1}
	values := []float64{1, 2, 3, 10}
	fit := func(k int, weights, metric string, task Task, y []float64) *KNN {
		m := newKNN(map[string]any{"k": k, "weights": weights, "metric": metric}).(*KNN)
		nClasses := 0
		if task == Classification {
			nClasses = 2
		}
		if err := m.Fit(context.Background(), x, y, task, nClasses); err != nil {
			t.Fatal(err)
		}
		return m
	}
	predict := func(m *KNN, q ...float64) []float64 {
		cols := 1
		if m.Task == Classification {
			cols = 2
		}
		dst := mat.NewDense(len(q), cols, nil)
		m.Predict(mat.NewDense(len(q), 1, q), dst)
		return dst.RawMatrix().Data
	}
	near := func(got, want []float64) bool {
		return slices.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) < 1e-15 })
	}
	// Query 0.4: neighbours 0, 1, 2 (distances 0.4, 0.6, 1.6).
	if got := predict(fit(3, "uniform", "euclidean", Classification, classes), 0.4); !near(got, []float64{2.0 / 3, 1.0 / 3}) {
		t.Errorf("uniform probabilities %v, want [2/3 1/3]", got)
	}
	wa, wb := 1/0.4+1/0.6, 1/1.6
	if got := predict(fit(3, "distance", "euclidean", Classification, classes), 0.4); !near(got, []float64{wa / (wa + wb), wb / (wa + wb)}) {
		t.Errorf("distance-weighted probabilities %v", got)
	}
	if got := predict(fit(3, "uniform", "euclidean", Regression, values), 0.4); !near(got, []float64{2}) {
		t.Errorf("uniform regression %v, want 2", got)
	}
	want := (1/0.4*1 + 1/0.6*2 + 1/1.6*3) / (1/0.4 + 1/0.6 + 1/1.6)
	if got := predict(fit(3, "distance", "euclidean", Regression, values), 0.4); !near(got, []float64{want}) {
		t.Errorf("distance-weighted regression %v, want %v", got, want)
	}
	// An exact match takes all the weight.
	if got := predict(fit(3, "distance", "euclidean", Regression, values), 2); !near(got, []float64{3}) {
		t.Errorf("exact match %v, want 3", got)
	}
	// Query 6 is at distance 4 from both 2 and 10: the earlier row wins.
	if got := predict(fit(1, "uniform", "euclidean", Regression, values), 6); !near(got, []float64{3}) {
		t.Errorf("tie %v, want the earlier row's 3", got)
	}
	// k equal to the number of rows averages everything.
	if got := predict(fit(4, "uniform", "manhattan", Regression, values), 100); !near(got, []float64{4}) {
		t.Errorf("k = n: %v, want 4", got)
	}
}

// TestKNNMetrics: Euclidean and Manhattan neighbours differ where they
// should. From the origin, (2, 2) is nearer than (3, 0) in Euclidean
// distance (2.83 < 3) but farther in Manhattan distance (4 > 3).
func TestKNNMetrics(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{2, 2, 3, 0})
	for metric, want := range map[string]int{"euclidean": 0, "manhattan": 1} {
		m := newKNN(map[string]any{"k": 1, "weights": "uniform", "metric": metric}).(*KNN)
		if err := m.Fit(context.Background(), x, []float64{0, 1}, Classification, 2); err != nil {
			t.Fatal(err)
		}
		idx, dist := m.neighbours(mat.NewDense(1, 2, nil))
		wantDist := map[string]float64{"euclidean": math.Sqrt(8), "manhattan": 3}[metric]
		if idx[0] != want || dist[0] != wantDist {
			t.Errorf("%s: neighbour %d at %v, want %d at %v", metric, idx[0], dist[0], want, wantDist)
		}
	}
}

// TestKNNMatchesBruteForce compares the blocked search with sorting every
// training row by exact distance, for both metrics and for few queries
// (the training rows are then split across tasks) and many.
func TestKNNMatchesBruteForce(t *testing.T) {
	const n, p, k = 8500, 3, 7
	r := rand.New(rand.NewPCG(11, 12))
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		for l := range p {
			// Rounded values make exact distance ties common.
			x.Set(i, l, math.Round(4*r.NormFloat64()))
		}
		y[i] = float64(r.IntN(3))
	}
	for _, metric := range []string{"euclidean", "manhattan"} {
		m := newKNN(map[string]any{"k": k, "weights": "uniform", "metric": metric}).(*KNN)
		if err := m.Fit(context.Background(), x, y, Classification, 3); err != nil {
			t.Fatal(err)
		}
		for _, nq := range []int{3, 70} {
			q := mat.NewDense(nq, p, nil)
			for i := range nq {
				for l := range p {
					q.Set(i, l, math.Round(4*r.NormFloat64())+0.5*float64(i%2))
				}
			}
			idx, dist := m.neighbours(q)
			for i := range nq {
				// The k smallest (distance, row) pairs by insertion.
				best := make([]knnCandidate, 0, k+1)
				for j := range n {
					c := knnCandidate{d: m.distance(q.RawRowView(i), x.RawRowView(j)), i: j}
					at, _ := slices.BinarySearchFunc(best, c, compareCandidates)
					best = slices.Insert(best, at, c)[:min(len(best)+1, k)]
				}
				for j, want := range best {
					if idx[i*k+j] != want.i || dist[i*k+j] != want.d {
						t.Errorf("%s, %d queries: query %d neighbour %d is row %d at %v, want row %d at %v",
							metric, nq, i, j, idx[i*k+j], dist[i*k+j], want.i, want.d)
					}
				}
			}
		}
	}
}

// TestKNNRoundTrip: a saved and loaded model predicts bit-identically, also
// from concurrent calls (the search index is built once, lazily).
func TestKNNRoundTrip(t *testing.T) {
	features, target := colorDataset(300, 3)
	for _, cfg := range []TrainConfig{
		{Algorithm: "KNN", Params: map[string]any{"k": 7, "weights": "distance"}},
		{Algorithm: "KNN", Task: Regression, Params: map[string]any{"metric": "manhattan"}},
	} {
		y := target
		if cfg.Task == Regression {
			y = NewNumeric("y", features[0].Num)
			features = features[1:]
		}
		m := trainOrFatal(t, cfg, features, y)
		loaded := reloaded(t, m)
		before := predictionValues(t, m, features)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				after := predictionValues(t, loaded, features)
				if !slices.Equal(before, after) {
					t.Errorf("%v: predictions changed after load", cfg)
				}
			})
		}
		wg.Wait()

		data, _ := m.MarshalBinary()
		s := string(data)
		for name, enc := range map[string]string{
			"missing row": strings.Replace(s, `"X":[`, `"X":[1,`, 1),
			"k too large": strings.Replace(s, `"K":`, `"K":1000`, 1),
			"bad weights": strings.Replace(s, `"Weights":"`, `"Weights":"x`, 1),
		} {
			if enc == s {
				t.Fatalf("%s: replacement did not apply", name)
			}
			if _, err := LoadModel([]byte(enc)); err == nil {
				t.Errorf("%s: loaded without error", name)
			}
		}
	}
}

func TestKNNErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	ctx := context.Background()
	_, err := Train(ctx, TrainConfig{Algorithm: "KNN", Params: map[string]any{"k": 151}}, features, target)
	wantInputError(t, err, "k", "151", "150 training rows")
	_, err = Train(ctx, TrainConfig{Algorithm: "KNN", Params: map[string]any{"k": 0}}, features, target)
	wantInputError(t, err, "k", ">= 1")
	_, err = Train(ctx, TrainConfig{Algorithm: "KNN", Params: map[string]any{"weights": "gaussian"}}, features, target)
	wantInputError(t, err, "weights", "uniform, distance")
	_, err = Train(ctx, TrainConfig{Algorithm: "KNN", Params: map[string]any{"metric": "cosine"}}, features, target)
	wantInputError(t, err, "metric", "euclidean, manhattan")
	_, err = Train(ctx, TrainConfig{Algorithm: "KNN", Task: Clustering}, features, nil)
	wantInputError(t, err, "KNN", "CLUSTERING")
	// A numeric target means regression, a categorical one classification.
	if m := trainOrFatal(t, TrainConfig{Algorithm: "KNN"}, features[1:], NewNumeric("y", features[0].Num)); m.Task != Regression {
		t.Errorf("numeric target: task %s", m.Task)
	}
}

// BenchmarkKNNPredict times KNN.Predict of 10,000 queries against
// 200,000×20 training rows (k=5, Euclidean, 2 classes).
func BenchmarkKNNPredict(b *testing.B) {
	x, y := syntheticClassification(210000, 20, 7)
	train := x.Slice(0, 200000, 0, 20).(*mat.Dense)
	queries := x.Slice(200000, 210000, 0, 20).(*mat.Dense)
	m := newKNN(map[string]any{"k": 5, "weights": "uniform", "metric": "euclidean"})
	if err := m.Fit(context.Background(), train, y[:200000], Classification, 2); err != nil {
		b.Fatal(err)
	}
	dst := mat.NewDense(10000, 2, nil)
	b.ResetTimer()
	for b.Loop() {
		m.Predict(queries, dst)
	}
}

package ml

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// sklearnIrisInertia is the inertia of scikit-learn 1.2.1's
// KMeans(n_clusters=3, n_init=10) on the StandardScaler-standardised iris
// features (150 rows), 139.82049635974974, and sklearnIrisSilhouette the
// silhouette_score of its labels, 0.45994823920518635: the global optimum,
// found by every seed we tried.
const (
	sklearnIrisInertia    = 139.82049635974974
	sklearnIrisSilhouette = 0.45994823920518635
)

// TestKMeansIris: k-means with k=3 on the iris features recovers the three
// species (purity ≥ 0.8) and reaches scikit-learn's inertia, and does at
// least as well as the best of ten runs from random rows (Forgy seeding).
func TestKMeansIris(t *testing.T) {
	features, target := readCSV(t, "iris")
	m := trainOrFatal(t, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 3, "seed": 1}}, features, nil)
	if m.Task != Clustering || m.Target != "" || !slices.Equal(m.Classes, []string{"0", "1", "2"}) {
		t.Fatalf("model task %q target %q classes %q", m.Task, m.Target, m.Classes)
	}
	out, err := m.Predict(features)
	if err != nil {
		t.Fatal(err)
	}
	if out.Proba != nil || out.Values != nil || len(out.Labels) != 150 {
		t.Fatalf("clustering output %+v", out)
	}
	if p := purity(out.Labels, target); p < 0.8 {
		t.Errorf("purity %.3f against the species, want ≥ 0.8", p)
	} else {
		t.Logf("purity %.3f", p)
	}

	metrics, err := m.Evaluate(features, nil)
	if err != nil {
		t.Fatal(err)
	}
	if metrics.Rows != 150 || metrics.Accuracy != nil || metrics.R2 != nil {
		t.Errorf("metrics %+v", metrics)
	}
	if relDiff(*metrics.Inertia, sklearnIrisInertia) > 1e-9 || math.Abs(*metrics.Silhouette-sklearnIrisSilhouette) > 1e-9 {
		t.Errorf("inertia %.10g silhouette %.10g; sklearn %.10g and %.10g", *metrics.Inertia, *metrics.Silhouette, sklearnIrisInertia, sklearnIrisSilhouette)
	}
	km := m.est.(*KMeans)
	if relDiff(km.Inertia, *metrics.Inertia) > 1e-12 {
		t.Errorf("fitted inertia %v, evaluated %v", km.Inertia, *metrics.Inertia)
	}

	// The baseline: best of 10 Lloyd runs from random distinct rows.
	x, err := m.prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	data := newKMeansData(x)
	r := rand.New(rand.NewPCG(3, 4))
	forgy := math.Inf(1)
	for range 10 {
		centers := make([]float64, 0, 3*4)
		for _, i := range r.Perm(150)[:3] {
			centers = append(centers, data.x[i*4:(i+1)*4]...)
		}
		run, err := data.lloyd(context.Background(), centers, 300, 0)
		if err != nil {
			t.Fatal(err)
		}
		forgy = min(forgy, run.inertia)
	}
	if km.Inertia > forgy*(1+1e-12) {
		t.Errorf("inertia %v worse than the best random-start run %v", km.Inertia, forgy)
	}
}

// purity is the fraction of rows whose cluster's most common target value
// is their own.
func purity(labels []int, target *Column) float64 {
	counts := map[int]map[string]int{}
	for i, c := range labels {
		if counts[c] == nil {
			counts[c] = map[string]int{}
		}
		counts[c][target.Text(i)]++
	}
	total := 0
	for _, byClass := range counts {
		best := 0
		for _, n := range byClass {
			best = max(best, n)
		}
		total += best
	}
	return float64(total) / float64(len(labels))
}

// TestClusteringMetricsByHand checks inertia and silhouette on points of a
// line: clusters {0, 1}, {4, 5} and the singleton {10}.
func TestClusteringMetricsByHand(t *testing.T) {
	x := mat.NewDense(5, 1, []float64{0, 1, 4, 5, 10})
	centers := mat.NewDense(3, 1, []float64{0.5, 4.5, 10})
	m := ClusteringMetrics(x, []int{0, 0, 1, 1, 2}, centers)
	// Rows 0 and 3: a = 1, b = 4.5, s = 3.5/4.5 = 7/9. Rows 1 and 2: a = 1,
	// b = 3.5, s = 5/7. The singleton counts 0.
	want := (2*7.0/9 + 2*5.0/7) / 5
	if m.Rows != 5 || *m.Inertia != 1 || math.Abs(*m.Silhouette-want) > 1e-15 {
		t.Errorf("rows %d inertia %v silhouette %v; want 5, 1, %v", m.Rows, *m.Inertia, *m.Silhouette, want)
	}
	// Without the singleton: (7/9 + 5/7)/2 = 47/63.
	m = ClusteringMetrics(x.Slice(0, 4, 0, 1).(*mat.Dense), []int{0, 0, 1, 1}, centers)
	if math.Abs(*m.Silhouette-47.0/63) > 1e-15 {
		t.Errorf("silhouette %v, want 47/63", *m.Silhouette)
	}
	// Duplicate rows in two clusters: a = b = 0 gives 0, as in scikit-learn.
	m = ClusteringMetrics(mat.NewDense(4, 1, []float64{1, 1, 1, 1}), []int{0, 0, 1, 1}, mat.NewDense(2, 1, []float64{1, 1}))
	if *m.Silhouette != 0 || *m.Inertia != 0 {
		t.Errorf("duplicates: silhouette %v inertia %v, want 0 and 0", *m.Silhouette, *m.Inertia)
	}
	// The silhouette needs 2 ≤ clusters ≤ rows−1 among the rows.
	for _, labels := range [][]int{{1, 1, 1}, {0, 1, 2}} {
		m = ClusteringMetrics(mat.NewDense(3, 1, []float64{0, 1, 2}), labels, centers)
		if m.Silhouette != nil || m.Inertia == nil {
			t.Errorf("labels %v: silhouette %v, want none", labels, *m.Silhouette)
		}
	}
}

// TestSilhouetteSample: beyond a number of rows (silhouetteMaxRows, here
// lowered to 300) the silhouette is that of a fixed sample of rows among
// themselves, while the inertia covers every row.
func TestSilhouetteSample(t *testing.T) {
	const n, maxRows = 1000, 300
	r := rand.New(rand.NewPCG(5, 6))
	x := mat.NewDense(n, 2, nil)
	labels := make([]int, n)
	for i := range n {
		labels[i] = r.IntN(3)
		x.Set(i, 0, float64(labels[i])+r.NormFloat64())
		x.Set(i, 1, r.NormFloat64())
	}
	centers := mat.NewDense(3, 2, []float64{0, 0, 1, 0, 2, 0})
	m1 := clusteringMetrics(x, labels, centers, maxRows)
	m2 := clusteringMetrics(x, labels, centers, maxRows)
	if *m1.Silhouette != *m2.Silhouette {
		t.Errorf("sampled silhouette not deterministic: %v, %v", *m1.Silhouette, *m2.Silhouette)
	}
	rows := newRand(0).Perm(n)[:maxRows]
	slices.Sort(rows)
	sample := mat.NewDense(len(rows), 2, nil)
	sampleLabels := make([]int, len(rows))
	for a, i := range rows {
		sample.SetRow(a, x.RawRowView(i))
		sampleLabels[a] = labels[i]
	}
	want := ClusteringMetrics(sample, sampleLabels, centers)
	if *m1.Silhouette != *want.Silhouette {
		t.Errorf("silhouette %v, want that of the sample %v", *m1.Silhouette, *want.Silhouette)
	}
	full := ClusteringMetrics(x, labels, centers)
	if m1.Rows != n || *m1.Inertia != *full.Inertia {
		t.Errorf("rows %d inertia %v, want %d and %v (over all rows)", m1.Rows, *m1.Inertia, n, *full.Inertia)
	}
	if *full.Silhouette == *m1.Silhouette || math.Abs(*full.Silhouette-*m1.Silhouette) > 0.05 {
		t.Errorf("sampled silhouette %v, full %v: want close but not equal", *m1.Silhouette, *full.Silhouette)
	}
}

// TestKMeansLloydByHand: one centre far from every row gets no rows and is
// moved to the row farthest from its centre; Lloyd then converges to
// {0, 1, 2} and {10}.
func TestKMeansLloydByHand(t *testing.T) {
	data := newKMeansData(mat.NewDense(4, 1, []float64{0, 1, 2, 10}))
	run, err := data.lloyd(context.Background(), []float64{0, 100}, 300, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(run.centers, []float64{1, 10}) || run.inertia != 2 {
		t.Errorf("centres %v inertia %v; want [1 10] and 2", run.centers, run.inertia)
	}
	// More clusters than distinct rows: no NaN, inertia 0.
	m := &KMeans{K: 3, NInit: 2, MaxIter: 300, Tol: 1e-4}
	if err := m.Fit(context.Background(), mat.NewDense(4, 1, []float64{3, 3, 3, 7}), nil, Clustering, 0); err != nil {
		t.Fatal(err)
	}
	if m.Inertia != 0 {
		t.Errorf("duplicate rows: inertia %v, want 0 (centres %v)", m.Inertia, m.Centers)
	}
	if err := m.checkShape(1, Clustering, 3); err != nil {
		t.Error(err)
	}
}

// TestKMeansPlusPlus: greedy k-means++ puts one initial centre in each of
// three tight, distant blobs.
func TestKMeansPlusPlus(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(300, 2, nil)
	for i := range 300 {
		x.Set(i, 0, float64(100*(i%3))+r.NormFloat64())
		x.Set(i, 1, r.NormFloat64())
	}
	data := newKMeansData(x)
	for seed := range uint64(20) {
		centers, err := data.seedPlusPlus(context.Background(), 3, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		blobs := map[int]bool{}
		for c := range 3 {
			blobs[int(math.Round(centers[2*c]/100))] = true
		}
		if len(blobs) != 3 {
			t.Errorf("seed %d: initial centres %v do not cover the three blobs", seed, centers)
		}
	}
}

// TestKMeansReproducible: the same seed gives identical centres (also on
// one core), another seed different ones.
func TestKMeansReproducible(t *testing.T) {
	x, _ := syntheticRegression(3000, 5, 9)
	fit := func(seed int) *KMeans {
		m := newKMeans(map[string]any{"k": 6, "nInit": 2, "maxIter": 300, "tol": 1e-4, "seed": seed}).(*KMeans)
		if err := m.Fit(context.Background(), x, nil, Clustering, 0); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := fit(1)
	prev := runtime.GOMAXPROCS(1)
	b := fit(1)
	runtime.GOMAXPROCS(prev)
	c := fit(2)
	equal := func(m, n *KMeans) bool {
		return slices.EqualFunc(m.Centers, n.Centers, func(u, v []float64) bool { return slices.Equal(u, v) })
	}
	if !equal(a, b) || a.Inertia != b.Inertia {
		t.Error("same seed gave different centres")
	}
	if equal(a, c) {
		t.Error("seeds 1 and 2 gave identical centres")
	}
}

// TestClusteringModelRoundTrip: a saved and loaded k-means model keeps its
// clusters, predictions and metrics; corrupt encodings fail to load.
func TestClusteringModelRoundTrip(t *testing.T) {
	features, _ := colorDataset(120, 7)
	m := trainOrFatal(t, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 4}}, features, nil)
	loaded := reloaded(t, m)
	if loaded.Task != Clustering || !slices.Equal(loaded.Classes, []string{"0", "1", "2", "3"}) || loaded.Target != "" {
		t.Errorf("loaded %+v", loaded)
	}
	before, _ := m.Predict(features)
	after, err := loaded.Predict(features)
	if err != nil || !slices.Equal(before.Labels, after.Labels) {
		t.Errorf("labels changed after load (%v)", err)
	}
	mb, _ := m.Evaluate(features, nil)
	ma, _ := loaded.Evaluate(features, nil)
	if *mb.Inertia != *ma.Inertia || *mb.Silhouette != *ma.Silhouette {
		t.Errorf("metrics changed after load: %v/%v vs %v/%v", *mb.Inertia, *mb.Silhouette, *ma.Inertia, *ma.Silhouette)
	}
	data, _ := m.MarshalBinary()
	if again, _ := loaded.MarshalBinary(); string(again) != string(data) {
		t.Error("re-encoding differs")
	}
	empty, err := loaded.Predict([]*Column{NewNumeric("size", nil), NewCategorical("color", nil, nil)})
	if err != nil || len(empty.Labels) != 0 {
		t.Errorf("no rows: %+v %v", empty, err)
	}

	s := string(data)
	for name, enc := range map[string]string{
		"cluster names":  strings.Replace(s, `"classes":["0","1","2","3"]`, `"classes":["0","1","2","x"]`, 1),
		"fewer clusters": strings.Replace(s, `"classes":["0","1","2","3"]`, `"classes":["0","1","2"]`, 1),
		"no clusters":    strings.Replace(s, `"classes":["0","1","2","3"]`, `"classes":[]`, 1),
		"short centre":   strings.Replace(s, `"Centers":[[`, `"Centers":[[1],[`, 1),
		"as regression":  strings.Replace(s, `"task":"CLUSTERING"`, `"task":"REGRESSION"`, 1),
	} {
		if enc == s {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := LoadModel([]byte(enc)); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}

func TestClusteringErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	ctx := context.Background()
	_, err := Train(ctx, TrainConfig{Algorithm: "KMEANS"}, features, target)
	wantInputError(t, err, "KMEANS", "without a target", `"target"`)
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS", Task: Classification}, features, target)
	wantInputError(t, err, "KMEANS", "CLASSIFICATION")
	_, err = Train(ctx, TrainConfig{Algorithm: "LOGISTIC_REGRESSION", Task: Clustering}, features, nil)
	wantInputError(t, err, "LOGISTIC_REGRESSION", "CLUSTERING")
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 200}}, features, nil)
	wantInputError(t, err, "k", "200", "150 rows")
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 0}}, features, nil)
	wantInputError(t, err, "k", ">= 1")
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"nInit": 0}}, features, nil)
	wantInputError(t, err, "nInit", ">= 1")
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS"}, []*Column{NewNumeric("x", nil)}, nil)
	wantInputError(t, err, "no rows")
	_, err = Train(ctx, TrainConfig{Algorithm: "KMEANS"}, []*Column{NewNumeric("x", []float64{1, 2}), NewNumeric("z", []float64{1})}, nil)
	wantInputError(t, err, `"z"`, "1 rows")

	m := trainOrFatal(t, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 3}}, features, nil)
	_, err = m.Evaluate(features, target)
	wantInputError(t, err, "without a target", `"target"`)
	_, err = m.Evaluate(takeColumns(features, nil), nil)
	wantInputError(t, err, "no rows")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	x, _ := syntheticRegression(2000, 4, 1)
	est := newKMeans(map[string]any{"k": 5, "nInit": 10, "maxIter": 300, "tol": 1e-4, "seed": 0})
	if err := est.Fit(cancelled, x, nil, Clustering, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Fit with cancelled context: %v", err)
	}
}

// gaussianBlobs returns n rows of p features around k centres drawn from
// N(0, 5²), with unit-variance noise.
func gaussianBlobs(n, p, k int, seed uint64) *mat.Dense {
	r := rand.New(rand.NewPCG(seed, 8))
	centers := make([]float64, k*p)
	for i := range centers {
		centers[i] = 5 * r.NormFloat64()
	}
	x := mat.NewDense(n, p, nil)
	for i := range n {
		c := r.IntN(k)
		for l := range p {
			x.Set(i, l, centers[c*p+l]+r.NormFloat64())
		}
	}
	return x
}

// BenchmarkKMeansFit times KMeans.Fit with the defaults (k=8, nInit=10)
// on 200,000×20 rows drawn around 8 centres.
func BenchmarkKMeansFit(b *testing.B) {
	x := gaussianBlobs(200000, 20, 8, 1)
	params, err := ResolveParams("KMEANS", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		m := newKMeans(params).(*KMeans)
		if err := m.Fit(context.Background(), x, nil, Clustering, 0); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Iterations), "iters")
	}
}

// BenchmarkKMeansNoClusters is BenchmarkKMeansFit on data without any
// cluster structure (N(0,1) features), where Lloyd needs many rounds.
func BenchmarkKMeansNoClusters(b *testing.B) {
	x, _ := syntheticRegression(200000, 20, 1)
	b.ResetTimer()
	for b.Loop() {
		m := newKMeans(map[string]any{"k": 8, "nInit": 10, "maxIter": 300, "tol": 1e-4, "seed": 0}).(*KMeans)
		if err := m.Fit(context.Background(), x, nil, Clustering, 0); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Iterations), "iters")
	}
}

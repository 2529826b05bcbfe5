package ml

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestRandomForestMatchesSklearn compares the default forest with
// scikit-learn's RandomForest*(random_state=0) (100 trees, bootstrap, √p
// features for classification). Seed 0 draws the same bootstrap samples
// and features as scikit-learn (see TestRandomForestSameAsSklearn).
func TestRandomForestMatchesSklearn(t *testing.T) {
	for _, d := range treeParityDatasets {
		t.Run(d.name, func(t *testing.T) {
			_, got, elapsed := treeParityScore(t, d.name, d.task, d.metric, TrainConfig{Algorithm: "RANDOM_FOREST"})
			checkTreeParity(t, d.metric, got, sklearnMetric(t, d.name, "forest_100", d.metric), elapsed)
		})
	}
}

// TestRandomForestSameAsSklearn compares the class probabilities on the
// iris test rows with those of scikit-learn 1.2.1's
// RandomForestClassifier(random_state=0): they agree exactly, which
// checks the bootstrap draws and the per-tree generators.
func TestRandomForestSameAsSklearn(t *testing.T) {
	want := [][3]float64{
		{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {0.97, 0.03, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0},
		{0, 1, 0}, {0, 0.92, 0.08}, {0, 0.99, 0.01}, {0, 1, 0}, {0, 1, 0}, {0, 1, 0}, {0, 0.99, 0.01}, {0, 1, 0}, {0, 1, 0}, {0, 1, 0},
		{0, 0.01, 0.99}, {0, 0, 1}, {0, 0.1, 0.9}, {0, 0.19, 0.81}, {0, 0.54, 0.46}, {0, 0.64, 0.36}, {0, 0.01, 0.99}, {0, 0, 1}, {0, 0.04, 0.96}, {0, 0.01, 0.99},
	}
	features, target := readCSV(t, "iris")
	train, test := readSplit(t, "iris")
	m := trainOrFatal(t, TrainConfig{Algorithm: "RANDOM_FOREST"}, takeColumns(features, train), target.Take(train))
	out, err := m.Predict(takeColumns(features, test))
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range want {
		if got := out.Proba.RawRowView(i); !floats.EqualApprox(got, row[:], 1e-12) {
			t.Errorf("test row %d: probabilities %v, scikit-learn %v", i, got, row)
		}
	}
}

// TestRandomForestIsMeanOfTrees checks that the forest predicts the mean
// of its trees, that probabilities sum to one and that the trees differ.
func TestRandomForestIsMeanOfTrees(t *testing.T) {
	features, target := readCSV(t, "wine")
	m := trainOrFatal(t, TrainConfig{Algorithm: "RANDOM_FOREST", Params: map[string]any{"nEstimators": 7}}, features, target)
	forest := m.est.(*RandomForest)
	if len(forest.Trees) != 7 {
		t.Fatalf("%d trees, want 7", len(forest.Trees))
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := x.Dims()
	proba := mat.NewDense(n, 3, nil)
	forest.Predict(x, proba)
	for i := range n {
		mean := make([]float64, 3)
		for _, tr := range forest.Trees {
			floats.AddScaled(mean, 1.0/7, tr.leafValues(x.RawRowView(i), 3))
		}
		if !floats.EqualApprox(proba.RawRowView(i), mean, 1e-15) {
			t.Fatalf("row %d: forest %v, mean of trees %v", i, proba.RawRowView(i), mean)
		}
		if s := floats.Sum(mean); math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
	}
	// Each tree saw its own bootstrap sample, so the trees differ.
	for k := 1; k < len(forest.Trees); k++ {
		if slices.Equal(forest.Trees[k].Threshold, forest.Trees[0].Threshold) {
			t.Errorf("trees 0 and %d are the same", k)
		}
	}
	if s := floats.Sum(forest.Importances); math.Abs(s-1) > 1e-12 {
		t.Errorf("importances sum to %v", s)
	}
}

// TestRandomForestWithoutBootstrap: with every row and every feature, the
// trees differ only in how ties are broken. Continuous data split to
// depth 4 (nodes of about 20 rows) has no ties, so every tree is the
// decision tree.
func TestRandomForestWithoutBootstrap(t *testing.T) {
	x, y := syntheticRegression(300, 4, 2)
	forest := newRandomForest(map[string]any{"nEstimators": 5, "maxDepth": 4, "minSamplesSplit": 2, "minSamplesLeaf": 1,
		"maxFeatures": "all", "criterion": "gini", "bootstrap": false, "seed": 3}).(*RandomForest)
	if err := forest.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	tree := &DecisionTree{MaxDepth: 4, MinSamplesSplit: 2, MinSamplesLeaf: 1, MaxFeatures: "all", Criterion: "gini"}
	if err := tree.Fit(context.Background(), x, y, Regression, 0); err != nil {
		t.Fatal(err)
	}
	for k, tr := range forest.Trees {
		if !slices.Equal(tr.Threshold, tree.Tree.Threshold) || !slices.Equal(tr.Value, tree.Tree.Value) {
			t.Errorf("tree %d differs from the decision tree", k)
		}
	}
}

// TestRandomForestReproducible: the same seed gives the same forest
// whatever the number of cores; another seed gives another forest.
func TestRandomForestReproducible(t *testing.T) {
	features, target := readCSV(t, "breast_cancer")
	encode := func(seed int) []byte {
		m := trainOrFatal(t, TrainConfig{Algorithm: "RANDOM_FOREST", Params: map[string]any{"nEstimators": 20, "seed": seed}}, features, target)
		data, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	parallel := encode(5)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if !slices.Equal(encode(5), parallel) {
		t.Error("seed 5 on one core differs from seed 5 on all cores")
	}
	if slices.Equal(encode(6), parallel) {
		t.Error("seeds 5 and 6 give the same forest")
	}
}

func TestRandomForestSaveLoad(t *testing.T) {
	for _, d := range []struct {
		name string
		task Task
	}{{"iris", Classification}, {"diabetes", Regression}} {
		t.Run(d.name, func(t *testing.T) {
			features, target := readCSV(t, d.name)
			m := trainOrFatal(t, TrainConfig{Algorithm: "RANDOM_FOREST", Task: d.task, Params: map[string]any{"nEstimators": 10}}, features, target)
			treeRoundTrip(t, m, features)
			if got := m.est.(Importancer).FeatureImportances(); len(got) != len(features) {
				t.Errorf("%d importances for %d features", len(got), len(features))
			}
			for what, edit := range map[string]func(est map[string]any){
				"no trees": func(est map[string]any) { est["Trees"] = []any{} },
				"bad right child": func(est map[string]any) {
					est["Trees"].([]any)[3].(map[string]any)["Next"].([]any)[0] = json.Number("0")
				},
				"wrong classes":    func(est map[string]any) { est["Classes"] = json.Number("5") },
				"short importance": func(est map[string]any) { est["Importances"] = []any{} },
			} {
				if _, err := LoadModel(corruptEstimator(t, m, edit)); err == nil {
					t.Errorf("%s: corrupt forest loaded", what)
				}
			}
		})
	}
}

func TestRandomForestParams(t *testing.T) {
	features, target := readCSV(t, "iris")
	for _, c := range []struct {
		params map[string]any
		parts  []string
	}{
		{map[string]any{"nEstimators": 0}, []string{"nEstimators"}},
		{map[string]any{"maxFeatures": "1.5"}, []string{"maxFeatures", "(0, 1]"}},
		{map[string]any{"bootstrap": "yes"}, []string{"bootstrap", "boolean"}},
		{map[string]any{"seed": -1}, []string{"seed"}},
	} {
		_, err := Train(context.Background(), TrainConfig{Algorithm: "RANDOM_FOREST", Params: c.params}, features, target)
		wantInputError(t, err, c.parts...)
	}
	// maxDepth bounds every tree.
	m := trainOrFatal(t, TrainConfig{Algorithm: "RANDOM_FOREST", Params: map[string]any{"nEstimators": 5, "maxDepth": 1}}, features, target)
	for k, tr := range m.est.(*RandomForest).Trees {
		if len(tr.Feature) > 3 {
			t.Errorf("maxDepth 1: tree %d has %d nodes", k, len(tr.Feature))
		}
	}
}

func TestRandomForestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, y := syntheticRegression(100, 3, 1)
	m := estimatorWith(t, "RANDOM_FOREST", map[string]any{"nEstimators": 10})
	if err := m.Fit(ctx, x, y, Regression, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fit returned %v", err)
	}
}

// BenchmarkRandomForest grows 20 full-depth trees on 200,000×20
// (classification: √20 = 4 features per split).
func BenchmarkRandomForest(b *testing.B) {
	benchmarkFit(b, 200000, 20, func() Estimator {
		return estimatorWith(b, "RANDOM_FOREST", map[string]any{"nEstimators": 20})
	}, nil)
}

package ml

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// importanceData has y = 3·a − 2·b(=red) + noise and an irrelevant column.
func importanceData(n int) ([]*Column, *Column) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, noise, y := make([]float64, n), make([]float64, n), make([]float64, n)
	codes := make([]int32, n)
	for i := range n {
		a[i], noise[i] = rng.NormFloat64(), rng.NormFloat64()
		codes[i] = int32(i % 2)
		y[i] = 3*a[i] + 0.1*rng.NormFloat64()
		if codes[i] == 0 {
			y[i] -= 2
		}
	}
	return []*Column{NewNumeric("a", a), NewCategorical("b", codes, []string{"red", "blue"}), NewNumeric("noise", noise)}, NewNumeric("y", y)
}

func TestFeatureImportanceLinear(t *testing.T) {
	features, target := importanceData(500)
	m, err := Train(context.Background(), TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := m.FeatureImportance(context.Background(), features, target, 0)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range imp {
		sum += f.Importance
		if f.Method != ImportanceCoefficient {
			t.Errorf("%s: method %s", f.Feature, f.Method)
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("importances sum to %v", sum)
	}
	// |w·std|: a ≈ 3·1, b: two one-hot columns of weight ±1 (std 0.5 each), noise ≈ 0.
	if !(imp[0].Importance > imp[1].Importance && imp[1].Importance > 10*imp[2].Importance) {
		t.Errorf("importances %+v: want a > b ≫ noise", imp)
	}
}

// opaque hides an estimator's optional interfaces.
type opaque struct{ Estimator }

func TestFeatureImportancePermutation(t *testing.T) {
	features, target := importanceData(3000)
	m, err := Train(context.Background(), TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target)
	if err != nil {
		t.Fatal(err)
	}
	m.est = opaque{m.est}
	imp, err := m.FeatureImportance(context.Background(), features, target, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Shuffling a destroys its share of the variance: R² drops by about
	// 2·var(3a)/var(y) = 2·9/10; b by 2·1/10; noise by nothing.
	if imp[0].Method != ImportancePermutation || math.Abs(imp[0].Importance-1.8) > 0.15 ||
		math.Abs(imp[1].Importance-0.2) > 0.05 || math.Abs(imp[2].Importance) > 0.01 {
		t.Errorf("permutation importances %+v", imp)
	}
	again, _ := m.FeatureImportance(context.Background(), features, target, 7)
	if again[0] != imp[0] {
		t.Error("same seed, different permutation importance")
	}
}

// TestPermutationPlan: the full settings up to 20 features, then fewer
// rows, then fewer repeats, never more predictions than the budget.
func TestPermutationPlan(t *testing.T) {
	for _, c := range []struct{ p, n, rows, repeats int }{
		{4, 150, 150, 5},
		{20, 10_000, 2000, 5},
		{40, 10_000, 1000, 5},
		{784, 10_000, 200, 1},
		{784, 100, 100, 2},
		{5000, 10_000, 200, 1},
	} {
		rows, repeats := permutationPlan(c.p, c.n)
		if rows != c.rows || repeats != c.repeats {
			t.Errorf("%d features, %d rows: %d rows × %d repeats, want %d × %d", c.p, c.n, rows, repeats, c.rows, c.repeats)
		}
		if c.p*rows*repeats > permutationBudget && repeats > 1 {
			t.Errorf("%d features: %d predictions over the budget", c.p, c.p*rows*repeats)
		}
	}
}

// TestNoPermutationImportanceForPixels: past permutationMaxFeatures
// features permutation importance is not computed; linear weights still
// are.
func TestNoPermutationImportanceForPixels(t *testing.T) {
	p := permutationMaxFeatures + 1
	features, target := wideColumns(p, 40, 2)
	for _, c := range []struct {
		algorithm string
		want      bool
	}{{"KNN", false}, {"LOGISTIC_REGRESSION", true}} {
		m, err := Train(context.Background(), TrainConfig{Algorithm: c.algorithm}, features, target)
		if err != nil {
			t.Fatal(err)
		}
		imp, err := m.FeatureImportance(context.Background(), features, target, 0)
		if err != nil || (imp != nil) != c.want {
			t.Errorf("%s on %d features: importance computed %v, want %v (%v)", c.algorithm, p, imp != nil, c.want, err)
		}
	}
}

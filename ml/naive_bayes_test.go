package ml

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestNaiveBayesMatchesSklearn: Gaussian naive Bayes scores within 0.02 of
// scikit-learn's GaussianNB on every classification dataset's test rows.
func TestNaiveBayesMatchesSklearn(t *testing.T) {
	for _, dataset := range []string{"iris", "wine", "breast_cancer", "digits"} {
		t.Run(dataset, func(t *testing.T) {
			got, fit := splitMetric(t, dataset, TrainConfig{Algorithm: "NAIVE_BAYES"})
			want := sklearnMetric(t, dataset, "gaussian_nb", "accuracy")
			if math.Abs(got-want) > 0.02 && got < want {
				t.Errorf("test accuracy %.4f, sklearn %.4f", got, want)
			}
			t.Logf("test accuracy %.4f (sklearn %.4f); fit %v (sklearn %.4fs)", got, want, fit, sklearnFitSeconds(t, dataset, "gaussian_nb"))
		})
	}
}

func fitNaiveBayes(t *testing.T, params map[string]any, x *mat.Dense, y []float64, nClasses int) *NaiveBayes {
	t.Helper()
	full, err := ResolveParams("NAIVE_BAYES", params)
	if err != nil {
		t.Fatal(err)
	}
	m := newNaiveBayes(full).(*NaiveBayes)
	if err := m.Fit(context.Background(), x, y, Classification, nClasses); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGaussianNBByHand compares with Bayes' rule evaluated directly on
// normal densities: one feature, class 0 rows {0, 2} (mean 1, variance 1),
// class 1 rows {4, 6, 8} (mean 6, variance 8/3), priors 2/5 and 3/5.
func TestGaussianNBByHand(t *testing.T) {
	x := mat.NewDense(5, 1, []float64{0, 2, 4, 6, 8})
	m := fitNaiveBayes(t, nil, x, []float64{0, 0, 1, 1, 1}, 2)
	// ε = 1e-9 × the variance of all five rows (8).
	eps := 1e-9 * 8
	if math.Abs(m.Epsilon-eps) > 1e-24 {
		t.Errorf("epsilon %v, want %v", m.Epsilon, eps)
	}
	normal := func(v, mean, variance float64) float64 {
		return math.Exp(-(v-mean)*(v-mean)/(2*variance)) / math.Sqrt(2*math.Pi*variance)
	}
	queries := []float64{-1, 3, 3.7, 5, 20}
	dst := mat.NewDense(len(queries), 2, nil)
	m.Predict(mat.NewDense(len(queries), 1, queries), dst)
	for i, q := range queries {
		p0 := 0.4 * normal(q, 1, 1+eps)
		p1 := 0.6 * normal(q, 6, 8.0/3+eps)
		want := p0 / (p0 + p1)
		if math.Abs(dst.At(i, 0)-want) > 1e-12 || math.Abs(dst.At(i, 0)+dst.At(i, 1)-1) > 1e-15 {
			t.Errorf("x = %v: P(0) %v, want %v", q, dst.At(i, 0), want)
		}
	}
	// Far from every class the log-likelihoods underflow any density, but
	// the probabilities stay finite and sum to one.
	m.Predict(mat.NewDense(1, 1, []float64{1e200}), dst.Slice(0, 1, 0, 2).(*mat.Dense))
	if s := dst.At(0, 0) + dst.At(0, 1); math.IsNaN(s) || math.Abs(s-1) > 1e-15 {
		t.Errorf("extreme input: probabilities %v", dst.RawRowView(0))
	}
}

// TestMultinomialNBByHand: class 0 rows (1, 0, 2) and (0, 1, 0) have counts
// (1, 1, 2), so with α = 1 θ₀ = (2, 2, 3)/7; class 1 row (3, 0, 0) gives
// θ₁ = (4, 1, 1)/6; priors 2/3 and 1/3.
func TestMultinomialNBByHand(t *testing.T) {
	x := mat.NewDense(3, 3, []float64{1, 0, 2, 0, 1, 0, 3, 0, 0})
	m := fitNaiveBayes(t, map[string]any{"kind": "multinomial"}, x, []float64{0, 0, 1}, 2)
	dst := mat.NewDense(1, 2, nil)
	m.Predict(mat.NewDense(1, 3, []float64{1, 1, 0}), dst)
	p0 := 2.0 / 3 * (2.0 / 7) * (2.0 / 7)
	p1 := 1.0 / 3 * (4.0 / 6) * (1.0 / 6)
	if want := p0 / (p0 + p1); math.Abs(dst.At(0, 0)-want) > 1e-15 {
		t.Errorf("P(0) %v, want %v", dst.At(0, 0), want)
	}
	// α = 0 is raised to 1e-10, keeping every log finite.
	m = fitNaiveBayes(t, map[string]any{"kind": "multinomial", "alpha": 0}, x, []float64{0, 0, 1}, 2)
	if err := m.checkShape(3, Classification, 2); err != nil {
		t.Error(err)
	}
	m.Predict(mat.NewDense(1, 3, []float64{0, 5, 0}), dst)
	if dst.At(0, 0) < 0.999999 {
		t.Errorf("α = 0: P(0) %v for a feature class 1 never had", dst.At(0, 0))
	}
}

// TestMultinomialNBOneHot: multinomial naive Bayes on one-hot encoded
// categorical features learns the colour→class rule of colorDataset.
func TestMultinomialNBOneHot(t *testing.T) {
	features, target := colorDataset(600, 2)
	m := trainOrFatal(t, TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"kind": "multinomial"}}, features[1:], target)
	metrics, err := m.Evaluate(features[1:], target)
	if err != nil {
		t.Fatal(err)
	}
	if *metrics.Accuracy < 0.9 {
		t.Errorf("training accuracy %.3f, want ≥ 0.9", *metrics.Accuracy)
	}
	// Negative values are not counts.
	_, err = Train(context.Background(), TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"kind": "multinomial"}},
		[]*Column{NewNumeric("x", []float64{1, -2, 3, 4})}, NewCategorical("y", []int32{0, 1, 0, 1}, []string{"a", "b"}))
	wantInputError(t, err, "non-negative", "row 2")
}

func TestNaiveBayesRoundTrip(t *testing.T) {
	features, target := colorDataset(200, 5)
	for _, kind := range []string{"gaussian", "multinomial"} {
		cols := features
		if kind == "multinomial" {
			cols = features[1:]
		}
		m := trainOrFatal(t, TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"kind": kind}}, cols, target)
		loaded := reloaded(t, m)
		if before, after := predictionValues(t, m, cols), predictionValues(t, loaded, cols); !slices.Equal(before, after) {
			t.Errorf("%s: predictions changed after load", kind)
		}
		data, _ := m.MarshalBinary()
		s := string(data)
		corrupt := map[string]string{
			"class counts": strings.Replace(s, `"ClassCount":[`, `"ClassCount":[1,`, 1),
			"kind":         strings.Replace(s, `"Kind":"`, `"Kind":"x`, 1),
		}
		if kind == "gaussian" {
			corrupt["variance"] = strings.Replace(s, `"Var":[[`, `"Var":[[-1,`, 1)
		} else {
			corrupt["log-probabilities"] = strings.Replace(s, `"FeatureLogProb":[[`, `"FeatureLogProb":[[`+"0,", 1)
		}
		for name, enc := range corrupt {
			if enc == s {
				t.Fatalf("%s %s: replacement did not apply", kind, name)
			}
			if _, err := LoadModel([]byte(enc)); err == nil {
				t.Errorf("%s %s: loaded without error", kind, name)
			}
		}
	}
}

func TestNaiveBayesErrors(t *testing.T) {
	features, target := readCSV(t, "iris")
	ctx := context.Background()
	_, err := Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"kind": "bernoulli"}}, features, target)
	wantInputError(t, err, "kind", "gaussian, multinomial")
	_, err = Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"varSmoothing": 0}}, features, target)
	wantInputError(t, err, "varSmoothing", "> 0")
	_, err = Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES", Params: map[string]any{"alpha": -1}}, features, target)
	wantInputError(t, err, "alpha", ">= 0")
	_, err = Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES", Task: Regression}, features[1:], NewNumeric("y", features[0].Num))
	wantInputError(t, err, "NAIVE_BAYES", "REGRESSION")
	// Constant features: the prediction falls back to the priors.
	m := trainOrFatal(t, TrainConfig{Algorithm: "NAIVE_BAYES"}, []*Column{NewNumeric("x", []float64{1, 1, 1})},
		NewCategorical("y", []int32{0, 1, 1}, []string{"a", "b"}))
	out, err := m.Predict([]*Column{NewNumeric("x", []float64{5})})
	if err != nil || math.Abs(out.Proba.At(0, 1)-2.0/3) > 1e-12 {
		t.Errorf("constant feature: %v %v, want the prior 2/3", out.Proba, err)
	}
}

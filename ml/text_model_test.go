package ml

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// textTopics are the words of textData's three topics; textFiller
// words belong to none.
var (
	textTopics = map[string][]string{
		"food":   {"tasty", "delicious", "pizza", "pasta", "chef", "recipe", "spicy", "soup", "café", "crème"},
		"tech":   {"computer", "software", "bug", "server", "code", "compile", "network", "kernel", "laptop", "ünicode"},
		"sports": {"goal", "match", "team", "score", "coach", "league", "referee", "stadium", "runner", "medal"},
	}
	textFiller = []string{"the", "a", "and", "very", "today", "really", "I", "was", "it", "is", "we", "new", "good", "bad"}
)

// textData returns n documents on random topics (about half of each
// document's words from its topic, the rest filler; every 17th document
// missing), a numeric feature carrying a little signal, a categorical one
// carrying none, and the topic as target.
func textData(n int, seed uint64) (features []*Column, target *Column) {
	rng := rand.New(rand.NewPCG(seed, 11))
	topics := []string{"food", "sports", "tech"}
	docs, labels := make([]string, n), make([]string, n)
	num := make([]float64, n)
	colours := make([]string, n)
	for i := range n {
		topic := topics[rng.IntN(3)]
		labels[i] = topic
		num[i] = float64(slices.Index(topics, topic)) + 2*rng.Float64() // ≥ 0, for multinomial naive Bayes
		colours[i] = []string{"red", "green"}[rng.IntN(2)]
		if i%17 == 5 {
			continue
		}
		words := make([]string, 4+rng.IntN(8))
		for w := range words {
			if rng.IntN(2) == 0 {
				words[w] = textTopics[topic][rng.IntN(len(textTopics[topic]))]
			} else {
				words[w] = textFiller[rng.IntN(len(textFiller))]
			}
			if rng.IntN(5) == 0 {
				words[w] = strings.ToUpper(words[w][:1]) + words[w][1:] + ","
			}
		}
		docs[i] = strings.Join(words, " ")
	}
	features = []*Column{
		NewStringColumn("review", Text, docs),
		NewNumeric("score", num),
		NewStringColumn("colour", Categorical, colours),
	}
	return features, NewStringColumn("topic", Categorical, labels)
}

// textModels are the algorithms (with parameters) that TEXT is for.
var textModels = []struct {
	algorithm string
	params    map[string]any
}{
	{"NAIVE_BAYES", map[string]any{"kind": "multinomial"}},
	{"LOGISTIC_REGRESSION", nil},
	{"LINEAR_SVM", nil},
}

func TestTrainTextModels(t *testing.T) {
	features, target := textData(600, 1)
	train, test := make([]int, 0, 450), make([]int, 0, 150)
	for i := range 600 {
		if i%4 == 0 {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	for _, tm := range textModels {
		for _, textOnly := range []bool{true, false} {
			cols := features
			if textOnly {
				cols = features[:1]
			}
			m, err := Train(context.Background(), TrainConfig{Algorithm: tm.algorithm, Params: tm.params, Text: &TextOptions{NgramMax: 2}},
				takeColumns(cols, train), target.Take(train))
			if err != nil {
				t.Fatalf("%s: %v", tm.algorithm, err)
			}
			if m.Text == nil || m.Text.NgramMax != 2 || m.Text.MaxFeatures != DefaultTextMaxFeatures {
				t.Errorf("%s: model text options %+v", tm.algorithm, m.Text)
			}
			if m.Features[0].Type != Text || m.Features[0].Text == nil || m.Features[0].Text == m.prep.Features[0].Text {
				t.Errorf("%s: feature info %+v must hold a copy of the vectorizer", tm.algorithm, m.Features[0])
			}
			metrics, err := m.Evaluate(takeColumns(cols, test), target.Take(test))
			if err != nil {
				t.Fatal(err)
			}
			if *metrics.Accuracy < 0.9 {
				t.Errorf("%s (text only %v): test accuracy %.3f, want ≥ 0.9 on separable topics", tm.algorithm, textOnly, *metrics.Accuracy)
			}
			names := m.OutputNames()
			if !slices.Contains(names, "review:pizza") || !slices.Contains(names, "review:the pizza") {
				t.Errorf("%s: output names lack review:pizza and a bigram: %q...", tm.algorithm, names[:5])
			}
			// A saved model predicts the same, and a categorical column
			// serves a text feature (both hold strings).
			rows := takeColumns(cols, test)
			want, err := m.Predict(rows)
			if err != nil {
				t.Fatal(err)
			}
			rows[0], _ = rows[0].As(Categorical)
			got, err := reloaded(t, m).Predict(rows)
			if err != nil {
				t.Fatal(err)
			}
			if !mat.Equal(got.Proba, want.Proba) {
				t.Errorf("%s: the reloaded model, given a categorical column, predicts differently", tm.algorithm)
			}
			if imp, err := m.FeatureImportance(context.Background(), takeColumns(cols, test), target.Take(test), 1); err != nil || len(imp) != len(cols) {
				t.Errorf("%s: feature importance %v, %v", tm.algorithm, imp, err)
			} else if textOnly && imp[0].Importance <= 0 {
				t.Errorf("%s: importance of the only feature %v", tm.algorithm, imp[0])
			}
		}
	}
}

// TestTextNotScaled: text design columns are the vectorizer's TF-IDF
// weights, unscaled even for algorithms that standardise numeric features.
func TestTextNotScaled(t *testing.T) {
	features, target := textData(120, 2)
	m := trainExplained(t, "LOGISTIC_REGRESSION", Classification, nil, features, target)
	if !m.prep.Scale {
		t.Fatal("logistic regression must standardise numeric features")
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		t.Fatal(err)
	}
	v := m.prep.Features[0].Text
	docs := make([]string, features[0].Len())
	for i := range docs {
		docs[i] = features[0].Text(i)
	}
	want := v.Transform(docs)
	for i := range docs {
		if got := x.RawRowView(i)[:v.Width()]; !slices.Equal(got, want.RawRowView(i)) {
			t.Fatalf("row %d: design %v, vectorizer %v", i, got[:5], want.RawRowView(i)[:5])
		}
		if z := (features[1].Num[i] - m.prep.Features[1].Mean) / m.prep.Features[1].Std; x.At(i, v.Width()) != z {
			t.Fatalf("row %d: numeric design value %v, want standardised %v", i, x.At(i, v.Width()), z)
		}
	}
	if missing := x.RawRowView(5)[:v.Width()]; slices.ContainsFunc(missing, func(w float64) bool { return w != 0 }) {
		t.Error("a missing text must encode as all zeros")
	}
}

func TestTextTrainErrors(t *testing.T) {
	features, target := textData(50, 3)
	ctx := context.Background()
	_, err := Train(ctx, TrainConfig{Algorithm: "LOGISTIC_REGRESSION", Text: &TextOptions{MaxFeatures: -1}}, features, target)
	wantInputError(t, err, "maxFeatures")
	_, err = Train(ctx, TrainConfig{Algorithm: "LOGISTIC_REGRESSION", Text: &TextOptions{MinDf: 1000}}, features, target)
	wantInputError(t, err, `"review"`, "minDf")
	empty := NewStringColumn("review", Text, make([]string, 50))
	_, err = Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES"}, []*Column{empty, features[1]}, target)
	wantInputError(t, err, `"review"`, "no words")
	// Prediction columns: categorical serves text, numeric does not.
	m := trainExplained(t, "LOGISTIC_REGRESSION", Classification, nil, features, target)
	asNumbers := slices.Clone(features)
	asNumbers[0] = NewNumeric("review", make([]float64, 50))
	_, err = m.Predict(asNumbers)
	wantInputError(t, err, `"review" is NUMERIC`, "TEXT")
	// A text target is a set of labels.
	labels, _ := target.As(Text)
	if _, err := Train(ctx, TrainConfig{Algorithm: "NAIVE_BAYES"}, features[1:], labels); err != nil {
		t.Errorf("text target: %v", err)
	}
	_, err = Train(ctx, TrainConfig{Algorithm: "RIDGE", Task: Regression}, features[1:], labels)
	wantInputError(t, err, "numeric target", "TEXT")
	// Other algorithms train on text too (dense design columns).
	for _, alg := range []string{"NAIVE_BAYES", "RANDOM_FOREST", "KNN", "KMEANS"} {
		task := Classification
		tgt := target
		if alg == "KMEANS" {
			task, tgt = Clustering, nil
		}
		if _, err := Train(ctx, TrainConfig{Algorithm: alg, Task: task, Params: map[string]any{}}, features, tgt); err != nil {
			t.Errorf("%s on text: %v", alg, err)
		}
	}
}

// TestExplainLinearScore checks the exact decomposition of text models'
// scores: Baseline + Σ = Prediction, one entry per term present (its
// TF-IDF weight as Value), and Prediction = Class's score minus the mean
// score, which softmax probabilities give back: log p_k − mean_c log p_c
// (divided by the temperature for LINEAR_SVM).
func TestExplainLinearScore(t *testing.T) {
	features, target := textData(400, 4)
	rows := takeColumns(features, []int{0, 1, 2, 5, 7}) // row 5 has no text
	background := leadingRows(features, 40)
	for _, tm := range append(textModels, struct {
		algorithm string
		params    map[string]any
	}{"LOGISTIC_REGRESSION", map[string]any{"penalty": "l1", "C": 5}}) {
		for _, binary := range []bool{false, true} {
			feats, tgt := features, target
			if binary {
				keep := []int{}
				for i := range tgt.Len() {
					if tgt.Text(i) != "tech" {
						keep = append(keep, i)
					}
				}
				feats, tgt = takeColumns(features, keep), target.Take(keep)
			}
			m := trainExplained(t, tm.algorithm, Classification, tm.params, feats, tgt)
			ex := explainOK(t, m, rows, background, 0)
			out, err := m.Predict(rows)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := m.prep.Transform(rows)
			for i, e := range ex {
				if e.Method != ExplainLinearScore {
					t.Fatalf("%s: method %s", tm.algorithm, e.Method)
				}
				k := out.Labels[i]
				if e.Class != m.Classes[k] {
					t.Errorf("%s row %d: explains %q, predicted %q", tm.algorithm, i, e.Class, m.Classes[k])
				}
				total, scale := e.Baseline, math.Abs(e.Baseline)
				var terms []string
				for _, c := range e.Contributions {
					total += c.Contribution
					scale += math.Abs(c.Contribution)
					if c.Feature == "review" {
						if c.Term == "" || c.Text != "" || !(c.Value > 0) {
							t.Errorf("%s: text entry %+v", tm.algorithm, c)
						}
						terms = append(terms, c.Term)
					} else if c.Term != "" {
						t.Errorf("%s: non-text entry with a term %+v", tm.algorithm, c)
					}
				}
				if math.Abs(total-e.Prediction) > 1e-12*(1+scale) {
					t.Errorf("%s row %d: baseline + contributions = %v, prediction %v", tm.algorithm, i, total, e.Prediction)
				}
				var present []string
				v := m.prep.Features[0].Text
				for j, w := range x.RawRowView(i)[:v.Width()] {
					if w != 0 {
						present = append(present, v.Vocabulary[j])
					}
				}
				if !slices.Equal(terms, present) {
					t.Errorf("%s row %d: terms %q, present %q", tm.algorithm, i, terms, present)
				}
				if i == 3 && len(terms) != 0 {
					t.Errorf("%s: a missing text has terms %q", tm.algorithm, terms)
				}
				if n := len(e.Contributions) - len(terms); n != 2 {
					t.Errorf("%s: %d entries besides terms, want 2 (score, colour)", tm.algorithm, n)
				}
				logP := make([]float64, len(m.Classes))
				for c := range logP {
					logP[c] = math.Log(out.Proba.At(i, c))
				}
				want := logP[k] - meanOf(logP)
				if svm, ok := m.est.(*LinearSVM); ok {
					want /= svm.Temperature
				}
				if math.Abs(want-e.Prediction) > 1e-9*(1+math.Abs(want)) {
					t.Errorf("%s row %d: prediction %v, from the probabilities %v", tm.algorithm, i, e.Prediction, want)
				}
			}
		}
	}
}

// TestExplainLinearScoreKnownCase: a binary multinomial naive Bayes by
// hand, one text feature.
func TestExplainLinearScoreKnownCase(t *testing.T) {
	docs := NewStringColumn("t", Text, []string{"aa bb", "aa", "cc", "cc cc bb"})
	y := NewStringColumn("y", Categorical, []string{"p", "p", "q", "q"})
	m := trainExplained(t, "NAIVE_BAYES", Classification, map[string]any{"kind": "multinomial"}, []*Column{docs}, y)
	nb := m.est.(*NaiveBayes)
	row := NewStringColumn("t", Text, []string{"bb aa zz"})
	ex := explainOK(t, m, []*Column{row}, []*Column{docs}, 0)[0]
	x, _ := m.prep.Transform([]*Column{row})
	// Predicted p: score difference halves, per term.
	if ex.Class != "p" {
		t.Fatalf("class %q", ex.Class)
	}
	vocab := m.prep.Features[0].Text.Vocabulary // aa, bb, cc
	want := map[string]float64{}
	for j, term := range vocab {
		if w := x.At(0, j); w != 0 {
			want[term] = (nb.FeatureLogProb[0][j] - nb.FeatureLogProb[1][j]) / 2 * w
		}
	}
	if len(ex.Contributions) != 2 || len(want) != 2 {
		t.Fatalf("contributions %+v, want terms aa and bb", ex.Contributions)
	}
	for _, c := range ex.Contributions {
		if math.Abs(c.Contribution-want[c.Term]) > 1e-15 {
			t.Errorf("term %q: %v, want %v", c.Term, c.Contribution, want[c.Term])
		}
	}
	// Equal priors: the baseline (empty text) is 0.
	if ex.Baseline != 0 {
		t.Errorf("baseline %v, want 0 with equal priors", ex.Baseline)
	}
}

// TestExplainTextOtherMethods: algorithms without linear scores explain a
// text feature as one player, its document as Text.
func TestExplainTextOtherMethods(t *testing.T) {
	features, target := textData(200, 5)
	m := trainExplained(t, "RANDOM_FOREST", Classification, map[string]any{"nEstimators": 5}, features, target)
	rows := leadingRows(features, 2)
	ex := explainOK(t, m, rows, leadingRows(features, 20), 0)
	for i, e := range ex {
		if e.Method != ExplainTreeSHAP || len(e.Contributions) != 3 {
			t.Fatalf("method %s, %d contributions", e.Method, len(e.Contributions))
		}
		if c := e.Contributions[0]; c.Feature != "review" || c.Term != "" || c.Text != rows[0].Text(i) || !math.IsNaN(c.Value) {
			t.Errorf("text contribution %+v", c)
		}
	}
	// Gaussian naive Bayes is not linear: sampling.
	g := trainExplained(t, "NAIVE_BAYES", Classification, map[string]any{"kind": "gaussian"}, features, target)
	if e := explainOK(t, g, rows, leadingRows(features, 10), 0); e[0].Method != ExplainSamplingSHAP {
		t.Errorf("gaussian naive bayes: method %s", e[0].Method)
	}
	// By default, naive Bayes on text is multinomial, and linear.
	auto := trainExplained(t, "NAIVE_BAYES", Classification, nil, features, target)
	if e := explainOK(t, auto, rows, leadingRows(features, 10), 0); auto.Params["kind"] != "multinomial" || e[0].Method != ExplainLinearScore {
		t.Errorf("naive bayes on text by default: kind %v, method %s", auto.Params["kind"], e[0].Method)
	}
	// A regression on text: LINEAR_SCORE, the prediction itself.
	y := make([]float64, features[0].Len())
	for i := range y {
		y[i] = float64(len(features[0].Text(i)))
	}
	r := trainExplained(t, "RIDGE", Regression, nil, features, NewNumeric("length", y))
	out, _ := r.Predict(rows)
	for i, e := range explainOK(t, r, rows, leadingRows(features, 10), 0) {
		if e.Method != ExplainLinearScore || math.Abs(e.Prediction-out.Values[i]) > 1e-9*(1+math.Abs(out.Values[i])) {
			t.Errorf("ridge: method %s, prediction %v, Predict %v", e.Method, e.Prediction, out.Values[i])
		}
	}
}

// TestTextModelConcurrent: a trained text model predicts and explains
// concurrently (go test -race checks the lazily built term index).
func TestTextModelConcurrent(t *testing.T) {
	features, target := textData(200, 6)
	m := reloaded(t, trainExplained(t, "LOGISTIC_REGRESSION", Classification, nil, features, target))
	rows := leadingRows(features, 30)
	var wg sync.WaitGroup
	results := make([]*Output, 4)
	for g := range results {
		wg.Go(func() {
			out, err := m.Predict(rows)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := m.Explain(context.Background(), leadingRows(features, 2), rows, 0); err != nil {
				t.Error(err)
			}
			results[g] = out
		})
	}
	wg.Wait()
	for _, r := range results[1:] {
		if r == nil || results[0] == nil || !mat.Equal(r.Proba, results[0].Proba) {
			t.Fatal("concurrent predictions differ")
		}
	}
}

// TestLoadTextModelErrors: corrupt text state is refused at load.
func TestLoadTextModelErrors(t *testing.T) {
	features, target := textData(100, 7)
	m := trainExplained(t, "NAIVE_BAYES", Classification, map[string]any{"kind": "multinomial"}, features, target)
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	v := m.prep.Features[0].Text
	for name, bad := range map[string]string{
		"unsorted vocabulary": strings.Replace(good, `"Vocabulary":["`+v.Vocabulary[0]+`","`+v.Vocabulary[1]+`"`, `"Vocabulary":["`+v.Vocabulary[1]+`","`+v.Vocabulary[0]+`"`, 1),
		"no vectorizer":       strings.Replace(good, `"Text":{`, `"Texts":{`, 1),
		"bad option":          strings.Replace(good, `"maxFeatures":5000`, `"maxFeatures":-5`, 1),
		"idf below one":       strings.Replace(good, `"IDF":[`, `"IDF":[0.5,`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the corruption did not apply", name)
		}
		if _, err := LoadModel([]byte(bad)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := LoadModel(data); err != nil {
		t.Fatal(err)
	}
}

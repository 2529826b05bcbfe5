package main

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// fortunesReference is scikit-learn's TF-IDF baseline on the fortunes
// topic split (bench/text/reference.py), per model.
func fortunesReference(t *testing.T) map[string]struct {
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
} {
	t.Helper()
	raw, err := os.ReadFile("testdata/reference/fortunes.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Models map[string]struct {
			Accuracy float64 `json:"accuracy"`
			MacroF1  float64 `json:"macro_f1"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Models
}

type explanationJSON struct {
	Row           int     `json:"row"`
	Class         *string `json:"class"`
	Baseline      float64 `json:"baseline"`
	Prediction    float64 `json:"prediction"`
	Method        string  `json:"method"`
	Contributions []struct {
		Feature      string  `json:"feature"`
		Term         *string `json:"term"`
		Value        any     `json:"value"`
		Contribution float64 `json:"contribution"`
	} `json:"contributions"`
}

// TestTextEndToEnd: free text is inferred as TEXT, trains the text
// classifiers through TF-IDF to scikit-learn's accuracy on the fortunes
// topics, predicts from records, and explains a prediction by its words.
func TestTextEndToEnd(t *testing.T) {
	srv := newServer(t)
	csv, err := os.ReadFile("testdata/fortunes.csv")
	if err != nil {
		t.Fatal(err)
	}
	d := srv.createDataset("fortunes", string(csv))
	types := map[string]string{}
	for _, c := range d.Columns {
		types[c.Name] = c.Type
	}
	if types["text"] != "TEXT" || types["target"] != "CATEGORICAL" || types["split"] != "CATEGORICAL" {
		t.Fatalf("inferred column types %v, want text TEXT", types)
	}

	ref := fortunesReference(t)
	split := map[string]any{"method": "CUSTOM", "column": "split"}
	var models = map[string]modelJSON{}
	for _, c := range []struct {
		name, algorithm string
		params          map[string]any
	}{
		{"naive_bayes", "NAIVE_BAYES", map[string]any{"alpha": 0.1}}, // kind auto: multinomial on text
		{"logistic_regression", "LOGISTIC_REGRESSION", map[string]any{"C": 10}},
		{"linear_svm", "LINEAR_SVM", nil},
	} {
		m := srv.train(map[string]any{"datasetId": d.ID, "target": "target", "features": []string{"text"},
			"algorithm": c.algorithm, "params": c.params, "split": split})
		if m.Status != "READY" {
			t.Fatalf("%s: %s %s", c.algorithm, m.Status, errorText(m.Error))
		}
		models[c.name] = m
		acc := *m.Metrics.Accuracy
		r, ok := ref[c.name]
		t.Logf("%s: accuracy %.4f (scikit-learn %.4f), trained in %d ms", c.algorithm, acc, r.Accuracy, *m.TrainingTimeMs)
		if ok && acc < r.Accuracy-0.03 {
			t.Errorf("%s: accuracy %.4f, scikit-learn's %.4f on the same split", c.algorithm, acc, r.Accuracy)
		}
		if acc < 0.5 {
			t.Errorf("%s: accuracy %.4f on %d topics", c.algorithm, acc, len(m.Classes))
		}
	}

	// Text options are checked, saved and shown.
	var withOptions struct {
		TrainModel struct {
			Status string
			Text   map[string]any
		}
	}
	srv.mustDo(`mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { status text { lowercase englishStopWords ngramMin ngramMax charNgramMin charNgramMax maxFeatures minDf maxDf sublinearTf } } }`,
		map[string]any{"input": map[string]any{"datasetId": d.ID, "target": "target", "features": []string{"text"}, "algorithm": "LOGISTIC_REGRESSION", "split": split,
			"text": map[string]any{"englishStopWords": true, "ngramMax": 2, "maxFeatures": 3000, "minDf": 2, "sublinearTf": true}}}, &withOptions)
	if opts := withOptions.TrainModel.Text; withOptions.TrainModel.Status != "READY" || opts["ngramMax"] != 2.0 || opts["maxFeatures"] != 3000.0 ||
		opts["englishStopWords"] != true || opts["lowercase"] != true || opts["minDf"] != 2.0 || opts["maxDf"] != 1.0 {
		t.Errorf("trained with text options: %+v", withOptions.TrainModel)
	}
	srv.mustFail(`mutation($input: TrainModelInput!) { trainModel(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"datasetId": d.ID, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
			"text": map[string]any{"ngramMax": 9}}}, "BAD_USER_INPUT", "ngram")

	// tuneModel and compareModels take the text options too, for every
	// trial and every model.
	var tuned struct {
		TuneModel struct {
			Status string
			Params map[string]any
			Text   struct{ MinDf int }
		}
	}
	srv.mustDo(`mutation($input: TuneModelInput!) { tuneModel(input: $input, wait: true) { status params text { minDf } } }`,
		map[string]any{"input": map[string]any{"datasetId": d.ID, "target": "target", "features": []string{"text"}, "algorithm": "NAIVE_BAYES",
			"split": split, "grid": map[string]any{"alpha": []float64{0.03, 0.3}}, "folds": 3, "text": map[string]any{"minDf": 2}}}, &tuned)
	if tm := tuned.TuneModel; tm.Status != "READY" || tm.Text.MinDf != 2 || tm.Params["kind"] != "multinomial" {
		t.Errorf("tuneModel with text options: %+v", tm)
	}
	var compared struct {
		CompareModels struct {
			Complete bool
			Entries  []struct {
				Algorithm string
				Score     *float64
				Model     struct{ Text struct{ NgramMax int } }
			}
		}
	}
	srv.mustDo(`mutation($input: CompareModelsInput!) { compareModels(input: $input, wait: true) { complete entries { algorithm score model { text { ngramMax } } } } }`,
		map[string]any{"input": map[string]any{"datasetId": d.ID, "target": "target", "features": []string{"text"}, "algorithms": []string{"NAIVE_BAYES", "LINEAR_SVM"},
			"split": split, "text": map[string]any{"ngramMax": 2}}}, &compared)
	if c := compared.CompareModels; !c.Complete || len(c.Entries) != 2 {
		t.Errorf("compareModels with text options: %+v", c)
	} else {
		for _, e := range c.Entries {
			if e.Score == nil || e.Model.Text.NgramMax != 2 {
				t.Errorf("compareModels entry %+v", e)
			}
		}
	}

	// The words that most mark each topic.
	lr := models["logistic_regression"]
	var top struct {
		Model struct {
			Classes      []string
			Coefficients []struct {
				Feature, Class string
				Weight         float64
			}
		}
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { classes coefficients(top: 3) { feature class weight } } }`, map[string]any{"id": lr.ID}, &top)
	if coefs := top.Model.Coefficients; len(coefs) != 3*len(top.Model.Classes) {
		t.Errorf("coefficients(top: 3) of %d classes: %d", len(top.Model.Classes), len(coefs))
	} else {
		for i, c := range coefs {
			if !strings.HasPrefix(c.Feature, "text:") || c.Class != top.Model.Classes[i/3] || (i%3 > 0 && math.Abs(c.Weight) > math.Abs(coefs[i-1].Weight)) {
				t.Errorf("coefficient %d: %+v", i, c)
			}
		}
		t.Logf("top words: %v", coefs)
	}
	srv.mustFail(`query($id: ID!) { model(id: $id) { coefficients(top: 0) { weight } } }`, map[string]any{"id": lr.ID}, "BAD_USER_INPUT", "top")

	// Predict from records, and explain by words.
	const predictText = `mutation($input: PredictInput!) { predict(input: $input) { labels classes probabilities
	  contributions(topK: 0) { row class baseline prediction method contributions { feature term value contribution } } } }`
	var out struct {
		Predict struct {
			Labels        []string
			Classes       []string
			Probabilities [][]float64
			Contributions []explanationJSON
		}
	}
	texts := []string{
		"The computer crashed again: the kernel and the compiler both have bugs in their software.",
		"Politicians and the government promise lower taxes before every election.",
		"",
	}
	records := make([]any, len(texts))
	for i, s := range texts {
		records[i] = map[string]any{"text": s}
	}
	srv.mustDo(predictText, map[string]any{"input": map[string]any{"modelId": lr.ID, "records": records}}, &out)
	p := out.Predict
	if len(p.Labels) != 3 || len(p.Contributions) != 3 {
		t.Fatalf("prediction: %+v", p)
	}
	t.Logf("labels %v", p.Labels)
	if !strings.Contains(strings.ToLower(p.Labels[0]), "comput") {
		t.Errorf("a text about compilers and kernels is %q", p.Labels[0])
	}
	if !strings.Contains(strings.ToLower(p.Labels[1]), "politic") {
		t.Errorf("a text about politicians and elections is %q", p.Labels[1])
	}
	for i, e := range p.Contributions {
		if e.Method != "LINEAR_SCORE" {
			t.Errorf("row %d explained by %s", i, e.Method)
		}
		sum := e.Baseline
		terms := map[string]float64{}
		for _, c := range e.Contributions {
			sum += c.Contribution
			if c.Feature != "text" || c.Term == nil {
				t.Errorf("row %d: contribution %+v has no term", i, c)
				continue
			}
			terms[*c.Term] = c.Contribution
		}
		if math.Abs(sum-e.Prediction) > 1e-9*math.Max(1, math.Abs(e.Prediction)) {
			t.Errorf("row %d: baseline %v + contributions = %v, prediction %v", i, e.Baseline, sum, e.Prediction)
		}
		if i == 2 && len(e.Contributions) != 0 {
			t.Errorf("the empty text has contributions %+v", e.Contributions)
		}
		if i == 0 && !(terms["compiler"] > 0 || terms["kernel"] > 0 || terms["software"] > 0 || terms["computer"] > 0) {
			t.Errorf("no computing word pushed row 0 towards %q: %v", p.Labels[0], terms)
		}
	}
}

// TestColumnTypes: createDataset's columnTypes override inference, and
// conversions that cannot be made are refused.
func TestColumnTypes(t *testing.T) {
	srv := newServer(t)
	const csv = "review,stars,code\ngreat,5,7\nawful,1,8\nfine,3,7\n"
	var out struct {
		CreateDataset struct {
			Columns []struct{ Name, Type string }
		}
	}
	srv.mustDo(`mutation($csv: String!, $types: [ColumnTypeInput!]) { createDataset(input: {name: "r", csv: $csv, columnTypes: $types}) { columns { name type } } }`,
		map[string]any{"csv": csv, "types": []any{map[string]any{"name": "review", "type": "TEXT"}, map[string]any{"name": "code", "type": "CATEGORICAL"}}}, &out)
	got := map[string]string{}
	for _, c := range out.CreateDataset.Columns {
		got[c.Name] = c.Type
	}
	if got["review"] != "TEXT" || got["stars"] != "NUMERIC" || got["code"] != "CATEGORICAL" {
		t.Errorf("column types %v", got)
	}
	up := srv.uploadFiles(`mutation($file: Upload!) { uploadDataset(name: "r", file: $file, columnTypes: [{name: "stars", type: CATEGORICAL}]) { columns { name type } } }`,
		map[string]any{"file": nil}, []uploadFile{{"file", "r.csv", []byte(csv)}})
	if len(up.Errors) > 0 || !strings.Contains(string(up.Data), `{"name":"stars","type":"CATEGORICAL"}`) || !strings.Contains(string(up.Data), `{"name":"review","type":"CATEGORICAL"}`) {
		t.Errorf("uploadDataset with columnTypes: %s %+v", up.Data, up.Errors)
	}
	const create = `mutation($csv: String!, $types: [ColumnTypeInput!]) { createDataset(input: {name: "r", csv: $csv, columnTypes: $types}) { id } }`
	srv.mustFail(create, map[string]any{"csv": csv, "types": []any{map[string]any{"name": "nope", "type": "TEXT"}}}, "BAD_USER_INPUT", "nope")
	srv.mustFail(create, map[string]any{"csv": csv, "types": []any{map[string]any{"name": "review", "type": "NUMERIC"}}}, "BAD_USER_INPUT", "review")
}

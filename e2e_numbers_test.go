package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rawBody posts a GraphQL request and returns the response body as sent.
func (s *testServer) rawBody(query string, vars map[string]any) []byte {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := s.send("application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	return raw
}

func packRows(rows [][]float64) string {
	var raw []byte
	for _, row := range rows {
		for _, v := range row {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// smallRegression is a dataset of two numeric features and a target.
const smallRegression = "a,b,y\n1,2,3\n2,1,3.5\n3,4,7\n4,3,7.5\n5,6,11\n6,5,11.5\n7,8,15\n8,7,15.5\n"

// TestNumberRuleOnEveryPath: every way numbers come in (a CSV sent inline
// or uploaded, predict's rows, records, csv and packed) takes ±1e150 and
// refuses a value beyond it, or not finite, with BAD_USER_INPUT naming the
// row, counted from 1, the column and the bound.
func TestNumberRuleOnEveryPath(t *testing.T) {
	srv := newServer(t)
	bound := "is not a finite number within ±1e+150"
	for _, csv := range []string{"a,b\n1,2\n3,1.5e150\n", "a,b\n1,2\n3,1.3e154\n", "a,b\n1,2\n3, -Infinity\n"} {
		srv.mustFail(createDatasetMutation, map[string]any{"name": "big", "csv": csv}, "BAD_USER_INPUT", "row 2", `column "b"`, bound)
		up := srv.upload(uploadMutation, map[string]any{"name": "big file"}, "file", "big.csv", []byte(csv))
		if len(up.Errors) == 0 || up.Errors[0].Extensions["code"] != "BAD_USER_INPUT" ||
			!strings.Contains(up.Errors[0].Message, "row 2") || !strings.Contains(up.Errors[0].Message, `column "b"`) || !strings.Contains(up.Errors[0].Message, bound) {
			t.Errorf("upload of %q: %+v", csv, up.Errors)
		}
	}
	var none struct{ Datasets struct{ TotalCount int } }
	srv.mustDo(`{ datasets { totalCount } }`, nil, &none)
	if none.Datasets.TotalCount != 0 {
		t.Errorf("%d datasets stored from refused CSVs", none.Datasets.TotalCount)
	}
	srv.createDataset("at the bound", "a,b\n1,1e150\n-1e150,2\n")

	ds := srv.createDataset("small", smallRegression)
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION", "split": map[string]any{"method": "NONE"}})
	if m.Status != "READY" {
		t.Fatalf("model %s: %v", m.Status, m.Error)
	}
	predict := func(in map[string]any) map[string]any {
		in["modelId"], in["save"] = m.ID, false
		return map[string]any{"input": in}
	}
	rec := func(a, b any) map[string]any { return map[string]any{"a": a, "b": b} }
	srv.predict(map[string]any{"modelId": m.ID, "rows": [][]float64{{1e150, -1e150}}})
	srv.predict(map[string]any{"modelId": m.ID, "records": []any{rec(json.Number("1e150"), json.Number("-1e150"))}})
	for _, in := range []map[string]any{
		{"rows": []any{[]any{1, 2}, []any{3, json.Number("2e150")}}},
		{"records": []any{rec(1, 2), rec(3, json.Number("2e150"))}},
		{"records": []any{rec(1, 2), rec(3, json.Number("1e999"))}},
		{"records": []any{rec(1, 2), rec(3, "Infinity")}},
		{"csv": "1,2\n3,2e150\n"},
		{"csv": "1,2\n3,inf\n"},
		{"csv": "\"1\",2\n3,-2e150\n"},
		{"packed": packRows([][]float64{{1, 2}, {3, 2e150}})},
		{"packed": packRows([][]float64{{1, 2}, {3, math.Inf(-1)}})},
	} {
		srv.mustFail(predictMutation, predict(in), "BAD_USER_INPUT", "row 2", `column "b"`, bound)
	}
}

// TestRowNumbersAgree: the same data row has the same number on import,
// in training and in a prediction: the first row after the header, or the
// first row or record sent, is row 1.
func TestRowNumbersAgree(t *testing.T) {
	srv := newServer(t)
	// The second data row is at fault each time.
	srv.mustFail(createDatasetMutation, map[string]any{"name": "x", "csv": "a,b\n1,2\n3,inf\n"}, "BAD_USER_INPUT", "row 2,")
	ds := srv.createDataset("split", "a,b,y,fold\n1,2,3,train\n2,1,3.5,check\n3,4,7,test\n4,3,7.5,train\n")
	srv.mustFail(`mutation($input: TrainModelInput!) { trainModel(input: $input) { id } }`, map[string]any{"input": map[string]any{
		"datasetId": ds.ID, "target": "y", "features": []string{"a", "b"}, "algorithm": "LINEAR_REGRESSION",
		"split": map[string]any{"method": "CUSTOM", "column": "fold"}}}, "BAD_USER_INPUT", "row 2 ")
	small := srv.createDataset("small", smallRegression)
	m := srv.train(map[string]any{"datasetId": small.ID, "target": "y", "algorithm": "LINEAR_REGRESSION"})
	for _, in := range []map[string]any{
		{"rows": []any{[]any{1, 2}, []any{3}}},
		{"rows": []any{[]any{1, 2}, []any{3, json.Number("1e151")}}},
		{"records": []any{map[string]any{"a": 1, "b": 2}, map[string]any{"a": 1}}},
		{"records": []any{map[string]any{"a": 1, "b": 2}, map[string]any{"a": "x", "b": 2}}},
		{"records": []any{map[string]any{"a": 1, "b": 2}, []any{}}},
		{"csv": "1,2\n3\n"},
		{"csv": "1,2\n3,x\n"},
		{"packed": packRows([][]float64{{1, 2}, {math.Inf(1), 2}})},
	} {
		in["modelId"] = m.ID
		e := srv.mustFail(predictMutation, map[string]any{"input": in}, "BAD_USER_INPUT", "row 2")
		if regexp.MustCompile(`row [013-9]|rows?\[|records?\[`).MatchString(e.Message) {
			t.Errorf("%v: %q names another row", in, e.Message)
		}
	}
}

// TestSummariesNearTheBound: column statistics of values near ±1e150,
// whose squares overflow float64, are finite and right.
func TestSummariesNearTheBound(t *testing.T) {
	srv := newServer(t)
	var csv strings.Builder
	csv.WriteString("a,b\n")
	for i := range 1000 {
		fmt.Fprintf(&csv, "%s,%d\n", []string{"1e150", "-1e150"}[i%2], i)
	}
	ds := srv.createDataset("extremes", csv.String())
	var out struct {
		Dataset struct {
			Columns []struct {
				Name                string
				Mean, Std, Min, Max *float64
			}
		}
	}
	srv.mustDo(`query($id: ID!) { dataset(id: $id) { columns { name mean std min max } } }`, map[string]any{"id": ds.ID}, &out)
	a := out.Dataset.Columns[0]
	if a.Mean == nil || a.Std == nil || math.Abs(*a.Mean) > 1e135 || math.Abs(*a.Std-1e150) > 1e136 || *a.Min != -1e150 || *a.Max != 1e150 {
		t.Errorf("column a: %+v", a)
	}
	// Models learn from them: a scaled algorithm standardises them.
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "b", "algorithm": "RIDGE"})
	if m.Status != "READY" {
		t.Errorf("RIDGE on ±1e150: %s %v", m.Status, m.Error)
	}
}

// TestResponsesStayFinite: models trained and predicting on values at the
// bound answer with valid JSON holding no NaN or infinity, and no internal
// error, whatever float fields a client asks for.
func TestResponsesStayFinite(t *testing.T) {
	srv := newServer(t)
	var csv strings.Builder
	csv.WriteString("a,b,c,y,label\n")
	for i := range 400 { // enough rows for sums of squares of ±1e150 to overflow
		a := []string{"1e150", "-1e150", "0", "5e149", "-7e149", "1"}[i%6]
		fmt.Fprintf(&csv, "%s,%d,%s,%s,%d\n", a, i%7, []string{"red", "blue", "green"}[i%3], []string{"1e150", "-1e150", "3", "-9e149", "2e149"}[i%5], i%2)
	}
	ds := srv.createDataset("extremes", csv.String())
	const metrics = `rows r2 rmse mae mse accuracy precision recall f1 logLoss rocAuc inertia silhouette perClass { precision recall f1 }`
	const modelQuery = `query($id: ID!) { model(id: $id) { status error
	  metrics { ` + metrics + ` } trainingMetrics { ` + metrics + ` }
	  crossValidation { mean { ` + metrics + ` } std { ` + metrics + ` } }
	  featureImportance { feature importance }
	  coefficients { weight } standardized: coefficients(scale: STANDARDIZED) { weight }
	  intercept intercepts { value } inputSchema { min max } predictionMicrosPerRow params report } }`
	const predictQuery = `mutation($input: PredictInput!) { predict(input: $input) { inputs values probabilities
	  outputs { value probabilities { probability } }
	  contributions(topK: 0) { baseline prediction contributions { value contribution } } } }`
	for _, c := range []struct{ algorithm, target string }{
		{"LINEAR_REGRESSION", "y"}, {"RIDGE", "y"}, {"LASSO", "y"}, {"ELASTIC_NET", "y"}, {"DECISION_TREE", "y"},
		{"RANDOM_FOREST", "y"}, {"GRADIENT_BOOSTING", "y"}, {"KNN", "y"}, {"MLP", "y"},
		{"LOGISTIC_REGRESSION", "label"}, {"NAIVE_BAYES", "label"}, {"LINEAR_SVM", "label"}, {"SVM", "label"},
		{"DECISION_TREE", "label"}, {"GRADIENT_BOOSTING", "label"}, {"KNN", "label"}, {"MLP", "label"},
		{"KMEANS", ""},
	} {
		in := map[string]any{"datasetId": ds.ID, "algorithm": c.algorithm, "features": []string{"a", "b", "c"}}
		if c.target != "" {
			in["target"], in["task"] = c.target, map[string]string{"y": "REGRESSION", "label": "CLASSIFICATION"}[c.target]
			in["crossValidate"] = map[string]any{"folds": 3}
		}
		if c.algorithm == "KMEANS" {
			in["params"] = map[string]any{"k": 2}
		}
		var trained struct {
			TrainModel struct {
				ID, Status string
				Error      *string
			}
		}
		srv.mustDo(`mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id status error } }`, map[string]any{"input": in}, &trained)
		what := c.algorithm + " on " + c.target
		if trained.TrainModel.Status != "READY" {
			t.Errorf("%s: %s %v", what, trained.TrainModel.Status, *trained.TrainModel.Error)
			continue
		}
		body := srv.rawBody(modelQuery, map[string]any{"id": trained.TrainModel.ID})
		checkFinite(t, what+": model", body)
		if c.target == "y" {
			// The metrics of errors near ±1e150 are there, not dropped as
			// not finite: their squares are summed scaled.
			var m struct {
				Data struct {
					Model struct {
						Metrics         struct{ R2, RMSE, MSE *float64 }
						CrossValidation struct{ Mean, Std struct{ MSE *float64 } }
					}
				}
			}
			json.Unmarshal(body, &m)
			if mm := m.Data.Model; mm.Metrics.R2 == nil || mm.Metrics.RMSE == nil || mm.Metrics.MSE == nil || mm.CrossValidation.Std.MSE == nil {
				t.Errorf("%s: metrics %s", what, body)
			}
		}
		body = srv.rawBody(predictQuery, map[string]any{"input": map[string]any{"modelId": trained.TrainModel.ID, "records": []any{
			map[string]any{"a": json.Number("1e150"), "b": 3, "c": "red"}, map[string]any{"a": json.Number("-1e150"), "b": 0, "c": nil}}}})
		if c.algorithm == "KMEANS" {
			body = srv.rawBody(`mutation($input: PredictInput!) { predict(input: $input) { inputs labels } }`, map[string]any{"input": map[string]any{"modelId": trained.TrainModel.ID, "records": []any{
				map[string]any{"a": json.Number("1e150"), "b": 3, "c": "red"}}}})
		}
		checkFinite(t, what+": predict", body)
	}
	checkFinite(t, "dataset", srv.rawBody(`query($id: ID!) { dataset(id: $id) { columns { mean std min max } preview } }`, map[string]any{"id": ds.ID}))
}

// checkFinite fails unless body is a JSON response without errors whose
// numbers all read as finite float64s. (JSON has no NaN or Infinity: a
// server writing one would send invalid JSON, or nulls and errors.)
func checkFinite(t *testing.T, what string, body []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out struct {
		Data   any
		Errors []gqlError
	}
	if err := dec.Decode(&out); err != nil {
		t.Errorf("%s: invalid JSON (%v): %.300s", what, err, body)
		return
	}
	if len(out.Errors) > 0 {
		t.Errorf("%s: errors %+v", what, out.Errors)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case json.Number:
			if f, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(f, 0) {
				t.Errorf("%s: number %s", what, v)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(out.Data)
}

// TestRecordsGiveEveryFeature: a record that omits a feature is
// BAD_USER_INPUT naming the missing ones; an explicit null is a missing
// value, imputed as in training (as packed's NaN is).
func TestRecordsGiveEveryFeature(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("small", "a,b,c,y\n1,2,red,3\n2,1,blue,3.5\n3,4,red,7\n4,3,blue,7.5\n5,6,red,11\n6,5,blue,11.5\n")
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION", "split": map[string]any{"method": "NONE"}})
	in := func(records ...any) map[string]any {
		return map[string]any{"input": map[string]any{"modelId": m.ID, "records": records, "save": false}}
	}
	srv.mustFail(predictMutation, in(map[string]any{"a": 1, "b": 2, "c": "red"}, map[string]any{"b": 2}), "BAD_USER_INPUT", "row 2", `"a", "c"`, "null")
	srv.mustFail(predictMutation, in(map[string]any{"a": 1, "b": 2, "y": 3}), "BAD_USER_INPUT", "row 1", `feature "c"`)
	var nulls, packed struct {
		Predict struct{ Values []float64 }
	}
	srv.mustDo(`mutation($input: PredictInput!) { predict(input: $input) { values } }`, in(map[string]any{"a": 2, "b": nil, "c": nil}), &nulls)
	srv.mustDo(`mutation($input: PredictInput!) { predict(input: $input) { values } }`, map[string]any{"input": map[string]any{
		"modelId": m.ID, "csv": "2,,\n", "save": false}}, &packed)
	if len(nulls.Predict.Values) != 1 || nulls.Predict.Values[0] != packed.Predict.Values[0] {
		t.Errorf("nulls predict %v, empty csv cells %v", nulls.Predict.Values, packed.Predict.Values)
	}
}

// TestClassificationNeedsClassLabels: classification on a numeric target
// with fractional values is BAD_USER_INPUT when training is asked for,
// before any model is queued, with a hint to use regression; integer
// labels (1..10) are classes as before.
func TestClassificationNeedsClassLabels(t *testing.T) {
	srv := newServer(t)
	var csv strings.Builder
	csv.WriteString("x,score,grade\n")
	for i := range 40 {
		fmt.Fprintf(&csv, "%d,%g,%d\n", i, float64(i)*0.37+1, i%10+1)
	}
	ds := srv.createDataset("scores", csv.String())
	const train = `mutation($input: TrainModelInput!, $wait: Boolean) { trainModel(input: $input, wait: $wait) { id status } }`
	for _, c := range []map[string]any{
		{"algorithm": "LOGISTIC_REGRESSION"},
		{"algorithm": "NAIVE_BAYES"},
		{"algorithm": "RANDOM_FOREST", "task": "CLASSIFICATION"},
	} {
		c["datasetId"], c["target"], c["features"] = ds.ID, "score", []string{"x"}
		for _, wait := range []bool{false, true} {
			srv.mustFail(train, map[string]any{"input": c, "wait": wait}, "BAD_USER_INPUT", `"score"`, "row 2", "1.37", "REGRESSION")
		}
	}
	srv.mustFail(`mutation($input: CompareModelsInput!) { compareModels(input: $input) { complete } }`, map[string]any{"input": map[string]any{
		"datasetId": ds.ID, "target": "score", "features": []string{"x"}, "algorithms": []string{"LOGISTIC_REGRESSION", "KNN"}, "task": "CLASSIFICATION"}},
		"BAD_USER_INPUT", `"score"`, "REGRESSION")
	var models struct{ Models struct{ TotalCount int } }
	srv.mustDo(`{ models { totalCount } }`, nil, &models)
	if models.Models.TotalCount != 0 {
		t.Errorf("%d models made", models.Models.TotalCount)
	}
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "grade", "features": []string{"x"}, "algorithm": "LOGISTIC_REGRESSION"})
	if m.Status != "READY" || m.Task != "CLASSIFICATION" || len(m.Classes) != 10 {
		t.Errorf("classification on 1..10: %s %s %v", m.Status, m.Task, m.Classes)
	}
	// The same target trains as regression.
	if r := srv.train(map[string]any{"datasetId": ds.ID, "target": "score", "features": []string{"x"}, "algorithm": "RANDOM_FOREST"}); r.Status != "READY" || r.Task != "REGRESSION" {
		t.Errorf("regression on score: %s %s", r.Status, r.Task)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlgraph/internal/testdb"
	"mlgraph/store"
)

// testServer is a real mlgraph server (httptest) on a real database: an
// SQLite file, or PostgreSQL with MLGRAPH_TEST_POSTGRES (see testdb).
type testServer struct {
	t    testing.TB
	dsn  string
	app  *app
	http *httptest.Server
	// key, if set, is sent as the bearer API key (see as).
	key string
}

// as returns a client of the same server that sends key as its API key.
func (s *testServer) as(key string) *testServer {
	c := *s
	c.key = key
	return &c
}

// send posts a request body to /query with s's API key.
func (s *testServer) send(contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, s.http.URL+"/query", body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	return http.DefaultClient.Do(req)
}

func startServer(t testing.TB, dsn string, opts ...appOption) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), dsn, log, opts...)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	s := &testServer{t: t, dsn: dsn, app: a, http: httptest.NewServer(a.handler)}
	t.Cleanup(s.stop)
	return s
}

// newServer starts a server on a new database of its own.
func newServer(t testing.TB) *testServer {
	return startServer(t, testdb.New(t))
}

// stop shuts the server down and closes its database; safe to call twice.
func (s *testServer) stop() {
	if s.http == nil {
		return
	}
	s.http.Close()
	if err := s.app.close(); err != nil {
		s.t.Errorf("close database: %v", err)
	}
	s.http = nil
}

// restart stops the server and starts a new one on the same database.
func (s *testServer) restart() *testServer {
	s.stop()
	return startServer(s.t, s.dsn)
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// do posts a GraphQL request and returns the decoded response; any HTTP
// status other than 200 fails the test.
func (s *testServer) do(query string, vars map[string]any) gqlResponse {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := s.send("application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("decode response (status %d): %v\n%s", resp.StatusCode, err, raw)
	}
	if resp.StatusCode != http.StatusOK && len(out.Errors) == 0 {
		s.t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	return out
}

// mustDo runs a request that must succeed and decodes its data into dst.
func (s *testServer) mustDo(query string, vars map[string]any, dst any) {
	s.t.Helper()
	out := s.do(query, vars)
	if len(out.Errors) > 0 {
		s.t.Fatalf("unexpected errors: %+v", out.Errors)
	}
	if err := json.Unmarshal(out.Data, dst); err != nil {
		s.t.Fatalf("decode data: %v\n%s", err, out.Data)
	}
}

// mustFail runs a request that must fail with the given code and a
// message containing each of the fragments.
func (s *testServer) mustFail(query string, vars map[string]any, code string, fragments ...string) gqlError {
	s.t.Helper()
	out := s.do(query, vars)
	if len(out.Errors) == 0 {
		s.t.Fatalf("expected a %s error, got data %s", code, out.Data)
	}
	e := out.Errors[0]
	if got := e.Extensions["code"]; got != code {
		s.t.Fatalf("expected code %s, got %v (message %q)", code, got, e.Message)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Message, f) {
			s.t.Errorf("error message %q does not mention %q", e.Message, f)
		}
	}
	return e
}

// datasetCSV reads testdata/NAME.csv and, with split, appends NAME.split as
// a column named "split".
func datasetCSV(t testing.TB, name string, split bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !split {
		return string(data)
	}
	splitData, err := os.ReadFile(filepath.Join("testdata", name+".split"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	sides := bufio.NewScanner(bytes.NewReader(splitData))
	var b strings.Builder
	b.WriteString(lines[0] + ",split\n")
	for _, line := range lines[1:] {
		if !sides.Scan() {
			t.Fatalf("%s.split has fewer lines than %s.csv", name, name)
		}
		b.WriteString(line + "," + strings.TrimSpace(sides.Text()) + "\n")
	}
	return b.String()
}

type sklearnResult struct {
	Dataset string         `json:"dataset"`
	Model   string         `json:"model"`
	Metrics map[string]any `json:"metrics"`
}

// sklearnMetric reads a test metric from testdata/reference/sklearn.json.
func sklearnMetric(t *testing.T, dataset, model, metric string) float64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "reference", "sklearn.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Results []sklearnResult `json:"results"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for _, r := range ref.Results {
		if r.Dataset == dataset && r.Model == model {
			if v, ok := r.Metrics[metric].(float64); ok {
				return v
			}
		}
	}
	t.Fatalf("no scikit-learn %s for %s/%s", metric, dataset, model)
	return 0
}

const createDatasetMutation = `mutation($name: String!, $csv: String!) {
  createDataset(input: {name: $name, csv: $csv}) { id name rowCount columns { name type missing } createdAt }
}`

type datasetJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RowCount int    `json:"rowCount"`
	Columns  []struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Missing int    `json:"missing"`
	} `json:"columns"`
	CreatedAt string `json:"createdAt"`
}

func (s *testServer) createDataset(name, csv string) datasetJSON {
	s.t.Helper()
	var out struct{ CreateDataset datasetJSON }
	s.mustDo(createDatasetMutation, map[string]any{"name": name, "csv": csv}, &out)
	return out.CreateDataset
}

const modelFields = `id name algorithm task status error target features classes params
  split { method testFraction column seed trainRows testRows }
  metrics { rows r2 rmse mae mse accuracy precision recall f1 logLoss rocAuc confusionMatrix { labels matrix } }
  coefficients { feature weight class } intercept intercepts { class value }
  inputSchema { name type required categories min max }
  dataset { id } createdAt trainedAt trainingTimeMs`

type modelJSON struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Algorithm string         `json:"algorithm"`
	Task      string         `json:"task"`
	Status    string         `json:"status"`
	Error     *string        `json:"error"`
	Target    string         `json:"target"`
	Features  []string       `json:"features"`
	Classes   []string       `json:"classes"`
	Params    map[string]any `json:"params"`
	Split     struct {
		Method    string `json:"method"`
		TrainRows int    `json:"trainRows"`
		TestRows  int    `json:"testRows"`
	} `json:"split"`
	Metrics *struct {
		Rows            int      `json:"rows"`
		R2              *float64 `json:"r2"`
		RMSE            *float64 `json:"rmse"`
		MAE             *float64 `json:"mae"`
		MSE             *float64 `json:"mse"`
		Accuracy        *float64 `json:"accuracy"`
		Precision       *float64 `json:"precision"`
		Recall          *float64 `json:"recall"`
		F1              *float64 `json:"f1"`
		LogLoss         *float64 `json:"logLoss"`
		RocAuc          *float64 `json:"rocAuc"`
		ConfusionMatrix *struct {
			Labels []string `json:"labels"`
			Matrix [][]int  `json:"matrix"`
		} `json:"confusionMatrix"`
	} `json:"metrics"`
	Coefficients []struct {
		Feature string  `json:"feature"`
		Weight  float64 `json:"weight"`
		Class   *string `json:"class"`
	} `json:"coefficients"`
	Intercept  *float64 `json:"intercept"`
	Intercepts []struct {
		Class *string `json:"class"`
		Value float64 `json:"value"`
	} `json:"intercepts"`
	InputSchema []struct {
		Name       string   `json:"name"`
		Type       string   `json:"type"`
		Required   bool     `json:"required"`
		Categories []string `json:"categories"`
		Min        *float64 `json:"min"`
		Max        *float64 `json:"max"`
	} `json:"inputSchema"`
	Dataset        *struct{ ID string } `json:"dataset"`
	TrainedAt      *string              `json:"trainedAt"`
	TrainingTimeMs *int                 `json:"trainingTimeMs"`
}

func (s *testServer) train(input map[string]any) modelJSON {
	s.t.Helper()
	var out struct{ TrainModel modelJSON }
	s.mustDo(`mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { `+modelFields+` } }`,
		map[string]any{"input": input}, &out)
	return out.TrainModel
}

type predictionJSON struct {
	ID      *string          `json:"id"`
	Inputs  []map[string]any `json:"inputs"`
	Outputs []struct {
		Value         *float64 `json:"value"`
		Label         *string  `json:"label"`
		Probabilities []struct {
			Label       string  `json:"label"`
			Probability float64 `json:"probability"`
		} `json:"probabilities"`
	} `json:"outputs"`
	Model struct{ ID string } `json:"model"`
}

const predictMutation = `mutation($input: PredictInput!) {
  predict(input: $input) { id model { id } inputs outputs { value label probabilities { label probability } } createdAt }
}`

func (s *testServer) predict(input map[string]any) predictionJSON {
	s.t.Helper()
	var out struct{ Predict predictionJSON }
	s.mustDo(predictMutation, map[string]any{"input": input}, &out)
	return out.Predict
}

// TestClassificationEndToEnd walks the whole path for a classifier: create
// a dataset, train with the shared split, read metrics and weights,
// predict, restart on the same file and predict the same again.
func TestClassificationEndToEnd(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("iris", datasetCSV(t, "iris", true))
	if ds.RowCount != 150 || len(ds.Columns) != 6 {
		t.Fatalf("dataset: %d rows, %d columns; want 150, 6", ds.RowCount, len(ds.Columns))
	}
	wantTypes := map[string]string{"sepal_length_cm": "NUMERIC", "target": "CATEGORICAL", "split": "CATEGORICAL"}
	for _, c := range ds.Columns {
		if want, ok := wantTypes[c.Name]; ok && c.Type != want {
			t.Errorf("column %s is %s, want %s", c.Name, c.Type, want)
		}
		if c.Missing != 0 {
			t.Errorf("column %s has %d missing, want 0", c.Name, c.Missing)
		}
	}

	m := srv.train(map[string]any{
		"datasetId": ds.ID, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
		"split": map[string]any{"method": "CUSTOM", "column": "split"},
	})
	if m.Status != "READY" || m.Task != "CLASSIFICATION" {
		t.Fatalf("model status %s task %s (error %v)", m.Status, m.Task, m.Error)
	}
	if got := strings.Join(m.Features, ","); got != "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm" {
		t.Errorf("features = %s (the split column and target must be left out)", got)
	}
	if got := strings.Join(m.Classes, ","); got != "setosa,versicolor,virginica" {
		t.Errorf("classes = %s", got)
	}
	if m.Split.Method != "CUSTOM" || m.Split.TrainRows != 120 || m.Split.TestRows != 30 {
		t.Errorf("split = %+v, want CUSTOM 120/30", m.Split)
	}
	want := sklearnMetric(t, "iris", "logistic", "accuracy")
	if m.Metrics == nil || m.Metrics.Accuracy == nil || *m.Metrics.Accuracy < want-0.02 {
		t.Fatalf("test accuracy %v, scikit-learn reaches %.3f", m.Metrics, want)
	}
	if m.Metrics.Rows != 30 || m.Metrics.ConfusionMatrix == nil || len(m.Metrics.ConfusionMatrix.Matrix) != 3 {
		t.Errorf("metrics rows %d, confusion matrix %+v", m.Metrics.Rows, m.Metrics.ConfusionMatrix)
	}
	total := 0
	for _, row := range m.Metrics.ConfusionMatrix.Matrix {
		for _, n := range row {
			total += n
		}
	}
	if total != 30 {
		t.Errorf("confusion matrix counts %d rows, want 30", total)
	}
	if m.Metrics.LogLoss == nil || m.Metrics.F1 == nil || m.Metrics.RocAuc != nil {
		t.Errorf("multiclass metrics: logLoss %v f1 %v rocAuc %v (rocAuc is binary only)", m.Metrics.LogLoss, m.Metrics.F1, m.Metrics.RocAuc)
	}
	if len(m.Coefficients) != 12 || len(m.Intercepts) != 3 || m.Intercept != nil {
		t.Errorf("multinomial weights: %d coefficients, %d intercepts, intercept %v; want 12, 3, null", len(m.Coefficients), len(m.Intercepts), m.Intercept)
	}
	if m.Params["C"] != 1.0 {
		t.Errorf("params = %v, want defaults filled in (C: 1)", m.Params)
	}
	if len(m.InputSchema) != 4 || m.InputSchema[0].Type != "NUMERIC" || m.InputSchema[0].Min == nil {
		t.Errorf("input schema = %+v", m.InputSchema)
	}

	// The RAW coefficients reproduce the model's own probabilities.
	row := []float64{5.9, 3.0, 5.1, 1.8}
	p := srv.predict(map[string]any{"modelId": m.ID, "rows": [][]float64{row, {5.1, 3.5, 1.4, 0.2}}})
	if p.ID == nil || len(p.Outputs) != 2 {
		t.Fatalf("prediction = %+v", p)
	}
	if *p.Outputs[0].Label != "virginica" || *p.Outputs[1].Label != "setosa" {
		t.Errorf("labels = %s, %s; want virginica, setosa", *p.Outputs[0].Label, *p.Outputs[1].Label)
	}
	logits := map[string]float64{}
	for _, ic := range m.Intercepts {
		logits[*ic.Class] = ic.Value
	}
	for _, c := range m.Coefficients {
		for j, f := range m.Features {
			if f == c.Feature {
				logits[*c.Class] += c.Weight * row[j]
			}
		}
	}
	var norm float64
	for _, l := range logits {
		norm += math.Exp(l)
	}
	for _, pr := range p.Outputs[0].Probabilities {
		if want := math.Exp(logits[pr.Label]) / norm; math.Abs(pr.Probability-want) > 1e-9 {
			t.Errorf("P(%s) = %v, coefficients give %v", pr.Label, pr.Probability, want)
		}
	}

	// Records give the same answer as rows.
	rec := srv.predict(map[string]any{"modelId": m.ID, "records": []map[string]any{{
		"sepal_length_cm": 5.9, "sepal_width_cm": 3.0, "petal_length_cm": 5.1, "petal_width_cm": 1.8, "target": "ignored",
	}}})
	if *rec.Outputs[0].Label != *p.Outputs[0].Label || rec.Outputs[0].Probabilities[2] != p.Outputs[0].Probabilities[2] {
		t.Errorf("records and rows disagree: %+v vs %+v", rec.Outputs[0], p.Outputs[0])
	}
	if rec.Inputs[0]["petal_width_cm"] != 1.8 {
		t.Errorf("saved inputs = %v", rec.Inputs)
	}

	// Not saved on request.
	unsaved := srv.predict(map[string]any{"modelId": m.ID, "rows": [][]float64{row}, "save": false})
	if unsaved.ID != nil {
		t.Errorf("save: false still saved prediction %s", *unsaved.ID)
	}

	// After a restart the model predicts the same and the history is there.
	srv = srv.restart()
	again := srv.predict(map[string]any{"modelId": m.ID, "rows": [][]float64{row, {5.1, 3.5, 1.4, 0.2}}})
	for i := range p.Outputs {
		for k := range p.Outputs[i].Probabilities {
			if again.Outputs[i].Probabilities[k] != p.Outputs[i].Probabilities[k] {
				t.Fatalf("after restart row %d class %d: %v, before %v", i, k, again.Outputs[i].Probabilities[k], p.Outputs[i].Probabilities[k])
			}
		}
	}
	var hist struct {
		Model struct {
			Status      string
			Predictions struct {
				TotalCount int
				Edges      []struct{ Node predictionJSON }
			}
		}
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { status predictions(first: 10) { totalCount edges { node { id inputs outputs { label } } } } } }`,
		map[string]any{"id": m.ID}, &hist)
	if hist.Model.Status != "READY" || hist.Model.Predictions.TotalCount != 3 || len(hist.Model.Predictions.Edges) != 3 {
		t.Fatalf("after restart: %+v; want READY with 3 saved predictions", hist.Model)
	}
	if first := hist.Model.Predictions.Edges[0].Node; *first.ID != *again.ID {
		t.Errorf("newest prediction first: got %s, want %s", *first.ID, *again.ID)
	}
}

// TestRegressionEndToEnd checks OLS through GraphQL against scikit-learn's
// coefficients on the whole diabetes data set.
func TestRegressionEndToEnd(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("diabetes", datasetCSV(t, "diabetes", false))
	m := srv.train(map[string]any{
		"datasetId": ds.ID, "target": "target", "algorithm": "LINEAR_REGRESSION",
		"split": map[string]any{"method": "NONE"}, "name": "ols",
	})
	if m.Status != "READY" || m.Task != "REGRESSION" || m.Name != "ols" {
		t.Fatalf("model = %s %s %s (error %v)", m.Name, m.Status, m.Task, m.Error)
	}
	want := []float64{-10.0099, -239.8156, 519.8459, 324.3846, -792.1756, 476.739, 101.0433, 177.0632, 751.2737, 67.6267}
	if len(m.Coefficients) != len(want) {
		t.Fatalf("%d coefficients, want %d", len(m.Coefficients), len(want))
	}
	for i, c := range m.Coefficients {
		if c.Feature != m.Features[i] || math.Abs(c.Weight-want[i]) > 1e-3 || c.Class != nil {
			t.Errorf("coefficient %d = %+v, want %s %.4f", i, c, m.Features[i], want[i])
		}
	}
	if m.Intercept == nil || math.Abs(*m.Intercept-152.1335) > 1e-3 {
		t.Errorf("intercept = %v, want 152.1335", m.Intercept)
	}
	if m.Split.TrainRows != 442 || m.Split.TestRows != 442 || m.Metrics.Rows != 442 {
		t.Errorf("split NONE evaluates on the training rows: %+v, %d rows scored", m.Split, m.Metrics.Rows)
	}
	// Known training-set R² of OLS on diabetes.
	if m.Metrics.R2 == nil || math.Abs(*m.Metrics.R2-0.5177) > 1e-3 || m.Metrics.Accuracy != nil {
		t.Errorf("r2 = %v, want 0.5177", m.Metrics.R2)
	}
	if mse, rmse := *m.Metrics.MSE, *m.Metrics.RMSE; math.Abs(math.Sqrt(mse)-rmse) > 1e-9 {
		t.Errorf("rmse %v is not sqrt(mse %v)", rmse, mse)
	}

	// A prediction is intercept + Σ weight·x.
	x := []float64{0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0, 0.02, -0.01}
	wantValue := *m.Intercept
	for i, c := range m.Coefficients {
		wantValue += c.Weight * x[i]
	}
	p := srv.predict(map[string]any{"modelId": m.ID, "rows": [][]float64{x}})
	if p.Outputs[0].Value == nil || math.Abs(*p.Outputs[0].Value-wantValue) > 1e-9 || p.Outputs[0].Label != nil {
		t.Errorf("prediction %+v, want value %v", p.Outputs[0], wantValue)
	}

	// The random split is reproducible and respects testFraction.
	split := map[string]any{"method": "RANDOM", "testFraction": 0.25, "seed": 7}
	a := srv.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LINEAR_REGRESSION", "split": split})
	b := srv.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LINEAR_REGRESSION", "split": split})
	if a.Split.TestRows != 111 || a.Split.TrainRows != 331 {
		t.Errorf("RANDOM 0.25 of 442 rows: %d test, %d train; want 111, 331", a.Split.TestRows, a.Split.TrainRows)
	}
	if *a.Metrics.R2 != *b.Metrics.R2 {
		t.Errorf("same seed, different test r2: %v vs %v", *a.Metrics.R2, *b.Metrics.R2)
	}
	c := srv.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LINEAR_REGRESSION"})
	if c.Split.Method != "RANDOM" || c.Split.TestRows != 88 {
		t.Errorf("default split = %+v, want RANDOM with 20%% (88 rows) for test", c.Split)
	}
}

// TestBinaryClassificationAndMissingValues covers a binary target, rocAuc,
// a categorical feature and missing cells.
func TestBinaryClassificationAndMissingValues(t *testing.T) {
	srv := newServer(t)
	var b strings.Builder
	b.WriteString("age,plan,spend,churned\n")
	for i := 0; i < 200; i++ {
		plan := []string{"basic", "pro", "team"}[i%3]
		age := fmt.Sprint(20 + i%50)
		if i%17 == 0 {
			age = ""
		}
		spend := float64(i%40) + 3
		churned := "no"
		if (plan == "basic" && i%5 != 0) || spend < 8 {
			churned = "yes"
		}
		fmt.Fprintf(&b, "%s,%s,%g,%s\n", age, plan, spend, churned)
	}
	ds := srv.createDataset("churn", b.String())
	if ds.Columns[0].Missing != 12 || ds.Columns[1].Type != "CATEGORICAL" {
		t.Fatalf("columns = %+v; want age with 12 missing and plan categorical", ds.Columns)
	}
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "churned", "algorithm": "LOGISTIC_REGRESSION", "split": map[string]any{"seed": 3}})
	if m.Status != "READY" || len(m.Classes) != 2 || m.Metrics.RocAuc == nil || *m.Metrics.RocAuc < 0.8 {
		t.Fatalf("binary model: status %s classes %v metrics %+v", m.Status, m.Classes, m.Metrics)
	}
	if m.Intercept == nil || len(m.Intercepts) != 1 {
		t.Errorf("binary model: intercept %v, intercepts %v; want one", m.Intercept, m.Intercepts)
	}
	var planField bool
	for _, f := range m.InputSchema {
		if f.Name == "plan" {
			planField = f.Type == "CATEGORICAL" && strings.Join(f.Categories, ",") == "basic,pro,team"
		}
	}
	if !planField {
		t.Errorf("input schema %+v lacks plan's categories", m.InputSchema)
	}
	p := srv.predict(map[string]any{"modelId": m.ID, "records": []map[string]any{
		{"age": 30, "plan": "basic", "spend": 20},
		{"age": nil, "plan": "enterprise", "spend": "25"}, // missing age, unseen plan
		{"age": nil, "plan": "pro", "spend": nil},
	}})
	if len(p.Outputs) != 3 || *p.Outputs[0].Label != "yes" {
		t.Fatalf("outputs = %+v; want 3 rows, the first 'yes'", p.Outputs)
	}
	if _, ok := p.Inputs[2]["spend"]; !ok || p.Inputs[2]["spend"] != nil {
		t.Errorf("null values are saved as null: %v", p.Inputs[2])
	}
	// Only null is missing: a record that omits features is refused,
	// naming them.
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": m.ID, "records": []map[string]any{
		{"age": 30, "plan": "basic", "spend": 20}, {"plan": "pro"}}}}, "BAD_USER_INPUT", "row 2", `"age", "spend"`)
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": m.ID, "rows": [][]float64{{30, 1, 20}}}},
		"BAD_USER_INPUT", `feature "plan" is categorical`)
}

func TestPaginationAndDeletes(t *testing.T) {
	srv := newServer(t)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, srv.createDataset(fmt.Sprintf("d%d", i), "x,y\n1,2\n2,4\n3,6.5\n4,8\n5,9.9\n").ID)
	}
	type page struct {
		Datasets struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct {
				Cursor string
				Node   struct{ ID, Name string }
			}
		}
	}
	const q = `query($after: String) { datasets(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }`
	var seen []string
	var after any
	for pages := 0; ; pages++ {
		var p page
		srv.mustDo(q, map[string]any{"after": after}, &p)
		if p.Datasets.TotalCount != 5 {
			t.Fatalf("totalCount = %d", p.Datasets.TotalCount)
		}
		for _, e := range p.Datasets.Edges {
			seen = append(seen, e.Node.ID)
		}
		if !p.Datasets.PageInfo.HasNextPage {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		after = *p.Datasets.PageInfo.EndCursor
	}
	wantOrder := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(seen, ",") != strings.Join(wantOrder, ",") {
		t.Fatalf("pages gave %v, want newest first %v", seen, wantOrder)
	}
	var big page
	srv.mustDo(`{ datasets(first: 1000) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } }`, nil, &big)
	if len(big.Datasets.Edges) != 5 {
		t.Errorf("first: 1000 returned %d edges", len(big.Datasets.Edges))
	}
	srv.mustFail(`{ datasets(first: -1) { totalCount } }`, nil, "BAD_USER_INPUT", "first")
	srv.mustFail(`{ datasets(after: "bogus") { totalCount } }`, nil, "BAD_USER_INPUT", "cursor")

	// Models of a dataset; deleting the model takes its predictions; deleting
	// the dataset keeps the other model, which still predicts.
	m1 := srv.train(map[string]any{"datasetId": ids[0], "target": "y", "algorithm": "LINEAR_REGRESSION", "split": map[string]any{"method": "NONE"}})
	m2 := srv.train(map[string]any{"datasetId": ids[0], "target": "y", "algorithm": "LINEAR_REGRESSION", "split": map[string]any{"method": "NONE"}})
	srv.predict(map[string]any{"modelId": m1.ID, "rows": [][]float64{{6}}})
	var dsModels struct {
		Dataset struct{ Models struct{ TotalCount int } }
		Models  struct{ TotalCount int }
	}
	srv.mustDo(`query($id: ID!) { dataset(id: $id) { models { totalCount } } models(datasetId: $id) { totalCount } }`, map[string]any{"id": ids[0]}, &dsModels)
	if dsModels.Dataset.Models.TotalCount != 2 || dsModels.Models.TotalCount != 2 {
		t.Errorf("models of dataset: %+v, want 2", dsModels)
	}
	var del struct{ DeleteModel string }
	srv.mustDo(`mutation($id: ID!) { deleteModel(id: $id) }`, map[string]any{"id": m1.ID}, &del)
	if del.DeleteModel != m1.ID {
		t.Errorf("deleteModel returned %q", del.DeleteModel)
	}
	srv.mustFail(`query($id: ID!) { model(id: $id) { id } }`, map[string]any{"id": m1.ID}, "NOT_FOUND", "model")
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": m1.ID, "rows": [][]float64{{1}}}}, "NOT_FOUND", "model")

	var delDS struct{ DeleteDataset string }
	srv.mustDo(`mutation($id: ID!) { deleteDataset(id: $id) }`, map[string]any{"id": ids[0]}, &delDS)
	srv.mustFail(`query($id: ID!) { dataset(id: $id) { id } }`, map[string]any{"id": ids[0]}, "NOT_FOUND", "dataset")
	var orphan struct{ Model modelJSON }
	srv.mustDo(`query($id: ID!) { model(id: $id) { id status dataset { id } } }`, map[string]any{"id": m2.ID}, &orphan)
	if orphan.Model.Dataset != nil || orphan.Model.Status != "READY" {
		t.Errorf("model after its dataset was deleted: %+v; want READY with dataset null", orphan.Model)
	}
	srv = srv.restart()
	if p := srv.predict(map[string]any{"modelId": m2.ID, "rows": [][]float64{{6}}}); p.Outputs[0].Value == nil {
		t.Errorf("orphaned model does not predict: %+v", p)
	}
}

// TestErrors checks that every bad request gets the right code and a
// message naming the problem, and changes nothing.
func TestErrors(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	model := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
		"features": []string{"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"}}).ID
	oneClass := srv.createDataset("one class", "a,b\n1,x\n2,x\n3,x\n4,x\n5,x\n6,x\n").ID
	const train = `mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id status } }`
	trainInput := func(extra map[string]any) map[string]any {
		in := map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"}
		for k, v := range extra {
			in[k] = v
		}
		return map[string]any{"input": in}
	}
	predict := func(in map[string]any) map[string]any {
		in["modelId"] = model
		return map[string]any{"input": in}
	}
	cases := []struct {
		name      string
		query     string
		vars      map[string]any
		code      string
		fragments []string
	}{
		{"unknown dataset", `{ dataset(id: "999") { id } }`, nil, "NOT_FOUND", []string{"dataset", "999"}},
		{"non-numeric dataset id", `{ dataset(id: "abc") { id } }`, nil, "NOT_FOUND", []string{"dataset"}},
		{"unknown model", `{ model(id: "999") { id } }`, nil, "NOT_FOUND", []string{"model", "999"}},
		{"delete unknown dataset", `mutation { deleteDataset(id: "999") }`, nil, "NOT_FOUND", []string{"dataset"}},
		{"delete unknown model", `mutation { deleteModel(id: "999") }`, nil, "NOT_FOUND", []string{"model"}},
		{"ragged CSV", createDatasetMutation, map[string]any{"name": "r", "csv": "a,b\n1,2\n3\n"}, "BAD_USER_INPUT", []string{"line 3"}},
		{"empty CSV", createDatasetMutation, map[string]any{"name": "e", "csv": ""}, "BAD_USER_INPUT", nil},
		{"header only", createDatasetMutation, map[string]any{"name": "h", "csv": "a,b\n"}, "BAD_USER_INPUT", []string{"no data rows"}},
		{"duplicate column", createDatasetMutation, map[string]any{"name": "d", "csv": "a,a\n1,2\n"}, "BAD_USER_INPUT", []string{`"a"`}},
		{"infinite number", createDatasetMutation, map[string]any{"name": "i", "csv": "a,b\n1,2\n3,inf\n"}, "BAD_USER_INPUT", []string{"row 2", `"b"`, "±1e+150"}},
		{"number beyond the bound", createDatasetMutation, map[string]any{"name": "i", "csv": "a,b\n1,2\n3,1.5e154\n"}, "BAD_USER_INPUT", []string{"row 2", `column "b"`, "1.5e154", "±1e+150"}},
		{"empty name", createDatasetMutation, map[string]any{"name": " ", "csv": "a\n1\n"}, "BAD_USER_INPUT", []string{"name"}},
		{"train on unknown dataset", train, map[string]any{"input": map[string]any{"datasetId": "999", "target": "t", "algorithm": "LINEAR_REGRESSION"}}, "NOT_FOUND", []string{"dataset"}},
		{"unknown target", train, trainInput(map[string]any{"target": "nope"}), "BAD_USER_INPUT", []string{`"nope"`, "target"}},
		{"unknown feature", train, trainInput(map[string]any{"features": []string{"petal_width_cm", "wings"}}), "BAD_USER_INPUT", []string{`"wings"`}},
		{"target as feature", train, trainInput(map[string]any{"features": []string{"target"}}), "BAD_USER_INPUT", []string{"target"}},
		{"regression on text target", train, trainInput(map[string]any{"algorithm": "LINEAR_REGRESSION"}), "BAD_USER_INPUT", []string{`"target"`, "numeric"}},
		{"task the algorithm lacks", train, trainInput(map[string]any{"task": "REGRESSION"}), "BAD_USER_INPUT", []string{"LOGISTIC_REGRESSION"}},
		{"one class", train, map[string]any{"input": map[string]any{"datasetId": oneClass, "target": "b", "algorithm": "LOGISTIC_REGRESSION"}}, "BAD_USER_INPUT", []string{"two classes"}},
		{"unknown param", train, trainInput(map[string]any{"params": map[string]any{"alpha": 1}}), "BAD_USER_INPUT", []string{`alpha`}},
		{"param out of range", train, trainInput(map[string]any{"params": map[string]any{"C": -1}}), "BAD_USER_INPUT", []string{"C"}},
		{"params not an object", train, trainInput(map[string]any{"params": []int{1}}), "BAD_USER_INPUT", []string{"params"}},
		{"bad test fraction", train, trainInput(map[string]any{"split": map[string]any{"testFraction": 1.5}}), "BAD_USER_INPUT", []string{"testFraction"}},
		{"custom split without column", train, trainInput(map[string]any{"split": map[string]any{"method": "CUSTOM"}}), "BAD_USER_INPUT", []string{"split.column"}},
		{"custom split on a bad column", train, trainInput(map[string]any{"features": []string{"petal_width_cm"}, "split": map[string]any{"method": "CUSTOM", "column": "sepal_length_cm"}}), "BAD_USER_INPUT", []string{"train"}},
		{"unknown algorithm", train, trainInput(map[string]any{"algorithm": "MAGIC"}), "GRAPHQL_VALIDATION_FAILED", []string{"MAGIC"}},
		{"predict with unknown model", predictMutation, map[string]any{"input": map[string]any{"modelId": "999", "rows": [][]float64{{1}}}}, "NOT_FOUND", []string{"model"}},
		{"wrong row width", predictMutation, predict(map[string]any{"rows": [][]float64{{1, 2, 3, 4}, {1, 2}}}), "BAD_USER_INPUT", []string{"row 2", "4 features"}},
		{"rows and records", predictMutation, predict(map[string]any{"rows": [][]float64{{1, 2, 3, 4}}, "records": []any{map[string]any{}}}), "BAD_USER_INPUT", []string{"exactly one"}},
		{"neither rows nor records", predictMutation, predict(map[string]any{}), "BAD_USER_INPUT", []string{"exactly one"}},
		{"no rows", predictMutation, predict(map[string]any{"rows": [][]float64{}}), "BAD_USER_INPUT", []string{"no rows"}},
		{"non-finite value", predictMutation, predict(map[string]any{"records": []any{map[string]any{"sepal_length_cm": "Infinity"}}}), "BAD_USER_INPUT", []string{"row 1", `column "sepal_length_cm"`, "finite"}},
		{"number out of range", predictMutation, predict(map[string]any{"records": []any{map[string]any{"sepal_length_cm": json.Number("1e999")}}}), "BAD_USER_INPUT", []string{"sepal_length_cm"}},
		{"text for a number", predictMutation, predict(map[string]any{"records": []any{map[string]any{"petal_width_cm": "wide"}}}), "BAD_USER_INPUT", []string{"row 1", `column "petal_width_cm"`, "number"}},
		{"unknown record field", predictMutation, predict(map[string]any{"records": []any{map[string]any{"colour": "red"}}}), "BAD_USER_INPUT", []string{`"colour"`}},
		{"record not an object", predictMutation, predict(map[string]any{"records": []any{42}}), "BAD_USER_INPUT", []string{"row 1", "object"}},
		{"wrong variable type", predictMutation, predict(map[string]any{"rows": [][]any{{"a", 1, 2, 3}}}), "GRAPHQL_VALIDATION_FAILED", []string{"Float"}},
		{"name too long", createDatasetMutation, map[string]any{"name": strings.Repeat("é", 201), "csv": "a\n1\n"}, "BAD_USER_INPUT", []string{"name", "200"}},
		{"BOM and header only", createDatasetMutation, map[string]any{"name": "b", "csv": "\ufeffa,b\n"}, "BAD_USER_INPUT", []string{"no data rows"}},
		{"empty header name", createDatasetMutation, map[string]any{"name": "h", "csv": "a,,c\n1,2,3\n"}, "BAD_USER_INPUT", nil},
		{"NaN-like text in a number column", predictMutation, predict(map[string]any{"records": []any{map[string]any{"sepal_length_cm": "NaN"}}}), "BAD_USER_INPUT", []string{"sepal_length_cm"}},
		{"object for a number", predictMutation, predict(map[string]any{"records": []any{map[string]any{"sepal_length_cm": map[string]any{"x": 1}}}}), "BAD_USER_INPUT", []string{"an object"}},
		{"too many rows", predictMutation, predict(map[string]any{"rows": manyRows(10_001, 4)}), "BAD_USER_INPUT", []string{"10001 rows", "limit"}},
		{"huge number in rows", predictMutation, predict(map[string]any{"rows": []any{[]any{json.Number("1e400"), 1, 2, 3}}}), "GRAPHQL_VALIDATION_FAILED", nil},
		{"empty features", train, trainInput(map[string]any{"features": []string{}}), "BAD_USER_INPUT", []string{"features"}},
		{"duplicate feature", train, trainInput(map[string]any{"features": []string{"petal_width_cm", "petal_width_cm"}}), "BAD_USER_INPUT", []string{"twice"}},
		{"random split with a column", train, trainInput(map[string]any{"split": map[string]any{"method": "RANDOM", "column": "split"}}), "BAD_USER_INPUT", []string{"split.column"}},
		{"no split with a seed", train, trainInput(map[string]any{"split": map[string]any{"method": "NONE", "seed": 3}}), "BAD_USER_INPUT", []string{"NONE"}},
		{"custom split on the target", train, trainInput(map[string]any{"split": map[string]any{"method": "CUSTOM", "column": "target"}}), "BAD_USER_INPUT", []string{"target"}},
		{"one fold", train, trainInput(map[string]any{"crossValidate": map[string]any{"folds": 1}}), "BAD_USER_INPUT", []string{"folds"}},
		{"wrong param type", train, trainInput(map[string]any{"params": map[string]any{"maxIter": "many"}}), "BAD_USER_INPUT", []string{"maxIter"}},
		{"fractional integer param", train, trainInput(map[string]any{"params": map[string]any{"maxIter": 2.5}}), "BAD_USER_INPUT", []string{"maxIter"}},
		{"cancel a READY model", `mutation($id: ID!) { cancelTraining(id: $id) { id } }`, map[string]any{"id": model}, "BAD_USER_INPUT", []string{"READY"}},
		{"score with an unknown dataset", `mutation($m: ID!) { predictDataset(modelId: $m, datasetId: "999") { id } }`, map[string]any{"m": model}, "NOT_FOUND", []string{"dataset"}},
		{"leaderboard of nothing", `{ leaderboard(modelIds: []) { metric } }`, nil, "BAD_USER_INPUT", []string{"modelIds"}},
		{"syntax error", `{ datasets { `, nil, "GRAPHQL_PARSE_FAILED", nil},
		{"unknown field", `{ datasets { bogus } }`, nil, "GRAPHQL_VALIDATION_FAILED", []string{"bogus"}},
	}
	var before struct {
		Datasets struct{ TotalCount int }
		Models   struct{ TotalCount int }
		Model    struct{ Predictions struct{ TotalCount int } }
	}
	const counts = `query($m: ID!) { datasets { totalCount } models { totalCount } model(id: $m) { predictions { totalCount } } }`
	srv.mustDo(counts, map[string]any{"m": model}, &before)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.t = t
			defer func() { srv.t = nil }()
			srv.mustFail(tc.query, tc.vars, tc.code, tc.fragments...)
		})
	}
	srv.t = t
	after := before
	srv.mustDo(counts, map[string]any{"m": model}, &after)
	if after != before {
		t.Errorf("bad requests changed the database: before %+v, after %+v", before, after)
	}
}

func TestHTTPRoutes(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/", "<html"},
		{"/query?query=" + "%7Bdatasets%7BtotalCount%7D%7D", `{"data":{"datasets":{"totalCount":0}}}`},
	} {
		resp, err := http.Get(srv.http.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tc.want)) {
			t.Errorf("GET %s: %d %.200s; want 200 with %q", tc.path, resp.StatusCode, body, tc.want)
		}
	}
	var algos struct {
		Algorithms []struct {
			Name   string
			Tasks  []string
			Params []struct {
				Name    string
				Default any
			}
		}
	}
	srv.mustDo(`{ algorithms { name tasks params { name type default min max description } } }`, nil, &algos)
	if len(algos.Algorithms) < 2 {
		t.Fatalf("algorithms = %+v", algos)
	}
}

// TestFailedTrainingAndRecovery: a fit that fails leaves a FAILED model
// with its reason; a model left TRAINING by a crash is FAILED at restart.
func TestFailedTrainingAndRecovery(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("empty feature", "x,empty,y\n1,,2\n2,,4\n3,,6\n4,,8\n5,,10\n")
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION",
		"features": []string{"empty"}, "split": map[string]any{"method": "NONE"}})
	if m.Status != "FAILED" || m.Error == nil || !strings.Contains(*m.Error, "empty") || m.Metrics != nil || m.TrainedAt != nil {
		t.Fatalf("model = status %s error %v metrics %v; want FAILED naming the column", m.Status, m.Error, m.Metrics)
	}
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": m.ID, "rows": [][]float64{{1}}}},
		"BAD_USER_INPUT", "FAILED", "not READY")

	// A crash during training leaves a TRAINING row behind.
	id, err := srv.app.store.FailInterruptedModels(context.Background(), "unused")
	if err != nil || id != 0 {
		t.Fatalf("no model should be training: %d, %v", id, err)
	}
	stuck := &store.Model{Name: "stuck", Algorithm: "LINEAR_REGRESSION", Task: "REGRESSION", Status: "TRAINING", Target: "y", Features: []string{"x"}}
	if err := srv.app.store.CreateModel(context.Background(), stuck); err != nil {
		t.Fatal(err)
	}
	srv = srv.restart()
	var got struct{ Model modelJSON }
	srv.mustDo(`query($id: ID!) { model(id: $id) { status error } }`, map[string]any{"id": fmt.Sprint(stuck.ID)}, &got)
	if got.Model.Status != "FAILED" || got.Model.Error == nil || !strings.Contains(*got.Model.Error, "stopped") {
		t.Errorf("interrupted model after restart: %s %v; want FAILED with a reason", got.Model.Status, got.Model.Error)
	}
}

// TestConcurrentRequests sends trains and predicts at once: SQLite must
// make writers wait, never fail with "database is locked".
func TestConcurrentRequests(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("lines", "x,y\n1,2\n2,4.1\n3,6\n4,7.9\n5,10\n6,12.2\n7,14\n8,16.1\n9,18\n10,20\n")
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION"})
	const workers, perWorker = 8, 15
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < perWorker; i++ {
				query, vars := predictMutation, map[string]any{"input": map[string]any{"modelId": m.ID, "rows": [][]float64{{float64(i)}}}}
				if i%5 == 0 {
					query = `mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { status } }`
					vars = map[string]any{"input": map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION"}}
				}
				body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
				resp, err := http.Post(srv.http.URL+"/query", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"errors"`)) {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, raw)
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var counts struct {
		Models struct{ TotalCount int }
		Model  struct{ Predictions struct{ TotalCount int } }
	}
	srv.mustDo(`query($id: ID!) { models { totalCount } model(id: $id) { predictions { totalCount } } }`, map[string]any{"id": m.ID}, &counts)
	if counts.Models.TotalCount != 1+workers*3 || counts.Model.Predictions.TotalCount != workers*12 {
		t.Errorf("after the burst: %+v; want %d models and %d predictions", counts, 1+workers*3, workers*12)
	}
}

// TestGracefulShutdown runs the real server loop on loopback, stops it the
// way SIGTERM does, and checks that the database was closed cleanly (SQLite
// removes the WAL file when the last connection closes).
func TestGracefulShutdown(t *testing.T) {
	dbPath := testdb.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: addr, db: dbPath}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	body := `{"query":"mutation { createDataset(input: {name: \"a\", csv: \"x,y\\n1,2\\n2,3\\n\"}) { id } }"}`
	if resp, err = http.Post("http://"+addr+"/query", "application/json", strings.NewReader(body)); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("createDataset: %v %v", resp, err)
	}
	resp.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := os.Stat(dbPath + "-wal"); !testdb.Postgres() && !os.IsNotExist(err) {
		t.Errorf("WAL file still there after shutdown (database not closed cleanly): %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
	// The data is there for the next start.
	srv := startServer(t, dbPath)
	var out struct{ Datasets struct{ TotalCount int } }
	srv.mustDo(`{ datasets { totalCount } }`, nil, &out)
	if out.Datasets.TotalCount != 1 {
		t.Errorf("after restart: %d datasets, want 1", out.Datasets.TotalCount)
	}
}

// TestFiltersAndOrdering pages through filtered and sorted lists over
// GraphQL.
func TestFiltersAndOrdering(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("lines", "x,y\n1,2\n2,4.1\n3,6\n4,7.9\n5,10\n6,12.2\n").ID
	srv.createDataset("Other lines", "x,y\n1,2\n2,3\n")
	for _, a := range []string{"RIDGE", "LINEAR_REGRESSION", "KNN", "RIDGE"} {
		srv.train(map[string]any{"datasetId": ds, "target": "y", "algorithm": a, "params": map[string]any{}, "split": map[string]any{"method": "NONE"},
			"name": strings.ToLower(a) + " model"})
	}
	type list struct {
		Models struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct {
				Cursor string
				Node   struct{ Name, Algorithm string }
			}
		}
	}
	const q = `query($after: String, $filter: ModelFilter, $order: ModelOrder) {
	  models(first: 1, after: $after, filter: $filter, orderBy: $order) {
	    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name algorithm } } } }`
	walk := func(filter, order map[string]any) []string {
		var names []string
		var after any
		for i := 0; i < 10; i++ {
			var l list
			srv.mustDo(q, map[string]any{"after": after, "filter": filter, "order": order}, &l)
			for _, e := range l.Models.Edges {
				names = append(names, e.Node.Name)
			}
			if !l.Models.PageInfo.HasNextPage {
				return names
			}
			after = *l.Models.PageInfo.EndCursor
		}
		t.Fatal("pages do not end")
		return nil
	}
	if got := strings.Join(walk(nil, map[string]any{"field": "NAME", "direction": "ASC"}), ","); got != "knn model,linear_regression model,ridge model,ridge model" {
		t.Errorf("by name: %s", got)
	}
	if got := walk(map[string]any{"algorithm": "RIDGE"}, nil); len(got) != 2 {
		t.Errorf("RIDGE models: %v", got)
	}
	if got := strings.Join(walk(map[string]any{"nameContains": "LIN"}, nil), ","); got != "linear_regression model" {
		t.Errorf("name contains LIN: %s", got)
	}
	var datasets struct {
		Datasets struct {
			TotalCount int
			Edges      []struct{ Node struct{ Name string } }
		}
	}
	srv.mustDo(`{ datasets(filter: {nameContains: "other"}, orderBy: {field: ROW_COUNT, direction: ASC}) { totalCount edges { node { name } } } }`, nil, &datasets)
	if datasets.Datasets.TotalCount != 1 || datasets.Datasets.Edges[0].Node.Name != "Other lines" {
		t.Errorf("filtered datasets: %+v", datasets)
	}
	// Counts per dataset (batched) and with a filter (per dataset).
	var counts struct {
		Datasets struct {
			Edges []struct {
				Node struct {
					Name   string
					Models struct{ TotalCount int }
					Ridge  struct {
						TotalCount int
						Edges      []struct{ Node struct{ Algorithm string } }
					}
				}
			}
		}
	}
	srv.mustDo(`{ datasets(orderBy: {field: NAME, direction: ASC}) { edges { node { name models { totalCount }
	  ridge: models(filter: {algorithm: RIDGE}) { totalCount edges { node { algorithm } } } } } } }`, nil, &counts)
	got := []string{}
	for _, e := range counts.Datasets.Edges {
		got = append(got, fmt.Sprintf("%s:%d/%d/%d", e.Node.Name, e.Node.Models.TotalCount, e.Node.Ridge.TotalCount, len(e.Node.Ridge.Edges)))
	}
	if strings.Join(got, " ") != "Other lines:0/0/0 lines:4/2/2" {
		t.Errorf("model counts per dataset: %v", got)
	}

	var first list
	srv.mustDo(q, map[string]any{"order": map[string]any{"field": "NAME"}}, &first)
	srv.mustFail(q, map[string]any{"after": first.Models.Edges[0].Cursor, "order": map[string]any{"field": "TRAINING_TIME"}}, "BAD_USER_INPUT", "cursor")
}

// manyRows returns n rows of width zeros.
func manyRows(n, width int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, width)
	}
	return rows
}

// TestHostileNamesAreData: injection strings and unicode in names and
// column names are stored and returned as they were sent.
func TestHostileNamesAreData(t *testing.T) {
	srv := newServer(t)
	name := `x'); DROP TABLE datasets;-- 数据 🚀 <script>alert(1)</script>`
	csv := "\"a'; DELETE FROM models;--\",\"名前\",y\n1,x,2\n2,y,4\n3,x,6\n4,y,8\n"
	ds := srv.createDataset(name, csv)
	if ds.Name != name || ds.Columns[0].Name != "a'; DELETE FROM models;--" || ds.Columns[1].Name != "名前" {
		t.Fatalf("stored %q with columns %+v", ds.Name, ds.Columns)
	}
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "y", "algorithm": "LINEAR_REGRESSION", "split": map[string]any{"method": "NONE"}, "name": name})
	p := srv.predict(map[string]any{"modelId": m.ID, "records": []any{map[string]any{"a'; DELETE FROM models;--": 5, "名前": "x"}}})
	if m.Name != name || p.Outputs[0].Value == nil {
		t.Errorf("model %q, prediction %+v", m.Name, p.Outputs)
	}
	var out struct {
		Datasets struct{ TotalCount int }
		Models   struct{ TotalCount int }
	}
	srv.mustDo(`{ datasets { totalCount } models { totalCount } }`, nil, &out)
	if out.Datasets.TotalCount != 1 || out.Models.TotalCount != 1 {
		t.Errorf("after hostile names: %+v", out)
	}
}

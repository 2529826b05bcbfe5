package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlgraph/internal/testdb"
)

// TestColumnStatisticsAndPreview: columns carry summary statistics and a
// dataset shows its first rows.
func TestColumnStatisticsAndPreview(t *testing.T) {
	srv := newServer(t)
	id := srv.createDataset("mixed", "x,colour,y\n1,red,2\n2,blue,\n3,red,6\n,red,8\n6,green,10\n").ID
	var out struct {
		Dataset struct {
			Columns []struct {
				Name                string
				Missing, Distinct   int
				Mean, Std, Min, Max *float64
				TopCategories       []struct {
					Value string
					Count int
				}
			}
			Preview []map[string]any
			All     []map[string]any
		}
	}
	srv.mustDo(`query($id: ID!) { dataset(id: $id) {
	  columns { name missing distinct mean std min max topCategories { value count } }
	  preview(first: 2) all: preview(first: 1000) } }`, map[string]any{"id": id}, &out)
	x, colour := out.Dataset.Columns[0], out.Dataset.Columns[1]
	// x: 1 2 3 6 → mean 3, population std sqrt(14/4)
	if x.Missing != 1 || x.Distinct != 4 || *x.Mean != 3 || math.Abs(*x.Std-math.Sqrt(3.5)) > 1e-12 || *x.Min != 1 || *x.Max != 6 || x.TopCategories != nil {
		t.Errorf("numeric column stats %+v", x)
	}
	if colour.Distinct != 3 || colour.Mean != nil || len(colour.TopCategories) != 3 || colour.TopCategories[0].Value != "red" || colour.TopCategories[0].Count != 3 {
		t.Errorf("categorical column stats %+v", colour)
	}
	p := out.Dataset.Preview
	if len(p) != 2 || p[0]["x"] != 1.0 || p[0]["colour"] != "red" || p[1]["y"] != nil || len(out.Dataset.All) != 5 {
		t.Errorf("preview %v (all: %d rows)", p, len(out.Dataset.All))
	}
	srv.mustFail(`query($id: ID!) { dataset(id: $id) { preview(first: -1) } }`, map[string]any{"id": id}, "BAD_USER_INPUT", "first")
}

// upload sends a GraphQL multipart request with one file.
func (s *testServer) upload(query string, vars map[string]any, fileVar, filename string, content []byte) gqlResponse {
	s.t.Helper()
	vars[fileVar] = nil
	return s.uploadFiles(query, vars, []uploadFile{{fileVar, filename, content}})
}

const uploadMutation = `mutation($name: String!, $file: Upload!) { uploadDataset(name: $name, file: $file) { id name rowCount columns { name type missing } } }`

// TestUploadDataset: a CSV file sent as a multipart upload becomes the same
// dataset as the same text sent to createDataset.
func TestUploadDataset(t *testing.T) {
	srv := newServer(t)
	text := datasetCSV(t, "iris", true)
	out := srv.upload(uploadMutation, map[string]any{"name": "iris file"}, "file", "iris.csv", []byte("\ufeff"+text))
	if len(out.Errors) > 0 {
		t.Fatalf("upload: %+v", out.Errors)
	}
	var up struct{ UploadDataset datasetJSON }
	if err := json.Unmarshal(out.Data, &up); err != nil {
		t.Fatal(err)
	}
	created := srv.createDataset("iris text", text)
	got, want := up.UploadDataset, created
	if got.RowCount != 150 || len(got.Columns) != len(want.Columns) {
		t.Fatalf("uploaded %+v, created %+v", got, want)
	}
	for i := range want.Columns {
		if got.Columns[i] != want.Columns[i] {
			t.Errorf("column %d: uploaded %+v, created %+v", i, got.Columns[i], want.Columns[i])
		}
	}
	m := srv.train(map[string]any{"datasetId": got.ID, "target": "target", "algorithm": "KNN", "split": map[string]any{"method": "CUSTOM", "column": "split"}})
	if m.Status != "READY" || *m.Metrics.Accuracy < 0.9 {
		t.Errorf("model on the uploaded dataset: %s %+v", m.Status, m.Metrics)
	}

	bad := srv.upload(uploadMutation, map[string]any{"name": "ragged"}, "file", "bad.csv", []byte("a,b\n1,2\n3\n"))
	if len(bad.Errors) == 0 || bad.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(bad.Errors[0].Message, "line 3") {
		t.Errorf("ragged upload: %+v", bad.Errors)
	}
}

// TestPredictDataset scores a stored dataset into a new one.
func TestPredictDataset(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	m := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
		"split": map[string]any{"method": "CUSTOM", "column": "split"}})
	const scoreMutation = `mutation($m: ID!, $d: ID!, $name: String) { predictDataset(modelId: $m, datasetId: $d, name: $name) {
	  id name rowCount columns { name type } preview(first: 3) } }`
	var out struct {
		PredictDataset struct {
			ID, Name string
			RowCount int
			Columns  []struct{ Name, Type string }
			Preview  []map[string]any
		}
	}
	srv.mustDo(scoreMutation, map[string]any{"m": m.ID, "d": iris}, &out)
	scored := out.PredictDataset
	var names []string
	for _, c := range scored.Columns {
		names = append(names, c.Name+":"+c.Type)
	}
	want := "sepal_length_cm:NUMERIC,sepal_width_cm:NUMERIC,petal_length_cm:NUMERIC,petal_width_cm:NUMERIC,target:CATEGORICAL,split:CATEGORICAL," +
		"predicted_label:CATEGORICAL,probability_setosa:NUMERIC,probability_versicolor:NUMERIC,probability_virginica:NUMERIC"
	if scored.RowCount != 150 || strings.Join(names, ",") != want || !strings.Contains(scored.Name, "scored by") {
		t.Fatalf("scored dataset %s: %d rows, columns %s", scored.Name, scored.RowCount, strings.Join(names, ","))
	}
	// The stored predictions are the model's: compare the first rows.
	var rows [][]float64
	for _, r := range scored.Preview {
		rows = append(rows, []float64{r["sepal_length_cm"].(float64), r["sepal_width_cm"].(float64), r["petal_length_cm"].(float64), r["petal_width_cm"].(float64)})
	}
	p := srv.predict(map[string]any{"modelId": m.ID, "rows": rows, "save": false})
	for i, r := range scored.Preview {
		if r["predicted_label"] != *p.Outputs[i].Label || r["probability_setosa"] != p.Outputs[i].Probabilities[0].Probability {
			t.Errorf("row %d: stored %v, predict says %+v", i, r, p.Outputs[i])
		}
	}
	// Scoring again with the output keeps names unique.
	srv.mustDo(scoreMutation, map[string]any{"m": m.ID, "d": scored.ID, "name": "twice"}, &out)
	if last := out.PredictDataset.Columns[len(out.PredictDataset.Columns)-1].Name; last != "probability_virginica_2" || out.PredictDataset.Name != "twice" {
		t.Errorf("second scoring: %s, last column %s", out.PredictDataset.Name, last)
	}
	// A dataset without the features.
	other := srv.createDataset("other", "a,b\n1,2\n").ID
	srv.mustFail(scoreMutation, map[string]any{"m": m.ID, "d": other}, "BAD_USER_INPUT", `"sepal_length_cm"`)
	srv.mustFail(scoreMutation, map[string]any{"m": "999", "d": other}, "NOT_FOUND", "model")
}

func TestUploadLimit(t *testing.T) {
	srv := startServer(t, testdb.New(t), withMaxUpload(1000))
	big := []byte("a,b\n" + strings.Repeat("1,2\n", 1000))
	out := srv.upload(uploadMutation, map[string]any{"name": "big"}, "file", "big.csv", big)
	if len(out.Errors) == 0 || !strings.Contains(out.Errors[0].Message, "too large") || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("upload over the limit: %+v", out.Errors)
	}
	small := srv.upload(uploadMutation, map[string]any{"name": "small"}, "file", "small.csv", []byte("a,b\n1,2\n"))
	if len(small.Errors) > 0 {
		t.Errorf("upload under the limit: %+v", small.Errors)
	}
}

// TestUploadsLeaveNoTempFiles: an upload larger than the multipart
// transport's memory is spooled to a temporary file; whatever becomes of
// the upload (stored, refused as bad CSV, over the limit, or abandoned by
// its client mid-way), a running server leaves no such file behind.
func TestUploadsLeaveNoTempFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir, where uploads are spooled
	srv := startServer(t, testdb.New(t), withMaxUpload(10<<20))
	rows := strings.Repeat("1.5,2.5,x\n", 600_000) // 6 MB: beyond the 4 MiB kept in memory
	good := srv.upload(uploadMutation, map[string]any{"name": "good"}, "file", "good.csv", []byte("a,b,c\n"+rows))
	if len(good.Errors) > 0 {
		t.Fatalf("upload: %+v", good.Errors)
	}
	bad := srv.upload(uploadMutation, map[string]any{"name": "bad"}, "file", "bad.csv", []byte("a,b,c\n"+rows+"1,2\n"))
	if len(bad.Errors) == 0 || bad.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("ragged upload: %+v", bad.Errors)
	}
	huge := srv.upload(uploadMutation, map[string]any{"name": "huge"}, "file", "huge.csv", []byte("a,b,c\n"+rows+rows))
	if len(huge.Errors) == 0 || huge.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("upload over the limit: %+v", huge.Errors)
	}
	// A client that stops sending half-way through a declared 8 MB body.
	conn, err := net.Dial("tcp", srv.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const boundary = "cut-short"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n" +
		`{"query":"mutation($f: Upload!) { uploadDataset(name: \"cut\", file: $f) { id } }","variables":{"f":null}}` +
		"\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n" + `{"0":["variables.f"]}` +
		"\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"0\"; filename=\"cut.csv\"\r\nContent-Type: text/csv\r\n\r\na,b,c\n"
	fmt.Fprintf(conn, "POST /query HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s%s",
		boundary, 8<<20, head, rows)
	// The server spools what came: the file is there while the client
	// is, and must go with it.
	spooled := func() []string { f, _ := filepath.Glob(filepath.Join(tmp, "gqlgen-*")); return f }
	for start := time.Now(); len(spooled()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the cut-short upload was never spooled to TMPDIR")
		}
	}
	conn.Close()

	deadline := time.Now().Add(10 * time.Second)
	for {
		left := spooled()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload files left in TMPDIR: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var list struct {
		Datasets struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	srv.mustDo(`{ datasets { edges { node { name rowCount } } } }`, nil, &list)
	if len(list.Datasets.Edges) != 1 || list.Datasets.Edges[0].Node.Name != "good" {
		t.Errorf("stored %+v, want only the good upload", list.Datasets.Edges)
	}
}

// TestModelReport: a model's diagnostic plots, over GraphQL and HTTP
// (TestKMeansReport has a clustering model's).
func TestModelReport(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	diabetes := srv.createDataset("diabetes", datasetCSV(t, "diabetes", true)).ID
	split := map[string]any{"method": "CUSTOM", "column": "split"}
	clf := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "MLP", "split": split, "params": map[string]any{"hiddenLayerSizes": "8", "maxIter": 50}})
	reg := srv.train(map[string]any{"datasetId": diabetes, "target": "target", "algorithm": "RIDGE", "split": split})
	report := func(id string) *string {
		var out struct{ Model struct{ Report *string } }
		srv.mustDo(`query($id: ID!) { model(id: $id) { report } }`, map[string]any{"id": id}, &out)
		return out.Model.Report
	}
	r := report(clf.ID)
	for _, want := range []string{"<svg", "Confusion matrix", "virginica", "AUC", "Training loss"} {
		if r == nil || !strings.Contains(*r, want) {
			t.Errorf("classifier report lacks %q", want)
		}
	}
	r = report(reg.ID)
	for _, want := range []string{"<svg", "Predicted vs actual", "Residuals"} {
		if r == nil || !strings.Contains(*r, want) {
			t.Errorf("regression report lacks %q", want)
		}
	}
	resp, err := http.Get(srv.http.URL + "/models/" + reg.ID + "/report.svg")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(body, []byte("<svg")) {
		t.Errorf("GET report.svg: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, path := range []string{"/models/999/report.svg", "/models/x/report.svg"} {
		resp, err := http.Get(srv.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestContributions explains predictions of a linear and a tree model.
func TestContributions(t *testing.T) {
	srv := newServer(t)
	var b strings.Builder
	b.WriteString("a,b,colour,y\n")
	for i := 0; i < 200; i++ {
		a, bb := float64(i%20), float64((i*7)%13)
		colour := []string{"red", "blue"}[i%2]
		y := 3*a - 2*bb
		if colour == "red" {
			y += 5
		}
		fmt.Fprintf(&b, "%g,%g,%s,%g\n", a, bb, colour, y)
	}
	ds := srv.createDataset("additive", b.String()).ID
	const q = `mutation($input: PredictInput!) { predict(input: $input) { outputs { value label }
	  contributions(topK: 2) { row class baseline prediction method contributions { feature value contribution } } } }`
	type explained struct {
		Predict struct {
			Outputs []struct {
				Value *float64
				Label *string
			}
			Contributions []struct {
				Row                  int
				Class                *string
				Baseline, Prediction float64
				Method               string
				Contributions        []struct {
					Feature      string
					Value        any
					Contribution float64
				}
			}
		}
	}
	for _, tc := range []struct{ algorithm, method string }{{"LINEAR_REGRESSION", "EXACT_LINEAR"}, {"DECISION_TREE", "TREE_SHAP"}, {"KNN", "SAMPLING_SHAP"}} {
		m := srv.train(map[string]any{"datasetId": ds, "target": "y", "algorithm": tc.algorithm, "split": map[string]any{"method": "NONE"}})
		var out explained
		srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "save": false,
			"records": []any{map[string]any{"a": 19, "b": 0, "colour": "red"}, map[string]any{"a": 0, "b": 12, "colour": "blue"}}}}, &out)
		if len(out.Predict.Contributions) != 2 {
			t.Fatalf("%s: %+v", tc.algorithm, out.Predict)
		}
		for i, e := range out.Predict.Contributions {
			if e.Method != tc.method || e.Row != i || len(e.Contributions) != 2 || math.Abs(e.Prediction-*out.Predict.Outputs[i].Value) > 1e-9 {
				t.Errorf("%s row %d: %+v", tc.algorithm, i, e)
			}
			// a (range ±30 around its mean) matters most, then b (±12).
			if e.Contributions[0].Feature != "a" || e.Contributions[1].Feature != "b" {
				t.Errorf("%s row %d: top features %+v", tc.algorithm, i, e.Contributions)
			}
		}
		if first := out.Predict.Contributions[0]; first.Contributions[0].Value != 19.0 || first.Contributions[0].Contribution <= 0 {
			t.Errorf("%s: a=19 should push the prediction up: %+v", tc.algorithm, first.Contributions[0])
		}
	}
	iris := srv.createDataset("iris", datasetCSV(t, "iris", false)).ID
	clf := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	var out explained
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": clf.ID, "save": false, "rows": [][]float64{{6.3, 3.3, 6.0, 2.5}}}}, &out)
	e := out.Predict.Contributions[0]
	if e.Class == nil || *e.Class != *out.Predict.Outputs[0].Label || e.Prediction <= e.Baseline || !strings.HasPrefix(e.Contributions[0].Feature, "petal") {
		t.Errorf("classifier explanation %+v", e)
	}
	srv.mustFail(`mutation($id: ID!) { predict(input: {modelId: $id, rows: [[1, 1, 1, 1]], save: false}) { contributions(topK: -1) { row } } }`,
		map[string]any{"id": clf.ID}, "BAD_USER_INPUT", "topK")
}

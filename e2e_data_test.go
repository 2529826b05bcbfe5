package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
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
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	vars[fileVar] = nil
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	w.WriteField("operations", string(ops))
	w.WriteField("map", fmt.Sprintf(`{"0": ["variables.%s"]}`, fileVar))
	part, _ := w.CreateFormFile("0", filename)
	part.Write(content)
	w.Close()
	resp, err := http.Post(s.http.URL+"/query", w.FormDataContentType(), &body)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	return out
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

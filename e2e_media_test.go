package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
)

// uploadFile is one file of a multipart GraphQL request, sent as the
// variable at varPath ("file", or "files.2" for a list).
type uploadFile struct {
	varPath, name string
	content       []byte
}

// uploadFiles sends a GraphQL multipart request (the upload spec) with
// several files.
func (s *testServer) uploadFiles(query string, vars map[string]any, files []uploadFile) gqlResponse {
	s.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fileMap := map[string][]string{}
	for i, f := range files {
		fileMap[fmt.Sprint(i)] = []string{"variables." + f.varPath}
	}
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	refs, _ := json.Marshal(fileMap)
	w.WriteField("operations", string(ops))
	w.WriteField("map", string(refs))
	for i, f := range files {
		part, _ := w.CreateFormFile(fmt.Sprint(i), f.name)
		part.Write(f.content)
	}
	w.Close()
	resp, err := s.send(w.FormDataContentType(), &body)
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

// zipFile is one file of a labelled zip fixture.
type zipFile struct {
	path, label, split string
	content            []byte
}

// readZip returns the files of a labelled zip fixture in testdata, laid
// out as train|test/<label>/<file>.
func readZip(t *testing.T, name string) ([]byte, []zipFile) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var files []zipFile
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		parts := strings.Split(f.Name, "/")
		if len(parts) != 3 {
			t.Fatalf("%s: %s is not train|test/<label>/<file>", name, f.Name)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, zipFile{path: f.Name, split: parts[0], label: parts[1], content: content})
	}
	return raw, files
}

// makeZip builds a zip of the given path to content.
func makeZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[n])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type mediaDatasetJSON struct {
	ID       string `json:"id"`
	RowCount int    `json:"rowCount"`
	Columns  []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Media *struct {
		Kind         string  `json:"kind"`
		ImageSize    *int    `json:"imageSize"`
		ImageColor   *string `json:"imageColor"`
		SampleRate   *int    `json:"sampleRate"`
		Coefficients *int    `json:"coefficients"`
		Files        int     `json:"files"`
	} `json:"media"`
}

const mediaDatasetFields = `id rowCount columns { name type } media { kind imageSize imageColor sampleRate coefficients files }`

type filePredictionJSON struct {
	ID            *string          `json:"id"`
	Inputs        []map[string]any `json:"inputs"`
	Labels        []string         `json:"labels"`
	Classes       []string         `json:"classes"`
	Probabilities [][]float64      `json:"probabilities"`
}

// predictFiles predicts files with predictImage or predictAudio (field),
// one file as `file` and several as `files`.
func (s *testServer) predictFiles(field, modelID string, files []zipFile) (filePredictionJSON, gqlResponse) {
	s.t.Helper()
	q := fmt.Sprintf(`mutation($m: ID!, $file: Upload, $files: [Upload!]) { %s(modelId: $m, file: $file, files: $files) { id inputs labels classes probabilities } }`, field)
	vars := map[string]any{"m": modelID}
	var up []uploadFile
	if len(files) == 1 {
		vars["file"] = nil
		up = append(up, uploadFile{"file", path.Base(files[0].path), files[0].content})
	} else {
		vars["files"] = make([]any, len(files))
		for i, f := range files {
			up = append(up, uploadFile{fmt.Sprintf("files.%d", i), path.Base(f.path), f.content})
		}
	}
	out := s.uploadFiles(q, vars, up)
	var data map[string]filePredictionJSON
	if len(out.Errors) == 0 {
		if err := json.Unmarshal(out.Data, &data); err != nil {
			s.t.Fatal(err)
		}
	}
	return data[field], out
}

// checkFilePredictions checks a prediction of files against their labels
// and returns the accuracy.
func checkFilePredictions(t *testing.T, p filePredictionJSON, files []zipFile) float64 {
	t.Helper()
	if len(p.Labels) != len(files) || len(p.Probabilities) != len(files) || len(p.Inputs) != len(files) {
		t.Fatalf("%d files: %d labels, %d probability rows, %d inputs", len(files), len(p.Labels), len(p.Probabilities), len(p.Inputs))
	}
	right := 0
	for i, f := range files {
		if p.Inputs[i]["file"] != path.Base(f.path) {
			t.Errorf("inputs[%d] = %v, want file %q", i, p.Inputs[i], path.Base(f.path))
		}
		sum, best := 0.0, 0
		for k, q := range p.Probabilities[i] {
			sum += q
			if q > p.Probabilities[i][best] {
				best = k
			}
		}
		if math.Abs(sum-1) > 1e-9 || p.Classes[best] != p.Labels[i] {
			t.Errorf("row %d: probabilities %v (sum %v) do not give label %q", i, p.Probabilities[i], sum, p.Labels[i])
		}
		if p.Labels[i] == f.label {
			right++
		}
	}
	return float64(right) / float64(len(files))
}

// testMediaEndToEnd walks a media modality through the API: upload the
// zip, train on its train folder, predict its test files over HTTP (they
// must score exactly the model's test accuracy), restart and predict again,
// and refuse what is malformed.
// mediaModel is a model testMediaEndToEnd trains, and the test accuracy it
// must reach at least.
type mediaModel struct {
	algorithm   string
	params      map[string]any
	minAccuracy float64
}

func testMediaEndToEnd(t *testing.T, fixture, upload, predictField string, uploadVars map[string]any, trainings ...mediaModel) (*testServer, mediaDatasetJSON, modelJSON, []zipFile) {
	srv := newServer(t)
	raw, files := readZip(t, fixture)
	vars := map[string]any{"name": fixture}
	for k, v := range uploadVars {
		vars[k] = v
	}
	var argDecl, args strings.Builder
	for k := range uploadVars {
		fmt.Fprintf(&argDecl, ", $%s: ImageOptionsInput", k)
		fmt.Fprintf(&args, ", %s: $%s", k, k)
	}
	q := fmt.Sprintf(`mutation($name: String!, $file: Upload!%s) { %s(name: $name, file: $file%s) { %s } }`, argDecl.String(), upload, args.String(), mediaDatasetFields)
	out := srv.uploadFiles(q, vars, []uploadFile{{"file", fixture, raw}})
	if len(out.Errors) > 0 {
		t.Fatalf("%s: %+v", upload, out.Errors)
	}
	var data map[string]mediaDatasetJSON
	if err := json.Unmarshal(out.Data, &data); err != nil {
		t.Fatal(err)
	}
	d := data[upload]
	if d.RowCount != len(files) || d.Media == nil || d.Media.Files != len(files) {
		t.Fatalf("dataset of %d files: %+v", len(files), d)
	}
	last := d.Columns[len(d.Columns)-2:]
	if last[0].Name != "label" || last[0].Type != "CATEGORICAL" || last[1].Name != "split" {
		t.Errorf("the last columns are %+v, want label and split", last)
	}

	var test []zipFile
	for _, f := range files {
		if f.split == "test" {
			test = append(test, f)
		}
	}
	var models []modelJSON
	for _, spec := range trainings {
		input := map[string]any{"datasetId": d.ID, "target": "label", "algorithm": spec.algorithm, "params": spec.params,
			"split": map[string]any{"method": "CUSTOM", "column": "split"}}
		m := srv.train(input)
		if m.Status != "READY" {
			t.Fatalf("training %s: %s %s", spec.algorithm, m.Status, errorText(m.Error))
		}
		if len(m.Features) != len(d.Columns)-2 || slices.Contains(m.Features, "label") || slices.Contains(m.Features, "split") {
			t.Errorf("features: %d of %d columns (label and split must not be features)", len(m.Features), len(d.Columns))
		}
		accuracy := *m.Metrics.Accuracy
		t.Logf("%s on %s: test accuracy %.3f over %d files", spec.algorithm, fixture, accuracy, m.Split.TestRows)
		if accuracy < spec.minAccuracy {
			t.Errorf("%s: test accuracy %.3f, want at least %.2f", spec.algorithm, accuracy, spec.minAccuracy)
		}
		p, resp := srv.predictFiles(predictField, m.ID, test)
		if len(resp.Errors) > 0 {
			t.Fatalf("%s: %+v", predictField, resp.Errors)
		}
		if got := checkFilePredictions(t, p, test); math.Abs(got-accuracy) > 1e-9 || p.ID == nil {
			t.Errorf("%s: predicting the %d test files over HTTP: accuracy %.4f, the model's test accuracy %.4f (saved: %v)",
				spec.algorithm, len(test), got, accuracy, p.ID != nil)
		}
		models = append(models, m)
	}
	m := models[0]

	// The conversion is saved with the model: after a restart, and with
	// the dataset deleted, a single file still predicts the same.
	one, _ := srv.predictFiles(predictField, m.ID, test[:1])
	var deleted struct{ DeleteDataset string }
	srv.mustDo(`mutation($id: ID!) { deleteDataset(id: $id) }`, map[string]any{"id": d.ID}, &deleted)
	srv = srv.restart()
	again, resp := srv.predictFiles(predictField, m.ID, test[:1])
	if len(resp.Errors) > 0 || len(again.Labels) != 1 || again.Labels[0] != one.Labels[0] || !slices.Equal(again.Probabilities[0], one.Probabilities[0]) {
		t.Errorf("after a restart without the dataset: %+v %+v, before %+v", again, resp.Errors, one)
	}
	return srv, d, m, files
}

// mediaErrors checks the refusals common to both modalities.
func mediaErrors(t *testing.T, srv *testServer, upload, predictField, otherField, modelID string, good zipFile) {
	t.Helper()
	q := fmt.Sprintf(`mutation($file: Upload!) { %s(name: "bad", file: $file) { id } }`, upload)
	for name, content := range map[string][]byte{
		"not a zip":             []byte("label,x\n1,2\n"),
		"no label folder":       makeZip(t, map[string][]byte{"x" + path.Ext(good.path): good.content}),
		"nested too deep":       makeZip(t, map[string][]byte{"a/b/c/" + path.Base(good.path): good.content}),
		"a file that is broken": makeZip(t, map[string][]byte{"cat/ok" + path.Ext(good.path): good.content, "cat/broken" + path.Ext(good.path): []byte("neither an image nor a recording")}),
		"an empty zip":          makeZip(t, map[string][]byte{}),
	} {
		out := srv.uploadFiles(q, map[string]any{"file": nil}, []uploadFile{{"file", "data.zip", content}})
		if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("%s, %s: %+v", upload, name, out.Errors)
			continue
		}
		t.Logf("%s, %s: %s", upload, name, out.Errors[0].Message)
	}
	var datasets struct{ Datasets struct{ TotalCount int } }
	srv.mustDo(`{ datasets { totalCount } }`, nil, &datasets)
	if datasets.Datasets.TotalCount != 0 {
		t.Errorf("refused uploads left %d datasets", datasets.Datasets.TotalCount)
	}

	broken := good
	broken.content = []byte("this is not a media file at all")
	broken.path = "train/x/broken" + path.Ext(good.path)
	if _, out := srv.predictFiles(predictField, modelID, []zipFile{good, broken}); len(out.Errors) == 0 ||
		out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(out.Errors[0].Message, "broken") {
		t.Errorf("%s with a broken file: %+v", predictField, out.Errors)
	}
	if _, out := srv.predictFiles(otherField, modelID, []zipFile{good}); len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("%s on a model of another kind: %+v", otherField, out.Errors)
	}
	both := fmt.Sprintf(`mutation($m: ID!, $file: Upload, $files: [Upload!]) { %s(modelId: $m, file: $file, files: $files) { id } }`, predictField)
	out := srv.uploadFiles(both, map[string]any{"m": modelID, "file": nil, "files": []any{nil}},
		[]uploadFile{{"file", "a", good.content}, {"files.0", "b", good.content}})
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("%s with file and files: %+v", predictField, out.Errors)
	}
	srv.mustFail(fmt.Sprintf(`mutation { %s(modelId: "%s") { id } }`, predictField, modelID), nil, "BAD_USER_INPUT")

	// Contributions come with a fresh prediction of files; a saved one
	// keeps the file names only.
	q = fmt.Sprintf(`mutation($m: ID!, $file: Upload) { %s(modelId: $m, file: $file) { id contributions(topK: 3) { method prediction } } }`, predictField)
	fresh := srv.uploadFiles(q, map[string]any{"m": modelID, "file": nil}, []uploadFile{{"file", "good" + path.Ext(good.path), good.content}})
	var got map[string]struct {
		ID            string
		Contributions []struct{ Method string }
	}
	if len(fresh.Errors) > 0 || json.Unmarshal(fresh.Data, &got) != nil || len(got[predictField].Contributions) != 1 {
		t.Fatalf("%s with contributions: %+v %s", predictField, fresh.Errors, fresh.Data)
	}
	srv.mustFail(`query($m: ID!) { model(id: $m) { predictions(first: 1) { edges { node { contributions { method } } } } } }`,
		map[string]any{"m": modelID}, "BAD_USER_INPUT", "same request")
}

func TestImageEndToEnd(t *testing.T) {
	srv, d, m, files := testMediaEndToEnd(t, "fashion_small.zip", "uploadImageDataset", "predictImage",
		map[string]any{"options": map[string]any{"size": 28, "color": "GRAYSCALE"}},
		mediaModel{"LOGISTIC_REGRESSION", nil, 0.6},
		mediaModel{"CNN", map[string]any{"epochs": 15}, 0.6})
	if d.Media.Kind != "IMAGE" || *d.Media.ImageSize != 28 || *d.Media.ImageColor != "GRAYSCALE" || len(d.Columns) != 28*28+2 {
		t.Errorf("image dataset: %+v, %d columns", *d.Media, len(d.Columns))
	}
	mediaErrors(t, srv, "uploadImageDataset", "predictImage", "predictAudio", m.ID, files[0])

	// RGB at another size: three columns a pixel.
	raw, _ := os.ReadFile("testdata/fashion_small.zip")
	out := srv.uploadFiles(`mutation($file: Upload!) { uploadImageDataset(name: "rgb", file: $file, options: {size: 8, color: RGB}) { `+mediaDatasetFields+` } }`,
		map[string]any{"file": nil}, []uploadFile{{"file", "f.zip", raw}})
	var rgb struct{ UploadImageDataset mediaDatasetJSON }
	if len(out.Errors) > 0 || json.Unmarshal(out.Data, &rgb) != nil || len(rgb.UploadImageDataset.Columns) != 8*8*3+2 {
		t.Errorf("RGB 8×8: %+v %s", out.Errors, out.Data)
	}
	out = srv.uploadFiles(`mutation($file: Upload!) { uploadImageDataset(name: "big", file: $file, options: {size: 1000}) { id } }`,
		map[string]any{"file": nil}, []uploadFile{{"file", "f.zip", raw}})
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(out.Errors[0].Message, "size") {
		t.Errorf("size 1000: %+v", out.Errors)
	}
}

func TestAudioEndToEnd(t *testing.T) {
	srv, d, m, files := testMediaEndToEnd(t, "spoken_digits_small.zip", "uploadAudioDataset", "predictAudio", nil,
		mediaModel{"LOGISTIC_REGRESSION", nil, 0.6})
	if d.Media.Kind != "AUDIO" || *d.Media.SampleRate <= 0 || *d.Media.Coefficients <= 0 {
		t.Errorf("audio dataset: %+v", *d.Media)
	}
	mediaErrors(t, srv, "uploadAudioDataset", "predictAudio", "predictImage", m.ID, files[0])
}

func errorText(e *string) string {
	if e == nil {
		return ""
	}
	return *e
}

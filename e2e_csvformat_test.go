package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

type csvFormatJSON struct {
	Delimiter        string `json:"delimiter"`
	Detected         bool   `json:"detected"`
	DecimalSeparator string `json:"decimalSeparator"`
}

type csvDatasetJSON struct {
	ID       string `json:"id"`
	RowCount int    `json:"rowCount"`
	Columns  []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	CSVFormat *csvFormatJSON   `json:"csvFormat"`
	Preview   []map[string]any `json:"preview"`
}

const csvDatasetFields = `id rowCount columns { name type } csvFormat { delimiter detected decimalSeparator } preview(first: 100)`

// columnsOf is "name:TYPE" of each column.
func (d csvDatasetJSON) columnsOf() []string {
	var out []string
	for _, c := range d.Columns {
		out = append(out, c.Name+":"+c.Type)
	}
	return out
}

// createCSV runs createDataset with the given delimiter (nil to detect).
func (s *testServer) createCSV(name, csv string, delimiter any) gqlResponse {
	s.t.Helper()
	return s.do(`mutation($name: String!, $csv: String!, $delimiter: CsvDelimiter) {
	  createDataset(input: {name: $name, csv: $csv, delimiter: $delimiter}) { `+csvDatasetFields+` } }`,
		map[string]any{"name": name, "csv": csv, "delimiter": delimiter})
}

func decodeDataset(t *testing.T, out gqlResponse, field string) csvDatasetJSON {
	t.Helper()
	if len(out.Errors) > 0 {
		t.Fatalf("%s: %+v", field, out.Errors)
	}
	var data map[string]csvDatasetJSON
	if err := json.Unmarshal(out.Data, &data); err != nil {
		t.Fatal(err)
	}
	return data[field]
}

// A European spreadsheet's export: semicolons, decimal commas, a quoted
// field holding both.
const semicolonCSV = "Länge;Breite;Art\n5,1;3,5;setosa\n4,9;3;setosa\n7;3,2;versicolor\n6,4;3,2;versicolor\n" +
	"6,3;3,3;virginica\n5,8;2,7;\"virginica; 2,7\"\n"

// TestCSVDelimiters: createDataset and uploadDataset tell the delimiter
// (and decimal commas) from the file, or use the one given; the dataset
// says which, also after a restart; predict reads csv rows with the
// model's dataset's delimiter.
func TestCSVDelimiters(t *testing.T) {
	srv := newServer(t)

	semi := decodeDataset(t, srv.createCSV("semicolons", semicolonCSV, nil), "createDataset")
	if got, want := semi.columnsOf(), []string{"Länge:NUMERIC", "Breite:NUMERIC", "Art:CATEGORICAL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("semicolon CSV: columns %v, want %v", got, want)
	}
	if want := (csvFormatJSON{"SEMICOLON", true, ","}); semi.CSVFormat == nil || *semi.CSVFormat != want {
		t.Errorf("semicolon CSV: csvFormat %+v, want %+v", semi.CSVFormat, want)
	}
	if semi.RowCount != 6 || semi.Preview[0]["Länge"] != 5.1 || semi.Preview[1]["Breite"] != 3.0 || semi.Preview[5]["Art"] != "virginica; 2,7" {
		t.Errorf("semicolon CSV: %d rows, preview %v", semi.RowCount, semi.Preview)
	}

	// A tab-separated upload, streamed from the multipart file.
	tsv := "id\tnote, free\tscore\n1\ta, b\t0.5\n2\tc|d\t1.5\n3\te;f\t-2\n"
	const uploadFields = `mutation($name: String!, $file: Upload!, $delimiter: CsvDelimiter) {
	  uploadDataset(name: $name, file: $file, delimiter: $delimiter) { ` + csvDatasetFields + ` } }`
	tab := decodeDataset(t, srv.upload(uploadFields, map[string]any{"name": "tabs"}, "file", "data.tsv", []byte(tsv)), "uploadDataset")
	if got, want := tab.columnsOf(), []string{"id:NUMERIC", "note, free:CATEGORICAL", "score:NUMERIC"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tab upload: columns %v, want %v", got, want)
	}
	if want := (csvFormatJSON{"TAB", true, "."}); tab.CSVFormat == nil || *tab.CSVFormat != want {
		t.Errorf("tab upload: csvFormat %+v, want %+v", tab.CSVFormat, want)
	}

	// A given delimiter is used as given: here the whole line is one
	// field with commas.
	given := decodeDataset(t, srv.createCSV("given", "x;y\n1;2\n3;4\n", "COMMA"), "createDataset")
	if got := given.columnsOf(); !reflect.DeepEqual(got, []string{"x;y:CATEGORICAL"}) || *given.CSVFormat != (csvFormatJSON{"COMMA", false, "."}) {
		t.Errorf("given COMMA: columns %v, csvFormat %+v", got, given.CSVFormat)
	}
	// and decides what detection cannot.
	const ambiguous = "a,b;c\n1,2;3\n4,5;6\n"
	pipe := decodeDataset(t, srv.createCSV("given pipe", ambiguous, "SEMICOLON"), "createDataset")
	if got := pipe.columnsOf(); !reflect.DeepEqual(got, []string{"a,b:NUMERIC", "c:NUMERIC"}) || pipe.Preview[1]["a,b"] != 4.5 {
		t.Errorf("given SEMICOLON: columns %v, preview %v", got, pipe.Preview)
	}
	up := decodeDataset(t, srv.upload(uploadFields, map[string]any{"name": "given upload", "delimiter": "PIPE"}, "file", "x.csv", []byte("a,b|c\n1,2|3\n")), "uploadDataset")
	if got := up.columnsOf(); !reflect.DeepEqual(got, []string{"a,b:CATEGORICAL", "c:NUMERIC"}) || *up.CSVFormat != (csvFormatJSON{"PIPE", false, "."}) {
		t.Errorf("given PIPE upload: columns %v, csvFormat %+v", got, up.CSVFormat)
	}

	// Undecidable, as text and as a file: refused, naming what each
	// delimiter gave.
	q := `mutation($csv: String!) { createDataset(input: {name: "x", csv: $csv}) { id } }`
	srv.mustFail(q, map[string]any{"csv": ambiguous}, "BAD_USER_INPUT",
		"cannot tell the CSV's delimiter", "2 fields with ','", "2 fields with ';'", "considered ',', ';', tab and '|'")
	srv.mustFail(q, map[string]any{"csv": "a,b;c;d\n1,2\n3;4;5\n"}, "BAD_USER_INPUT",
		"3 fields with ';'", "with ',' line 3 has 1", "with ';' line 2 has 1")
	bad := srv.upload(uploadFields, map[string]any{"name": "ambiguous"}, "file", "x.csv", []byte(ambiguous))
	if len(bad.Errors) == 0 || bad.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(bad.Errors[0].Message, "cannot tell the CSV's delimiter") {
		t.Errorf("ambiguous upload: %+v", bad.Errors)
	}
	srv.mustFail(q, map[string]any{"csv": "a;b\n1,5;2.5\n"}, "BAD_USER_INPUT", `"1,5" has a decimal comma`, `"2.5" a decimal point`)
	srv.mustFail(`mutation { createDataset(input: {name: "x", csv: "a\n1", delimiter: COLON}) { id } }`, nil, "GRAPHQL_VALIDATION_FAILED", "COLON")

	// Predict reads csv rows with semicolons, the model's dataset's
	// delimiter, even where commas would give as many values; commas
	// still read as commas; a delimiter given is used.
	m := srv.train(map[string]any{"datasetId": semi.ID, "target": "Art", "algorithm": "KNN", "params": map[string]any{"k": 1},
		"split": map[string]any{"method": "NONE"}})
	if m.Status != "READY" {
		t.Fatalf("model on the semicolon dataset: %s %v", m.Status, errorText(m.Error))
	}
	for _, tc := range []struct {
		csv       string
		delimiter any
		want      [][2]float64 // Länge, Breite
	}{
		{"5,1;3,5\n7;3,2", nil, [][2]float64{{5.1, 3.5}, {7, 3.2}}},
		// With commas too each row has two values.
		{"5,1;3\n7;3,2", nil, [][2]float64{{5.1, 3}, {7, 3.2}}},
		{"5.1,3.5\n7,3.2", nil, [][2]float64{{5.1, 3.5}, {7, 3.2}}},
		{"5.1|3.5\n7|3.2", "PIPE", [][2]float64{{5.1, 3.5}, {7, 3.2}}},
		{"5,1;3\n7;3,2", "COMMA", nil},
	} {
		input := map[string]any{"modelId": m.ID, "csv": tc.csv, "delimiter": tc.delimiter}
		if tc.want == nil {
			srv.mustFail(predictMutation, map[string]any{"input": input}, "BAD_USER_INPUT", `"1;3" is not a number`)
			continue
		}
		p := srv.predict(input)
		var got [][2]float64
		for _, in := range p.Inputs {
			l, _ := in["Länge"].(float64)
			b, _ := in["Breite"].(float64)
			got = append(got, [2]float64{l, b})
		}
		if !reflect.DeepEqual(got, tc.want) || *p.Outputs[1].Label != "versicolor" {
			t.Errorf("predict %q (delimiter %v): inputs %v, outputs %+v", tc.csv, tc.delimiter, p.Inputs, p.Outputs)
		}
	}
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": m.ID, "csv": "5,1;3.5"}}, "BAD_USER_INPUT", "decimal comma")

	// predictDataset's scoring of a dataset keeps its format; a media
	// dataset has none.
	var scored struct{ PredictDataset csvDatasetJSON }
	srv.mustDo(`mutation($m: ID!, $d: ID!) { predictDataset(modelId: $m, datasetId: $d) { `+csvDatasetFields+` } }`,
		map[string]any{"m": m.ID, "d": semi.ID}, &scored)
	if f := scored.PredictDataset.CSVFormat; f == nil || *f != *semi.CSVFormat {
		t.Errorf("scored dataset: csvFormat %+v, want %+v", f, semi.CSVFormat)
	}
	zipped, err := os.ReadFile("testdata/fashion_small.zip")
	if err != nil {
		t.Fatal(err)
	}
	out := srv.uploadFiles(`mutation($file: Upload!) { uploadImageDataset(name: "images", file: $file, options: {size: 4}) { id csvFormat { delimiter } } }`,
		map[string]any{"file": nil}, []uploadFile{{"file", "f.zip", zipped}})
	var images struct{ UploadImageDataset csvDatasetJSON }
	if len(out.Errors) > 0 || json.Unmarshal(out.Data, &images) != nil || images.UploadImageDataset.CSVFormat != nil {
		t.Errorf("image dataset: %+v %s", out.Errors, out.Data)
	}

	// The format is stored with the dataset.
	srv = srv.restart()
	for _, d := range []csvDatasetJSON{semi, tab, given, up, images.UploadImageDataset} {
		var again struct{ Dataset csvDatasetJSON }
		srv.mustDo(`query($id: ID!) { dataset(id: $id) { `+csvDatasetFields+` } }`, map[string]any{"id": d.ID}, &again)
		if !reflect.DeepEqual(again.Dataset.CSVFormat, d.CSVFormat) {
			t.Errorf("dataset %s after a restart: csvFormat %+v, want %+v", d.ID, again.Dataset.CSVFormat, d.CSVFormat)
		}
	}
	p := srv.predict(map[string]any{"modelId": m.ID, "csv": "5,1;3,5", "save": false})
	if len(p.Inputs) != 1 || p.Inputs[0]["Länge"] != 5.1 {
		t.Errorf("predict after a restart: inputs %v", p.Inputs)
	}
}

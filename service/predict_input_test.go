package service

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/internal/csvdata"
	"mlgraph/ml"
)

// wantBadInput checks that err is BAD_USER_INPUT mentioning every part.
func wantBadInput(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.BadInput {
		t.Fatalf("%s: error %T %v is not BAD_USER_INPUT", what, err, err)
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("%s: error %q does not mention %q", what, e.Message, p)
		}
	}
}

func packFloats(rows [][]float64) string {
	var b []byte
	for _, r := range rows {
		for _, v := range r {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestPredictInputsFollowTheRuleForNumbers: every form of predict input
// takes ±ml.MaxAbsValue and refuses what is beyond it or not finite, with
// one message naming the row (from 1) and the column.
func TestPredictInputsFollowTheRuleForNumbers(t *testing.T) {
	models, err := fuzzModels()
	if err != nil {
		t.Fatal(err)
	}
	numeric, mixed := models[3], models[0] // features x, z; x, color
	noLimit := func(int) error { return nil }
	huge := 1.5e150
	const bound = "is not a finite number within ±1e+150"

	// At the bound: accepted everywhere.
	ok := map[string]func() ([]*ml.Column, error){
		"rows": func() ([]*ml.Column, error) { return columnsFromRows(numeric, [][]float64{{1, 2}, {1e150, -1e150}}) },
		"records": func() ([]*ml.Column, error) {
			return columnsFromRecords(numeric, []any{map[string]any{"x": json.Number("-1e150"), "z": 1e150}})
		},
		"csv": func() ([]*ml.Column, error) {
			return columnsFromCSV(numeric, "1,2\n1e150,-1e150\n", csvdata.Comma, noLimit)
		},
		"packed": func() ([]*ml.Column, error) {
			return columnsFromPacked(numeric, packFloats([][]float64{{1e150, -1e150}}), noLimit)
		},
	}
	for what, f := range ok {
		if _, err := f(); err != nil {
			t.Errorf("%s at ±1e150: %v", what, err)
		}
	}

	for _, c := range []struct {
		what  string
		err   func() error
		parts []string
	}{
		{"rows", func() error {
			_, err := columnsFromRows(numeric, [][]float64{{1, 2}, {3, huge}})
			return err
		}, []string{"row 2", `column "z"`, "1.5e+150", bound}},
		{"rows, shape", func() error {
			_, err := columnsFromRows(numeric, [][]float64{{1, 2}, {3}})
			return err
		}, []string{"row 2 has 1 values"}},
		{"records", func() error {
			_, err := columnsFromRecords(mixed, []any{map[string]any{"x": 1, "color": "red"}, map[string]any{"x": json.Number("-2e150"), "color": "red"}})
			return err
		}, []string{"row 2", `column "x"`, "-2e150", bound}},
		{"records, out of float64 range", func() error {
			_, err := columnsFromRecords(mixed, []any{map[string]any{"x": json.Number("1e999"), "color": nil}})
			return err
		}, []string{"row 1", `column "x"`, "1e999", bound}},
		{"records, Infinity", func() error {
			_, err := columnsFromRecords(mixed, []any{map[string]any{"x": "Infinity", "color": nil}})
			return err
		}, []string{"row 1", `column "x"`, `"Infinity"`, bound}},
		{"records, not a number", func() error {
			_, err := columnsFromRecords(mixed, []any{map[string]any{"x": "wide", "color": nil}})
			return err
		}, []string{"row 1", `column "x"`, "expected a number"}},
		{"records, not an object", func() error {
			_, err := columnsFromRecords(mixed, []any{map[string]any{"x": 1, "color": nil}, 42})
			return err
		}, []string{"row 2", "object"}},
		{"csv", func() error {
			_, err := columnsFromCSV(numeric, "1,2\n3,1.5e150\n", csvdata.Comma, noLimit)
			return err
		}, []string{"row 2", `column "z"`, `"1.5e150"`, bound}},
		{"csv after a blank line", func() error {
			_, err := columnsFromCSV(numeric, "1,2\n\n3,inf\n", csvdata.Comma, noLimit)
			return err
		}, []string{"row 2 (line 3)", `column "z"`, `"inf"`, bound}},
		{"csv, quoted", func() error {
			_, err := columnsFromCSV(numeric, "\"1\",2\n-1e151,3\n", csvdata.Comma, noLimit)
			return err
		}, []string{"row 2", `column "x"`, `"-1e151"`, bound}},
		{"csv, shape", func() error {
			_, err := columnsFromCSV(numeric, "1,2\n3\n", csvdata.Comma, noLimit)
			return err
		}, []string{"row 2 has 1 values"}},
		{"packed", func() error {
			_, err := columnsFromPacked(numeric, packFloats([][]float64{{1, 2}, {3, 4}, {math.Inf(-1), 5}}), noLimit)
			return err
		}, []string{"row 3", `column "x"`, "-Inf", bound}},
		{"packed, beyond the bound", func() error {
			_, err := columnsFromPacked(numeric, packFloats([][]float64{{1, -huge}}), noLimit)
			return err
		}, []string{"row 1", `column "z"`, "-1.5e+150", bound}},
	} {
		wantBadInput(t, c.what, c.err(), c.parts...)
	}
}

// TestRecordsNeedEveryFeature: a record that omits a feature is an error
// naming it; an explicit null is a missing value, imputed as in training.
func TestRecordsNeedEveryFeature(t *testing.T) {
	models, err := fuzzModels()
	if err != nil {
		t.Fatal(err)
	}
	m := models[0] // features x and color, target y
	_, err = columnsFromRecords(m, []any{map[string]any{"x": 1, "color": "red"}, map[string]any{"y": 3}})
	wantBadInput(t, "no feature", err, "row 2", `"x", "color"`, "null")
	_, err = columnsFromRecords(m, []any{map[string]any{"x": 1}})
	wantBadInput(t, "no color", err, "row 1", `"color"`)
	if e, _ := apperr.As(err); strings.Contains(e.Message, `"x"`) {
		t.Errorf("names a feature given: %q", e.Message)
	}
	cols, err := columnsFromRecords(m, []any{map[string]any{"x": nil, "color": nil, "y": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !cols[0].IsMissing(0) || !cols[1].IsMissing(0) {
		t.Errorf("explicit nulls are not missing: %v %v", cols[0].Num, cols[1].Codes)
	}
	if _, err := m.Predict(cols); err != nil {
		t.Errorf("predict imputed: %v", err)
	}
}

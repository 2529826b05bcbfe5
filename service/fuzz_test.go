package service

// FuzzRecords feeds arbitrary JSON, decoded as gqlgen decodes predict's
// `records` and `rows` (numbers as json.Number), to the service's decoding
// of records and rows and then to Model.Predict. `go test ./service`
// replays the seeds and testdata/fuzz/FuzzRecords; bench/fuzz.sh runs it
// for minutes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/internal/csvdata"
	"mlgraph/ml"
)

// fuzzModels are small trained models: a regression, a classifier and a
// clustering on a numeric and a categorical feature, and a regression on
// numeric features only (the only kind rows can be sent to).
var fuzzModels = sync.OnceValues(func() ([]*ml.Model, error) {
	const n = 12
	x, z, y := make([]float64, n), make([]float64, n), make([]float64, n)
	codes, labels := make([]int32, n), make([]int32, n)
	for i := range n {
		x[i] = float64(i%7) - 2.5
		z[i] = float64(i*i%5) / 4
		codes[i] = int32(i % 3)
		if i == 4 {
			x[i], codes[i] = math.NaN(), -1 // missing values
		}
		y[i] = 2*float64(i%7) - float64(i%3) + 0.1*float64(i%2)
		labels[i] = int32(i % 2)
		if i%5 == 0 {
			labels[i] = 1 - labels[i]
		}
	}
	color := ml.NewCategorical("color", codes, []string{"red", "green", "blue"})
	mixed := []*ml.Column{ml.NewNumeric("x", x), color}
	numeric := []*ml.Column{ml.NewNumeric("x", x), ml.NewNumeric("z", z)}
	ctx := context.Background()
	var models []*ml.Model
	for _, c := range []struct {
		cfg      ml.TrainConfig
		features []*ml.Column
		target   *ml.Column
	}{
		{ml.TrainConfig{Algorithm: "LINEAR_REGRESSION"}, mixed, ml.NewNumeric("y", y)},
		{ml.TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, mixed, ml.NewCategorical("label", labels, []string{"no", "yes"})},
		{ml.TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 3, "nInit": 2}}, mixed, nil},
		{ml.TrainConfig{Algorithm: "RIDGE"}, numeric, ml.NewNumeric("y", y)},
	} {
		m, err := ml.Train(ctx, c.cfg, c.features, c.target)
		if err != nil {
			return nil, fmt.Errorf("train %s: %w", c.cfg.Algorithm, err)
		}
		models = append(models, m)
	}
	return models, nil
})

// decodeJSON decodes one JSON value with numbers as json.Number, as gqlgen
// decodes a request's variables.
func decodeJSON(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// rowsOf reads a JSON array of arrays of numbers as predict's rows. The
// strings "NaN", "Inf" and "-Inf" and out-of-range numbers (1e400) stand for
// the non-finite values a client library might still produce.
func rowsOf(v any) ([][]float64, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	rows := make([][]float64, len(list))
	for i, r := range list {
		cells, ok := r.([]any)
		if !ok {
			return nil, false
		}
		rows[i] = make([]float64, len(cells))
		for j, c := range cells {
			var s string
			switch c := c.(type) {
			case json.Number:
				s = string(c)
			case string:
				s = c
			default:
				return nil, false
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, false
			}
			rows[i][j] = f
		}
	}
	return rows, true
}

// checkBadInput checks that err is a BAD_USER_INPUT error whose message
// names the field at fault: a row (as ml.RowName names it) or a feature.
func checkBadInput(t *testing.T, m *ml.Model, what string, err error) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.BadInput {
		t.Fatalf("%s: error %T %q is not BAD_USER_INPUT", what, err, err)
	}
	msg := e.Message
	if namesRow.MatchString(msg) || strings.HasPrefix(msg, "csv") {
		return
	}
	for _, f := range m.Features {
		if strings.Contains(msg, strconv.Quote(f.Name)) {
			return
		}
	}
	t.Fatalf("%s: error %q names no field", what, msg)
}

var namesRow = regexp.MustCompile(`\brow [1-9][0-9]*\b`)

// predictAndCheck runs Predict on decoded columns as the service does and
// checks the outputs: finite, probabilities in [0, 1] summing to one, and
// JSON-encodable with the inputs (as a saved prediction is).
func predictAndCheck(t *testing.T, m *ml.Model, what string, cols []*ml.Column, inputs []any) {
	t.Helper()
	out, err := m.Predict(cols)
	if err != nil {
		checkBadInput(t, m, what+": Predict", badInput(err))
		return
	}
	res := outputs(m, out)
	if len(res) != len(inputs) {
		t.Fatalf("%s: %d outputs for %d inputs", what, len(res), len(inputs))
	}
	for i, o := range res {
		if o.Value != nil && (math.IsNaN(*o.Value) || math.IsInf(*o.Value, 0)) {
			t.Fatalf("%s: row %d (%v): predicted %v", what, i, inputs[i], *o.Value)
		}
		if m.Task == ml.Classification {
			sum := 0.0
			for _, p := range o.Probabilities {
				if !(p.Probability >= 0 && p.Probability <= 1) {
					t.Fatalf("%s: row %d (%v): probability of %q is %v", what, i, inputs[i], p.Label, p.Probability)
				}
				sum += p.Probability
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("%s: row %d (%v): probabilities sum to %v", what, i, inputs[i], sum)
			}
		}
	}
	if _, err := json.Marshal(inputs); err != nil {
		t.Fatalf("%s: inputs cannot be saved: %v", what, err)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("%s: outputs cannot be saved: %v", what, err)
	}
}

// FuzzRecords: arbitrary JSON sent as records (and, when it is a list of
// lists of numbers, as rows) to every small model never panics; errors are
// BAD_USER_INPUT naming the field; predictions are finite and encodable.
func FuzzRecords(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{}]`, `[null]`, `[1]`, `["x"]`, `[[1, 2]]`, `{}`,
		`[{"x": 1.5, "color": "red"}]`,
		`[{"x": "2.5", "color": "green", "y": 3}, {"x": null, "color": null}]`,
		`[{"x": 1, "color": "purple"}, {"color": 7}, {"x": -0}]`,
		`[{"x": "NaN"}]`, `[{"x": "Inf"}]`, `[{"x": 1e400}]`, `[{"x": " 4 "}]`, `[{"x": "0x10"}]`,
		`[{"x": 1e15, "color": "blue"}]`, `[{"x": -4.9e-324}]`, `[{"z": 1e-400}]`,
		`[{"x": true}]`, `[{"x": [1]}]`, `[{"color": {"a": 1}}]`, `[{"color": false}]`, `[{"color": 1e5}]`,
		`[{"colour": "red"}]`, `[{"label": "yes", "x": 0}]`, `[{"x": 1, "x": 2}]`,
		`[[1, 2], [3.5, -4]]`, `[[1]]`, `[[1e15, -1e15]]`, `[["NaN", 1]]`, `[["-Inf", 1]]`, `[[1e400, 0]]`,
		"1.5,red\n2,blue\n", "1.5,\n,\n", "\"1\",\"a,b\"\r\n", "1\n", "1,2,3\n", "x,red", "1e400,red", "NaN,red", "\n\n", "1,\"red\n",
	} {
		f.Add([]byte(s))
	}
	models, err := fuzzModels()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Any bytes, as the csv form.
		for _, m := range models {
			what := fmt.Sprintf("%s csv %q", m.Algorithm, data)
			cols, err := columnsFromCSV(m, string(data), csvdata.Comma, func(n int) error {
				if n > 1000 {
					return apperr.BadInputf("csv: too many rows")
				}
				return nil
			})
			if err != nil {
				checkBadInput(t, m, what, err)
				continue
			}
			predictAndCheck(t, m, what, cols, records(cols, nil))
		}
		v, ok := decodeJSON(data)
		if !ok {
			return
		}
		recs, _ := v.([]any)
		rows, isRows := rowsOf(v)
		for _, m := range models {
			if recs != nil {
				what := fmt.Sprintf("%s records %s", m.Algorithm, data)
				cols, err := columnsFromRecords(m, recs)
				inputs := records(cols, nil)
				if err != nil {
					checkBadInput(t, m, what, err)
				} else {
					if len(inputs) != len(recs) || len(cols) != len(m.Features) {
						t.Fatalf("%s: %d inputs and %d columns", what, len(inputs), len(cols))
					}
					predictAndCheck(t, m, what, cols, inputs)
				}
			}
			if isRows {
				what := fmt.Sprintf("%s rows %s", m.Algorithm, data)
				cols, err := columnsFromRows(m, rows)
				if err != nil {
					checkBadInput(t, m, what, err)
					continue
				}
				predictAndCheck(t, m, what, cols, records(cols, nil))
			}
		}
	})
}

// FuzzCSVPlainMatchesQuoted: the fast path for CSV without quotes gives
// the same columns and the same errors as the csv package's reader.
func FuzzCSVPlainMatchesQuoted(f *testing.F) {
	for _, s := range []string{"1.5,red\n2,blue\n", "1.5,\n,\n", "1\n", "1,2,3\n", "x,red", "\n\n1,a\n\n2,b", " 1 , b", "1e400,red", "1,,", ",", ""} {
		f.Add(s)
	}
	models, err := fuzzModels()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"1,5;red\n2;blue\n", "1;2,5\n", "1\t2\n", "1|2|3\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "\"\r") {
			return
		}
		text = strings.TrimRight(text, "\n")
		n := strings.Count(text, "\n") + 1
		for _, m := range models {
			for _, d := range csvdata.Delimiters {
				builder := func() *columnBuilder {
					b := newColumnBuilder(m, n)
					b.comma = d
					return b
				}
				plain, perr := builder().fillPlain(m, text, n)
				quoted, qerr := builder().fillQuoted(m, text, n)
				if (perr == nil) != (qerr == nil) || perr != nil && perr.Error() != qerr.Error() {
					t.Fatalf("%s %v %q: plain error %v, quoted error %v", m.Algorithm, d, text, perr, qerr)
				}
				if perr == nil && fmt.Sprint(records(plain, nil)) != fmt.Sprint(records(quoted, nil)) {
					t.Fatalf("%s %v %q: plain %v, quoted %v", m.Algorithm, d, text, records(plain, nil), records(quoted, nil))
				}
			}
		}
	})
}

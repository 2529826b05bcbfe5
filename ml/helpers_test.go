package ml

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testdataDir is the repository's shared test data.
const testdataDir = "../testdata"

// readCSV reads testdata/NAME.csv (header row, last column "target") into
// feature columns and the target column. A column whose non-empty cells
// all parse as numbers is numeric; any other is categorical, with levels
// in order of first appearance. Empty cells are missing.
func readCSV(t testing.TB, name string) (features []*Column, target *Column) {
	t.Helper()
	f, err := os.Open(filepath.Join(testdataDir, name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s.csv: %v", name, err)
	}
	header, rows := records[0], records[1:]
	cols := make([]*Column, len(header))
	for j, h := range header {
		cells := make([]string, len(rows))
		for i, r := range rows {
			cells[i] = r[j]
		}
		cols[j] = columnFromText(h, cells)
	}
	last := len(cols) - 1
	if header[last] != "target" {
		t.Fatalf("%s.csv: last column is %q, want target", name, header[last])
	}
	return cols[:last], cols[last]
}

// columnFromText builds a numeric column if every non-empty cell is a
// number, else a categorical one.
func columnFromText(name string, cells []string) *Column {
	num := make([]float64, len(cells))
	numeric := true
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			num[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			numeric = false
			break
		}
		num[i] = v
	}
	if numeric {
		return NewNumeric(name, num)
	}
	return NewStringColumn(name, Categorical, cells)
}

// readSplit reads testdata/NAME.split (one "train"/"test" line per data
// row) through CustomSplit.
func readSplit(t testing.TB, name string) (train, test []int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir, name+".split"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	train, test, err = CustomSplit(columnFromText("split", lines))
	if err != nil {
		t.Fatalf("%s.split: %v", name, err)
	}
	return train, test
}

// takeColumns returns the given rows of every column.
func takeColumns(cols []*Column, rows []int) []*Column {
	out := make([]*Column, len(cols))
	for j, c := range cols {
		out[j] = c.Take(rows)
	}
	return out
}

// sklearnResult is one entry of testdata/reference/sklearn.json.
type sklearnResult struct {
	Dataset string         `json:"dataset"`
	Model   string         `json:"model"`
	Metrics map[string]any `json:"metrics"`
	FitS    float64        `json:"fit_s"`
	Classes []string       `json:"classes"`
}

func sklearnMetric(t testing.TB, dataset, model, metric string) float64 {
	t.Helper()
	var ref struct {
		Results []sklearnResult `json:"results"`
	}
	readJSON(t, "reference/sklearn.json", &ref)
	for _, r := range ref.Results {
		if r.Dataset == dataset && r.Model == model {
			v, ok := r.Metrics[metric].(float64)
			if !ok {
				t.Fatalf("sklearn.json %s/%s has no metric %q", dataset, model, metric)
			}
			return v
		}
	}
	t.Fatalf("sklearn.json has no %s/%s", dataset, model)
	return 0
}

// sklearnCoefs is one entry of testdata/reference/coefficients.json. Coef
// is a flat list for regression and a list of rows for classification.
type sklearnCoefs struct {
	Dataset   string          `json:"dataset"`
	Model     string          `json:"model"`
	Features  []string        `json:"features"`
	Classes   []string        `json:"classes"`
	Coef      json.RawMessage `json:"coef"`
	Intercept json.RawMessage `json:"intercept"`
}

func sklearnCoefficients(t testing.TB, dataset, model string) sklearnCoefs {
	t.Helper()
	var ref struct {
		Models []sklearnCoefs `json:"models"`
	}
	readJSON(t, "reference/coefficients.json", &ref)
	for _, m := range ref.Models {
		if m.Dataset == dataset && m.Model == model {
			return m
		}
	}
	t.Fatalf("coefficients.json has no %s/%s", dataset, model)
	return sklearnCoefs{}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdataDir, path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// asInputError returns err as an *InputError, failing the test if it is not.
func asInputError(t testing.TB, err error) *InputError {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *InputError", err, err)
	}
	return ie
}

// wantInputError fails unless err is an *InputError whose message contains
// every one of parts.
func wantInputError(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want an *InputError mentioning %q", parts)
	}
	ie := asInputError(t, err)
	for _, p := range parts {
		if !strings.Contains(ie.Msg, p) {
			t.Errorf("error %q does not mention %q", ie.Msg, p)
		}
	}
}

func relDiff(got, want float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12)
}

// estimatorWith builds an algorithm's estimator from its default params
// with overrides, the way Train resolves them.
func estimatorWith(tb testing.TB, algorithm string, overrides map[string]any) Estimator {
	tb.Helper()
	params, err := ResolveParams(algorithm, overrides)
	if err != nil {
		tb.Fatal(err)
	}
	alg, _ := lookupAlgorithm(algorithm)
	return alg.newEstimator(params)
}

// benchmarkFit fits a new estimator per iteration on synthetic n×p data,
// for regression and for binary classification.
func benchmarkFit(b *testing.B, n, p int, newEstimator func() Estimator, report func(b *testing.B, e Estimator)) {
	for _, task := range []Task{Regression, Classification} {
		b.Run(string(task), func(b *testing.B) {
			x, y := syntheticRegression(n, p, 1)
			classes := 0
			if task == Classification {
				x, y = syntheticClassification(n, p, 1)
				classes = 2
			}
			for b.Loop() {
				e := newEstimator()
				if err := e.Fit(context.Background(), x, y, task, classes); err != nil {
					b.Fatal(err)
				}
				if report != nil {
					report(b, e)
				}
			}
		})
	}
}

// fitOnSplit trains cfg on a dataset's train rows (its .split file) and
// scores the model on the test rows; fit is the training time.
func fitOnSplit(tb testing.TB, dataset string, cfg TrainConfig) (m *Model, test *Metrics, fit time.Duration) {
	tb.Helper()
	features, target := readCSV(tb, dataset)
	trainRows, testRows := readSplit(tb, dataset)
	start := time.Now()
	m = trainOrFatal(tb, cfg, takeColumns(features, trainRows), target.Take(trainRows))
	fit = time.Since(start)
	test, err := m.Evaluate(takeColumns(features, testRows), target.Take(testRows))
	if err != nil {
		tb.Fatal(err)
	}
	return m, test, fit
}

// reloaded saves m and loads it back, as the service does.
func reloaded(tb testing.TB, m *Model) *Model {
	tb.Helper()
	data, err := m.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	loaded, err := LoadModel(data)
	if err != nil {
		tb.Fatal(err)
	}
	return loaded
}

// wideColumns returns p numeric features of n rows named like an image's
// pixels, with a deterministic pattern of values, and a target of k
// classes taking turns.
func wideColumns(p, n, k int) ([]*Column, *Column) {
	features := make([]*Column, p)
	for j := range features {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64((i*7 + j*3) % 11)
		}
		features[j] = NewNumeric(fmt.Sprintf("pixel_%d", j), v)
	}
	codes := make([]int32, n)
	levels := make([]string, k)
	for i := range codes {
		codes[i] = int32(i % k)
	}
	for c := range levels {
		levels[c] = string(rune('a' + c))
	}
	return features, NewCategorical("label", codes, levels)
}

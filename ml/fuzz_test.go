package ml

// Fuzz targets for the inputs that reach the ml package from outside:
// algorithm parameters (JSON), tiny training sets, column encodings and
// model encodings. `go test ./ml` replays the seeds below and the corpus
// under testdata/fuzz; bench/fuzz.sh runs them for minutes each.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// decodeParams decodes raw params as the server does: a JSON object whose
// numbers stay json.Number. ok is false for anything that is not one
// object.
func decodeParams(data []byte) (raw map[string]any, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	if v == nil {
		return nil, true // null params: all defaults
	}
	raw, ok = v.(map[string]any)
	return raw, ok
}

// checkResolved checks that out holds exactly the specs' parameters, each
// of its spec's type and within its range and choices.
func checkResolved(spec []ParamSpec, out map[string]any) error {
	if len(out) != len(spec) {
		return fmt.Errorf("%d resolved parameters for %d specs: %v", len(out), len(spec), out)
	}
	for _, s := range spec {
		v, ok := out[s.Name]
		if !ok {
			return fmt.Errorf("parameter %s missing from %v", s.Name, out)
		}
		switch s.Type {
		case ParamBool:
			if _, ok := v.(bool); !ok {
				return fmt.Errorf("BOOL parameter %s resolved to %T %v", s.Name, v, v)
			}
		case ParamString:
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("STRING parameter %s resolved to %T %v", s.Name, v, v)
			}
			if len(s.Choices) > 0 && !slices.Contains(s.Choices, str) {
				return fmt.Errorf("STRING parameter %s resolved to %q, not one of %v", s.Name, str, s.Choices)
			}
		case ParamInt, ParamFloat:
			var f float64
			switch x := v.(type) {
			case int:
				if s.Type != ParamInt {
					return fmt.Errorf("FLOAT parameter %s resolved to int %v", s.Name, x)
				}
				f = float64(x)
			case float64:
				if s.Type != ParamFloat {
					return fmt.Errorf("INT parameter %s resolved to float64 %v", s.Name, x)
				}
				f = x
			default:
				return fmt.Errorf("%s parameter %s resolved to %T %v", s.Type, s.Name, v, v)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("parameter %s resolved to %v", s.Name, f)
			}
			if !s.inRange(f) {
				return fmt.Errorf("parameter %s resolved to %v, outside%s", s.Name, f, s.rangeSuffix())
			}
		default:
			return fmt.Errorf("parameter %s has unknown type %q", s.Name, s.Type)
		}
	}
	return nil
}

// FuzzResolveParams: for every algorithm, params decoded from arbitrary
// JSON either resolve to a complete, typed, in-range set or fail with an
// *InputError; ResolveParams never panics.
func FuzzResolveParams(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `1`, `"x"`,
		`{"alpha": 0.5, "fitIntercept": false}`,
		`{"nEstimators": 10, "maxDepth": 3, "seed": 7}`,
		`{"nEstimators": 1e400}`, `{"alpha": -1e-400}`, `{"maxIter": 9007199254740993}`,
		`{"maxIter": 1.5}`, `{"maxIter": -0}`, `{"C": "1"}`, `{"C": true}`, `{"C": null}`,
		`{"kernel": "rbf", "gamma": 0}`, `{"kernel": "RBF"}`, `{"penalty": "elasticnet", "l1Ratio": 1}`,
		`{"hiddenLayerSizes": "64,32", "activation": "tanh"}`, `{"k": [3]}`, `{"k": {"v": 3}}`,
		`{"unknown": 1}`, `{"seed": 1, "seed": 2}`, `{"tol": 0x10}`, `{"tol": 1E-3}`,
	} {
		f.Add([]byte(s))
	}
	algs := Algorithms()
	f.Fuzz(func(t *testing.T, data []byte) {
		raw, ok := decodeParams(data)
		if !ok {
			return
		}
		for _, a := range algs {
			out, err := ResolveParams(a.Name, raw)
			if err != nil {
				if _, ok := errors.AsType[*InputError](err); !ok {
					t.Fatalf("%s: ResolveParams(%s): error %T is not an *InputError: %v", a.Name, data, err, err)
				}
				if err.Error() == "" {
					t.Fatalf("%s: ResolveParams(%s): empty error message", a.Name, data)
				}
				continue
			}
			if err := checkResolved(a.Params, out); err != nil {
				t.Fatalf("%s: ResolveParams(%s): %v", a.Name, data, err)
			}
			for name := range raw {
				if _, ok := out[name]; !ok {
					t.Fatalf("%s: ResolveParams(%s) accepted unknown parameter %q", a.Name, data, name)
				}
			}
			// Resolved params resolve to themselves (the model encoding
			// stores them and LoadModel resolves them again).
			again, err := ResolveParams(a.Name, out)
			if err != nil {
				t.Fatalf("%s: resolved params %v do not resolve again: %v", a.Name, out, err)
			}
			for k, v := range out {
				if again[k] != v {
					t.Fatalf("%s: parameter %s resolved to %v, then to %v", a.Name, k, v, again[k])
				}
			}
		}
	})
}

// fuzzBytes hands out the fuzz input a byte at a time, then zeros (so that
// short inputs give constant columns and duplicate rows).
type fuzzBytes struct{ b []byte }

func (r *fuzzBytes) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// fuzzSpecials are the values a cell byte below len(fuzzSpecials) stands for.
var fuzzSpecials = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	1e300, -1e300, 1e154, math.SmallestNonzeroFloat64, math.Copysign(0, -1),
	1e-300, 1e15 + 0.5, 0, 1, 2, -1,
}

// value reads one numeric cell: a special value, or a small number in
// steps of 1/8 (so equal values and ties are common).
func (r *fuzzBytes) value() float64 {
	c := r.next()
	if int(c) < len(fuzzSpecials) {
		return fuzzSpecials[c]
	}
	return float64(int(c)-128) / 8
}

// tinyDataset builds a dataset of 1..8 rows and 1..3 numeric features (plus
// optionally one categorical) from data, with a target for task.
func tinyDataset(data []byte, task Task, catFeature, catTarget bool) (features []*Column, target *Column) {
	r := &fuzzBytes{b: data}
	n := 1 + int(r.next()%8)
	p := 1 + int(r.next()%3)
	num := make([][]float64, p)
	for j := range num {
		num[j] = make([]float64, n)
	}
	var codes []int32
	if catFeature {
		codes = make([]int32, n)
	}
	var y []float64
	var yCodes []int32
	for i := range n {
		for j := range p {
			num[j][i] = r.value()
		}
		if catFeature {
			codes[i] = int32(r.next()%4) - 1
		}
		switch {
		case task == Regression:
			y = append(y, r.value())
		case task == Classification && catTarget:
			yCodes = append(yCodes, int32(r.next()%4)-1)
		case task == Classification:
			c := r.next()
			v := float64(c % 3)
			if c >= 0xf0 {
				v = fuzzSpecials[c&0xf]
			}
			y = append(y, v)
		}
	}
	for j := range num {
		features = append(features, NewNumeric(fmt.Sprintf("x%d", j), num[j]))
	}
	if catFeature {
		features = append(features, NewCategorical("c", codes, []string{"a", "b", "c"}))
	}
	switch {
	case task == Clustering:
	case yCodes != nil:
		target = NewCategorical("y", yCodes, []string{"p", "q", "r"})
	default:
		target = NewNumeric("y", y)
	}
	return features, target
}

// fastParams keeps each algorithm's defaults except those that make a
// tiny fit slow: fewer trees, iterations, restarts and hidden units.
func fastParams(a AlgorithmInfo) map[string]any {
	params := map[string]any{}
	for _, s := range a.Params {
		switch s.Name {
		case "nEstimators":
			params[s.Name] = 5
		case "maxIter":
			params[s.Name] = 100
		case "nInit":
			params[s.Name] = 2
		case "hiddenLayerSizes":
			params[s.Name] = "4"
		}
	}
	if a.Name == "KMEANS" {
		params["k"] = 2
	}
	return params
}

// probaSumTolerance is how far from one a row of probabilities may sum: a
// normalised softmax is exact to a few ulps. (exp(z − logΣexp z) alone is
// not: with log-likelihoods of magnitude L its rows are off by about ulp(L),
// 3e-5 for the L ≈ 1e12 that Gaussian naive Bayes reaches on near-constant
// columns.)
const probaSumTolerance = 1e-9

// checkOutput checks predictions for n rows: finite values, probabilities
// in [0, 1] summing to one, labels within the classes.
func checkOutput(m *Model, out *Output, n int) error {
	switch m.Task {
	case Regression:
		if len(out.Values) != n {
			return fmt.Errorf("%d values for %d rows", len(out.Values), n)
		}
		for i, v := range out.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("row %d: predicted %v", i, v)
			}
		}
	case Classification:
		r, c := out.Proba.Dims()
		if r != n || c != len(m.Classes) || len(out.Labels) != n {
			return fmt.Errorf("proba %d×%d and %d labels for %d rows and %d classes", r, c, len(out.Labels), n, len(m.Classes))
		}
		for i := range n {
			sum := 0.0
			for k := range c {
				p := out.Proba.At(i, k)
				if !(p >= 0 && p <= 1) {
					return fmt.Errorf("row %d: probability of class %q is %v", i, m.Classes[k], p)
				}
				sum += p
			}
			if math.Abs(sum-1) > probaSumTolerance {
				return fmt.Errorf("row %d: probabilities %v sum to %v", i, out.Proba.RawRowView(i), sum)
			}
			if l := out.Labels[i]; l < 0 || l >= c {
				return fmt.Errorf("row %d: label %d of %d classes", i, l, c)
			}
		}
	case Clustering:
		if len(out.Labels) != n {
			return fmt.Errorf("%d labels for %d rows", len(out.Labels), n)
		}
		for i, l := range out.Labels {
			if l < 0 || l >= len(m.Classes) {
				return fmt.Errorf("row %d: cluster %d of %d", i, l, len(m.Classes))
			}
		}
	}
	return nil
}

// watchdog crashes the process (so that the fuzzer records the input) if
// the returned stop is not called within d: an endless loop is a bug.
func watchdog(d time.Duration, what func() string) (stop func() bool) {
	return time.AfterFunc(d, func() { panic(fmt.Sprintf("still running after %v: %s", d, what())) }).Stop
}

// FuzzTrainTiny trains every algorithm on tiny fuzzed datasets (NaN, ±Inf,
// huge and tiny values, duplicate rows, constant columns, missing targets):
// Train never panics or hangs, and a trained model predicts finite values
// (probabilities in [0, 1] summing to one) on its training rows, and the
// same after a save and load.
func FuzzTrainTiny(f *testing.F) {
	algs := Algorithms()
	mixed := []byte{7, 1} // 8 rows: x0, x1, a category and a target each
	for i := range byte(8) {
		mixed = append(mixed, 120+i, 140+3*i%5, 16+i, 30+i)
	}
	for i := range algs {
		f.Add([]byte{5, 2, 130, 140, 150, 160, 170, 180, 120, 200, 90, 100, 140, 141, 142, 143}, uint8(i), uint8(0))
		f.Add(mixed, uint8(i), uint8(1+4+8))
	}
	f.Add([]byte{3, 0, 3, 3, 4, 4, 3, 3}, uint8(0), uint8(0))                       // ±MaxFloat64
	f.Add([]byte{3, 2, 5, 6, 7, 6, 5, 7, 5, 6, 7, 1}, uint8(0), uint8(4))           // ±1e300, 1e154
	f.Add([]byte{4, 0, 200, 200, 200, 200, 200, 200, 200, 200}, uint8(4), uint8(1)) // constant
	f.Add([]byte{2, 0, 1, 0, 2, 1}, uint8(1), uint8(0))                             // +Inf feature, NaN target
	f.Add([]byte{1, 0, 8, 9}, uint8(9), uint8(0))                                   // one row
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte, alg, mode uint8) {
		if len(data) > 64 {
			return
		}
		a := algs[int(alg)%len(algs)]
		task := a.Tasks[int(mode)%len(a.Tasks)]
		features, target := tinyDataset(data, task, mode&4 != 0, mode&8 != 0)
		cfg := TrainConfig{Algorithm: a.Name, Task: task, Params: fastParams(a)}
		stop := watchdog(10*time.Second, func() string { return fmt.Sprintf("Train %s %s on %v", a.Name, task, data) })
		m, err := Train(ctx, cfg, features, target)
		stop()
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Train %s: empty error message", a.Name)
			}
			return // an *InputError, or an internal failure reported as an error
		}
		n := features[0].Len()
		out, err := m.Predict(features)
		if err != nil {
			if _, ok := errors.AsType[*InputError](err); !ok {
				t.Fatalf("Predict %s on its training columns: %T %v", a.Name, err, err)
			}
			return // e.g. ±Inf in a row Train dropped for its missing target
		}
		if err := checkOutput(m, out, n); err != nil {
			t.Fatalf("%s %s trained on %v: %v", a.Name, task, describeColumns(features, target), err)
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary %s: %v", a.Name, err)
		}
		loaded, err := LoadModel(enc)
		if err != nil {
			t.Fatalf("LoadModel of a trained %s: %v\n%s", a.Name, err, enc)
		}
		again, err := loaded.Predict(features)
		if err != nil {
			t.Fatalf("Predict with the loaded %s: %v", a.Name, err)
		}
		if err := checkOutput(loaded, again, n); err != nil {
			t.Fatalf("loaded %s: %v", a.Name, err)
		}
	})
}

func describeColumns(features []*Column, target *Column) string {
	var b strings.Builder
	for _, c := range append(slices.Clone(features), target) {
		if c == nil {
			continue
		}
		if c.Type == Numeric {
			fmt.Fprintf(&b, "%s=%v ", c.Name, c.Num)
		} else {
			fmt.Fprintf(&b, "%s=%v%v ", c.Name, c.Codes, c.Levels)
		}
	}
	return b.String()
}

// FuzzColumnUnmarshal: arbitrary bytes never panic UnmarshalBinary; a
// failed decode leaves the column unchanged, and a successful one gives a
// valid column that encodes back to the same bytes.
func FuzzColumnUnmarshal(f *testing.F) {
	for _, c := range []*Column{
		NewNumeric("x", nil),
		NewNumeric("x", []float64{1, math.NaN(), -0.5, math.Inf(1), math.MaxFloat64}),
		NewCategorical("c", nil, nil),
		NewCategorical("c", []int32{0, 1, -1, 1}, []string{"a", "bb"}),
		NewCategorical("c", []int32{-1, -1}, []string{""}),
		NewText("t", []int32{1, 0, -1}, []string{"a short text", "another, with a comma"}),
		NewNumeric("pixels", []float64{0, 254, 17, math.NaN()}),
	} {
		data, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f})
	// Float64 cells (tag 1) that fit a byte: re-encoded as bytes (tag 4).
	f.Add(binary.LittleEndian.AppendUint64([]byte{1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, math.Float64bits(254)))
	f.Add([]byte{1, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 255, 7})              // bytes
	f.Add([]byte{1, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // text, truncated
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewNumeric("keep", []float64{42})
		if err := c.UnmarshalBinary(data); err != nil {
			if c.Name != "keep" || c.Type != Numeric || len(c.Num) != 1 || c.Num[0] != 42 || c.Codes != nil || c.Levels != nil {
				t.Fatalf("failed UnmarshalBinary (%v) changed the column to %+v", err, c)
			}
			return
		}
		if c.Name != "keep" {
			t.Fatalf("UnmarshalBinary changed the name to %q", c.Name)
		}
		if err := c.validate(); err != nil {
			t.Fatalf("decoded column is invalid: %v", err)
		}
		for i := range c.Len() {
			_ = c.Text(i)
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded column: %v", err)
		}
		if bytes.Equal(again, data) {
			return
		}
		// The one other form: float64 cells (tag 1) that all fit a byte
		// are written back as bytes (tag 4), decoding to the same bits.
		if data[1] != columnTagNumeric || again[1] != columnTagBytes {
			t.Fatalf("decoded %x, encoded back %x", data, again)
		}
		var back Column
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("bytes form %x of %x does not decode: %v", again, data, err)
		}
		if !slices.EqualFunc(back.Num, c.Num, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
			t.Fatalf("bytes form decodes to %v, want %v", back.Num, c.Num)
		}
	})
}

// fuzzModelSeeds returns valid model encodings: the stored format-1 models
// and a tiny model of every algorithm.
func fuzzModelSeeds(f *testing.F) [][]byte {
	paths, _ := filepath.Glob("../testdata/models/*.json")
	var seeds [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	for _, a := range Algorithms() {
		task := a.Tasks[0]
		data := []byte{5, 1}
		for i := range byte(6) {
			data = append(data, 130+7*i, 200-11*i, 16+i, 20+i)
		}
		features, target := tinyDataset(data, task, true, false)
		if a.Name == "CNN" { // needs the pixel columns of images
			features, target = barColumns(16, 1)
		}
		m, err := Train(context.Background(), TrainConfig{Algorithm: a.Name, Task: task, Params: fastParams(a)}, features, target)
		if err != nil {
			f.Fatalf("seed model %s: %v", a.Name, err)
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, enc)
	}
	// A text model: its vectorizer's state is decoded and checked too.
	text := NewStringColumn("t", Text, []string{"red apple pie", "green apple", "", "blue sky, red sky", "sky high"})
	label := NewStringColumn("y", Categorical, []string{"a", "a", "b", "b", "b"})
	for _, alg := range []string{"NAIVE_BAYES", "LOGISTIC_REGRESSION"} {
		m, err := Train(context.Background(), TrainConfig{Algorithm: alg, Params: map[string]any{},
			Text: &TextOptions{NgramMax: 2, CharNgramMin: 3}}, []*Column{text}, label)
		if err != nil {
			f.Fatalf("seed text model %s: %v", alg, err)
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, enc)
	}
	return seeds
}

// predictionColumns returns columns matching a model's features: three rows
// of the feature's statistics and a missing value, a known and an unseen
// level.
func predictionColumns(m *Model) []*Column {
	cols := make([]*Column, len(m.Features))
	for j, f := range m.Features {
		if f.Type == Numeric {
			cols[j] = NewNumeric(f.Name, []float64{f.Median, f.Max, math.NaN()})
			continue
		}
		if f.Type == Text && f.Text != nil && len(f.Text.Vocabulary) > 0 {
			cols[j] = NewStringColumn(f.Name, Text, []string{f.Text.Vocabulary[0] + " unseen words", "", strings.Join(f.Text.Vocabulary, " ")})
			continue
		}
		levels := []string{"\x00unseen"}
		codes := []int32{0, -1, 0}
		if len(f.Levels) > 0 {
			levels = append(levels, f.Levels[0])
			codes[2] = 1
		}
		cols[j] = NewCategorical(f.Name, codes, levels)
	}
	return cols
}

// FuzzLoadModel: arbitrary bytes never panic LoadModel, and a model it
// accepts predicts without panicking and encodes to a form it accepts
// again.
func FuzzLoadModel(f *testing.F) {
	for _, s := range fuzzModelSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":2,"algorithm":"RIDGE"}`))
	f.Add([]byte(`{"format":1,"algorithm":"RIDGE","task":"REGRESSION","params":{"alpha":-1},"preprocessor":{"Features":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadModel(data)
		if err != nil {
			if _, ok := errors.AsType[*InputError](err); ok {
				t.Fatalf("LoadModel error is an *InputError (stored data is not the caller's input): %v", err)
			}
			return
		}
		cols := predictionColumns(m)
		stop := watchdog(10*time.Second, func() string { return fmt.Sprintf("Predict with a model loaded from %q", data) })
		out, err := m.Predict(cols)
		stop()
		if err != nil {
			t.Fatalf("Predict with a loaded %s on its own schema: %v", m.Algorithm, err)
		}
		n := cols[0].Len()
		switch m.Task {
		case Regression:
			if len(out.Values) != n {
				t.Fatalf("%d values for %d rows", len(out.Values), n)
			}
		case Classification:
			if r, c := out.Proba.Dims(); r != n || c != len(m.Classes) {
				t.Fatalf("proba %d×%d for %d rows, %d classes", r, c, n, len(m.Classes))
			}
			for i, l := range out.Labels {
				if l < 0 || l >= len(m.Classes) {
					t.Fatalf("row %d: label %d of %d classes", i, l, len(m.Classes))
				}
			}
		case Clustering:
			for i, l := range out.Labels {
				if l < 0 || l >= len(m.Classes) {
					t.Fatalf("row %d: cluster %d of %d", i, l, len(m.Classes))
				}
			}
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a loaded %s: %v", m.Algorithm, err)
		}
		if _, err := LoadModel(enc); err != nil {
			t.Fatalf("a loaded %s re-encoded does not load: %v\n%s", m.Algorithm, err, enc)
		}
	})
}

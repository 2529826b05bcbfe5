package service

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/internal/csvdata"
	"mlgraph/ml"
	"mlgraph/store"
)

// PredictRequest is what predict asks for: exactly one of Rows, Records
// and CSV.
type PredictRequest struct {
	ModelID string
	Rows    [][]float64
	Records []any
	// CSV holds rows as CSV text without a header, values in the model's
	// feature order: the compact form for many rows. Delimiter separates
	// its fields; csvdata.Detect (zero) to detect it (see columnsFromCSV).
	CSV       *string
	Delimiter csvdata.Delimiter
	// Packed holds rows as base64 of little-endian float64s, row-major in
	// the model's feature order: the most compact form.
	Packed *string
	Save   bool
}

// Prediction is a predict call's inputs and outputs. ID is nil when the
// prediction was not saved.
type Prediction struct {
	ID        *int64
	ModelID   int64
	CreatedAt time.Time

	// The outputs are decoded from the store, or made on demand from the
	// model's raw output of a fresh prediction: a client asking for the
	// columnar lists (labels, probabilities) needs no object per row.
	fitted      *ml.Model
	raw         *ml.Output
	outputs     []PredictionOutput
	outputsOnce sync.Once

	// The inputs are records decoded from the store, or made on demand
	// from the feature columns of a fresh prediction: most callers never
	// ask for them, and a map per row is the largest cost of a prediction.
	columns    []*ml.Column
	inputs     []any
	inputsOnce sync.Once
}

// Inputs returns the inputs, one object of feature name to value per row
// (nil for a missing value).
func (p *Prediction) Inputs() []any {
	p.inputsOnce.Do(func() {
		if p.inputs == nil && p.columns != nil {
			p.inputs = records(p.columns, nil)
		}
	})
	return p.inputs
}

// Outputs returns one output per row.
func (p *Prediction) Outputs() []PredictionOutput {
	p.outputsOnce.Do(func() {
		if p.outputs == nil && p.raw != nil {
			p.outputs = outputs(p.fitted, p.raw)
		}
	})
	return p.outputs
}

// Labels returns each row's predicted label; nil for regression.
func (p *Prediction) Labels() []string {
	if p.raw != nil {
		if p.fitted.Task == ml.Regression {
			return nil
		}
		labels := make([]string, len(p.raw.Labels))
		for i, k := range p.raw.Labels {
			labels[i] = p.fitted.Classes[k]
		}
		return labels
	}
	outs := p.Outputs()
	if len(outs) == 0 || outs[0].Label == nil {
		return nil
	}
	labels := make([]string, len(outs))
	for i, o := range outs {
		labels[i] = *o.Label
	}
	return labels
}

// Values returns each row's predicted value; nil unless regression.
func (p *Prediction) Values() []float64 {
	if p.raw != nil {
		if p.fitted.Task != ml.Regression {
			return nil
		}
		return p.raw.Values
	}
	outs := p.Outputs()
	if len(outs) == 0 || outs[0].Value == nil {
		return nil
	}
	values := make([]float64, len(outs))
	for i, o := range outs {
		values[i] = *o.Value
	}
	return values
}

// Classes returns the classes of Probabilities, in order; nil unless
// classification.
func (p *Prediction) Classes() []string {
	if p.raw != nil {
		if p.fitted.Task != ml.Classification {
			return nil
		}
		return p.fitted.Classes
	}
	outs := p.Outputs()
	if len(outs) == 0 || len(outs[0].Probabilities) == 0 {
		return nil
	}
	classes := make([]string, len(outs[0].Probabilities))
	for c, cp := range outs[0].Probabilities {
		classes[c] = cp.Label
	}
	return classes
}

// Probabilities returns each row's class probabilities in the order of
// Classes; nil unless classification.
func (p *Prediction) Probabilities() [][]float64 {
	if p.raw != nil {
		if p.fitted.Task != ml.Classification {
			return nil
		}
		n, k := p.raw.Proba.Dims()
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = p.raw.Proba.RawRowView(i)[:k:k]
		}
		return rows
	}
	outs := p.Outputs()
	if len(outs) == 0 || len(outs[0].Probabilities) == 0 {
		return nil
	}
	k := len(outs[0].Probabilities)
	flat := make([]float64, len(outs)*k)
	rows := make([][]float64, len(outs))
	for i, o := range outs {
		rows[i] = flat[i*k : (i+1)*k : (i+1)*k]
		for c, cp := range o.Probabilities {
			rows[i][c] = cp.Probability
		}
	}
	return rows
}

// PredictionOutput is one row's prediction: Value for regression, Label
// and Probabilities for classification.
type PredictionOutput struct {
	Value         *float64           `json:"value,omitempty"`
	Label         *string            `json:"label,omitempty"`
	Cluster       *int               `json:"cluster,omitempty"`
	Probabilities []ClassProbability `json:"probabilities,omitempty"`
}

// ClassProbability is one class's predicted probability.
type ClassProbability struct {
	Label       string  `json:"label"`
	Probability float64 `json:"probability"`
}

// Predict runs a READY model on the given rows and saves the result unless
// asked not to.
func (s *Service) Predict(ctx context.Context, req PredictRequest) (*Prediction, error) {
	id, err := ParseID("model", req.ModelID)
	if err != nil {
		return nil, err
	}
	m, err := s.models.get(ctx, id)
	if err != nil {
		return nil, err
	}
	var cols []*ml.Column
	given := 0
	for _, set := range []bool{req.Rows != nil, req.Records != nil, req.CSV != nil, req.Packed != nil} {
		if set {
			given++
		}
	}
	switch {
	case given != 1:
		return nil, apperr.BadInputf("give exactly one of rows, records, csv and packed")
	case req.Rows != nil:
		if err := s.checkRowCount(len(req.Rows)); err != nil {
			return nil, err
		}
		cols, err = columnsFromRows(m.fitted, req.Rows)
	case req.Records != nil:
		if err := s.checkRowCount(len(req.Records)); err != nil {
			return nil, err
		}
		cols, err = columnsFromRecords(m.fitted, req.Records)
	case req.CSV != nil:
		delimiter := req.Delimiter
		if delimiter == csvdata.Detect {
			prefer, _ := csvdata.ParseDelimiter(m.rec.CSVDelimiter)
			if delimiter, err = csvdata.DetectRows(*req.CSV, len(m.fitted.Features), prefer); err != nil {
				return nil, err
			}
		}
		cols, err = columnsFromCSV(m.fitted, *req.CSV, delimiter, s.checkRowCount)
	default:
		cols, err = columnsFromPacked(m.fitted, *req.Packed, s.checkRowCount)
	}
	if err != nil {
		return nil, err
	}
	return s.predictColumns(ctx, id, m, cols, nil, req.Save)
}

// predictColumns runs model id on its feature columns and saves the
// prediction if asked. Inputs, if not nil, are what the prediction records
// as its inputs instead of the feature values (the files of a media
// prediction).
func (s *Service) predictColumns(ctx context.Context, id int64, m *loadedModel, cols []*ml.Column, inputs []any, save bool) (*Prediction, error) {
	out, err := m.fitted.Predict(cols)
	if err != nil {
		return nil, badInput(err)
	}
	p := &Prediction{ModelID: id, columns: cols, inputs: inputs, fitted: m.fitted, raw: out, CreatedAt: time.Now().UTC()}
	if !save {
		return p, nil
	}
	rec := &store.Prediction{ModelID: id}
	if rec.Inputs, err = json.Marshal(p.Inputs()); err != nil {
		return nil, fmt.Errorf("encode prediction inputs: %w", err)
	}
	if rec.Outputs, err = json.Marshal(p.Outputs()); err != nil {
		return nil, fmt.Errorf("encode prediction outputs: %w", err)
	}
	if err := s.predictions.save(ctx, rec); err != nil {
		return nil, fmt.Errorf("save prediction of model %d: %w", id, err)
	}
	p.ID, p.CreatedAt = &rec.ID, rec.CreatedAt
	return p, nil
}

// Predictions lists a model's saved predictions, newest first.
func (s *Service) Predictions(ctx context.Context, modelID int64, p store.Page) (*store.Paged[Prediction], error) {
	page, err := s.store.ListPredictions(ctx, modelID, p)
	if err != nil {
		return nil, err
	}
	out := &store.Paged[Prediction]{TotalCount: page.TotalCount, HasNextPage: page.HasNextPage, EndCursor: page.EndCursor, Cursors: page.Cursors}
	for _, rec := range page.Items {
		p := &Prediction{ID: &rec.ID, ModelID: rec.ModelID, CreatedAt: rec.CreatedAt}
		if err := json.Unmarshal(rec.Inputs, &p.inputs); err != nil {
			return nil, fmt.Errorf("decode inputs of prediction %d: %w", rec.ID, err)
		}
		if err := json.Unmarshal(rec.Outputs, &p.outputs); err != nil {
			return nil, fmt.Errorf("decode outputs of prediction %d: %w", rec.ID, err)
		}
		out.Items = append(out.Items, p)
	}
	return out, nil
}

func (s *Service) checkRowCount(n int) error {
	switch {
	case n == 0:
		return apperr.BadInputf("no rows to predict")
	case n > s.maxPredictRows:
		return apperr.BadInputf("%d rows in one predict call; the limit is %d", n, s.maxPredictRows)
	}
	return nil
}

// columnsFromRows builds feature columns from vectors in feature order.
func columnsFromRows(m *ml.Model, rows [][]float64) ([]*ml.Column, error) {
	p := len(m.Features)
	cols := make([]*ml.Column, p)
	for j, f := range m.Features {
		if f.Type != ml.Numeric {
			return nil, apperr.BadInputf("feature %q is %s: send records or csv instead of rows", f.Name, strings.ToLower(string(f.Type)))
		}
		cols[j] = ml.NewNumeric(f.Name, make([]float64, len(rows)))
	}
	for i, row := range rows {
		if len(row) != p {
			return nil, apperr.BadInputf("%s has %d values; the model expects %d features (%s)", ml.RowName(i), len(row), p, featureList(m))
		}
		for j, v := range row {
			if !ml.Usable(v) {
				return nil, badInput(ml.ValueError(ml.RowName(i), m.Features[j].Name, v))
			}
			cols[j].Num[i] = v
		}
	}
	return cols, nil
}

// columnsFromRecords builds feature columns from objects of feature name to
// value. Every feature must be there: a null value is missing (imputed as
// in training), while an absent one is an error, most likely a typo or a
// client that does not know the model's features. The target may be
// present and is ignored; any other unknown name is an error too.
func columnsFromRecords(m *ml.Model, records []any) ([]*ml.Column, error) {
	b := newColumnBuilder(m, len(records))
	for i, r := range records {
		record, ok := r.(map[string]any)
		if !ok {
			return nil, apperr.BadInputf("%s must be an object of feature name to value", ml.RowName(i))
		}
		given := 0
		for name, raw := range record {
			j, ok := b.index[name]
			if !ok {
				if name == m.Target {
					continue
				}
				return nil, apperr.BadInputf("%s: unknown feature %q; the model expects %s", ml.RowName(i), name, featureList(m))
			}
			given++
			if raw == nil {
				continue
			}
			if c := b.cols[j]; c.Type == ml.Numeric {
				v, err := toFloat(raw)
				if err != nil {
					return nil, apperr.BadInputf("%s, column %q: %v", ml.RowName(i), name, err)
				}
				if !ml.Usable(v) {
					return nil, badInput(ml.ValueError(ml.RowName(i), name, raw))
				}
				c.Num[i] = v
				continue
			}
			category, err := toCategory(raw)
			if err != nil {
				return nil, apperr.BadInputf("%s, column %q: %v", ml.RowName(i), name, err)
			}
			b.setCategory(j, i, category)
		}
		if given < len(m.Features) {
			return nil, missingFeatures(m, i, record)
		}
	}
	return b.cols, nil
}

// missingFeatures is the error for record i, which lacks some features.
func missingFeatures(m *ml.Model, i int, record map[string]any) error {
	var missing []string
	for _, f := range m.Features {
		if _, ok := record[f.Name]; !ok {
			missing = append(missing, strconv.Quote(f.Name))
		}
	}
	return apperr.BadInputf("%s lacks feature %s: give every feature, null for a value to impute as in training", ml.RowName(i), strings.Join(missing, ", "))
}

// columnsFromPacked builds feature columns from base64 of little-endian
// float64s, row-major in the model's feature order; NaN is missing.
func columnsFromPacked(m *ml.Model, text string, checkRows func(int) error) ([]*ml.Column, error) {
	p := len(m.Features)
	for _, f := range m.Features {
		if f.Type != ml.Numeric {
			return nil, apperr.BadInputf("packed: feature %q is %s: send records or csv instead", f.Name, strings.ToLower(string(f.Type)))
		}
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, apperr.BadInputf("packed: not base64: %v", err)
	}
	if p == 0 || len(raw)%(8*p) != 0 {
		return nil, apperr.BadInputf("packed: %d bytes is not a whole number of rows of %d float64 features (%d bytes each)", len(raw), p, 8*p)
	}
	n := len(raw) / (8 * p)
	if err := checkRows(n); err != nil {
		return nil, err
	}
	cols := make([]*ml.Column, p)
	for j, f := range m.Features {
		num := make([]float64, n)
		for i := range num {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*(i*p+j):]))
			if v == v && !ml.Usable(v) { // NaN is missing
				return nil, badInput(ml.ValueError(ml.RowName(i), f.Name, v))
			}
			num[i] = v
		}
		cols[j] = ml.NewNumeric(f.Name, num)
	}
	return cols, nil
}

// columnBuilder fills feature columns of n rows, all missing at first.
type columnBuilder struct {
	cols   []*ml.Column
	index  map[string]int     // feature name to column
	levels []map[string]int32 // per categorical or text column: value to code

	// CSV: the delimiter and, if numbers may have a decimal comma, the
	// first numbers with a decimal comma and with a decimal point.
	comma                      csvdata.Delimiter
	decimalComma, decimalPoint csvdata.Cell
}

func newColumnBuilder(m *ml.Model, n int) *columnBuilder {
	b := &columnBuilder{
		comma:  csvdata.Comma,
		cols:   make([]*ml.Column, len(m.Features)),
		index:  make(map[string]int, len(m.Features)),
		levels: make([]map[string]int32, len(m.Features)),
	}
	for j, f := range m.Features {
		b.index[f.Name] = j
		if f.Type == ml.Numeric {
			num := make([]float64, n)
			for i := range num {
				num[i] = math.NaN()
			}
			b.cols[j] = ml.NewNumeric(f.Name, num)
			continue
		}
		codes := make([]int32, n)
		for i := range codes {
			codes[i] = -1
		}
		b.cols[j] = &ml.Column{Name: f.Name, Type: f.Type, Codes: codes} // categorical or text
		b.levels[j] = make(map[string]int32)
	}
	return b
}

// setCategory sets row i of categorical column j.
func (b *columnBuilder) setCategory(j, i int, category string) {
	c := b.cols[j]
	code, seen := b.levels[j][category]
	if !seen {
		code = int32(len(c.Levels))
		b.levels[j][category] = code
		c.Levels = append(c.Levels, category)
	}
	c.Codes[i] = code
}

// fillPlain fills b from CSV text of n lines without quotes or carriage
// returns, with the same results and errors as the csv package's reader.
func (b *columnBuilder) fillPlain(m *ml.Model, text string, n int) ([]*ml.Column, error) {
	rows, lineNo := 0, 0
	comma := string(rune(b.comma))
	for line := range strings.Lines(text) {
		lineNo++
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			continue // the csv package skips empty lines too
		}
		values := strings.Count(line, comma) + 1
		if values != len(b.cols) {
			return nil, apperr.BadInputf("csv: %s has %d values; the model expects %d features (%s)", ml.RowAtLine(rows, lineNo), values, len(m.Features), featureList(m))
		}
		for j := range b.cols {
			cell, rest, _ := strings.Cut(line, comma)
			line = rest
			if err := b.set(j, rows, lineNo, cell); err != nil {
				return nil, err
			}
		}
		rows++
	}
	return b.trim(rows, n)
}

// set stores one CSV cell, of row (0-based) on line (1-based, for
// errors): empty is missing.
func (b *columnBuilder) set(j, row, line int, cell string) error {
	if cell == "" {
		return nil
	}
	c := b.cols[j]
	if c.Type != ml.Numeric {
		b.setCategory(j, row, cell)
		return nil
	}
	text := strings.TrimSpace(cell)
	var v float64
	var err error
	comma := b.comma.DecimalComma() && strings.IndexByte(text, ',') >= 0
	if comma {
		var ok bool
		if v, ok = csvdata.ParseDecimalComma(text); !ok {
			err = strconv.ErrSyntax
		}
	} else {
		v, err = strconv.ParseFloat(text, 64)
	}
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return apperr.BadInputf("csv: %s, column %q: %q is not a number", ml.RowAtLine(row, line), c.Name, cell)
	}
	if !ml.Usable(v) {
		return badInput(ml.ValueError(ml.RowAtLine(row, line), c.Name, cell))
	}
	c.Num[row] = v
	if b.comma.DecimalComma() {
		switch at := (csvdata.Cell{Row: line, Column: c.Name, Text: cell}); {
		case comma && b.decimalComma.Row == 0:
			b.decimalComma = at
		case !comma && b.decimalPoint.Row == 0 && csvdata.HasDecimalPoint(text):
			b.decimalPoint = at
		}
		if b.decimalComma.Row > 0 && b.decimalPoint.Row > 0 {
			return csvdata.MixedDecimalsError(b.decimalComma, b.decimalPoint)
		}
	}
	return nil
}

// trim cuts the columns, made for up to n rows, to the rows read.
func (b *columnBuilder) trim(rows, n int) ([]*ml.Column, error) {
	if rows == 0 {
		return nil, apperr.BadInputf("csv: no rows to predict")
	}
	if rows < n {
		for _, c := range b.cols {
			c.Num, c.Codes = c.Num[:min(rows, len(c.Num))], c.Codes[:min(rows, len(c.Codes))]
		}
	}
	return b.cols, nil
}

// columnsFromCSV builds feature columns from CSV rows without a header,
// fields separated by delimiter, in the model's feature order. An empty
// cell is missing; with semicolons, numbers may be written with a decimal
// comma (see csvdata.Delimiter.DecimalComma). checkRows bounds the row
// count before any column is made.
func columnsFromCSV(m *ml.Model, text string, delimiter csvdata.Delimiter, checkRows func(int) error) ([]*ml.Column, error) {
	text = strings.TrimRight(text, "\r\n")
	n := 0
	if text != "" {
		n = strings.Count(text, "\n") + 1 // quoted newlines make this an upper bound
	}
	if err := checkRows(n); err != nil {
		return nil, err
	}
	b := newColumnBuilder(m, n)
	b.comma = delimiter
	if !strings.ContainsAny(text, "\"\r") {
		// Unquoted, as numbers are: cells are split in place, without the
		// csv package's copy of every record.
		return b.fillPlain(m, text, n)
	}
	return b.fillQuoted(m, text, n)
}

// fillQuoted fills b from any CSV text of at most n rows, with the csv
// package's reader. Errors name the line, as fillPlain's do.
func (b *columnBuilder) fillQuoted(m *ml.Model, text string, n int) ([]*ml.Column, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma = rune(b.comma)
	r.FieldsPerRecord = len(m.Features)
	r.ReuseRecord = true
	rows := 0
	for ; ; rows++ {
		record, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) && errors.Is(perr.Err, csv.ErrFieldCount) {
				return nil, apperr.BadInputf("csv: %s has %d values; the model expects %d features (%s)", ml.RowAtLine(rows, perr.Line), len(record), len(m.Features), featureList(m))
			}
			return nil, apperr.BadInputf("csv: %v", err)
		}
		line, _ := r.FieldPos(0)
		for j, cell := range record {
			if err := b.set(j, rows, line, cell); err != nil {
				return nil, err
			}
		}
	}
	return b.trim(rows, n)
}

// toFloat reads a numeric feature's value: a JSON number or a numeric
// string. A number beyond the float64 range reads as ±Inf, "NaN" as NaN:
// whether it is usable is the caller's check.
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("expected a number, got %s", x)
		}
		return f, nil
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("expected a number, got %q", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("expected a number, got %s", jsonKind(v))
}

// toCategory reads a categorical feature's value: a string, or a number
// written as the CSV would have it.
func toCategory(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("expected a string, got %s", jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func featureList(m *ml.Model) string {
	names := make([]string, len(m.Features))
	for i, f := range m.Features {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// outputs turns the model's raw predictions into per-row outputs.
func outputs(m *ml.Model, out *ml.Output) []PredictionOutput {
	if m.Task == ml.Regression {
		res := make([]PredictionOutput, len(out.Values))
		for i := range out.Values {
			res[i].Value = &out.Values[i]
		}
		return res
	}
	res := make([]PredictionOutput, len(out.Labels))
	if m.Task == ml.Clustering {
		for i := range out.Labels {
			res[i].Label, res[i].Cluster = &m.Classes[out.Labels[i]], &out.Labels[i]
		}
		return res
	}
	for i, k := range out.Labels {
		res[i].Label = &m.Classes[k]
		probs := make([]ClassProbability, len(m.Classes))
		for c, label := range m.Classes {
			probs[c] = ClassProbability{Label: label, Probability: out.Proba.At(i, c)}
		}
		res[i].Probabilities = probs
	}
	return res
}

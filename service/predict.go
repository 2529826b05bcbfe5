package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// PredictRequest is what predict asks for: exactly one of Rows and Records.
type PredictRequest struct {
	ModelID string
	Rows    [][]float64
	Records []any
	Save    bool
}

// Prediction is a predict call's inputs and outputs. ID is nil when the
// prediction was not saved.
type Prediction struct {
	ID        *int64
	ModelID   int64
	Inputs    []any
	Outputs   []PredictionOutput
	CreatedAt time.Time
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
	var (
		cols   []*ml.Column
		inputs []any
	)
	switch {
	case (req.Rows == nil) == (req.Records == nil):
		return nil, apperr.BadInputf("give exactly one of rows and records")
	case req.Rows != nil:
		if err := s.checkRowCount(len(req.Rows)); err != nil {
			return nil, err
		}
		cols, inputs, err = columnsFromRows(m.fitted, req.Rows)
	default:
		if err := s.checkRowCount(len(req.Records)); err != nil {
			return nil, err
		}
		cols, inputs, err = columnsFromRecords(m.fitted, req.Records)
	}
	if err != nil {
		return nil, err
	}
	out, err := m.fitted.Predict(cols)
	if err != nil {
		return nil, badInput(err)
	}
	p := &Prediction{ModelID: id, Inputs: inputs, Outputs: outputs(m.fitted, out), CreatedAt: time.Now().UTC()}
	if !req.Save {
		return p, nil
	}
	rec := &store.Prediction{ModelID: id}
	if rec.Inputs, err = json.Marshal(p.Inputs); err != nil {
		return nil, fmt.Errorf("encode prediction inputs: %w", err)
	}
	if rec.Outputs, err = json.Marshal(p.Outputs); err != nil {
		return nil, fmt.Errorf("encode prediction outputs: %w", err)
	}
	if err := s.store.CreatePrediction(ctx, rec); err != nil {
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
		if err := json.Unmarshal(rec.Inputs, &p.Inputs); err != nil {
			return nil, fmt.Errorf("decode inputs of prediction %d: %w", rec.ID, err)
		}
		if err := json.Unmarshal(rec.Outputs, &p.Outputs); err != nil {
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
func columnsFromRows(m *ml.Model, rows [][]float64) ([]*ml.Column, []any, error) {
	p := len(m.Features)
	cols := make([]*ml.Column, p)
	for j, f := range m.Features {
		if f.Type != ml.Numeric {
			return nil, nil, apperr.BadInputf("feature %q is categorical: send records instead of rows", f.Name)
		}
		cols[j] = ml.NewNumeric(f.Name, make([]float64, len(rows)))
	}
	inputs := make([]any, len(rows))
	for i, row := range rows {
		if len(row) != p {
			return nil, nil, apperr.BadInputf("rows[%d] has %d values; the model expects %d features (%s)", i, len(row), p, featureList(m))
		}
		record := make(map[string]any, p)
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, apperr.BadInputf("rows[%d][%d] (%s) is not a finite number", i, j, m.Features[j].Name)
			}
			cols[j].Num[i] = v
			record[m.Features[j].Name] = v
		}
		inputs[i] = record
	}
	return cols, inputs, nil
}

// columnsFromRecords builds feature columns from objects of feature name to
// value. Absent and null values are missing; the target may be present and
// is ignored; any other unknown name is an error, since it is most likely a
// typo.
func columnsFromRecords(m *ml.Model, records []any) ([]*ml.Column, []any, error) {
	n := len(records)
	index := make(map[string]int, len(m.Features))
	cols := make([]*ml.Column, len(m.Features))
	levels := make([]map[string]int32, len(m.Features))
	for j, f := range m.Features {
		index[f.Name] = j
		if f.Type == ml.Numeric {
			num := make([]float64, n)
			for i := range num {
				num[i] = math.NaN()
			}
			cols[j] = ml.NewNumeric(f.Name, num)
		} else {
			codes := make([]int32, n)
			for i := range codes {
				codes[i] = -1
			}
			cols[j] = ml.NewCategorical(f.Name, codes, nil)
			levels[j] = make(map[string]int32)
		}
	}
	inputs := make([]any, n)
	for i, r := range records {
		record, ok := r.(map[string]any)
		if !ok {
			return nil, nil, apperr.BadInputf("records[%d] must be an object of feature name to value", i)
		}
		clean := make(map[string]any, len(m.Features))
		for name, raw := range record {
			j, ok := index[name]
			if !ok {
				if name == m.Target {
					continue
				}
				return nil, nil, apperr.BadInputf("records[%d]: unknown feature %q; the model expects %s", i, name, featureList(m))
			}
			if raw == nil {
				clean[name] = nil
				continue
			}
			c := cols[j]
			if c.Type == ml.Numeric {
				v, err := toFloat(raw)
				if err != nil {
					return nil, nil, apperr.BadInputf("records[%d].%s: %v", i, name, err)
				}
				c.Num[i] = v
				clean[name] = v
				continue
			}
			s, err := toCategory(raw)
			if err != nil {
				return nil, nil, apperr.BadInputf("records[%d].%s: %v", i, name, err)
			}
			code, seen := levels[j][s]
			if !seen {
				code = int32(len(c.Levels))
				levels[j][s] = code
				c.Levels = append(c.Levels, s)
			}
			c.Codes[i] = code
			clean[name] = s
		}
		for _, f := range m.Features {
			if _, ok := clean[f.Name]; !ok {
				clean[f.Name] = nil
			}
		}
		inputs[i] = clean
	}
	return cols, inputs, nil
}

// toFloat reads a numeric feature's value: a JSON number or a numeric string.
func toFloat(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, fmt.Errorf("%s is not a finite number", x)
		}
	case float64:
		f = x
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, fmt.Errorf("expected a number, got %q", x)
		}
	default:
		return 0, fmt.Errorf("expected a number, got %s", jsonKind(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", v)
	}
	return f, nil
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

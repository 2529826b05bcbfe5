package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// backgroundRows is the size of the training sample a model keeps to
// explain its predictions against.
const backgroundRows = 100

// Explanation explains one predicted row: Baseline (the model's mean
// prediction over the background sample) plus the contributions gives the
// prediction. For classification both are the probability of Class, the
// predicted class.
type Explanation struct {
	Row           int
	Class         *string
	Baseline      float64
	Prediction    float64
	Method        string
	Contributions []Contribution
}

// Contribution is how much one feature moved the prediction.
type Contribution struct {
	Feature string
	// Term, for a TEXT feature explained word by word, is the word or
	// n-gram; Value is then its TF-IDF weight in the row.
	Term *string
	// Value is the row's value of the feature: a number, a string, or nil.
	Value        any
	Contribution float64
}

// backgroundSample picks evenly spaced training rows as JSON records.
func backgroundSample(features []*ml.Column) (json.RawMessage, error) {
	n := features[0].Len()
	step := max(1, n/backgroundRows)
	var rows []int
	for i := 0; i < n && len(rows) < backgroundRows; i += step {
		rows = append(rows, i)
	}
	return recordsJSON(features, rows)
}

// Explain explains a prediction's rows, keeping each row's topK largest
// contributions (by size; 0 keeps all).
func (s *Service) Explain(ctx context.Context, p *Prediction, topK int) ([]Explanation, error) {
	if topK < 0 {
		return nil, apperr.BadInputf("topK must not be negative, got %d", topK)
	}
	m, err := s.models.get(ctx, p.ModelID)
	if err != nil {
		return nil, err
	}
	if m.fitted.Task == ml.Clustering {
		return nil, apperr.BadInputf("clustering predictions have no contributions")
	}
	background, err := s.background(ctx, m.rec)
	if err != nil {
		return nil, err
	}
	bg, err := columnsFromRecords(m.fitted, background)
	if err != nil {
		return nil, fmt.Errorf("background sample of model %d: %w", m.rec.ID, err)
	}
	rows := p.columns
	if rows == nil && m.media != nil {
		// A saved prediction of files keeps their names, not their pixels
		// or recordings.
		return nil, apperr.BadInputf("the contributions of a prediction of files are computed with the prediction only: ask for them in the same request")
	}
	if rows == nil {
		if rows, err = columnsFromRecords(m.fitted, p.Inputs()); err != nil {
			return nil, err
		}
	}
	explained, err := m.fitted.Explain(ctx, rows, bg, 0)
	if err != nil {
		return nil, badInput(err)
	}
	out := make([]Explanation, len(explained))
	for i, e := range explained {
		x := Explanation{Row: i, Baseline: e.Baseline, Prediction: e.Prediction, Method: e.Method}
		if e.Class != "" {
			class := e.Class
			x.Class = &class
		}
		for _, c := range e.Contributions {
			var value any = c.Text
			if !math.IsNaN(c.Value) {
				value = c.Value
			} else if c.Text == "" {
				value = nil
			}
			contribution := Contribution{Feature: c.Feature, Value: value, Contribution: c.Contribution}
			if c.Term != "" {
				term := c.Term
				contribution.Term = &term
			}
			x.Contributions = append(x.Contributions, contribution)
		}
		sort.SliceStable(x.Contributions, func(a, b int) bool {
			return math.Abs(x.Contributions[a].Contribution) > math.Abs(x.Contributions[b].Contribution)
		})
		if topK > 0 && len(x.Contributions) > topK {
			x.Contributions = x.Contributions[:topK]
		}
		out[i] = x
	}
	return out, nil
}

// background reads a model's background sample.
func (s *Service) background(ctx context.Context, rec *store.Model) ([]any, error) {
	full := rec
	if len(full.Background) == 0 {
		// The cached record may predate the column: read it afresh.
		var err error
		if full, err = s.store.GetModel(ctx, rec.ID); err != nil {
			return nil, err
		}
	}
	var records []any
	if len(full.Background) > 0 {
		if err := json.Unmarshal(full.Background, &records); err != nil {
			return nil, fmt.Errorf("decode background sample of model %d: %w", rec.ID, err)
		}
	}
	if len(records) == 0 {
		return nil, apperr.BadInputf("model %d has no background sample to explain against (trained before explanations existed)", rec.ID)
	}
	return records, nil
}

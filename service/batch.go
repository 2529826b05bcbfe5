package service

import (
	"context"
	"fmt"
	"strings"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// batchRows bounds the rows predicted at once, so that scoring a large
// dataset holds one chunk's design matrix, not the whole dataset's.
const batchRows = 1 << 16

// PredictDataset scores every row of a stored dataset with a READY model
// and saves the result as a new dataset: the original columns plus the
// predictions (as BigQuery ML's ML.PREDICT over a table does). Regression
// adds "prediction"; classification "predicted_label" and one
// "probability_<class>" per class; clustering "cluster". A name that is
// taken gets a numeric suffix.
func (s *Service) PredictDataset(ctx context.Context, modelID, datasetID string, name *string) (*store.Dataset, error) {
	mid, err := ParseID("model", modelID)
	if err != nil {
		return nil, err
	}
	m, err := s.models.get(ctx, mid)
	if err != nil {
		return nil, err
	}
	d, err := s.Dataset(ctx, datasetID)
	if err != nil {
		return nil, err
	}
	outName := fmt.Sprintf("%s scored by %s", d.Name, m.rec.Name)
	if name != nil {
		outName = *name
	}
	if outName, err = checkName("name", outName); err != nil {
		return nil, err
	}
	cols, err := s.loadColumns(ctx, d, columnNames(d))
	if err != nil {
		return nil, err
	}
	features, err := featureColumns(m.fitted, d, cols)
	if err != nil {
		return nil, err
	}
	added, err := predictColumns(ctx, m.fitted, features, d.RowCount)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, c := range cols {
		taken[c.Name] = true
	}
	for _, c := range added {
		c.Name = freeName(c.Name, taken)
		taken[c.Name] = true
	}
	// Its rows are those of d, read as d's were.
	return s.saveDataset(ctx, &store.Dataset{Name: outName, CSV: d.CSV}, append(cols, added...))
}

// featureColumns picks the model's features from a dataset by name. A
// column of another type is converted to the feature's (ml.Column.As): a
// categorical feature accepts a numeric column, its values as text, as
// predict's records do.
func featureColumns(m *ml.Model, d *store.Dataset, cols []*ml.Column) ([]*ml.Column, error) {
	out := make([]*ml.Column, len(m.Features))
	for j, f := range m.Features {
		i := columnIndex(d, f.Name)
		if i < 0 {
			return nil, apperr.BadInputf("dataset %d has no column %q, a feature of the model (features: %s)", d.ID, f.Name, featureList(m))
		}
		c := cols[i]
		if c.Type == f.Type {
			out[j] = c
			continue
		}
		converted, err := c.As(f.Type)
		if err != nil {
			return nil, apperr.BadInputf("column %q of dataset %d is %s but the model's feature is %s: %v", f.Name, d.ID, c.Type, f.Type, err)
		}
		out[j] = converted
	}
	return out, nil
}

// predictColumns predicts n rows in chunks and returns the output columns.
func predictColumns(ctx context.Context, m *ml.Model, features []*ml.Column, n int) ([]*ml.Column, error) {
	var (
		values []float64
		labels []int32
		probs  [][]float64
	)
	switch m.Task {
	case ml.Regression:
		values = make([]float64, n)
	default:
		labels = make([]int32, n)
		if m.Task == ml.Classification {
			probs = make([][]float64, len(m.Classes))
			for k := range probs {
				probs[k] = make([]float64, n)
			}
		}
	}
	for lo := 0; lo < n; lo += batchRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batchRows, n)
		rows := make([]int, hi-lo)
		for i := range rows {
			rows[i] = lo + i
		}
		out, err := m.Predict(takeAll(features, rows))
		if err != nil {
			return nil, badInput(err)
		}
		if values != nil {
			copy(values[lo:hi], out.Values)
		}
		for i, k := range out.Labels {
			labels[lo+i] = int32(k)
			for c := range probs {
				probs[c][lo+i] = out.Proba.At(i, c)
			}
		}
	}
	switch m.Task {
	case ml.Regression:
		return []*ml.Column{ml.NewNumeric("prediction", values)}, nil
	case ml.Clustering:
		return []*ml.Column{ml.NewCategorical("cluster", labels, m.Classes)}, nil
	}
	out := []*ml.Column{ml.NewCategorical("predicted_label", labels, m.Classes)}
	for k, class := range m.Classes {
		out = append(out, ml.NewNumeric("probability_"+class, probs[k]))
	}
	return out, nil
}

// freeName returns name, or name_2, name_3, … if taken.
func freeName(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for i := 2; ; i++ {
		candidate := fmt.Sprintf("%s_%d", strings.TrimSpace(name), i)
		if !taken[candidate] {
			return candidate
		}
	}
}

package service

import (
	"context"

	"mlgraph/ml"
	"mlgraph/store"
)

// Model returns a model's record.
func (s *Service) Model(ctx context.Context, id string) (*store.Model, error) {
	n, err := ParseID("model", id)
	if err != nil {
		return nil, err
	}
	return s.store.GetModel(ctx, n)
}

// Models lists models, newest first, optionally of one dataset.
func (s *Service) Models(ctx context.Context, datasetID *string, f store.ModelFilter, p store.Page) (*store.ModelPage, error) {
	if datasetID != nil {
		n, err := ParseID("dataset", *datasetID)
		if err != nil {
			return nil, err
		}
		f.DatasetID = &n
	}
	return s.store.ListModels(ctx, f, p)
}

// ModelsOfDataset lists the models trained on a dataset.
func (s *Service) ModelsOfDataset(ctx context.Context, datasetID int64, f store.ModelFilter, p store.Page) (*store.ModelPage, error) {
	f.DatasetID = &datasetID
	return s.store.ListModels(ctx, f, p)
}

// DeleteModel deletes a model with its state and predictions.
func (s *Service) DeleteModel(ctx context.Context, id string) (int64, error) {
	n, err := ParseID("model", id)
	if err != nil {
		return 0, err
	}
	if err := s.store.DeleteModel(ctx, n); err != nil {
		return 0, err
	}
	s.models.remove(n)
	return n, nil
}

// Fitted returns the fitted form of a READY model (from the cache), or nil
// for a model that is not READY.
func (s *Service) Fitted(ctx context.Context, rec *store.Model) (*ml.Model, error) {
	if rec.Status != StatusReady {
		return nil, nil
	}
	m, err := s.models.get(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	return m.fitted, nil
}

// ModelByID returns a model's record by its parsed id.
func (s *Service) ModelByID(ctx context.Context, id int64) (*store.Model, error) {
	return s.store.GetModel(ctx, id)
}

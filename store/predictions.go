package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"mlgraph/internal/apperr"
)

// CreatePrediction stores a prediction of model p.ModelID (NOT_FOUND if
// there is no such model). It fills in p.ID and p.CreatedAt.
func (s *Store) CreatePrediction(ctx context.Context, p *Prediction) error {
	id, createdAt := p.ID, p.CreatedAt
	if err := s.db.WithContext(ctx).Create(p).Error; err != nil {
		p.ID, p.CreatedAt = id, createdAt
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return apperr.NotFoundf("model", p.ModelID)
		}
		return fmt.Errorf("create prediction of model %d: %w", p.ModelID, err)
	}
	return nil
}

// CreatePredictions stores several predictions in one transaction, one
// commit for all (group commit: under load, many requests' records share
// one fsync). It returns one error per prediction: if the batch fails (say
// one model was deleted meanwhile), each is stored on its own, so that one
// bad record fails only its own request.
func (s *Store) CreatePredictions(ctx context.Context, ps []*Prediction) []error {
	errs := make([]error, len(ps))
	if len(ps) == 1 {
		errs[0] = s.CreatePrediction(ctx, ps[0])
		return errs
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.Create(ps).Error
	})
	if err == nil {
		return errs
	}
	for i, p := range ps {
		p.ID = 0
		errs[i] = s.CreatePrediction(ctx, p)
	}
	return errs
}

// ListPredictions returns a page of model modelID's predictions, newest
// first (NOT_FOUND if there is no such model).
func (s *Store) ListPredictions(ctx context.Context, modelID int64, p Page) (*PredictionPage, error) {
	byModel := func(q *gorm.DB) *gorm.DB { return q.Where("model_id = ?", modelID) }
	page, err := listPage(ctx, s.db, p, byModel, func(p *Prediction) int64 { return p.ID }, nil)
	if err != nil {
		return nil, fmt.Errorf("list predictions of model %d: %w", modelID, err)
	}
	// No predictions may mean no model: only then is it worth a look.
	if page.TotalCount == 0 {
		if _, err := s.GetModel(ctx, modelID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

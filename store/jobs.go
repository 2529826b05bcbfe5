package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// A training job moves its model QUEUED → TRAINING → READY | FAILED, and
// may be CANCELLED while QUEUED or TRAINING. Each move is one conditional
// UPDATE, so two instances (or a cancellation racing a worker) can never
// both win: the loser gets CONFLICT (or NOT_FOUND if the model is gone).

// setStatus moves model id from one of the statuses in from to status,
// with an error message (empty clears it).
func (s *Store) setStatus(ctx context.Context, id int64, from []string, status, reason string) error {
	db := s.scoped(ctx)
	result := db.Model(&Model{}).
		Where("id = ? AND status IN ?", id, from).
		Updates(map[string]any{"status": status, "error": storableReason(reason)})
	if result.Error != nil {
		return fmt.Errorf("set model %d %s: %w", id, status, result.Error)
	}
	if result.RowsAffected == 0 {
		return unfinishedModelError(db, id)
	}
	return nil
}

// StartModel marks a QUEUED model TRAINING.
func (s *Store) StartModel(ctx context.Context, id int64) error {
	return s.setStatus(ctx, id, []string{StatusQueued}, StatusTraining, "")
}

// CancelModel marks a QUEUED or TRAINING model CANCELLED, saying why.
func (s *Store) CancelModel(ctx context.Context, id int64, reason string) error {
	return s.setStatus(ctx, id, unfinishedStatuses, StatusCancelled, reason)
}

// RequeueModel marks a TRAINING model QUEUED again, as when its training
// was interrupted by a graceful shutdown: the next start resumes it.
func (s *Store) RequeueModel(ctx context.Context, id int64) error {
	return s.setStatus(ctx, id, []string{StatusTraining}, StatusQueued, "")
}

// ClaimQueuedModels makes this instance the owner of the QUEUED models of
// instances that are gone (as after a restart) and returns them, oldest
// first, for its workers to train.
func (s *Store) ClaimQueuedModels(ctx context.Context) ([]*Model, error) {
	var claimed []*Model
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ofGone, found, err := s.ofGoneInstances(tx, []string{StatusQueued})
		if err != nil || !found {
			return err
		}
		var ids []int64
		if err := tx.Model(&Model{}).Scopes(ofGone).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.Model(&modelTable{}).Where("id IN ?", ids).Update("instance_id", s.instance).Error; err != nil {
			return err
		}
		return tx.Where("id IN ?", ids).Order("id").Find(&claimed).Error
	})
	if err != nil {
		return nil, fmt.Errorf("claim queued models: %w", err)
	}
	return claimed, nil
}

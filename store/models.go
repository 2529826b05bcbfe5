package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"mlgraph/internal/apperr"
)

// ModelFilter selects models in lists and counts; the zero value selects all.
type ModelFilter struct {
	// DatasetID selects the models trained on that dataset.
	DatasetID *int64
	// NameContains selects names containing it, ignoring case.
	NameContains string
	// Algorithm, Task and Status select those values ("" selects all).
	Algorithm, Task, Status string
}

func (f ModelFilter) apply(q *gorm.DB) *gorm.DB {
	if f.DatasetID != nil {
		q = q.Where("dataset_id = ?", *f.DatasetID)
	}
	if f.NameContains != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, containsPattern(f.NameContains))
	}
	for column, value := range map[string]string{"algorithm": f.Algorithm, "task": f.Task, "status": f.Status} {
		if value != "" {
			q = q.Where(column+" = ?", value)
		}
	}
	return q
}

// modelSortKeys are the orders ListModels offers besides creation. A model
// that has not finished training sorts as if it took −1 ms.
var modelSortKeys = map[string]sortKey[Model]{
	"NAME":      {expr: "name", value: func(m *Model) any { return m.Name }},
	"ALGORITHM": {expr: "algorithm", value: func(m *Model) any { return m.Algorithm }},
	"TRAINING_TIME": {expr: "COALESCE(training_time_ms, -1)", value: func(m *Model) any {
		if m.TrainingTimeMs == nil {
			return int64(-1)
		}
		return *m.TrainingTimeMs
	}},
}

// CreateModel stores a new model, TRAINING unless m.Status says otherwise.
// It fills in m.ID and m.CreatedAt.
func (s *Store) CreateModel(ctx context.Context, m *Model) error {
	if m.Status == "" {
		m.Status = StatusTraining
	}
	if s.lease != nil {
		// The model is this instance's only while the lease is held: make
		// sure it is before the model can be found unfinished.
		if err := s.lease.hold(ctx); err != nil {
			return fmt.Errorf("create model %q: %w", m.Name, err)
		}
	}
	row := &modelTable{Model: *m, InstanceID: &s.instance}
	row.Project = projectForNew(ctx)
	if err := s.db.WithContext(ctx).Omit(clause.Associations).Create(row).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) && m.DatasetID != nil {
			return apperr.NotFoundf("dataset", *m.DatasetID)
		}
		if err := textError(err); apperr.CodeOf(err) != "" {
			return err
		}
		return fmt.Errorf("create model %q: %w", m.Name, err)
	}
	m.ID, m.CreatedAt, m.Project = row.ID, row.CreatedAt, row.Project
	return nil
}

// completedColumns are the columns that training fills in. The model's
// definition (name, dataset, algorithm, task, target) is left alone.
var completedColumns = []string{
	"status", "error", "features", "classes", "params", "split",
	"metrics", "training_metrics", "feature_importance", "cross_validation", "tuning",
	"trained_at", "training_time_ms", "prediction_micros_per_row", "report", "background",
}

// CompleteModel records the outcome of m's training in one transaction: m's
// training columns (see completedColumns) with status READY, and its fitted
// state in the given encoding format. TrainedAt defaults to now. The model
// must still be training: otherwise (say it failed, or was deleted, in the
// meantime) nothing changes and the error is CONFLICT (or NOT_FOUND).
func (s *Store) CompleteModel(ctx context.Context, m *Model, format int, state []byte) error {
	done := *m
	done.Status = StatusReady
	done.Error = ""
	trainedAt := s.db.NowFunc()
	if m.TrainedAt != nil {
		// Stored as NowFunc's times are, to read back equal.
		trainedAt = m.TrainedAt.UTC().Truncate(time.Microsecond)
	}
	done.TrainedAt = &trainedAt
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		result := tx.Model(&Model{ID: m.ID}).
			Where("status IN ?", unfinishedStatuses).
			Select(completedColumns).
			Updates(&done)
		if result.Error != nil {
			return result.Error
		}
		if result.RowsAffected == 0 {
			return unfinishedModelError(tx, m.ID)
		}
		// Upsert, so that retraining a model can replace its state.
		return tx.Omit(clause.Associations).
			Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "model_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"format", "data"}),
			}).
			Create(&modelState{ModelID: m.ID, Format: format, Data: state}).Error
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return err
		}
		return fmt.Errorf("complete model %d: %w", m.ID, err)
	}
	*m = done
	return nil
}

// FailModel marks a training model FAILED because of reason. Like
// CompleteModel, it leaves models that are no longer training alone.
func (s *Store) FailModel(ctx context.Context, id int64, reason string) error {
	db := s.db.WithContext(ctx)
	result := db.Model(&Model{}).
		Where("id = ? AND status IN ?", id, unfinishedStatuses).
		Updates(map[string]any{"status": StatusFailed, "error": storableReason(reason)})
	if result.Error != nil {
		return fmt.Errorf("fail model %d: %w", id, result.Error)
	}
	if result.RowsAffected == 0 {
		return unfinishedModelError(db, id)
	}
	return nil
}

// storableReason returns reason without NUL characters, which PostgreSQL
// text cannot hold: a reason quoting a client's column name must not keep
// the model from leaving TRAINING.
func storableReason(reason string) string {
	return strings.ReplaceAll(reason, "\x00", "\uFFFD")
}

// unfinishedModelError explains why model id could not leave training:
// NOT_FOUND, or CONFLICT naming the status it is in.
func unfinishedModelError(db *gorm.DB, id int64) error {
	var status string
	err := db.Model(&Model{}).Select("status").Where("id = ?", id).Take(&status).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apperr.NotFoundf("model", id)
	}
	if err != nil {
		return fmt.Errorf("get status of model %d: %w", id, err)
	}
	return apperr.Newf(apperr.Conflict, "model %d is not training (status %s)", id, status)
}

// FailInterruptedModels marks FAILED, because of reason, every model left
// unfinished by an instance (a Store, in this process or another) that is
// gone: its training died with it. It returns how many there were.
//
// The models of instances still open are left alone, so that a process
// starting next to others on the same PostgreSQL database does not fail
// their running trainings: an instance's models carry its id, and on
// PostgreSQL it holds an advisory lock on that id while open (see
// instanceLease). On SQLite every other instance is taken for gone, as an
// SQLite file serves one process. Models stored before instances were
// recorded count as gone.
func (s *Store) FailInterruptedModels(ctx context.Context, reason string) (int64, error) {
	var failed int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ofGone, found, err := s.ofGoneInstances(tx, []string{StatusTraining})
		if err != nil || !found {
			return err
		}
		result := tx.Model(&Model{}).Scopes(ofGone).
			Updates(map[string]any{"status": StatusFailed, "error": storableReason(reason)})
		failed = result.RowsAffected
		return result.Error
	})
	if err != nil {
		return 0, fmt.Errorf("fail interrupted models: %w", err)
	}
	return failed, nil
}

// ofGoneInstances returns a scope selecting the models in one of statuses
// whose instance is gone (see instanceGone), or of no known instance; found
// is false if there are none. Use the scope within tx: on PostgreSQL, the
// locks that show those instances gone are held until tx ends.
func (s *Store) ofGoneInstances(tx *gorm.DB, statuses []string) (scope func(*gorm.DB) *gorm.DB, found bool, err error) {
	var owners []sql.NullInt64
	err = tx.Model(&modelTable{}).Where("status IN ?", statuses).
		Distinct().Pluck("instance_id", &owners).Error
	if err != nil {
		return nil, false, fmt.Errorf("list instances with %v models: %w", statuses, err)
	}
	var gone []int64
	orphans := false
	for _, owner := range owners {
		if !owner.Valid {
			orphans = true
			continue
		}
		ok, err := s.instanceGone(tx, owner.Int64)
		if err != nil {
			return nil, false, err
		}
		if ok {
			gone = append(gone, owner.Int64)
		}
	}
	var cond string
	var args []any
	switch {
	case orphans && len(gone) > 0:
		cond, args = "(instance_id IS NULL OR instance_id IN ?)", []any{gone}
	case orphans:
		cond = "instance_id IS NULL"
	case len(gone) > 0:
		cond, args = "instance_id IN ?", []any{gone}
	default:
		return nil, false, nil
	}
	return func(q *gorm.DB) *gorm.DB {
		return q.Where("status IN ?", statuses).Where(cond, args...)
	}, true, nil
}

// GetModel returns the model with the given id, without its state.
func (s *Store) GetModel(ctx context.Context, id int64) (*Model, error) {
	var m Model
	if err := s.scoped(ctx).Take(&m, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, apperr.NotFoundf("model", id)
		}
		return nil, fmt.Errorf("get model %d: %w", id, err)
	}
	return &m, nil
}

// ModelsByIDs returns the models with the given ids that exist, by id (for
// batched loading).
func (s *Store) ModelsByIDs(ctx context.Context, ids []int64) (map[int64]*Model, error) {
	found := make(map[int64]*Model, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	var models []*Model
	if err := s.scoped(ctx).Where("id IN ?", ids).Find(&models).Error; err != nil {
		return nil, fmt.Errorf("get %d models: %w", len(ids), err)
	}
	for _, m := range models {
		found[m.ID] = m
	}
	return found, nil
}

// LoadModelState returns the fitted state of model id and the version of
// its encoding. A model without one (not READY) is a CONFLICT.
func (s *Store) LoadModelState(ctx context.Context, id int64) (format int, data []byte, err error) {
	db := s.db.WithContext(ctx)
	var state modelState
	err = db.Omit(clause.Associations).Where("model_id = ?", id).Take(&state).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		m, err := s.GetModel(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		return 0, nil, apperr.Newf(apperr.Conflict, "model %d has no trained state (status %s)", id, m.Status)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("load state of model %d: %w", id, err)
	}
	return state.Format, state.Data, nil
}

// ListModels returns a page of the models that f selects, newest first.
func (s *Store) ListModels(ctx context.Context, f ModelFilter, p Page) (*ModelPage, error) {
	filter := func(q *gorm.DB) *gorm.DB { return f.apply(inProject(ctx)(q)) }
	page, err := listPage(ctx, s.db, p, filter, func(m *Model) int64 { return m.ID }, modelSortKeys)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return page, nil
}

// CountModels counts the models that f selects.
func (s *Store) CountModels(ctx context.Context, f ModelFilter) (int64, error) {
	var n int64
	if err := f.apply(s.scoped(ctx).Model(&Model{})).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count models: %w", err)
	}
	return n, nil
}

// CountModelsByDataset counts the models trained on each of the given
// datasets (for batched loading); datasets without models count 0.
func (s *Store) CountModelsByDataset(ctx context.Context, datasetIDs []int64) (map[int64]int64, error) {
	counts := make(map[int64]int64, len(datasetIDs))
	if len(datasetIDs) == 0 {
		return counts, nil
	}
	var rows []struct {
		DatasetID int64
		Count     int64
	}
	err := s.scoped(ctx).Model(&Model{}).
		Select("dataset_id, COUNT(*) AS count").
		Where("dataset_id IN ?", datasetIDs).
		Group("dataset_id").
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count models of %d datasets: %w", len(datasetIDs), err)
	}
	for _, id := range datasetIDs {
		counts[id] = 0
	}
	for _, r := range rows {
		counts[r.DatasetID] = r.Count
	}
	return counts, nil
}

// DeleteModel deletes the model with its state and predictions.
func (s *Store) DeleteModel(ctx context.Context, id int64) error {
	result := s.scoped(ctx).Delete(&Model{}, id)
	if result.Error != nil {
		return fmt.Errorf("delete model %d: %w", id, result.Error)
	}
	if result.RowsAffected == 0 {
		return apperr.NotFoundf("model", id)
	}
	return nil
}

package service

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// CompareRequest asks to train several algorithms on the same data and
// split. Base gives the dataset, target, features, task and split; Params
// maps an algorithm's name to its params object.
type CompareRequest struct {
	Base       TrainRequest
	Algorithms []string
	Params     map[string]any
	Metric     string
}

// Leaderboard ranks models, best first.
type Leaderboard struct {
	Metric  string
	Task    string
	Entries []LeaderboardEntry
	// Complete is false while some model is still queued or training.
	Complete bool
}

// LeaderboardEntry is one model of a comparison.
type LeaderboardEntry struct {
	Rank      int
	Model     *store.Model
	Algorithm string
	// Score is the metric on the test rows; nil if training failed.
	Score          *float64
	TrainingTimeMs int64
	// PredictionMicrosPerRow is the time the model took to predict its
	// test rows, per row.
	PredictionMicrosPerRow *float64
}

// Compare checks every algorithm's request first (a mistake trains
// nothing), then queues one training each and ranks them. Without wait the
// board is not Complete: its models are QUEUED, to be ranked again with
// Leaderboard once trained.
func (s *Service) Compare(ctx context.Context, req CompareRequest, wait bool) (*Leaderboard, error) {
	algorithms := req.Algorithms
	if len(algorithms) == 0 {
		task, err := s.comparisonTask(ctx, req.Base)
		if err != nil {
			return nil, err
		}
		images, err := s.isImageDataset(ctx, req.Base.DatasetID)
		if err != nil {
			return nil, err
		}
		for _, a := range ml.Algorithms() {
			if a.Supports(task) && (images || !a.ImagesOnly) {
				algorithms = append(algorithms, a.Name)
			}
		}
	}
	for name := range req.Params {
		if !slices.Contains(algorithms, name) {
			return nil, apperr.BadInputf("params.%s: that algorithm is not in the comparison", name)
		}
	}
	plans := make([]*trainingPlan, len(algorithms))
	for i, name := range algorithms {
		if slices.Contains(algorithms[:i], name) {
			return nil, apperr.BadInputf("algorithm %s is listed twice", name)
		}
		r := req.Base
		r.Algorithm = name
		r.Params = nil
		if p, ok := req.Params[name]; ok {
			params, ok := p.(map[string]any)
			if !ok {
				return nil, apperr.BadInputf("params.%s must be an object", name)
			}
			r.Params = params
		}
		plan, err := s.planTraining(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if i > 0 && plan.config.Task != plans[0].config.Task {
			return nil, apperr.BadInputf("%s would train for %s but %s for %s: set task", name, plan.config.Task, algorithms[0], plans[0].config.Task)
		}
		plans[i] = plan
	}
	task := plans[0].config.Task
	metric, err := chooseMetric(req.Metric, task)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(plans))
	for i, plan := range plans {
		r := req.Base
		r.Algorithm, r.Params = plan.config.Algorithm, req.paramsOf(plan.config.Algorithm)
		rec, err := s.submit(ctx, plan, jobRequest{Kind: jobTrain, Train: &r}, false)
		if err != nil {
			return nil, err
		}
		ids[i] = rec.ID
	}
	if wait {
		if err := s.waitFor(ctx, ids); err != nil {
			return nil, err
		}
	}
	return s.leaderboard(ctx, ids, metric, task)
}

// paramsOf returns the params object given for an algorithm, if any.
func (req CompareRequest) paramsOf(algorithm string) map[string]any {
	p, _ := req.Params[algorithm].(map[string]any)
	return p
}

// Leaderboard ranks existing models of one task by a metric on their test
// rows (metric "" picks the task's default). Models not READY rank last.
func (s *Service) Leaderboard(ctx context.Context, modelIDs []string, metricEnumName string) (*Leaderboard, error) {
	if len(modelIDs) == 0 {
		return nil, apperr.BadInputf("modelIds must not be empty")
	}
	ids := make([]int64, len(modelIDs))
	var task ml.Task
	for i, id := range modelIDs {
		rec, err := s.Model(ctx, id)
		if err != nil {
			return nil, err
		}
		if i > 0 && ml.Task(rec.Task) != task {
			return nil, apperr.BadInputf("model %s is a %s model but model %s is %s: a leaderboard ranks one task", id, rec.Task, modelIDs[0], task)
		}
		ids[i], task = rec.ID, ml.Task(rec.Task)
	}
	metric, err := chooseMetric(metricEnumName, task)
	if err != nil {
		return nil, err
	}
	return s.leaderboard(ctx, ids, metric, task)
}

// leaderboard ranks the models' stored test metrics.
func (s *Service) leaderboard(ctx context.Context, ids []int64, metric ml.MetricInfo, task ml.Task) (*Leaderboard, error) {
	board := &Leaderboard{Metric: metricEnum(metric.Name), Task: string(task), Complete: true}
	for _, id := range ids {
		rec, err := s.store.GetModel(ctx, id)
		if err != nil {
			return nil, err
		}
		entry := LeaderboardEntry{Model: rec, Algorithm: rec.Algorithm, PredictionMicrosPerRow: rec.PredictionMicrosPerRow}
		if rec.TrainingTimeMs != nil {
			entry.TrainingTimeMs = *rec.TrainingTimeMs
		}
		if rec.Status == StatusQueued || rec.Status == StatusTraining {
			board.Complete = false
		}
		report, err := DecodeMetrics(rec.Metrics)
		if err != nil {
			return nil, err
		}
		if v, ok := metric.Value(report); ok {
			entry.Score = &v
		}
		board.Entries = append(board.Entries, entry)
	}
	sort.SliceStable(board.Entries, func(a, b int) bool {
		sa, sb := board.Entries[a].Score, board.Entries[b].Score
		if sa == nil || sb == nil {
			return sb == nil && sa != nil
		}
		return metric.Better(*sa, *sb)
	})
	for i := range board.Entries {
		board.Entries[i].Rank = i + 1
	}
	return board, nil
}

// waitFor waits until none of the models is queued or training here.
func (s *Service) waitFor(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		s.jobs.mu.Lock()
		j, ok := s.jobs.jobs[id]
		s.jobs.mu.Unlock()
		if !ok {
			continue
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// comparisonTask is the task of a comparison that lists no algorithms:
// the one asked for, clustering without a target, else by the target's type.
func (s *Service) comparisonTask(ctx context.Context, base TrainRequest) (ml.Task, error) {
	switch {
	case base.Task != "":
		return ml.Task(base.Task), nil
	case base.Target == "":
		return ml.Clustering, nil
	}
	d, err := s.Dataset(ctx, base.DatasetID)
	if err != nil {
		return "", err
	}
	i := columnIndex(d, base.Target)
	if i < 0 {
		return "", apperr.BadInputf("target column %q is not in dataset %d", base.Target, d.ID)
	}
	if d.Columns[i].Type == string(ml.Numeric) {
		return ml.Regression, nil
	}
	return ml.Classification, nil
}

// isImageDataset reports whether a dataset was made from images, which
// the ImagesOnly algorithms need.
func (s *Service) isImageDataset(ctx context.Context, id string) (bool, error) {
	d, err := s.Dataset(ctx, id)
	if err != nil {
		return false, err
	}
	media, err := DecodeMedia(d.Media)
	return media != nil && media.Kind == MediaImage, err
}

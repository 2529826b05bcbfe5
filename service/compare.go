package service

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

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

// Leaderboard ranks the models of a comparison, best first.
type Leaderboard struct {
	Metric  string
	Task    string
	Entries []LeaderboardEntry
}

// LeaderboardEntry is one model of a comparison.
type LeaderboardEntry struct {
	Rank      int
	Model     *store.Model
	Algorithm string
	// Score is the metric on the test rows; nil if training failed.
	Score          *float64
	TrainingTimeMs int64
	// PredictionMicrosPerRow is the time to predict the test rows, per row.
	PredictionMicrosPerRow *float64
}

// Compare checks every algorithm's request first (a mistake trains
// nothing), then trains them one after the other and ranks them.
func (s *Service) Compare(ctx context.Context, req CompareRequest) (*Leaderboard, error) {
	algorithms := req.Algorithms
	if len(algorithms) == 0 {
		task, err := s.comparisonTask(ctx, req.Base)
		if err != nil {
			return nil, err
		}
		for _, a := range ml.Algorithms() {
			if a.Supports(task) {
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
	board := &Leaderboard{Metric: req.Metric, Task: string(task)}
	if board.Metric == "" {
		board.Metric = metricEnum(metric.Name)
	}
	for _, plan := range plans {
		rec, fitted, err := s.train(ctx, plan)
		if err != nil {
			return nil, err
		}
		entry := LeaderboardEntry{Model: rec, Algorithm: rec.Algorithm}
		if rec.TrainingTimeMs != nil {
			entry.TrainingTimeMs = *rec.TrainingTimeMs
		}
		if fitted != nil {
			report, err := DecodeMetrics(rec.Metrics)
			if err != nil {
				return nil, err
			}
			if v, ok := metric.Value(report); ok {
				entry.Score = &v
			}
			start := time.Now()
			if _, err := fitted.Predict(plan.testX); err != nil {
				return nil, fmt.Errorf("time predictions of %s: %w", rec.Algorithm, err)
			}
			perRow := float64(time.Since(start).Microseconds()) / float64(plan.split.TestRows)
			entry.PredictionMicrosPerRow = &perRow
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

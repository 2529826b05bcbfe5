package ml

import (
	"context"
	"fmt"
	"slices"
)

// Folds assigns the rows of target to k folds for cross-validation and
// returns each fold's rows (ascending). Rows are shuffled with seed. For
// classification the folds are stratified like scikit-learn's
// StratifiedKFold: each class's rows are dealt round-robin across the folds
// in shuffled order, so every fold has about the same class proportions.
// Rows whose target is missing belong to no fold. For clustering target
// may be nil and n gives the row count.
func Folds(target *Column, n int, task Task, k int, seed uint64) ([][]int, error) {
	if target != nil {
		n = target.Len()
	}
	var rows []int
	for i := range n {
		if target == nil || !target.IsMissing(i) {
			rows = append(rows, i)
		}
	}
	if k < 2 {
		return nil, inputErrorf("cross-validation needs at least 2 folds, got %d", k)
	}
	if len(rows) < k {
		return nil, inputErrorf("cross-validation with %d folds needs at least %d rows, got %d", k, k, len(rows))
	}
	rng := newRand(int(seed))
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	folds := make([][]int, k)
	if task == Classification && target != nil {
		// Deal each class in turn, continuing the round-robin where the
		// previous class stopped, so fold sizes differ by at most one.
		byClass := map[string][]int{}
		var order []string
		for _, r := range rows {
			label := target.Text(r)
			if _, ok := byClass[label]; !ok {
				order = append(order, label)
			}
			byClass[label] = append(byClass[label], r)
		}
		slices.Sort(order)
		next := 0
		for _, label := range order {
			for _, r := range byClass[label] {
				folds[next] = append(folds[next], r)
				next = (next + 1) % k
			}
		}
	} else {
		for i, r := range rows {
			folds[i%k] = append(folds[i%k], r)
		}
	}
	for _, f := range folds {
		slices.Sort(f)
	}
	return folds, nil
}

// CrossValidation is the result of k-fold cross-validation.
type CrossValidation struct {
	Folds      int
	Seed       uint64
	Stratified bool
	// FoldMetrics are each fold's metrics on its held-out rows.
	FoldMetrics []*Metrics
	Mean, Std   *Metrics
}

// CrossValidate trains cfg on k−1 folds and evaluates on the remaining
// one, k times (see Folds), and summarises the k reports.
func CrossValidate(ctx context.Context, cfg TrainConfig, features []*Column, target *Column, k int, seed uint64) (*CrossValidation, error) {
	if len(features) == 0 {
		return nil, inputErrorf("no feature columns to cross-validate")
	}
	task := cfg.Task
	if task == "" {
		var err error
		if task, err = InferTask(cfg.Algorithm, target); err != nil {
			return nil, err
		}
	}
	folds, err := Folds(target, features[0].Len(), task, k, seed)
	if err != nil {
		return nil, err
	}
	cv := &CrossValidation{Folds: k, Seed: seed, Stratified: task == Classification}
	for f, test := range folds {
		var train []int
		for g, rows := range folds {
			if g != f {
				train = append(train, rows...)
			}
		}
		slices.Sort(train)
		m, err := Train(ctx, TrainConfig{Algorithm: cfg.Algorithm, Task: task, Params: cfg.Params},
			takeRowsOf(features, train), takeRowOf(target, train))
		if err != nil {
			return nil, fmt.Errorf("fold %d of %d: %w", f+1, k, err)
		}
		report, err := m.Evaluate(takeRowsOf(features, test), takeRowOf(target, test))
		if err != nil {
			return nil, fmt.Errorf("fold %d of %d: %w", f+1, k, err)
		}
		report.DropNonFinite()
		cv.FoldMetrics = append(cv.FoldMetrics, report)
	}
	cv.Mean, cv.Std = SummarizeMetrics(cv.FoldMetrics)
	return cv, nil
}

// takeRowsOf returns the given rows of each column.
func takeRowsOf(cols []*Column, rows []int) []*Column {
	out := make([]*Column, len(cols))
	for i, c := range cols {
		out[i] = c.Take(rows)
	}
	return out
}

// takeRowOf is Take for a column that may be nil (no target).
func takeRowOf(c *Column, rows []int) *Column {
	if c == nil {
		return nil
	}
	return c.Take(rows)
}

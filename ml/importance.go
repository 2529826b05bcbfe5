package ml

import (
	"context"
	"math"
)

// Importance methods.
const (
	ImportanceCoefficient = "COEFFICIENT"
	ImportanceImpurity    = "IMPURITY"
	ImportancePermutation = "PERMUTATION"
)

// FeatureImportance is how much one input feature matters to a model.
type FeatureImportance struct {
	Feature    string
	Importance float64
	Method     string
}

// permutationRepeats and permutationMaxRows bound the cost of permutation
// importance: each feature is shuffled that many times over at most that
// many rows. permutationBudget bounds the rows predicted in all (features ×
// repeats × rows, the cost of 20 features at the full settings): a model
// of many features, such as an image's pixels, gets fewer rows (down to
// permutationMinRows) and then fewer repeats, rather than an importance
// that costs more than its training.
const (
	permutationRepeats = 5
	permutationMaxRows = 2000
	permutationMinRows = 200
	permutationBudget  = 20 * permutationRepeats * permutationMaxRows
	// permutationMaxFeatures is the most features permutation importance
	// is computed for: past it (the pixels of an image) each feature's
	// share is noise, and a network's predictions over the budget cost
	// more than its training.
	permutationMaxFeatures = 256
)

// permutationPlan returns the rows and repeats of permutation importance
// for p features and n test rows (see permutationBudget).
func permutationPlan(p, n int) (rows, repeats int) {
	rows, repeats = min(n, permutationMaxRows), permutationRepeats
	if p*repeats*rows > permutationBudget {
		rows = min(rows, max(permutationMinRows, permutationBudget/(p*repeats)))
	}
	if p*repeats*rows > permutationBudget {
		repeats = max(1, permutationBudget/(p*rows))
	}
	return rows, repeats
}

// FeatureImportance measures how much each input feature matters, in
// m.Features order, by the best method the estimator allows:
//
//   - estimators that report impurity importance (trees, forests,
//     boosting): the mean decrease in impurity of each feature's design
//     columns, summed per feature (sums to one);
//   - linear estimators: |w|, the weights on standardised features
//     (comparable across features), averaged over weight rows and summed
//     over a feature's design columns, normalised to sum to one;
//   - any other estimator: permutation importance on the given rows (held
//     out rows make it honest), the mean drop of the task's default metric
//     (R² or accuracy) when the feature's values are shuffled, over a few
//     seeded repeats (can be negative: shuffling helped by chance); not
//     computed (nil) past permutationMaxFeatures features.
//
// Clustering models have no importance: it returns nil.
func (m *Model) FeatureImportance(ctx context.Context, features []*Column, target *Column, seed uint64) ([]FeatureImportance, error) {
	if m.Task == Clustering {
		return nil, nil
	}
	if imp, ok := m.est.(Importancer); ok {
		return m.perFeature(imp.FeatureImportances(), ImportanceImpurity, false), nil
	}
	if _, ok := m.est.(Linear); ok {
		coefs, _, _ := m.StandardizedCoefficients()
		byColumn := make([]float64, m.prep.Width())
		index := make(map[string]int, len(byColumn))
		for j, name := range m.prep.OutputNames() {
			index[name] = j
		}
		rows := map[string]bool{}
		for _, c := range coefs {
			byColumn[index[c.Feature]] += math.Abs(c.Weight)
			rows[c.Class] = true
		}
		for j := range byColumn {
			byColumn[j] /= float64(len(rows))
		}
		return m.perFeature(byColumn, ImportanceCoefficient, true), nil
	}
	if len(m.Features) > permutationMaxFeatures {
		return nil, nil
	}
	return m.permutationImportance(ctx, features, target, seed)
}

// perFeature sums per-design-column values into per-feature ones.
func (m *Model) perFeature(byColumn []float64, method string, normalise bool) []FeatureImportance {
	out := make([]FeatureImportance, len(m.Features))
	j, total := 0, 0.0
	for i, f := range m.Features {
		width := f.Width()
		var sum float64
		for _, v := range byColumn[j : j+width] {
			sum += v
		}
		j += width
		out[i] = FeatureImportance{Feature: f.Name, Importance: sum, Method: method}
		total += sum
	}
	if normalise && total > 0 {
		for i := range out {
			out[i].Importance /= total
		}
	}
	return out
}

// permutationImportance is the mean drop in the task's default metric
// when one feature column is shuffled.
func (m *Model) permutationImportance(ctx context.Context, features []*Column, target *Column, seed uint64) ([]FeatureImportance, error) {
	metric := DefaultMetric(m.Task)
	rng := newRand(int(seed))
	n := target.Len()
	keep, repeats := permutationPlan(len(m.Features), n)
	if n > keep {
		rows := rng.Perm(n)[:keep]
		features, target = takeRowsOf(features, rows), target.Take(rows)
		n = keep
	}
	baseline, err := m.score(metric, features, target)
	if err != nil {
		return nil, err
	}
	out := make([]FeatureImportance, len(m.Features))
	shuffled := make([]*Column, len(features))
	copy(shuffled, features)
	for i, f := range m.Features {
		var drop float64
		for range repeats {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			shuffled[i] = features[i].Take(rng.Perm(n))
			s, err := m.score(metric, shuffled, target)
			if err != nil {
				return nil, err
			}
			drop += baseline - s
		}
		shuffled[i] = features[i]
		if !metric.HigherIsBetter {
			drop = -drop
		}
		out[i] = FeatureImportance{Feature: f.Name, Importance: drop / float64(repeats), Method: ImportancePermutation}
	}
	return out, nil
}

func (m *Model) score(metric MetricInfo, features []*Column, target *Column) (float64, error) {
	report, err := m.Evaluate(features, target)
	if err != nil {
		return 0, err
	}
	v, _ := metric.Value(report)
	return v, nil
}

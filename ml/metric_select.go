package ml

import (
	"math"
	"slices"
)

// MetricInfo describes one scalar metric of a Metrics report, for choosing
// models by it.
type MetricInfo struct {
	Name           string // as in the API: "r2", "logLoss", ...
	Task           Task
	HigherIsBetter bool
	field          func(m *Metrics) **float64
}

// scalarMetrics lists every scalar metric, in the order reports show them.
func scalarMetrics() []MetricInfo {
	return []MetricInfo{
		{"r2", Regression, true, func(m *Metrics) **float64 { return &m.R2 }},
		{"rmse", Regression, false, func(m *Metrics) **float64 { return &m.RMSE }},
		{"mae", Regression, false, func(m *Metrics) **float64 { return &m.MAE }},
		{"mse", Regression, false, func(m *Metrics) **float64 { return &m.MSE }},
		{"accuracy", Classification, true, func(m *Metrics) **float64 { return &m.Accuracy }},
		{"precision", Classification, true, func(m *Metrics) **float64 { return &m.Precision }},
		{"recall", Classification, true, func(m *Metrics) **float64 { return &m.Recall }},
		{"f1", Classification, true, func(m *Metrics) **float64 { return &m.F1 }},
		{"logLoss", Classification, false, func(m *Metrics) **float64 { return &m.LogLoss }},
		{"rocAuc", Classification, true, func(m *Metrics) **float64 { return &m.RocAuc }},
		{"silhouette", Clustering, true, func(m *Metrics) **float64 { return &m.Silhouette }},
		{"inertia", Clustering, false, func(m *Metrics) **float64 { return &m.Inertia }},
	}
}

// LookupMetric returns the scalar metric of that name.
func LookupMetric(name string) (MetricInfo, bool) {
	i := slices.IndexFunc(scalarMetrics(), func(mi MetricInfo) bool { return mi.Name == name })
	if i < 0 {
		return MetricInfo{}, false
	}
	return scalarMetrics()[i], true
}

// DefaultMetric is the metric models of a task are ranked by unless asked
// otherwise: R² for regression, accuracy for classification, silhouette for
// clustering.
func DefaultMetric(task Task) MetricInfo {
	name := map[Task]string{Regression: "r2", Classification: "accuracy", Clustering: "silhouette"}[task]
	mi, _ := LookupMetric(name)
	return mi
}

// Value returns the metric's value in m, if m has it.
func (mi MetricInfo) Value(m *Metrics) (float64, bool) {
	if m == nil {
		return 0, false
	}
	p := *mi.field(m)
	if p == nil || math.IsNaN(*p) {
		return 0, false
	}
	return *p, true
}

// Better reports whether score a beats score b on this metric.
func (mi MetricInfo) Better(a, b float64) bool {
	if mi.HigherIsBetter {
		return a > b
	}
	return a < b
}

// DropNonFinite clears the scalar metrics that are NaN or infinite, which
// mean "undefined on these rows" (and which JSON cannot hold).
func (m *Metrics) DropNonFinite() {
	for _, mi := range scalarMetrics() {
		if p := mi.field(m); *p != nil && (math.IsNaN(**p) || math.IsInf(**p, 0)) {
			*p = nil
		}
	}
}

// SummarizeMetrics returns the mean and the (population) standard
// deviation of each scalar metric over reports, counting for each metric
// only the reports that have it. Confusion matrices and per-class figures
// are not summarised.
func SummarizeMetrics(reports []*Metrics) (mean, std *Metrics) {
	mean, std = &Metrics{}, &Metrics{}
	for _, r := range reports {
		mean.Rows += r.Rows
	}
	if len(reports) > 0 {
		mean.Rows /= len(reports)
	}
	std.Rows = mean.Rows
	for _, mi := range scalarMetrics() {
		var values []float64
		for _, r := range reports {
			if v, ok := mi.Value(r); ok {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			continue
		}
		mu, sd := meanStd(values)
		*mi.field(mean), *mi.field(std) = &mu, &sd
	}
	mean.DropNonFinite()
	std.DropNonFinite()
	return mean, std
}

// meanStd returns the mean and population standard deviation of values,
// finite values (see Metrics.DropNonFinite), whose squares may overflow
// all the same (a mean squared error of errors near ±MaxAbsValue): they
// are summed scaled (see squareSafeScale), as is the mean.
func meanStd(values []float64) (mean, std float64) {
	big := 0.0
	for _, v := range values {
		big = max(big, math.Abs(v))
	}
	s := squareSafeScale(big)
	for _, v := range values {
		mean += v * s
	}
	mean /= float64(len(values))
	for _, v := range values {
		std += (v*s - mean) * (v*s - mean)
	}
	return mean / s, math.Sqrt(std/float64(len(values))) / s
}

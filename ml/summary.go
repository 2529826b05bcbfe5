package ml

import (
	"cmp"
	"math"
	"slices"
)

// ColumnSummary describes a column's values, as a dataset browser shows
// them. Numeric statistics are over the present values; Std is the
// population standard deviation.
type ColumnSummary struct {
	Missing  int
	Distinct int
	// Numeric columns with at least one value.
	Mean, Std, Min, Max *float64
	// TopCategories are the most frequent levels of a categorical or text
	// column, most frequent first (ties in level order).
	TopCategories []CategoryCount
}

// CategoryCount is how often a level occurs.
type CategoryCount struct {
	Value string
	Count int
}

// Summary summarises the column, listing at most topK categories.
func (c *Column) Summary(topK int) ColumnSummary {
	s := ColumnSummary{Missing: c.Missing()}
	if c.Type.hasCodes() {
		counts := make([]int, len(c.Levels))
		for _, code := range c.Codes {
			if code >= 0 {
				counts[code]++
			}
		}
		var top []CategoryCount
		for k, n := range counts {
			if n > 0 {
				s.Distinct++
				top = append(top, CategoryCount{Value: c.Levels[k], Count: n})
			}
		}
		slices.SortStableFunc(top, func(a, b CategoryCount) int { return cmp.Compare(b.Count, a.Count) })
		s.TopCategories = top[:min(topK, len(top))]
		return s
	}
	var n int
	lo, hi := math.Inf(1), math.Inf(-1)
	// Sized up front: growing the map, rehashing as it goes, was most of
	// the cost of summarising a large column.
	distinct := make(map[float64]struct{}, min(len(c.Num), maxDistinctCounted+1))
	for _, v := range c.Num {
		if math.IsNaN(v) {
			continue
		}
		n++
		lo, hi = min(lo, v), max(hi, v)
		if len(distinct) <= maxDistinctCounted {
			distinct[v+0] = struct{}{} // +0: −0 and 0 are one value
		}
	}
	s.Distinct = len(distinct)
	if n == 0 {
		return s
	}
	// Welford's running mean and variance, stable for large columns, of
	// the values scaled so that squares of values near ±MaxAbsValue (or
	// beyond, in a dataset stored before the bound) cannot overflow.
	scale := squareSafeScale(max(-lo, hi))
	var mean, m2 float64
	k := 0
	for _, v := range c.Num {
		if math.IsNaN(v) {
			continue
		}
		k++
		v *= scale
		d := v - mean
		mean += d / float64(k)
		m2 += d * (v - mean)
	}
	std := math.Sqrt(m2/float64(n)) / scale
	mean /= scale
	// Each statistic is finite unless the column holds an infinity, which
	// no import lets in: a statistic that is not is left out, as JSON
	// cannot hold it.
	s.Mean, s.Std, s.Min, s.Max = finitePtr(mean), finitePtr(std), finitePtr(lo), finitePtr(hi)
	return s
}

// finitePtr returns &x, or nil if x is not finite.
func finitePtr(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return &x
}

// maxDistinctCounted bounds the memory spent counting distinct numbers:
// beyond it Distinct reports maxDistinctCounted+1, meaning "more than".
const maxDistinctCounted = 100_000

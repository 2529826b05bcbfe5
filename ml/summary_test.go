package ml

import (
	"math"
	"testing"
)

func TestColumnSummary(t *testing.T) {
	num := NewNumeric("x", []float64{1, 2, math.NaN(), 4, 2, -0.0, 0})
	s := num.Summary(5)
	// Present values 1 2 4 2 0 0: mean 1.5, population variance (0.25+0.25+6.25+0.25+2.25+2.25)/6 = 1.9166…
	if s.Missing != 1 || s.Distinct != 4 || *s.Mean != 1.5 || math.Abs(*s.Std-math.Sqrt(11.5/6)) > 1e-12 || *s.Min != 0 || *s.Max != 4 || s.TopCategories != nil {
		t.Errorf("numeric summary %+v (mean %v std %v)", s, *s.Mean, *s.Std)
	}
	cat := NewCategorical("c", []int32{0, 1, 1, -1, 2, 1, 0}, []string{"a", "b", "c", "unused"})
	s = cat.Summary(2)
	if s.Missing != 1 || s.Distinct != 3 || s.Mean != nil || len(s.TopCategories) != 2 ||
		s.TopCategories[0] != (CategoryCount{"b", 3}) || s.TopCategories[1] != (CategoryCount{"a", 2}) {
		t.Errorf("categorical summary %+v", s)
	}
	if s := NewNumeric("empty", []float64{math.NaN()}).Summary(3); s.Mean != nil || s.Missing != 1 || s.Distinct != 0 {
		t.Errorf("all-missing summary %+v", s)
	}
}

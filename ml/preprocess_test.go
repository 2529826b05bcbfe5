package ml

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestPreprocessorNumericAndOneHot(t *testing.T) {
	nan := math.NaN()
	train := []*Column{
		NewNumeric("age", []float64{10, nan, 30, 20, 40}),
		NewCategorical("color", []int32{0, 1, 0, -1, 2}, []string{"red", "blue", "green", "unused"}),
		NewNumeric("const", []float64{5, 5, 5, 5, 5}),
	}
	for _, scale := range []bool{false, true} {
		p, err := FitPreprocessor(train, scale)
		if err != nil {
			t.Fatal(err)
		}
		age := p.Features[0]
		// Median of {10, 30, 20, 40} is 25; imputed column {10,25,30,20,40}.
		if age.Median != 25 || age.Min != 10 || age.Max != 40 || age.Missing != 1 || age.Mean != 25 {
			t.Errorf("age info %+v", age)
		}
		if want := math.Sqrt((225 + 0 + 25 + 25 + 225) / 5.0); math.Abs(age.Std-want) > 1e-12 {
			t.Errorf("age std %v, want %v", age.Std, want)
		}
		color := p.Features[1]
		if !slices.Equal(color.Levels, []string{"blue", "green", "red"}) || color.Missing != 1 {
			t.Errorf("color info %+v: want sorted used levels and 1 missing", color)
		}
		if want := []string{"age", "color=blue", "color=green", "color=red", "const"}; !slices.Equal(p.OutputNames(), want) {
			t.Errorf("names %q, want %q", p.OutputNames(), want)
		}

		// Prediction columns: a different dictionary, an unseen level, NaN.
		x, err := p.Transform([]*Column{
			NewNumeric("age", []float64{nan, 35}),
			NewCategorical("color", []int32{1, 0}, []string{"purple", "green"}),
			NewNumeric("const", []float64{5, 7}),
		})
		if err != nil {
			t.Fatal(err)
		}
		a0, a1, c0, c1 := 25.0, 35.0, 5.0, 7.0
		if scale {
			a0, a1, c0, c1 = 0, 10/age.Std, 0, 2 // const has std 0: divided by 1
		}
		want := mat.NewDense(2, 5, []float64{
			a0, 0, 1, 0, c0,
			a1, 0, 0, 0, c1,
		})
		if !mat.EqualApprox(x, want, 1e-12) {
			t.Errorf("scale=%v: transform\n%v\nwant\n%v", scale, mat.Formatted(x), mat.Formatted(want))
		}
	}
}

func TestPreprocessorErrors(t *testing.T) {
	good := []*Column{NewNumeric("a", []float64{1, 2}), NewCategorical("b", []int32{0, 0}, []string{"x"})}
	p, err := FitPreprocessor(good, true)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cols  []*Column
		parts []string
	}{
		{good[:1], []string{"got 1 feature columns", "2"}},
		{[]*Column{good[1], good[0]}, []string{`"b"`, `"a"`}},
		{[]*Column{NewCategorical("a", []int32{0, 0}, []string{"1"}), good[1]}, []string{`"a"`, "CATEGORICAL", "NUMERIC"}},
		{[]*Column{NewNumeric("a", []float64{1}), good[1]}, []string{`"b"`, "rows"}},
		{[]*Column{NewNumeric("a", []float64{1, math.Inf(1)}), good[1]}, []string{`"a"`, "row 2", "finite"}},
		{[]*Column{good[0], NewCategorical("b", []int32{0, 3}, []string{"x"})}, []string{`"b"`, "row 2", "code 3"}},
		{[]*Column{NewNumeric("a", nil), NewCategorical("b", nil, nil)}, []string{"no rows"}},
	}
	for _, c := range cases {
		_, err := p.Transform(c.cols)
		wantInputError(t, err, c.parts...)
	}

	for _, c := range []struct {
		cols  []*Column
		parts []string
	}{
		{nil, []string{"no feature columns"}},
		{[]*Column{NewNumeric("a", []float64{math.NaN()})}, []string{`"a"`, "no values"}},
		{[]*Column{NewNumeric("a", []float64{math.Inf(-1)})}, []string{`"a"`, "row 1", "finite"}},
		{[]*Column{NewNumeric("a", []float64{1}), NewNumeric("a", []float64{1})}, []string{"duplicate", `"a"`}},
		{[]*Column{NewNumeric("a", []float64{1}), NewNumeric("b", []float64{1, 2})}, []string{`"b"`, "2 rows"}},
		{[]*Column{NewCategorical("a", []int32{-1}, []string{"x"})}, []string{"no values"}},
	} {
		_, err := FitPreprocessor(c.cols, false)
		wantInputError(t, err, c.parts...)
	}
}

func TestMedian(t *testing.T) {
	if got := Median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3,1,2 = %v", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4,1,3,2 = %v", got)
	}
	if got := Median([]float64{math.MaxFloat64, math.MaxFloat64}); got != math.MaxFloat64 {
		t.Errorf("median overflowed: %v", got)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 200 {
		n := 1 + r.IntN(300)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(r.IntN(1 + trial%20)) // many ties
		}
		sorted := slices.Sorted(slices.Values(v))
		want := sorted[n/2]
		if n%2 == 0 {
			want = (sorted[n/2-1] + sorted[n/2]) / 2
		}
		if got := Median(v); got != want {
			t.Fatalf("median of %v = %v, want %v", sorted, got, want)
		}
	}
	// Large inputs of many shapes, through every level of the radix
	// selection; the input is left as it was.
	draws := map[string]func() float64{
		"normal":    r.NormFloat64,
		"positive":  func() float64 { return 1 + r.Float64() },
		"tiny":      func() float64 { return r.NormFloat64() * 1e-300 },
		"huge":      func() float64 { return r.NormFloat64() * 1e300 },
		"zeros":     func() float64 { return []float64{0, math.Copysign(0, -1), 1, -1}[r.IntN(4)] },
		"few":       func() float64 { return float64(r.IntN(3)) - 1 },
		"integers":  func() float64 { return float64(r.IntN(1000000)) },
		"one value": func() float64 { return 42.5 },
	}
	for name, draw := range draws {
		for _, n := range []int{1, 2, 65, 1000, 50_001, 50_002} {
			v := make([]float64, n)
			for i := range v {
				v[i] = draw()
			}
			before := slices.Clone(v)
			sorted := slices.Sorted(slices.Values(v))
			want := sorted[n/2]
			if n%2 == 0 {
				want = (sorted[n/2-1] + sorted[n/2]) / 2
			}
			if got := Median(v); got != want {
				t.Errorf("%s, n=%d: median %v, want %v", name, n, got, want)
			}
			if !slices.Equal(v, before) {
				t.Errorf("%s, n=%d: Median changed its input", name, n)
			}
		}
	}
}

// BenchmarkMedian: the median of a column of normal draws, as imputation
// computes for every numeric feature.
func BenchmarkMedian(b *testing.B) {
	for _, n := range []int{20_000, 200_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			v := make([]float64, n)
			for i := range v {
				v[i] = r.NormFloat64()
			}
			w := make([]float64, n)
			b.SetBytes(int64(8 * n))
			for b.Loop() {
				copy(w, v) // as imputation copies the observed values
				Median(w)
			}
		})
	}
}

package ml

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// syntheticRegression returns an n×p design with independent N(0,1)
// features (plus per-column offsets, to exercise centring) and
// y = X·w + 3 + N(0, 0.1²), with w_j = j+1.
func syntheticRegression(n, p int, seed uint64) (*mat.Dense, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	raw := x.RawMatrix()
	for i := range n {
		s := 3.0
		for j := range p {
			v := r.NormFloat64() + float64(j)
			raw.Data[i*raw.Stride+j] = v
			s += float64(j+1) * v
		}
		y[i] = s + 0.1*r.NormFloat64()
	}
	return x, y
}

// syntheticClassification returns an n×p N(0,1) design and binary labels
// drawn from a logistic model with weights alternating ±0.5.
func syntheticClassification(n, p int, seed uint64) (*mat.Dense, []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	raw := x.RawMatrix()
	for i := range n {
		z := 0.25
		for j := range p {
			v := r.NormFloat64()
			raw.Data[i*raw.Stride+j] = v
			z += 0.5 * float64(1-2*(j%2)) * v
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return x, y
}

// BenchmarkOLS times LinearRegression.Fit (normal equations + solve) on a
// dense synthetic design. scikit-learn 1.2.1 takes about 1.07 s for
// 800,000×20 on the reference 2-core machine.
func BenchmarkOLS(b *testing.B) {
	for _, size := range []struct{ n, p int }{{10000, 20}, {800000, 20}} {
		b.Run(fmt.Sprintf("%dx%d", size.n, size.p), func(b *testing.B) {
			x, y := syntheticRegression(size.n, size.p, 1)
			b.SetBytes(int64(size.n * size.p * 8))
			b.ResetTimer()
			for b.Loop() {
				m := &LinearRegression{FitIntercept: true}
				if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
					b.Fatal(err)
				}
				if m.Solver != "cholesky" {
					b.Fatalf("solver %q, want cholesky", m.Solver)
				}
			}
		})
	}
}

// BenchmarkOLSSVDFallback times the rank-deficient path (SVD of the
// centred design) for comparison.
func BenchmarkOLSSVDFallback(b *testing.B) {
	x, y := syntheticRegression(100000, 20, 1)
	x.SetCol(19, mat.Col(nil, 0, x)) // duplicate column: rank deficient
	b.ResetTimer()
	for b.Loop() {
		m := &LinearRegression{FitIntercept: true}
		if err := m.Fit(context.Background(), x, y, Regression, 0); err != nil {
			b.Fatal(err)
		}
		if m.Solver != "svd" {
			b.Fatalf("solver %q, want svd", m.Solver)
		}
	}
}

// BenchmarkLogistic times binary LogisticRegression.Fit on 160,000×20.
func BenchmarkLogistic(b *testing.B) {
	params, err := ResolveParams("LOGISTIC_REGRESSION", nil)
	if err != nil {
		b.Fatal(err)
	}
	x, y := syntheticClassification(160000, 20, 1)
	b.ResetTimer()
	for b.Loop() {
		m := newLogisticRegression(params).(*LogisticRegression)
		if err := m.Fit(context.Background(), x, y, Classification, 2); err != nil {
			b.Fatal(err)
		}
		if !m.Converged {
			b.Fatalf("not converged after %d iterations", m.Iterations)
		}
		b.ReportMetric(float64(m.Iterations), "iters")
	}
}

// BenchmarkColumnUnmarshal decodes 1,000,000-row columns.
func BenchmarkColumnUnmarshal(b *testing.B) {
	const n = 1000000
	r := rand.New(rand.NewPCG(1, 3))
	num := make([]float64, n)
	codes := make([]int32, n)
	for i := range num {
		num[i] = r.NormFloat64()
		codes[i] = int32(r.IntN(50))
	}
	levels := make([]string, 50)
	for k := range levels {
		levels[k] = fmt.Sprintf("level-%d", k)
	}
	for _, col := range []*Column{NewNumeric("x", num), NewCategorical("c", codes, levels)} {
		b.Run(string(col.Type), func(b *testing.B) {
			data, err := col.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				var c Column
				if err := c.UnmarshalBinary(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTrainOLS times the whole Train path (target checks, median
// imputation statistics, design matrix, fit) from columns, 800,000×20.
func BenchmarkTrainOLS(b *testing.B) {
	const n, p = 800000, 20
	x, y := syntheticRegression(n, p, 1)
	features := make([]*Column, p)
	for j := range p {
		features[j] = NewNumeric(fmt.Sprintf("x%d", j), mat.Col(nil, j, x))
	}
	target := NewNumeric("y", y)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Train(context.Background(), TrainConfig{Algorithm: "LINEAR_REGRESSION"}, features, target); err != nil {
			b.Fatal(err)
		}
	}
}

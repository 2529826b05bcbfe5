package ml

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkEveryAlgorithm times Train (preprocessing and fit, default
// params) and Predict of every algorithm and task of the registry, on
// 5,000×20 synthetic rows: one table to compare them by, and to see a
// regression in any. bench/compare times the larger, scikit-learn-matched
// fits.
//
//	go test ./ml -run '^$' -bench EveryAlgorithm -benchtime 3x
func BenchmarkEveryAlgorithm(b *testing.B) {
	const n, p = 5000, 20
	columns := func(task Task) ([]*Column, *Column) {
		x, y := syntheticRegression(n, p, 3)
		if task != Regression {
			x, y = syntheticClassification(n, p, 3)
		}
		features := make([]*Column, p)
		for j := range features {
			features[j] = NewNumeric(fmt.Sprintf("f%d", j), mat64Col(x, j))
		}
		if task == Clustering {
			return features, nil
		}
		if task == Regression {
			return features, NewNumeric("y", y)
		}
		codes := make([]int32, n)
		for i, v := range y {
			codes[i] = int32(v)
		}
		return features, NewCategorical("y", codes, []string{"no", "yes"})
	}
	for _, a := range Algorithms() {
		for _, task := range a.Tasks {
			features, target := columns(task)
			cfg := TrainConfig{Algorithm: a.Name, Task: task}
			var m *Model
			b.Run(fmt.Sprintf("%s/%s/fit", a.Name, task), func(b *testing.B) {
				for b.Loop() {
					var err error
					if m, err = Train(context.Background(), cfg, features, target); err != nil {
						b.Fatal(err)
					}
				}
			})
			if m == nil {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s/predict", a.Name, task), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Predict(features); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// mat64Col copies column j of x.
func mat64Col(x interface {
	Dims() (int, int)
	At(int, int) float64
}, j int) []float64 {
	n, _ := x.Dims()
	col := make([]float64, n)
	for i := range col {
		col[i] = x.At(i, j)
	}
	return col
}

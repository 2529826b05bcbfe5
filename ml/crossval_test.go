package ml

import (
	"context"
	"math"
	"slices"
	"testing"
)

func TestFoldsStratified(t *testing.T) {
	_, target := readCSV(t, "iris")
	folds, err := Folds(target, 0, Classification, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, target.Len())
	for f, rows := range folds {
		if len(rows) != 30 {
			t.Errorf("fold %d has %d rows, want 30", f, len(rows))
		}
		perClass := map[string]int{}
		for _, r := range rows {
			seen[r]++
			perClass[target.Text(r)]++
		}
		for label, n := range perClass {
			if n != 10 {
				t.Errorf("fold %d has %d rows of %s, want 10 (stratified)", f, n, label)
			}
		}
		if !slices.IsSorted(rows) {
			t.Errorf("fold %d is not sorted", f)
		}
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("row %d is in %d folds", r, n)
		}
	}
	again, _ := Folds(target, 0, Classification, 5, 3)
	other, _ := Folds(target, 0, Classification, 5, 4)
	if !slices.EqualFunc(folds, again, slices.Equal) {
		t.Error("same seed, different folds")
	}
	if slices.EqualFunc(folds, other, slices.Equal) {
		t.Error("different seeds, same folds")
	}
}

func TestFoldsErrors(t *testing.T) {
	target := NewNumeric("y", []float64{1, 2, math.NaN(), 4})
	wantInputError(t, errOf(Folds(target, 0, Regression, 1, 0)), "at least 2 folds")
	wantInputError(t, errOf(Folds(target, 0, Regression, 4, 0)), "at least 4 rows")
	folds, err := Folds(target, 0, Regression, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	var all []int
	for _, f := range folds {
		all = append(all, f...)
	}
	slices.Sort(all)
	if !slices.Equal(all, []int{0, 1, 3}) {
		t.Errorf("folds cover rows %v; the row with a missing target belongs to none", all)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestCrossValidate(t *testing.T) {
	features, target := readCSV(t, "iris")
	cv, err := CrossValidate(context.Background(), TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.FoldMetrics) != 5 || !cv.Stratified {
		t.Fatalf("cv = %+v", cv)
	}
	var sum float64
	for _, m := range cv.FoldMetrics {
		if m.Rows != 30 {
			t.Errorf("fold scored %d rows, want 30", m.Rows)
		}
		sum += *m.Accuracy
	}
	if math.Abs(*cv.Mean.Accuracy-sum/5) > 1e-12 || *cv.Mean.Accuracy < 0.9 {
		t.Errorf("mean accuracy %v, folds sum to %v", *cv.Mean.Accuracy, sum)
	}
	if cv.Std.Accuracy == nil || *cv.Std.Accuracy < 0 || *cv.Std.Accuracy > 0.1 {
		t.Errorf("std accuracy %v", cv.Std.Accuracy)
	}
	if cv.Mean.R2 != nil {
		t.Error("classification summary has r2")
	}
}

func TestSummarizeMetrics(t *testing.T) {
	a, b := 0.5, 1.0
	mean, std := SummarizeMetrics([]*Metrics{{Rows: 10, R2: &a}, {Rows: 20, R2: &b}, {Rows: 30}})
	if *mean.R2 != 0.75 || *std.R2 != 0.25 || mean.Rows != 20 || mean.RMSE != nil {
		t.Errorf("mean %+v std %+v", mean, std)
	}
}

func TestMetricLookup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		higher bool
	}{{"r2", true}, {"rmse", false}, {"accuracy", true}, {"logLoss", false}, {"silhouette", true}, {"inertia", false}} {
		mi, ok := LookupMetric(tc.name)
		if !ok || mi.HigherIsBetter != tc.higher {
			t.Errorf("%s: %+v %v", tc.name, mi, ok)
		}
	}
	if _, ok := LookupMetric("nope"); ok {
		t.Error("unknown metric found")
	}
	nan, one := math.NaN(), 1.0
	m := &Metrics{R2: &nan, RMSE: &one}
	m.DropNonFinite()
	if m.R2 != nil || m.RMSE == nil {
		t.Errorf("DropNonFinite: %+v", m)
	}
	if DefaultMetric(Classification).Name != "accuracy" || DefaultMetric(Regression).Name != "r2" {
		t.Error("default metrics")
	}
}

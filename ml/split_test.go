package ml

import (
	"math"
	"slices"
	"testing"
)

func TestRandomSplit(t *testing.T) {
	train, test, err := RandomSplit(10, 0.25, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(test) != 3 || len(train) != 7 { // round(2.5) = 3
		t.Errorf("sizes train %d test %d, want 7 and 3", len(train), len(test))
	}
	if !slices.IsSorted(train) || !slices.IsSorted(test) {
		t.Errorf("not sorted: %v %v", train, test)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(train), test...)))
	for i, v := range all {
		if v != i {
			t.Fatalf("train ∪ test = %v, want each of 0..9 once", all)
		}
	}

	// Reproducible for a seed, different across seeds.
	train2, test2, _ := RandomSplit(10, 0.25, 42)
	if !slices.Equal(test, test2) || !slices.Equal(train, train2) {
		t.Errorf("same seed gave %v then %v", test, test2)
	}
	differs := false
	for seed := uint64(0); seed < 5; seed++ {
		_, other, _ := RandomSplit(10, 0.25, seed)
		differs = differs || !slices.Equal(other, test)
	}
	if !differs {
		t.Error("test rows do not depend on the seed")
	}
	_, big1, _ := RandomSplit(1000, 0.2, 1)
	_, big2, _ := RandomSplit(1000, 0.2, 2)
	if len(big1) != 200 || slices.Equal(big1, big2) {
		t.Errorf("1000 rows: %d test rows; seeds 1 and 2 equal: %v", len(big1), slices.Equal(big1, big2))
	}

	// Each side keeps at least one row.
	for _, frac := range []float64{0.01, 0.99} {
		train, test, err := RandomSplit(2, frac, 1)
		if err != nil || len(train) != 1 || len(test) != 1 {
			t.Errorf("n=2 frac=%v: train %v test %v err %v", frac, train, test, err)
		}
	}

	for _, frac := range []float64{0, 1, -0.5, 1.5, math.NaN()} {
		_, _, err := RandomSplit(10, frac, 1)
		wantInputError(t, err, "(0, 1)")
	}
	_, _, err = RandomSplit(1, 0.5, 1)
	wantInputError(t, err, "at least 2 rows")
}

func TestCustomSplit(t *testing.T) {
	col := columnFromText("fold", []string{"train", " TEST ", "Train", "test"})
	train, test, err := CustomSplit(col)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(train, []int{0, 2}) || !slices.Equal(test, []int{1, 3}) {
		t.Errorf("train %v test %v", train, test)
	}

	_, _, err = CustomSplit(columnFromText("fold", []string{"train", "test", "validate"}))
	wantInputError(t, err, `"fold"`, "row 3", `"validate"`)
	_, _, err = CustomSplit(columnFromText("fold", []string{"train", "", "test"}))
	wantInputError(t, err, "row 2", "missing")
	_, _, err = CustomSplit(NewNumeric("fold", []float64{0, 1}))
	wantInputError(t, err, `"fold"`, "NUMERIC")
	_, _, err = CustomSplit(columnFromText("fold", []string{"train", "train"}))
	wantInputError(t, err, `no "test" rows`)
	_, _, err = CustomSplit(columnFromText("fold", []string{"test"}))
	wantInputError(t, err, `no "train" rows`)
}

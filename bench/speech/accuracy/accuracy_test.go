package main

import (
	"context"
	"slices"
	"testing"

	"mlgraph/ml"
)

// The committed fixture (bench/speech/digits' small configuration) goes
// through the whole pipeline, and a model trained on six voice variants
// recognises the digits spoken by three others far above chance (10%).
func TestSmallFixture(t *testing.T) {
	ds, err := load("../../../testdata/spoken_digits_small.zip", ml.MFCCOptions{}, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ds.train.rows() != 60 || ds.test.rows() != 30 {
		t.Fatalf("%d training and %d test recordings; want 60 and 30", ds.train.rows(), ds.test.rows())
	}
	digits := []string{"eight", "five", "four", "nine", "one", "seven", "six", "three", "two", "zero"}
	for _, split := range []*table{&ds.train, &ds.test} {
		if labels := slices.Compact(slices.Sorted(slices.Values(split.labels))); !slices.Equal(labels, digits) {
			t.Fatalf("labels %v", labels)
		}
	}
	r, err := evaluate(context.Background(), "LOGISTIC_REGRESSION", ds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy on unseen variants: %.1f%% (%d/30)", 100*r.accuracy, r.correct)
	if r.accuracy < 0.6 {
		t.Fatalf("accuracy %.2f on unseen variants; want at least 0.6", r.accuracy)
	}
}

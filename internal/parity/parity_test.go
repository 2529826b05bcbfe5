package parity

import (
	"context"
	"testing"
)

// TestParityWithScikitLearn is the quality bar: on every reference dataset
// and model, mlgraph's test metric is within Tolerance of scikit-learn's,
// or better.
func TestParityWithScikitLearn(t *testing.T) {
	results, err := Run(context.Background(), "../../testdata", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 39 {
		t.Errorf("%d comparisons, want 39 (every reference dataset × model)", len(results))
	}
	for _, r := range results {
		switch {
		case r.Err != nil:
			t.Errorf("%s %s (%s): %v", r.Dataset, r.Reference, r.Algorithm, r.Err)
		case !r.Within():
			t.Errorf("%s %s (%s): %s %.4f (F1 %.4f), scikit-learn %.4f (F1 %.4f): more than %.2f worse",
				r.Dataset, r.Reference, r.Algorithm, r.Metric, r.Ours, r.OursF1, r.Sklearn, r.SkF1, Tolerance)
		}
	}
}

package ml

import (
	"context"
	"sync"
	"testing"
)

// TestProgressReported: iterative and ensemble fits report increasing
// progress up to completion through the context.
func TestProgressReported(t *testing.T) {
	features, target := readCSV(t, "iris")
	for _, tc := range []struct {
		algorithm string
		params    map[string]any
		wantLoss  bool
	}{
		{"LOGISTIC_REGRESSION", nil, false},
		{"MLP", map[string]any{"hiddenLayerSizes": "8", "maxIter": 30}, true},
		{"RANDOM_FOREST", map[string]any{"nEstimators": 10}, false},
		{"GRADIENT_BOOSTING", map[string]any{"nEstimators": 10}, false},
		{"LINEAR_SVM", nil, false},
	} {
		t.Run(tc.algorithm, func(t *testing.T) {
			var (
				mu     sync.Mutex
				events []Progress
			)
			ctx := WithProgress(context.Background(), func(p Progress) {
				mu.Lock()
				events = append(events, p)
				mu.Unlock()
			})
			if _, err := Train(ctx, TrainConfig{Algorithm: tc.algorithm, Params: tc.params}, features, target); err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 {
				t.Fatal("no progress reported")
			}
			last := 0.0
			for _, e := range events {
				if e.Fraction < 0 || e.Fraction > 1 || e.HasLoss != tc.wantLoss {
					t.Fatalf("event %+v", e)
				}
				last = max(last, e.Fraction)
			}
			if tc.algorithm == "RANDOM_FOREST" && last != 1 {
				t.Errorf("forest progress ends at %v, want 1", last)
			}
		})
	}
}

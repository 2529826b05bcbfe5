package service

import (
	"context"
	"math"
	"testing"

	"mlgraph/ml"
	"mlgraph/store"
)

// TestTrainingChecksValuesFirst: training refuses, before queueing
// anything, a value beyond the rule for numbers in a dataset stored before
// import enforced it, and a fractional numeric target for classification,
// naming the dataset's row (from 1).
func TestTrainingChecksValuesFirst(t *testing.T) {
	svc, _ := newTestService(t, Options{Workers: 1})
	ctx := context.Background()
	n := 20
	x, y, frac := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i], frac[i] = float64(i), float64(i%3), float64(i)/4
	}
	big := make([]float64, n)
	copy(big, x)
	big[13] = 1.2e152 // stored, as a dataset could be before the bound
	d, err := svc.saveDataset(ctx, &store.Dataset{Name: "old"}, []*ml.Column{ml.NewNumeric("x", x), ml.NewNumeric("big", big), ml.NewNumeric("y", y), ml.NewNumeric("frac", frac)})
	if err != nil {
		t.Fatal(err)
	}
	// Its summary is finite all the same (JSON could not hold it otherwise).
	if c := d.Columns[1]; c.Std == nil || math.IsInf(*c.Std, 0) || c.Max == nil || *c.Max != 1.2e152 {
		t.Errorf("summary of big: %+v", c)
	}
	id := FormatID(d.ID)
	for _, c := range []struct {
		what  string
		req   TrainRequest
		parts []string
	}{
		{"feature", TrainRequest{DatasetID: id, Target: "y", Features: []string{"x", "big"}, Algorithm: "LINEAR_REGRESSION"},
			[]string{"row 14", `column "big"`, "1.2e+152", "±1e+150"}},
		{"regression target", TrainRequest{DatasetID: id, Target: "big", Features: []string{"x"}, Algorithm: "RIDGE"},
			[]string{"row 14", `column "big"`}},
		{"classification on a continuous target", TrainRequest{DatasetID: id, Target: "frac", Features: []string{"x"}, Algorithm: "LOGISTIC_REGRESSION"},
			[]string{`"frac"`, "row 2", "0.25", "fractional", "REGRESSION"}},
		{"classification task on a continuous target", TrainRequest{DatasetID: id, Target: "frac", Features: []string{"x"}, Algorithm: "RANDOM_FOREST", Task: "CLASSIFICATION"},
			[]string{`"frac"`, "REGRESSION"}},
	} {
		_, err := svc.Train(ctx, c.req, false)
		wantBadInput(t, c.what, err, c.parts...)
	}
	if count, err := svc.store.CountModels(ctx, store.ModelFilter{}); err != nil || count != 0 {
		t.Errorf("%d models stored (%v), want none", count, err)
	}
	// Integer labels remain classes.
	m, err := svc.Train(ctx, TrainRequest{DatasetID: id, Target: "y", Features: []string{"x"}, Algorithm: "LOGISTIC_REGRESSION"}, true)
	if err != nil || m.Status != StatusReady {
		t.Fatalf("classification on 0..2: %v %+v", err, m)
	}
}

package service

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mlgraph/store"
)

func newTestService(t *testing.T, opts Options) (*Service, *bytes.Buffer) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	svc := New(st, opts)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close(context.Background())
		st.Close()
	})
	return svc, &logged
}

// lines is a small regression dataset.
const lines = "x,y\n1,2\n2,4.1\n3,6\n4,7.9\n5,10\n6,12.2\n7,14\n8,16.1\n"

// TestTrainingTimeLimit: a training over the limit ends FAILED, saying so.
func TestTrainingTimeLimit(t *testing.T) {
	svc, _ := newTestService(t, Options{TrainTimeout: 50 * time.Millisecond, Workers: 1})
	d, err := svc.CreateDataset(context.Background(), "lines", lines, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.Train(context.Background(), TrainRequest{DatasetID: FormatID(d.ID), Target: "y", Algorithm: "MLP",
		Params: map[string]any{"maxIter": 10_000_000, "tol": 0.0, "nIterNoChange": 10_000_000}, Split: SplitRequest{Method: SplitNone}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusFailed || !strings.Contains(m.Error, "longer than the limit") {
		t.Errorf("model %s: %q, want FAILED over the time limit", m.Status, m.Error)
	}
}

// TestPanicFailsOneModel: a panic while training fails that model with a
// generic message, logs the details, and the worker goes on.
func TestPanicFailsOneModel(t *testing.T) {
	svc, logged := newTestService(t, Options{Workers: 1})
	d, err := svc.CreateDataset(context.Background(), "lines", lines, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := svc.planTraining(context.Background(), TrainRequest{DatasetID: FormatID(d.ID), Target: "y", Algorithm: "LINEAR_REGRESSION"})
	if err != nil {
		t.Fatal(err)
	}
	// A search job without its request dereferences nil when it runs.
	broken, err := svc.submit(context.Background(), plan, jobRequest{Kind: jobTune}, false)
	if err != nil {
		t.Fatal(err)
	}
	broken.Status = ""
	for deadline := time.Now().Add(10 * time.Second); broken.Status != StatusFailed && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		broken, _ = svc.store.GetModel(context.Background(), broken.ID)
	}
	if broken.Status != StatusFailed || !strings.Contains(broken.Error, "internal error") || strings.Contains(broken.Error, "nil pointer") {
		t.Errorf("model after a panic: %s %q", broken.Status, broken.Error)
	}
	if !strings.Contains(logged.String(), "panic while training") || !strings.Contains(logged.String(), "nil pointer") {
		t.Errorf("panic not logged with its details: %q", logged.String())
	}
	ok, err := svc.Train(context.Background(), TrainRequest{DatasetID: FormatID(d.ID), Target: "y", Algorithm: "LINEAR_REGRESSION"}, true)
	if err != nil || ok.Status != StatusReady {
		t.Errorf("training after the panic: %v %+v", err, ok)
	}
}

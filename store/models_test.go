package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"mlgraph/internal/apperr"
)

func TestModelLifecycle(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d, _ := createDataset(t, s, "d", 2)
	m := createModel(t, s, &d.ID)
	if m.ID == 0 || m.CreatedAt.IsZero() || m.Status != StatusTraining {
		t.Fatalf("CreateModel left ID %d, CreatedAt %v, Status %q", m.ID, m.CreatedAt, m.Status)
	}
	got, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("GetModel = %+v, want %+v", got, m)
	}
	_, _, err = s.LoadModelState(ctx, m.ID)
	wantCode(t, err, apperr.Conflict)

	m.Classes = []string{"no", "yes"}
	m.Metrics = json.RawMessage(`{"accuracy": 0.9}`)
	m.TrainingMetrics = json.RawMessage(`{"accuracy":0.95}`)
	m.Split = map[string]any{"testFraction": 0.25, "seed": float64(7)}
	m.TrainingTimeMs = new(int64(42))
	m.Name = "ignored: not a training column"
	if err := s.CompleteModel(ctx, m, 3, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusReady || m.TrainedAt == nil {
		t.Errorf("CompleteModel left Status %q, TrainedAt %v", m.Status, m.TrainedAt)
	}
	got, err = s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *m
	want.Name = "m"
	want.Metrics = json.RawMessage(`{"accuracy":0.9}`) // stored compact
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("GetModel after CompleteModel = %+v, want %+v", got, &want)
	}
	format, state, err := s.LoadModelState(ctx, m.ID)
	if err != nil || format != 3 || !reflect.DeepEqual(state, []byte{1, 2, 3}) {
		t.Errorf("LoadModelState = %d, %v, %v; want 3, [1 2 3], nil", format, state, err)
	}

	// A model leaves training once.
	wantCode(t, s.FailModel(ctx, m.ID, "late"), apperr.Conflict)
	wantCode(t, s.CompleteModel(ctx, m, 3, []byte{4}), apperr.Conflict)

	if err := s.DeleteModel(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetModel(ctx, m.ID)
	wantCode(t, err, apperr.NotFound)
	_, _, err = s.LoadModelState(ctx, m.ID)
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.DeleteModel(ctx, m.ID), apperr.NotFound)
	wantCode(t, s.FailModel(ctx, m.ID, "gone"), apperr.NotFound)
	wantCode(t, s.CompleteModel(ctx, m, 3, []byte{4}), apperr.NotFound)
}

func TestCreateModelOfMissingDataset(t *testing.T) {
	s, _ := openTestStore(t)
	m := &Model{Name: "m", DatasetID: new(int64(999))}
	wantCode(t, s.CreateModel(context.Background(), m), apperr.NotFound)
	if m.ID != 0 {
		t.Errorf("failed CreateModel left ID %d", m.ID)
	}
}

func TestFailModel(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, s, nil)
	if err := s.FailModel(ctx, m.ID, "singular matrix"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || got.Error != "singular matrix" {
		t.Errorf("after FailModel: Status %q, Error %q", got.Status, got.Error)
	}
}

// TestCompleteModelIsAtomic makes storing the state fail after the model's
// row was updated: the update must be rolled back.
func TestCompleteModelIsAtomic(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, s, nil)
	before := *m
	injected := failOn(t, s, "model_states")

	m.Metrics = json.RawMessage(`{"r2":1}`)
	m.TrainedAt = new(time.Now())
	if err := s.CompleteModel(ctx, m, 1, []byte("state")); !errors.Is(err, injected) {
		t.Fatalf("CompleteModel = %v, want the injected failure", err)
	}
	if m.Status != StatusTraining {
		t.Errorf("failed CompleteModel set the caller's Status to %q", m.Status)
	}
	got, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &before) {
		t.Errorf("model after failed CompleteModel = %+v, want unchanged %+v", got, &before)
	}
	if n := countRows(t, s, "model_states", "model_id = ?", m.ID); n != 0 {
		t.Errorf("%d states stored, want 0", n)
	}
}

func TestFailInterruptedModels(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	training1, training2, ready := createModel(t, s, nil), createModel(t, s, nil), createModel(t, s, nil)
	if err := s.CompleteModel(ctx, ready, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	n, err := s.FailInterruptedModels(ctx, "server restarted")
	if err != nil || n != 2 {
		t.Fatalf("FailInterruptedModels = %d, %v; want 2, nil", n, err)
	}
	for _, m := range []*Model{training1, training2} {
		got, err := s.GetModel(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusFailed || got.Error != "server restarted" {
			t.Errorf("model %d: Status %q, Error %q", m.ID, got.Status, got.Error)
		}
	}
	if got, _ := s.GetModel(ctx, ready.ID); got.Status != StatusReady {
		t.Errorf("ready model became %q", got.Status)
	}
}

// TestDeleteModelCascades checks the foreign keys: a model takes its state
// and predictions with it.
func TestDeleteModelCascades(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	m, other := createModel(t, s, nil), createModel(t, s, nil)
	for _, model := range []*Model{m, other} {
		if err := s.CompleteModel(ctx, model, 1, []byte("state")); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := s.CreatePrediction(ctx, &Prediction{ModelID: model.ID, Inputs: json.RawMessage(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteModel(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	for table, column := range map[string]string{"predictions": "model_id", "model_states": "model_id"} {
		if n := countRows(t, s, table, column+" = ?", m.ID); n != 0 {
			t.Errorf("%d %s left of the deleted model, want 0", n, table)
		}
		if n := countRows(t, s, table, column+" = ?", other.ID); n == 0 {
			t.Errorf("no %s left of the other model", table)
		}
	}
}

func TestModelsByIDsAndCounts(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	a, _ := createDataset(t, s, "a", 1)
	b, _ := createDataset(t, s, "b", 1)
	m1 := createModel(t, s, &a.ID)
	createModel(t, s, &a.ID)
	m3 := createModel(t, s, nil)

	got, err := s.ModelsByIDs(ctx, []int64{m3.ID, m1.ID, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[m1.ID] == nil || got[m3.ID] == nil {
		t.Errorf("ModelsByIDs = %v, want models %d and %d", got, m1.ID, m3.ID)
	}

	counts, err := s.CountModelsByDataset(ctx, []int64{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int64]int64{a.ID: 2, b.ID: 0}; !reflect.DeepEqual(counts, want) {
		t.Errorf("CountModelsByDataset = %v, want %v", counts, want)
	}
	if n, err := s.CountModels(ctx, ModelFilter{DatasetID: &a.ID}); err != nil || n != 2 {
		t.Errorf("CountModels(dataset a) = %d, %v; want 2", n, err)
	}
	if n, err := s.CountModels(ctx, ModelFilter{}); err != nil || n != 3 {
		t.Errorf("CountModels() = %d, %v; want 3", n, err)
	}
}

func TestCreatePredictionOfMissingModel(t *testing.T) {
	s, _ := openTestStore(t)
	p := &Prediction{ModelID: 999, Inputs: json.RawMessage(`{}`)}
	wantCode(t, s.CreatePrediction(context.Background(), p), apperr.NotFound)
	if p.ID != 0 {
		t.Errorf("failed CreatePrediction left ID %d", p.ID)
	}
}

package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/internal/testdb"
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

// TestFailInterruptedModels: the models a closed store left training are
// failed by the next one, and so are those of no known instance; a store's
// own trainings are running, not interrupted.
func TestFailInterruptedModels(t *testing.T) {
	first, dsn := openTestStore(t)
	ctx := context.Background()
	training1, training2, ready := createModel(t, first, nil), createModel(t, first, nil), createModel(t, first, nil)
	if err := first.CompleteModel(ctx, ready, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n, err := first.FailInterruptedModels(ctx, "unused"); err != nil || n != 0 {
		t.Fatalf("FailInterruptedModels of the store training them = %d, %v; want 0, nil", n, err)
	}
	// As stored before models recorded their instance.
	if err := first.db.Table("models").Where("id = ?", training2.ID).Update("instance_id", nil).Error; err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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

// TestFailInterruptedModelsOfOpenInstance has a second store start on the
// database of a first one that is training. On PostgreSQL, shared by
// several processes, the first one's training goes on until it closes; an
// SQLite file serves one process, so there any other store is gone.
func TestFailInterruptedModelsOfOpenInstance(t *testing.T) {
	running, dsn := openTestStore(t)
	ctx := context.Background()
	m := createModel(t, running, nil)
	other, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	n, err := other.FailInterruptedModels(ctx, "restarted")
	if !testdb.Postgres() {
		if err != nil || n != 1 {
			t.Errorf("SQLite: FailInterruptedModels = %d, %v; want 1, nil", n, err)
		}
		return
	}
	if err != nil || n != 0 {
		t.Fatalf("FailInterruptedModels with the training store open = %d, %v; want 0, nil", n, err)
	}
	if err := running.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := other.FailInterruptedModels(ctx, "restarted"); err != nil || n != 1 {
		t.Fatalf("FailInterruptedModels once it closed = %d, %v; want 1, nil", n, err)
	}
	if got, err := other.GetModel(ctx, m.ID); err != nil || got.Status != StatusFailed {
		t.Errorf("model after its store closed: %+v, %v; want FAILED", got, err)
	}
}

// TestLeaseRetakenAfterLostSession ends the session holding a store's lease,
// as a PostgreSQL restart would: Ping takes the lease again, and the
// store's trainings are again safe from other instances.
func TestLeaseRetakenAfterLostSession(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("PostgreSQL only")
	}
	s, dsn := openTestStore(t)
	ctx := context.Background()
	createModel(t, s, nil)
	var pid int64
	if err := s.lease.conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	// The timeout makes it wait until the session has ended.
	var ended bool
	if err := s.db.Raw("SELECT pg_terminate_backend(?, 10000)", pid).Scan(&ended).Error; err != nil || !ended {
		t.Fatalf("terminate the lease's session: %v, %v", ended, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if n, err := other.FailInterruptedModels(ctx, "restarted"); err != nil || n != 0 {
		t.Errorf("FailInterruptedModels with the lease taken again = %d, %v; want 0, nil", n, err)
	}
}

// TestConcurrentOpen has several stores open a new database at once, as
// instances starting together do: the migrations must not collide.
func TestConcurrentOpen(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("PostgreSQL only: an SQLite file serves one process")
	}
	dsn := testdb.New(t)
	const stores = 4
	errs := make(chan error, stores)
	for range stores {
		go func() {
			s, err := Open(dsn)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range stores {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestTextWithNUL: PostgreSQL text cannot hold NUL characters, which a
// client may send; that is the client's error. A failed training's reason,
// which may quote a client's column name, is stored whatever it holds.
func TestTextWithNUL(t *testing.T) {
	s, _ := openTestStore(t)
	ctx := context.Background()
	d, data := newDataset("a\x00b", 1)
	err := s.CreateDataset(ctx, d, data)
	if testdb.Postgres() {
		wantCode(t, err, apperr.BadInput)
		err = s.CreateModel(ctx, &Model{Name: "m\x00", Algorithm: "KMEANS", Task: "CLUSTERING"})
		wantCode(t, err, apperr.BadInput)
	} else if err != nil {
		t.Fatal(err)
	}

	m := createModel(t, s, nil)
	if err := s.FailModel(ctx, m.ID, "column \"x\x00\" is empty"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetModel(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "column \"x\uFFFD\" is empty"; got.Error != want {
		t.Errorf("Error = %q, want %q", got.Error, want)
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

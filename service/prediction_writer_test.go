package service

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/store"
)

func writerStore(t *testing.T) (*store.Store, []int64) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ids []int64
	for range 2 {
		m := &store.Model{Name: "m", Algorithm: "LINEAR_REGRESSION", Task: "REGRESSION", Target: "y", Status: store.StatusReady}
		if err := st.CreateModel(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return st, ids
}

func record(modelID int64) *store.Prediction {
	return &store.Prediction{ModelID: modelID, Inputs: json.RawMessage(`[{"x":1}]`), Outputs: json.RawMessage(`[{"value":2}]`)}
}

// TestPredictionWriterGroupsCommits: records waiting together are stored
// in one transaction, each gets its own id, and a record whose model is
// gone fails alone.
func TestPredictionWriterGroupsCommits(t *testing.T) {
	st, models := writerStore(t)
	ctx := context.Background()
	if err := st.DeleteModel(ctx, models[1]); err != nil {
		t.Fatal(err)
	}
	w := newPredictionWriter(st)
	// Hand 50 records over before the writer runs, as a burst of requests
	// does while it is busy: they must make one commit.
	var pending []*pendingPrediction
	for i := range 50 {
		model := models[0]
		if i == 17 {
			model = models[1] // deleted
		}
		p := &pendingPrediction{rec: record(model), done: make(chan error, 1)}
		pending = append(pending, p)
		w.pending <- p
	}
	w.start.Do(func() { go w.run() })
	seen := map[int64]bool{}
	for i, p := range pending {
		err := <-p.done
		if i == 17 {
			if apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("record of a deleted model: %v", err)
			}
			continue
		}
		if err != nil || p.rec.ID == 0 || seen[p.rec.ID] {
			t.Fatalf("record %d: id %d, %v", i, p.rec.ID, err)
		}
		seen[p.rec.ID] = true
	}
	// One group commit that failed on the deleted model, then each alone.
	if n := w.commits.Load(); n != 1 {
		t.Errorf("%d commits for one burst", n)
	}
	page, err := st.ListPredictions(ctx, models[0], store.Page{First: 100})
	if err != nil || page.TotalCount != 49 {
		t.Fatalf("stored %v, %v; want 49", page, err)
	}

	// Concurrent saves through save: all stored, in fewer commits than
	// saves when they overlap (never more).
	before := w.commits.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.save(ctx, record(models[0]))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.commits.Load() - before; n < 1 || n > 200 {
		t.Errorf("%d commits for 200 saves", n)
	}
	w.close()
	w.close() // twice is fine
	// After close, a save still stores (on its own).
	if err := w.save(ctx, record(models[0])); err != nil {
		t.Fatal(err)
	}
	page, _ = st.ListPredictions(ctx, models[0], store.Page{First: 1})
	if page.TotalCount != 250 {
		t.Errorf("%d stored, want 250", page.TotalCount)
	}
	// A writer never used closes at once.
	newPredictionWriter(st).close()
}

package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/store"
)

// checkCacheTotal fails unless the cache's running total is the sum of
// its entries' costs and within the budget.
func checkCacheTotal(t *testing.T, c *modelCache) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum int64
	for _, m := range c.entries.Values() {
		sum += m.cost
	}
	if sum != c.bytes || c.bytes > c.budget {
		t.Errorf("cache total %d, entries sum to %d, budget %d", c.bytes, sum, c.budget)
	}
}

func cachedIDs(c *modelCache) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Keys() // oldest first
}

// gauge reads a gauge of reg by name.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestModelCacheEvictsByBytes: the least recently used models go first,
// until the total is within the budget; a model over the budget is not
// kept; a replaced entry counts once.
func TestModelCacheEvictsByBytes(t *testing.T) {
	reg := prometheus.NewRegistry()
	tm, err := telemetry.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c := newModelCache(nil, 100, tm)
	entry := func(id, cost int64) *loadedModel {
		return &loadedModel{rec: &store.Model{ID: id}, cost: cost}
	}
	step := func(what string, wantIDs ...int64) {
		t.Helper()
		checkCacheTotal(t, c)
		if got := cachedIDs(c); fmt.Sprint(got) != fmt.Sprint(wantIDs) {
			t.Errorf("%s: cached %v (oldest first), want %v", what, got, wantIDs)
		}
		n, bytes := c.stats()
		if gauge(t, reg, "mlgraph_model_cache_models") != float64(n) || gauge(t, reg, "mlgraph_model_cache_bytes") != float64(bytes) {
			t.Errorf("%s: gauges %v models, %v bytes; cache %d, %d", what, gauge(t, reg, "mlgraph_model_cache_models"),
				gauge(t, reg, "mlgraph_model_cache_bytes"), n, bytes)
		}
	}
	c.add(1, entry(1, 30))
	c.add(2, entry(2, 30))
	c.add(3, entry(3, 30))
	step("three of 30", 1, 2, 3)
	if _, ok := c.lookup(1); !ok {
		t.Fatal("model 1 not cached")
	}
	c.add(4, entry(4, 30))
	step("a fourth after using 1", 3, 1, 4)
	c.add(5, entry(5, 60))
	step("one of 60", 4, 5)
	c.add(4, entry(4, 50))
	step("4 again, larger", 4)
	if _, bytes := c.stats(); bytes != 50 {
		t.Errorf("after replacing 4: %d bytes, want 50", bytes)
	}
	c.add(6, entry(6, 100))
	step("exactly the budget", 6)
	c.add(7, entry(7, 101))
	step("over the budget: not kept", 6)
	c.add(6, entry(6, 101))
	step("a kept model grown over the budget leaves")
	c.add(8, entry(8, 10))
	c.remove(8)
	c.remove(9)
	step("removed")
}

// trainLines trains n small models on the lines dataset.
func trainLines(t *testing.T, svc *Service, n int) []*store.Model {
	t.Helper()
	ctx := context.Background()
	d, err := svc.CreateDataset(ctx, "lines", lines, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	algorithms := []string{"LINEAR_REGRESSION", "DECISION_TREE", "KNN"}
	var models []*store.Model
	for i := range n {
		m, err := svc.Train(ctx, TrainRequest{DatasetID: FormatID(d.ID), Target: "y", Algorithm: algorithms[i%len(algorithms)],
			Split: SplitRequest{Method: SplitNone}}, true)
		if err != nil || m.Status != StatusReady {
			t.Fatalf("train: %v %+v", err, m)
		}
		models = append(models, m)
	}
	return models
}

// TestModelCacheCostsAndOversizedModels: a trained model is kept at the
// cost of its state; loaded again, its cost is the stored state's length
// plus the record's blobs and the overhead; a model over the budget is
// served but not kept.
func TestModelCacheCostsAndOversizedModels(t *testing.T) {
	svc, _ := newTestService(t, Options{Workers: 1})
	models := trainLines(t, svc, 1)
	id := models[0].ID
	ctx := context.Background()
	_, data, err := svc.store.LoadModelState(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, bytes := svc.models.stats(); n != 1 || bytes < int64(len(data))+modelEntryOverhead {
		t.Errorf("after training: %d models, %d bytes; want 1 of at least %d", n, bytes, len(data)+modelEntryOverhead)
	}

	fresh := newModelCache(svc.store, 1<<20, nil)
	m, err := fresh.get(ctx, id)
	if err != nil || m.fitted == nil {
		t.Fatalf("get: %v", err)
	}
	if want := modelCost(m.rec, len(data)); m.cost != want || want <= int64(len(data))+modelEntryOverhead {
		t.Errorf("loaded cost %d, want %d (state %d bytes)", m.cost, want, len(data))
	}
	if n, bytes := fresh.stats(); n != 1 || bytes != m.cost {
		t.Errorf("after a load: %d models, %d bytes", n, bytes)
	}

	reg := prometheus.NewRegistry()
	tm, err := telemetry.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	tiny := newModelCache(svc.store, m.cost-1, tm)
	for range 2 {
		got, err := tiny.get(ctx, id)
		if err != nil || got.fitted == nil || got.rec.ID != id {
			t.Fatalf("oversized model not served: %v", err)
		}
	}
	if n, bytes := tiny.stats(); n != 0 || bytes != 0 {
		t.Errorf("oversized model kept: %d models, %d bytes", n, bytes)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "mlgraph_model_cache_misses_total" && mf.GetMetric()[0].GetCounter().GetValue() != 2 {
			t.Errorf("misses = %v, want 2 (nothing kept)", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}

	// Another project's model is not found, cached or not.
	if _, err := fresh.get(store.WithProject(ctx, "other"), id); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("another project's cached model: %v, want NOT_FOUND", err)
	}
	if _, err := tiny.get(store.WithProject(ctx, "other"), id); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("another project's uncached model: %v, want NOT_FOUND", err)
	}
	if _, err := fresh.get(store.WithProject(ctx, store.DefaultProject), id); err != nil {
		t.Errorf("own project's model: %v", err)
	}
}

// TestModelCacheKeepsOnlyReadyModels: a queued model is answered as not
// READY and not kept.
func TestModelCacheKeepsOnlyReadyModels(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "queued.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := New(st, Options{}) // not started: trainings stay queued
	t.Cleanup(func() { svc.Close(context.Background()) })
	ctx := context.Background()
	d, err := svc.CreateDataset(ctx, "lines", lines, CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.Train(ctx, TrainRequest{DatasetID: FormatID(d.ID), Target: "y", Algorithm: "LINEAR_REGRESSION"}, false)
	if err != nil || m.Status != StatusQueued {
		t.Fatalf("train: %v %+v", err, m)
	}
	if _, err := svc.models.get(ctx, m.ID); apperr.CodeOf(err) != apperr.BadInput {
		t.Errorf("queued model: %v, want BAD_USER_INPUT", err)
	}
	if n, bytes := svc.models.stats(); n != 0 || bytes != 0 {
		t.Errorf("queued model kept: %d models, %d bytes", n, bytes)
	}
}

// TestModelCacheConcurrentGets: many goroutines getting, and removing,
// models through a cache that holds about two of them; run with -race.
func TestModelCacheConcurrentGets(t *testing.T) {
	svc, _ := newTestService(t, Options{Workers: 1})
	models := trainLines(t, svc, 6)
	ctx := context.Background()
	var largest int64
	for _, rec := range models {
		_, data, err := svc.store.LoadModelState(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, modelCost(rec, len(data)))
	}
	c := newModelCache(svc.store, 2*largest+largest/2, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 150 {
				id := models[r.IntN(len(models))].ID
				if g == 0 && i%10 == 0 {
					c.remove(id)
					continue
				}
				m, err := c.get(ctx, id)
				if err != nil || m.rec.ID != id || m.fitted == nil {
					t.Errorf("get %d: %v", id, err)
					return
				}
				if _, bytes := c.stats(); bytes > c.budget {
					t.Errorf("total %d over the budget %d", bytes, c.budget)
					return
				}
			}
		})
	}
	wg.Wait()
	checkCacheTotal(t, c)
}

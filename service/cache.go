package service

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/ml"
	"mlgraph/store"
)

// modelStateFormat tags the bytes of ml.Model.MarshalBinary in the store;
// the bytes carry their own version too.
const modelStateFormat = 1

// modelEntryOverhead is added to the cost of each cached model for what
// its serialized state does not count: the record's strings, slices and
// maps, the decoded structures' headers and the LRU's bookkeeping.
const modelEntryOverhead = 2 << 10

// loadedModel is a READY model's record with its fitted state decoded.
type loadedModel struct {
	rec    *store.Model
	fitted *ml.Model
	// media is rec.Media decoded (nil for a model of tables), so that a
	// prediction of files does not decode it each time.
	media *Media
	// cost estimates the memory the entry holds, in bytes (see modelCost).
	cost int64
}

// modelCost estimates the memory held by a cached model: its serialized
// state (JSON, a fair upper bound of the decoded numbers), the record's
// JSON blobs (report, background sample, metrics…) and a fixed overhead.
func modelCost(rec *store.Model, stateBytes int) int64 {
	n := stateBytes + modelEntryOverhead
	for _, blob := range [][]byte{rec.Metrics, rec.TrainingMetrics, rec.FeatureImportance, rec.CrossValidation,
		rec.Tuning, rec.Report, rec.Background, rec.Request, rec.Text, rec.Media} {
		n += len(blob)
	}
	return int64(n)
}

// modelCache keeps fitted models in memory so that predictions read the
// database once per model, not once per request. Concurrent misses for one
// model share a single load. It is bounded by bytes: the least recently
// used models are evicted until the estimated total (see modelCost) is
// within the budget, and a model larger than the whole budget is served
// but not kept.
type modelCache struct {
	store     *store.Store
	telemetry *telemetry.Metrics
	budget    int64
	loads     singleflight.Group

	mu      sync.Mutex
	entries *simplelru.LRU[int64, *loadedModel] // guarded by mu
	bytes   int64                               // sum of the entries' costs; guarded by mu
}

func newModelCache(st *store.Store, budget int64, tm *telemetry.Metrics) *modelCache {
	if budget <= 0 {
		panic(fmt.Sprintf("model cache of %d bytes", budget)) // the budget is checked by New
	}
	c := &modelCache{store: st, telemetry: tm, budget: budget}
	// The count bound is never reached: bytes bound the cache. The
	// callback runs on every removal (eviction, Remove), always under mu.
	entries, err := simplelru.NewLRU[int64, *loadedModel](math.MaxInt, func(_ int64, m *loadedModel) {
		c.bytes -= m.cost
	})
	if err != nil {
		panic(err) // only for a size below 1
	}
	c.entries = entries
	return c
}

// get returns a READY model of ctx's project, loading it on a miss.
func (c *modelCache) get(ctx context.Context, id int64) (*loadedModel, error) {
	m, err := c.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !store.Visible(ctx, m.rec.Project) {
		// As if it did not exist: another project's model is not there.
		return nil, apperr.NotFoundf("model", id)
	}
	if m.fitted == nil {
		return nil, apperr.BadInputf("model %d is %s, not READY", id, m.rec.Status)
	}
	return m, nil
}

// load returns a model of any project: its record, and its fitted state
// if it is READY (only those are kept).
func (c *modelCache) load(ctx context.Context, id int64) (*loadedModel, error) {
	if m, ok := c.lookup(id); ok {
		c.telemetry.CacheHit()
		return m, nil
	}
	c.telemetry.CacheMiss()
	// The load is shared by concurrent callers, possibly of several
	// projects: it sees all of them, and get checks each caller's.
	ctx = store.AllProjects(ctx)
	v, err, _ := c.loads.Do(fmt.Sprint(id), func() (any, error) {
		rec, err := c.store.GetModel(ctx, id)
		if err != nil {
			return nil, err
		}
		if rec.Status != StatusReady {
			return &loadedModel{rec: rec}, nil
		}
		format, data, err := c.store.LoadModelState(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load state of model %d: %w", id, err)
		}
		if format != modelStateFormat {
			return nil, fmt.Errorf("model %d: unknown state format %d", id, format)
		}
		fitted, err := ml.LoadModel(data)
		if err != nil {
			return nil, fmt.Errorf("decode model %d: %w", id, err)
		}
		m, err := newLoadedModel(rec, fitted, len(data))
		if err != nil {
			return nil, fmt.Errorf("model %d: %w", id, err)
		}
		c.add(id, m)
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*loadedModel), nil
}

// put keeps a model just trained; stateBytes is the length of its
// serialized state (what ml.Model.MarshalBinary gave).
func (c *modelCache) put(rec *store.Model, fitted *ml.Model, stateBytes int) {
	// A record that cannot be decoded is not kept: get loads it again and
	// reports why.
	if m, err := newLoadedModel(rec, fitted, stateBytes); err == nil {
		c.add(rec.ID, m)
	}
}

// newLoadedModel is a READY model's cache entry; stateBytes is the length
// of its serialized state.
func newLoadedModel(rec *store.Model, fitted *ml.Model, stateBytes int) (*loadedModel, error) {
	media, err := DecodeMedia(rec.Media)
	if err != nil {
		return nil, err
	}
	return &loadedModel{rec: rec, fitted: fitted, media: media, cost: modelCost(rec, stateBytes)}, nil
}

func (c *modelCache) remove(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Remove(id)
	c.report()
}

// lookup returns a cached model, marking it the most recently used.
func (c *modelCache) lookup(id int64) (*loadedModel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Get(id)
}

// add keeps m as the most recently used model, replacing any entry of
// the same id, then evicts the least recently used ones until the total
// is within the budget. A model over the whole budget is not kept.
func (c *modelCache) add(id int64, m *loadedModel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Remove(id) // a replaced entry leaves the total
	if m.cost <= c.budget {
		c.entries.Add(id, m)
		c.bytes += m.cost
		for c.bytes > c.budget {
			c.entries.RemoveOldest()
		}
	}
	c.report()
}

// report sends the cache's size to telemetry; mu is held, so the last
// value reported is the current one.
func (c *modelCache) report() {
	c.telemetry.SetCachedModels(c.entries.Len())
	c.telemetry.SetCachedModelBytes(c.bytes)
}

// stats returns how many models the cache holds and their total cost.
func (c *modelCache) stats() (models int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Len(), c.bytes
}

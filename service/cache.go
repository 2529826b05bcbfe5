package service

import (
	"context"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/ml"
	"mlgraph/store"
)

// modelStateFormat tags the bytes of ml.Model.MarshalBinary in the store;
// the bytes carry their own version too.
const modelStateFormat = 1

// loadedModel is a READY model's record with its fitted state decoded.
type loadedModel struct {
	rec    *store.Model
	fitted *ml.Model
}

// modelCache keeps fitted models in memory so that predictions read the
// database once per model, not once per request. Concurrent misses for one
// model share a single load.
type modelCache struct {
	store     *store.Store
	telemetry *telemetry.Metrics
	entries   *lru.Cache[int64, *loadedModel]
	loads     singleflight.Group
}

func newModelCache(st *store.Store, size int, tm *telemetry.Metrics) *modelCache {
	entries, err := lru.New[int64, *loadedModel](size)
	if err != nil {
		panic(fmt.Sprintf("model cache of size %d: %v", size, err)) // size is checked by New
	}
	return &modelCache{store: st, entries: entries, telemetry: tm}
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
	if m, ok := c.entries.Get(id); ok {
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
		m := &loadedModel{rec: rec, fitted: fitted}
		c.entries.Add(id, m)
		c.telemetry.SetCachedModels(c.entries.Len())
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*loadedModel), nil
}

func (c *modelCache) put(rec *store.Model, fitted *ml.Model) {
	c.entries.Add(rec.ID, &loadedModel{rec: rec, fitted: fitted})
	c.telemetry.SetCachedModels(c.entries.Len())
}

func (c *modelCache) remove(id int64) { c.entries.Remove(id) }

package graph

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"mlgraph/service"
	"mlgraph/store"
)

// loaders batch the lookups that a list would otherwise make once per
// item (the N+1 problem): every Model.dataset of a response is fetched in
// one query. They live for one request, so they cache nothing across
// requests.
type loaders struct {
	// Made on first use: most requests (a prediction, say) need none.
	once        sync.Once
	svc         *service.Service
	datasets    *dataloadgen.Loader[int64, *store.Dataset]
	modelCounts *dataloadgen.Loader[int64, int64]
}

func (l *loaders) get() *loaders {
	l.once.Do(func() {
		l.datasets = dataloadgen.NewMappedLoader(l.svc.DatasetsByIDs, dataloadgen.WithWait(time.Millisecond))
		l.modelCounts = dataloadgen.NewMappedLoader(l.svc.CountModelsByDataset, dataloadgen.WithWait(time.Millisecond))
	})
	return l
}

type loadersKey struct{}

// withLoaders gives each request its own loaders.
func withLoaders(svc *service.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := &loaders{svc: svc}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadersKey{}, l)))
	})
}

// loadDataset returns a dataset through the request's loader (nil if it no
// longer exists), or straight from the service outside a request.
func loadDataset(ctx context.Context, svc *service.Service, id int64) (*store.Dataset, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		return svc.DatasetByID(ctx, id)
	}
	d, err := l.get().datasets.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return d, err
}

// countModels counts the models of a dataset through the request's loader,
// or straight from the service outside a request.
func countModels(ctx context.Context, svc *service.Service, datasetID int64) (int64, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		counts, err := svc.CountModelsByDataset(ctx, []int64{datasetID})
		return counts[datasetID], err
	}
	return l.get().modelCounts.Load(ctx, datasetID)
}

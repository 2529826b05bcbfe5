// Package service is where mlgraph's orchestration lives: it checks
// requests against stored datasets and models, runs training through the
// ml package, keeps fitted models in a bounded cache for prediction, and
// saves everything through the store. Resolvers in graph/ call it and do
// nothing else of substance.
package service

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/store"
)

// Options configure a Service. Zero values pick the defaults.
type Options struct {
	// ModelCacheBytes bounds the memory of the fitted models kept in
	// memory, as estimated from their serialized size (default 256 MiB);
	// the least recently used are evicted past it.
	ModelCacheBytes int64
	// MaxPredictRows bounds the rows of one predict call.
	MaxPredictRows int
	// Workers is how many trainings run at once (default: the number of
	// CPUs).
	Workers int
	// MaxUploadBytes bounds an uploaded dataset file (default 1 GiB).
	MaxUploadBytes int64
	// TrainTimeout bounds one training job (0: no limit).
	TrainTimeout time.Duration
	Logger       *slog.Logger
	// Telemetry receives cache and training measurements (nil: none).
	Telemetry *telemetry.Metrics
	// AuthMode says when requests need an API key (default AuthAuto).
	AuthMode string
	// RateLimit is the requests per second allowed to each API key without
	// a limit of its own, and to each client address without a key; 0: no
	// limit.
	RateLimit float64
}

const (
	defaultModelCacheBytes = 256 << 20
	defaultMaxPredictRows  = 10_000
	defaultMaxUploadBytes  = 1 << 30
)

// Service holds mlgraph's dependencies; it is safe for concurrent use.
type Service struct {
	store          *store.Store
	models         *modelCache
	maxPredictRows int
	maxUploadBytes int64
	trainTimeout   time.Duration
	workers        int
	log            *slog.Logger
	telemetry      *telemetry.Metrics
	jobs           *jobQueue
	access         *access
	predictions    *predictionWriter
	// reportLinkKey signs report links (see ReportURL); loaded by Start.
	reportLinkKey []byte
	// lifetime is cancelled, with a cause, to interrupt running jobs.
	lifetime context.Context
	stop     context.CancelCauseFunc
}

// New returns a Service backed by st.
func New(st *store.Store, opts Options) *Service {
	if opts.ModelCacheBytes <= 0 {
		opts.ModelCacheBytes = defaultModelCacheBytes
	}
	if opts.MaxPredictRows <= 0 {
		opts.MaxPredictRows = defaultMaxPredictRows
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = defaultMaxUploadBytes
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	lifetime, stop := context.WithCancelCause(context.Background())
	return &Service{
		store:          st,
		models:         newModelCache(st, opts.ModelCacheBytes, opts.Telemetry),
		maxPredictRows: opts.MaxPredictRows,
		maxUploadBytes: opts.MaxUploadBytes,
		trainTimeout:   opts.TrainTimeout,
		workers:        opts.Workers,
		log:            opts.Logger,
		telemetry:      opts.Telemetry,
		jobs:           newJobQueue(),
		access:         newAccess(opts.AuthMode, opts.RateLimit),
		predictions:    newPredictionWriter(st),
		lifetime:       lifetime,
		stop:           stop,
	}
}

// Start loads the key that signs report links, queues again the trainings
// a previous run left queued and starts the training workers. Close stops
// them.
func (s *Service) Start(ctx context.Context) error {
	if err := s.loadReportLinkKey(ctx); err != nil {
		return err
	}
	if err := s.resume(ctx); err != nil {
		return err
	}
	s.startWorkers(s.workers)
	return nil
}

// MaxUploadBytes is the largest dataset file the service accepts.
func (s *Service) MaxUploadBytes() int64 { return s.maxUploadBytes }

// ParseID turns a GraphQL ID into a row id. An id that cannot exist is
// reported as NOT_FOUND, the same as one that does not.
func ParseID(kind, id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 {
		return 0, apperr.NotFoundf(kind, strconv.Quote(id))
	}
	return n, nil
}

// FormatID is ParseID's inverse.
func FormatID(id int64) string { return strconv.FormatInt(id, 10) }

// inParallel calls fn(i) for every i in [0, n) on up to workers
// goroutines (at least one), each taking the next i in turn, and returns
// a function that waits for them all: the caller may work meanwhile.
func inParallel(n, workers int, fn func(i int)) (wait func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	return wg.Wait
}

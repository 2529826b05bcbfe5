// Package telemetry holds what mlgraph reports about itself: the Prometheus
// registry and the service-level metrics, the logger, and the request id
// carried by a request's context.
//
// It imports nothing of the project's own, so every layer (httpx, graph,
// service) can use it.
package telemetry

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every mlgraph metric name.
const Namespace = "mlgraph"

// NewRegistry returns a registry with the Go runtime and process
// collectors. Each app owns one (no global default registry) so that tests
// can build several apps in one process.
func NewRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register runtime collector: %w", err)
		}
	}
	return reg, nil
}

// Metrics records what the service layer does: the model cache and the
// training jobs. Every method is safe to call on a nil *Metrics, where it
// does nothing, so the service can take one as an optional dependency.
type Metrics struct {
	cacheHits        prometheus.Counter
	cacheMisses      prometheus.Counter
	cachedModels     prometheus.Gauge
	cachedBytes      prometheus.Gauge
	trainingStarted  *prometheus.CounterVec
	trainingDuration *prometheus.HistogramVec
	jobs             *prometheus.GaugeVec
}

// trainingBuckets span quick linear fits to long boosted ensembles.
var trainingBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// NewMetrics creates the service metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "model_cache_hits_total",
			Help: "Model loads answered by the in-memory model cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "model_cache_misses_total",
			Help: "Model loads that had to decode the model from the database.",
		}),
		cachedModels: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "model_cache_models",
			Help: "Models currently held in the in-memory model cache.",
		}),
		cachedBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "model_cache_bytes",
			Help: "Estimated memory of the models held in the model cache (their serialized size plus an overhead), in bytes.",
		}),
		trainingStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "training_started_total",
			Help: "Trainings started, by algorithm.",
		}, []string{"algorithm"}),
		trainingDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "training_duration_seconds",
			Help:    "Duration of finished trainings, by algorithm and final status.",
			Buckets: trainingBuckets,
		}, []string{"algorithm", "status"}),
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "training_jobs",
			Help: "Training jobs (models) by state, as last reported by the service.",
		}, []string{"state"}),
	}
	for _, c := range []prometheus.Collector{m.cacheHits, m.cacheMisses, m.cachedModels, m.cachedBytes, m.trainingStarted, m.trainingDuration, m.jobs} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register service metrics: %w", err)
		}
	}
	return m, nil
}

// CacheHit counts a model served from the cache.
func (m *Metrics) CacheHit() {
	if m != nil {
		m.cacheHits.Inc()
	}
}

// CacheMiss counts a model that had to be loaded from the database.
func (m *Metrics) CacheMiss() {
	if m != nil {
		m.cacheMisses.Inc()
	}
}

// SetCachedModels reports how many models the cache holds now.
func (m *Metrics) SetCachedModels(n int) {
	if m != nil {
		m.cachedModels.Set(float64(n))
	}
}

// SetCachedModelBytes reports the estimated bytes the cache holds now.
func (m *Metrics) SetCachedModelBytes(n int64) {
	if m != nil {
		m.cachedBytes.Set(float64(n))
	}
}

// TrainingStarted counts a training that starts with the given algorithm
// (an Algorithm enum value such as "RANDOM_FOREST").
func (m *Metrics) TrainingStarted(algorithm string) {
	if m != nil {
		m.trainingStarted.WithLabelValues(algorithm).Inc()
	}
}

// TrainingFinished records a training's duration and final status (a model
// status such as "READY" or "FAILED"). Label values must come from small
// fixed sets: never pass user text.
func (m *Metrics) TrainingFinished(algorithm, status string, d time.Duration) {
	if m != nil {
		m.trainingDuration.WithLabelValues(algorithm, status).Observe(d.Seconds())
	}
}

// SetJobs reports how many training jobs are in the given state (a model
// status such as "TRAINING", "READY" or "FAILED").
func (m *Metrics) SetJobs(state string, n int) {
	if m != nil {
		m.jobs.WithLabelValues(state).Set(float64(n))
	}
}

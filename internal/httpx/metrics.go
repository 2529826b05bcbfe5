package httpx

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mlgraph/internal/telemetry"
)

// Metrics counts HTTP requests by route, method and status code and times
// them by route and method.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// latencyBuckets reach past the default 10s: a training mutation answers
// when the model is trained.
var latencyBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// NewMetrics creates the HTTP metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by route and method, until the handler returns.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: telemetry.Namespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register HTTP metrics: %w", err)
		}
	}
	return m, nil
}

// Wrap instruments next. route names the route of a request for the
// "route" label; it must return one of a few fixed values (see MuxRoute),
// never the raw path, which a client could make unbounded.
func (m *Metrics) Wrap(next http.Handler, route func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		rec := newRecorder(w)
		next.ServeHTTP(rec, r)
		rt, method := route(r), methodLabel(r.Method)
		m.requests.WithLabelValues(rt, method, strconv.Itoa(rec.statusCode())).Inc()
		m.duration.WithLabelValues(rt, method).Observe(time.Since(start).Seconds())
	})
}

// MuxRoute names a request's route by the mux pattern that matches its
// path, without the method ("GET /healthz" → "/healthz", "GET /{$}" → "/"),
// or "other" when none does.
func MuxRoute(mux *http.ServeMux) func(*http.Request) string {
	return func(r *http.Request) string {
		_, pattern := mux.Handler(r)
		if pattern == "" {
			return "other"
		}
		if _, path, ok := strings.Cut(pattern, " "); ok {
			pattern = path
		}
		return strings.TrimSuffix(pattern, "{$}")
	}
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodOptions, http.MethodHead,
		http.MethodPut, http.MethodPatch, http.MethodDelete:
		return m
	}
	return "OTHER"
}

package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.CacheHit()
	m.CacheMiss()
	m.SetCachedModels(3)
	m.SetCachedModelBytes(3 << 20)
	m.TrainingStarted("KNN")
	m.TrainingFinished("KNN", "READY", time.Second)
	m.SetJobs("TRAINING", 1)
}

func TestMetrics(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.CacheHit()
	m.CacheHit()
	m.CacheMiss()
	m.SetCachedModels(4)
	m.SetCachedModelBytes(123456)
	m.TrainingStarted("RIDGE")
	m.TrainingFinished("RIDGE", "READY", 1500*time.Millisecond)
	m.SetJobs("TRAINING", 2)
	m.SetJobs("READY", 5)

	families := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"mlgraph_model_cache_hits_total", nil, 2},
		{"mlgraph_model_cache_misses_total", nil, 1},
		{"mlgraph_model_cache_models", nil, 4},
		{"mlgraph_model_cache_bytes", nil, 123456},
		{"mlgraph_training_started_total", map[string]string{"algorithm": "RIDGE"}, 1},
		{"mlgraph_training_duration_seconds", map[string]string{"algorithm": "RIDGE", "status": "READY"}, 1.5},
		{"mlgraph_training_jobs", map[string]string{"state": "TRAINING"}, 2},
		{"mlgraph_training_jobs", map[string]string{"state": "READY"}, 5},
	} {
		if got, ok := value(families[tc.name], tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if families[name] == nil {
			t.Errorf("runtime metric %s missing", name)
		}
	}
	// A second registration on the same registry is a wiring error, reported.
	if _, err := NewMetrics(reg); err == nil || !strings.Contains(err.Error(), "register service metrics") {
		t.Errorf("double registration: %v", err)
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// value is a counter's or gauge's value, or a histogram's sum, for the
// metric with exactly these labels.
func value(mf *dto.MetricFamily, labels map[string]string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return m.Histogram.GetSampleSum(), true
		}
	}
	return 0, false
}

func TestLoggerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-42")
	log.With("component", "test").InfoContext(ctx, "hello", "n", 1)
	log.Debug("dropped below the level")
	log.Info("no request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	if first["request_id"] != "req-42" || first["component"] != "test" || first["msg"] != "hello" {
		t.Errorf("first line = %v", first)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("a line without a request context has a request_id: %v", second)
	}

	// Wrapping twice must not log the id twice.
	buf.Reset()
	WithRequestIDs(log).InfoContext(ctx, "again")
	if n := strings.Count(buf.String(), "req-42"); n != 1 {
		t.Errorf("request id logged %d times: %s", n, buf.String())
	}

	if _, err := NewLogger(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml accepted")
	}
}

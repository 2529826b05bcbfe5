package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"mlgraph/graph"
	"mlgraph/internal/telemetry"
	"mlgraph/internal/testdb"
)

func TestParseConfig(t *testing.T) {
	for _, name := range []string{"MLGRAPH_ADDR", "MLGRAPH_DB", "MLGRAPH_LOG_FORMAT", "MLGRAPH_LOG_LEVEL", "MLGRAPH_CORS_ORIGINS", "MLGRAPH_WORKERS", "MLGRAPH_MAX_UPLOAD",
		"MLGRAPH_MAX_BODY", "MLGRAPH_MAX_COMPLEXITY", "MLGRAPH_MAX_DEPTH", "MLGRAPH_REQUEST_TIMEOUT", "MLGRAPH_INTROSPECTION",
		"MLGRAPH_AUTH", "MLGRAPH_RATE_LIMIT"} {
		t.Setenv(name, "")
	}
	c, err := parseConfig(nil, io.Discard)
	if err != nil || c.addr != ":8080" || c.db != "mlgraph.db" || c.logFormat != "text" || c.logLevel != slog.LevelInfo || c.corsOrigins != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if c.limits != graph.DefaultLimits() || c.limits.MaxBody != 16<<20 || c.limits.MaxComplexity != 5000 ||
		c.limits.MaxDepth != 12 || c.limits.RequestTimeout != time.Minute || !c.limits.Introspection {
		t.Errorf("default limits: %+v", c.limits)
	}

	t.Setenv("MLGRAPH_LOG_FORMAT", "json")
	t.Setenv("MLGRAPH_LOG_LEVEL", "debug")
	t.Setenv("MLGRAPH_CORS_ORIGINS", "https://a.example.com, https://b.example.com")
	c, err = parseConfig(nil, io.Discard)
	if err != nil || c.logFormat != "json" || c.logLevel != slog.LevelDebug || strings.Join(c.corsOrigins, " ") != "https://a.example.com https://b.example.com" {
		t.Errorf("from the environment: %+v, %v", c, err)
	}
	c, err = parseConfig([]string{"-log-format", "text", "-log-level", "warn", "-cors-origins", "*"}, io.Discard)
	if err != nil || c.logFormat != "text" || c.logLevel != slog.LevelWarn || strings.Join(c.corsOrigins, " ") != "*" {
		t.Errorf("flags over the environment: %+v, %v", c, err)
	}

	// A bad environment value fails unless a flag overrides it.
	t.Setenv("MLGRAPH_LOG_FORMAT", "xml")
	if _, err := parseConfig(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MLGRAPH_LOG_FORMAT") {
		t.Errorf("MLGRAPH_LOG_FORMAT=xml: %v", err)
	}
	if _, err := parseConfig([]string{"-log-format=json"}, io.Discard); err != nil {
		t.Errorf("-log-format=json over MLGRAPH_LOG_FORMAT=xml: %v", err)
	}
	t.Setenv("MLGRAPH_LOG_FORMAT", "")

	if c, err := parseConfig([]string{"-workers", "3", "-max-upload", "2GiB", "-train-timeout", "45m"}, io.Discard); err != nil || c.workers != 3 || c.maxUpload != 2<<30 || c.trainTimeout != 45*time.Minute {
		t.Errorf("-workers 3 -max-upload 2GiB: %+v, %v", c, err)
	}
	t.Setenv("MLGRAPH_MAX_UPLOAD", "500MB")
	if c, err := parseConfig(nil, io.Discard); err != nil || c.maxUpload != 500_000_000 || c.workers < 1 {
		t.Errorf("MLGRAPH_MAX_UPLOAD=500MB: %+v, %v", c, err)
	}

	if c, err := parseConfig([]string{"-auth", "required", "-rate-limit", "2.5"}, io.Discard); err != nil || c.authMode != "required" || c.rateLimit != 2.5 {
		t.Errorf("-auth required -rate-limit 2.5: %+v, %v", c, err)
	}
	if c.authMode != "auto" || c.rateLimit != 0 {
		t.Errorf("default auth: %q, rate %v", c.authMode, c.rateLimit)
	}

	// The request limits, from flags and from the environment.
	c, err = parseConfig([]string{"-max-body", "1MB", "-max-complexity", "300", "-max-depth", "5", "-request-timeout", "1.5s", "-introspection=false"}, io.Discard)
	if want := (graph.Limits{MaxBody: 1e6, MaxComplexity: 300, MaxDepth: 5, RequestTimeout: 1500 * time.Millisecond}); err != nil || c.limits != want {
		t.Errorf("limit flags: %+v, %v; want %+v", c.limits, err, want)
	}
	t.Setenv("MLGRAPH_MAX_BODY", "2KiB")
	t.Setenv("MLGRAPH_MAX_COMPLEXITY", "1000")
	t.Setenv("MLGRAPH_MAX_DEPTH", "20")
	t.Setenv("MLGRAPH_REQUEST_TIMEOUT", "0")
	t.Setenv("MLGRAPH_INTROSPECTION", "false")
	c, err = parseConfig(nil, io.Discard)
	if want := (graph.Limits{MaxBody: 2048, MaxComplexity: 1000, MaxDepth: 20}); err != nil || c.limits != want {
		t.Errorf("limits from the environment: %+v, %v; want %+v", c.limits, err, want)
	}
	// A bare -introspection turns it back on.
	if c, err := parseConfig([]string{"-introspection"}, io.Discard); err != nil || !c.limits.Introspection {
		t.Errorf("-introspection over MLGRAPH_INTROSPECTION=false: %+v, %v", c.limits, err)
	}
	t.Setenv("MLGRAPH_INTROSPECTION", "maybe")
	if _, err := parseConfig(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MLGRAPH_INTROSPECTION") {
		t.Errorf("MLGRAPH_INTROSPECTION=maybe: %v", err)
	}
	for _, name := range []string{"MLGRAPH_MAX_BODY", "MLGRAPH_MAX_COMPLEXITY", "MLGRAPH_MAX_DEPTH", "MLGRAPH_REQUEST_TIMEOUT", "MLGRAPH_INTROSPECTION"} {
		t.Setenv(name, "")
	}

	for _, tc := range []struct {
		args      []string
		fragments []string
	}{
		{[]string{"-max-body", "big"}, []string{"-max-body", `"big"`, "16MiB"}},
		{[]string{"-max-body", "0"}, []string{"-max-body", `"0"`}},
		{[]string{"-max-complexity", "0"}, []string{"-max-complexity", `"0"`, "at least 1"}},
		{[]string{"-max-complexity", "lots"}, []string{"-max-complexity", `"lots"`}},
		{[]string{"-max-depth", "-1"}, []string{"-max-depth", `"-1"`, "at least 1"}},
		{[]string{"-request-timeout", "60"}, []string{"-request-timeout", `"60"`, "30s"}},
		{[]string{"-request-timeout", "-1s"}, []string{"-request-timeout", `"-1s"`}},
		{[]string{"-introspection=maybe"}, []string{"-introspection", `"maybe"`, "true or false"}},
		{[]string{"-auth", "sometimes"}, []string{"-auth", `"sometimes"`, "auto, required or off"}},
		{[]string{"-rate-limit", "-3"}, []string{"-rate-limit", `"-3"`}},
		{[]string{"-rate-limit", "fast"}, []string{"-rate-limit", `"fast"`}},
		{[]string{"-introspection", "false"}, []string{"unexpected argument", `"false"`, "-flag=value"}},
		{[]string{"-log-format", "yaml"}, []string{"-log-format", `"yaml"`, "text or json"}},
		{[]string{"-log-level", "loud"}, []string{"-log-level", `"loud"`, "debug, info, warn or error"}},
		{[]string{"-cors-origins", "example.com"}, []string{"-cors-origins", `"example.com"`, "scheme://host"}},
		{[]string{"-cors-origins", "https://example.com/app"}, []string{"-cors-origins", "no path"}},
		{[]string{"-no-such-flag"}, []string{"no-such-flag"}},
		{[]string{"-workers", "0"}, []string{"-workers", `"0"`, "1 to 1024"}},
		{[]string{"-train-timeout", "soon"}, []string{"-train-timeout", `"soon"`, "30m"}},
		{[]string{"-workers", "many"}, []string{"-workers", `"many"`}},
		{[]string{"-max-upload", "lots"}, []string{"-max-upload", `"lots"`, "500MB"}},
		{[]string{"-max-upload", "-5MB"}, []string{"-max-upload"}},
	} {
		var stderr bytes.Buffer
		_, err := parseConfig(tc.args, &stderr)
		if err == nil {
			t.Errorf("%v accepted", tc.args)
			continue
		}
		for _, f := range tc.fragments {
			if !strings.Contains(err.Error(), f) || !strings.Contains(stderr.String(), f) {
				t.Errorf("%v: error %q (printed %q) does not mention %q", tc.args, err, stderr.String(), f)
			}
		}
	}
	if _, err := parseConfig([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// syncBuffer is a log sink shared by the server's goroutines and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// operatedServer is the real app, as main builds it, with a JSON debug
// logger the test can read.
type operatedServer struct {
	t    *testing.T
	app  *app
	http *httptest.Server
	logs *syncBuffer
}

func startOperatedServer(t *testing.T, opts ...appOption) *operatedServer {
	t.Helper()
	logs := &syncBuffer{}
	log, err := telemetry.NewLogger(logs, telemetry.LogJSON, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(context.Background(), testdb.New(t), log, opts...)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	s := &operatedServer{t: t, app: a, http: httptest.NewServer(a.handler), logs: logs}
	t.Cleanup(func() {
		s.http.Close()
		a.close()
	})
	return s
}

// client neither asks for compression nor decompresses on its own: the
// tests see the bytes the server sends.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func (s *operatedServer) request(method, path, body string, headers map[string]string) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.http.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, raw
}

// graphql posts a request body and returns the decoded response.
func (s *operatedServer) graphql(body string, headers map[string]string) (*http.Response, gqlResponse) {
	s.t.Helper()
	resp, raw := s.request("POST", "/query", body, headers)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("decode %s: %v", raw, err)
	}
	return resp, out
}

func TestMetricsEndpoint(t *testing.T) {
	srv := startOperatedServer(t)
	if _, out := srv.graphql(`{"query":"query Count { datasets { totalCount } }"}`, nil); len(out.Errors) > 0 {
		t.Fatalf("query failed: %+v", out.Errors)
	}
	_, out := srv.graphql(`{"query":"mutation Upload { createDataset(input: {name: \"x\", csv: \"\"}) { id } }"}`, nil)
	if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("mutation: %+v; want BAD_USER_INPUT", out.Errors)
	}
	srv.request("GET", "/healthz", "", nil)

	resp, raw := srv.request("GET", "/metrics", "", nil)
	text := string(raw)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`mlgraph_graphql_operations_total{operation="Count",outcome="ok",type="query"} 1`,
		`mlgraph_graphql_operations_total{operation="Upload",outcome="BAD_USER_INPUT",type="mutation"} 1`,
		`mlgraph_graphql_operation_duration_seconds_count{operation="Count",type="query"} 1`,
		`mlgraph_http_requests_total{code="200",method="POST",route="/query"} 2`,
		`mlgraph_http_requests_total{code="200",method="GET",route="/healthz"} 1`,
		`mlgraph_http_request_duration_seconds_count{method="POST",route="/query"} 2`,
		`mlgraph_model_cache_hits_total 0`,
		`mlgraph_model_cache_misses_total 0`,
		`mlgraph_model_cache_models 0`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Each app has its own registry: a second one starts from zero.
	other := startOperatedServer(t)
	if _, raw := other.request("GET", "/metrics", "", nil); strings.Contains(string(raw), `operation="Count"`) {
		t.Error("a second app shares the first one's metrics")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

func TestRequestIDs(t *testing.T) {
	srv := startOperatedServer(t)
	resp, _ := srv.request("GET", "/healthz", "", map[string]string{"X-Request-ID": "client-chose-this"})
	if got := resp.Header.Get("X-Request-ID"); got != "client-chose-this" {
		t.Errorf("X-Request-ID echoed as %q", got)
	}
	resp, _ = srv.request("GET", "/healthz", "", map[string]string{"X-Request-ID": `bad id<script>"` + strings.Repeat("z", 100)})
	if got := resp.Header.Get("X-Request-ID"); got != "badidscript"+strings.Repeat("z", 53) {
		t.Errorf("unsafe X-Request-ID echoed as %q", got)
	}
	resp1, _ := srv.request("GET", "/healthz", "", nil)
	resp2, _ := srv.request("GET", "/healthz", "", nil)
	id1, id2 := resp1.Header.Get("X-Request-ID"), resp2.Header.Get("X-Request-ID")
	if id1 == "" || id1 == id2 {
		t.Errorf("generated ids %q and %q: want two different ones", id1, id2)
	}

	// An internal error names the request id to the client and in the log.
	srv.app.store.Close() // every query now fails inside database/sql
	_, out := srv.graphql(`{"query":"{ datasets { totalCount } }"}`, map[string]string{"X-Request-ID": "quote-me-42"})
	if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "INTERNAL_SERVER_ERROR" || out.Errors[0].Extensions["requestId"] != "quote-me-42" {
		t.Errorf("internal error: %+v; want INTERNAL_SERVER_ERROR with requestId quote-me-42", out.Errors)
	}
	line := waitForLog(t, srv.logs, `"msg":"internal error"`)
	if line["request_id"] != "quote-me-42" {
		t.Errorf("internal error log line %v lacks the request id", line)
	}
}

func TestJSONAccessLog(t *testing.T) {
	srv := startOperatedServer(t)
	srv.graphql(`{"query":"{ datasets { totalCount } }"}`, map[string]string{"X-Request-ID": "log-line-1"})
	srv.request("GET", "/healthz", "", map[string]string{"X-Request-ID": "health-1"})

	line := waitForLog(t, srv.logs, `"request_id":"log-line-1"`)
	for k, v := range map[string]any{"level": "INFO", "msg": "request", "method": "POST", "path": "/query", "status": 200.0} {
		if line[k] != v {
			t.Errorf("access log %s = %v, want %v (%v)", k, line[k], v, line)
		}
	}
	if b, _ := line["bytes"].(float64); b <= 0 {
		t.Errorf("access log bytes = %v", line["bytes"])
	}
	if line := waitForLog(t, srv.logs, `"request_id":"health-1"`); line["level"] != "DEBUG" || line["path"] != "/healthz" {
		t.Errorf("health check logged as %v; want DEBUG", line)
	}
	// Every line is JSON.
	for _, l := range strings.Split(strings.TrimSpace(srv.logs.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %s", l)
		}
	}
}

// waitForLog returns the first JSON log line containing fragment. The
// access log is written after the handler returns, which can be just
// after the client has its response.
func waitForLog(t *testing.T, logs *syncBuffer, fragment string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, fragment) {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("log line %q: %v", l, err)
				}
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %s in:\n%s", fragment, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(srv *operatedServer, origin string) *http.Response {
		resp, _ := srv.request("OPTIONS", "/query", "", map[string]string{
			"Origin":                        origin,
			"Access-Control-Request-Method": "POST",
			// Lower-case and sorted, as browsers send them (Fetch standard).
			"Access-Control-Request-Headers": "authorization,content-type,x-request-id",
		})
		return resp
	}
	srv := startOperatedServer(t, withCORSOrigins([]string{"https://app.example.com"}))
	resp := preflight(srv, "https://app.example.com")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("allowed origin's preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight(srv, "https://evil.example.com"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("denied origin's preflight has CORS headers: %v", resp.Header)
	}
	resp, _ = srv.graphql(`{"query":"{ datasets { totalCount } }"}`, map[string]string{"Origin": "https://app.example.com"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("allowed origin's POST: %v", resp.Header)
	}

	plain := startOperatedServer(t)
	if resp := preflight(plain, "https://app.example.com"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("without -cors-origins, a preflight got CORS headers: %v", resp.Header)
	}
}

func TestCompression(t *testing.T) {
	srv := startOperatedServer(t)
	const algorithms = `{"query":"{ algorithms { name tasks params { name type default min max description } } }"}`
	gzipped := map[string]string{"Accept-Encoding": "gzip"}

	resp, raw := srv.request("POST", "/query", algorithms, gzipped)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GraphQL response not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) || !bytes.Contains(plain, []byte("RANDOM_FOREST")) {
		t.Errorf("gunzipped response: %v %.200s", err, plain)
	}
	if len(raw) >= len(plain) {
		t.Errorf("gzip did not shrink the response: %d >= %d bytes", len(raw), len(plain))
	}

	resp, raw = srv.request("POST", "/query", algorithms, nil)
	if resp.Header.Get("Content-Encoding") != "" || !json.Valid(raw) {
		t.Errorf("without Accept-Encoding: encoding %q, valid JSON %v", resp.Header.Get("Content-Encoding"), json.Valid(raw))
	}
	if resp, _ := srv.request("GET", "/metrics", "", gzipped); resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("/metrics not gzipped: %v", resp.Header)
	}
	if resp, raw := srv.request("GET", "/healthz", "", gzipped); resp.Header.Get("Content-Encoding") != "" || string(raw) != "ok\n" {
		t.Errorf("tiny /healthz body: encoding %q, body %q", resp.Header.Get("Content-Encoding"), raw)
	}
}

// TestServiceMetrics: the service reports trainings and model-cache use
// to the app's registry.
func TestServiceMetrics(t *testing.T) {
	srv := startOperatedServer(t)
	_, out := srv.graphql(`{"query":"mutation { createDataset(input: {name: \"lines\", csv: \"x,y\\n1,2\\n2,4\\n3,6.1\\n4,8\\n5,9.9\\n6,12\\n\"}) { id } }"}`, nil)
	var ds struct{ CreateDataset struct{ ID string } }
	if err := json.Unmarshal(out.Data, &ds); err != nil || len(out.Errors) > 0 {
		t.Fatalf("createDataset: %s %+v", out.Data, out.Errors)
	}
	_, out = srv.graphql(`{"query":"mutation { trainModel(input: {datasetId: \"`+ds.CreateDataset.ID+`\", target: \"y\", algorithm: LINEAR_REGRESSION, split: {method: NONE}}, wait: true) { id status } }"}`, nil)
	var m struct{ TrainModel struct{ ID, Status string } }
	if err := json.Unmarshal(out.Data, &m); err != nil || len(out.Errors) > 0 || m.TrainModel.Status != "READY" {
		t.Fatalf("trainModel: %s %+v", out.Data, out.Errors)
	}
	for i := 0; i < 2; i++ {
		if _, out := srv.graphql(`{"query":"mutation { predict(input: {modelId: \"`+m.TrainModel.ID+`\", rows: [[7]]}) { id } }"}`, nil); len(out.Errors) > 0 {
			t.Fatalf("predict: %+v", out.Errors)
		}
	}
	_, raw := srv.request("GET", "/metrics", "", nil)
	text := string(raw)
	for _, want := range []string{
		`mlgraph_training_started_total{algorithm="LINEAR_REGRESSION"} 1`,
		`mlgraph_training_duration_seconds_count{algorithm="LINEAR_REGRESSION",status="READY"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Two predictions look the model up twice, in the cache or not.
	if lookups := metricValue(text, "mlgraph_model_cache_hits_total") + metricValue(text, "mlgraph_model_cache_misses_total"); lookups < 2 {
		t.Errorf("model cache lookups = %v, want at least 2", lookups)
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}

// metricValue is the value of an unlabelled series in the text format.
func metricValue(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestWebsocketOrigins: the websocket upgrade (subscriptions) accepts the
// page origins CORS allows, and same-origin pages, through every
// middleware.
func TestWebsocketOrigins(t *testing.T) {
	dial := func(srv *operatedServer, origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h := http.Header{"Origin": {origin}, "Accept-Encoding": {"gzip"}, "X-Request-Id": {"ws-1"}}
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.http.URL, "http")+"/query",
			&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			if resp != nil && resp.StatusCode != http.StatusForbidden {
				t.Errorf("origin %s refused with status %d, want 403", origin, resp.StatusCode)
			}
			return err
		}
		defer conn.CloseNow()
		if got := resp.Header.Get("X-Request-ID"); got != "ws-1" {
			t.Errorf("upgrade response X-Request-ID = %q", got)
		}
		// The graphql-transport-ws handshake works over the hijacked
		// connection.
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
			return err
		}
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(string(msg), "connection_ack") {
			t.Errorf("origin %s: got %s, want connection_ack", origin, msg)
		}
		return conn.Close(websocket.StatusNormalClosure, "")
	}

	srv := startOperatedServer(t, withCORSOrigins([]string{"https://app.example.com"}))
	if err := dial(srv, "https://app.example.com"); err != nil {
		t.Errorf("allowed origin: %v", err)
	}
	if err := dial(srv, "https://evil.example.com"); err == nil {
		t.Error("a websocket from a denied origin was accepted")
	}
	plain := startOperatedServer(t)
	if err := dial(plain, plain.http.URL); err != nil {
		t.Errorf("same origin without -cors-origins: %v", err)
	}
	if err := dial(plain, "https://app.example.com"); err == nil {
		t.Error("without -cors-origins, a cross-origin websocket was accepted")
	}
	_, raw := srv.request("GET", "/metrics", "", nil)
	if !strings.Contains(string(raw), `mlgraph_http_requests_total{code="101",method="GET",route="/query"} 1`) {
		t.Errorf("the upgrade is not counted as a 101")
	}
}

func TestRemoveStaleUploads(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"gqlgen-old1", "gqlgen-old2", "gqlgen-fresh", "other-old"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if name != "gqlgen-fresh" {
			os.Chtimes(path, old, old)
		}
	}
	n, err := removeStaleUploads(dir, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	var names []string
	for _, p := range left {
		names = append(names, filepath.Base(p))
	}
	if strings.Join(names, ",") != "gqlgen-fresh,other-old" {
		t.Errorf("left %v", names)
	}
}

package httpx

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mlgraph/internal/telemetry"
)

// echoID answers with the request id the context carries.
var echoID = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, telemetry.RequestID(r.Context()))
})

func TestRequestID(t *testing.T) {
	h := RequestID(echoID)
	for _, tc := range []struct{ in, want string }{
		{"abc-123", "abc-123"},
		{"  weird\r\nid<script>", "weirdidscript"},
		{strings.Repeat("x", 200), strings.Repeat("x", maxRequestIDLen)},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(RequestIDHeader, tc.in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get(RequestIDHeader); got != tc.want || w.Body.String() != tc.want {
			t.Errorf("X-Request-ID %q: header %q, context %q; want %q", tc.in, got, w.Body.String(), tc.want)
		}
	}
	// Absent, or nothing left after sanitising: a fresh id each time.
	seen := map[string]bool{}
	for _, in := range []string{"", "<>", ""} {
		r := httptest.NewRequest("GET", "/", nil)
		if in != "" {
			r.Header.Set(RequestIDHeader, in)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		id := w.Header().Get(RequestIDHeader)
		if len(id) < 16 || id != w.Body.String() || seen[id] {
			t.Errorf("generated id %q (context %q) is short, differs or repeats", id, w.Body.String())
		}
		seen[id] = true
	}
}

// syncBuffer is a log sink that server goroutines and the test share.
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

func TestAccessLog(t *testing.T) {
	var out syncBuffer
	log, err := telemetry.NewLogger(&out, telemetry.LogJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	h := RequestID(AccessLog(log, "/healthz")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})))
	for _, path := range []string{"/query?query=secret", "/healthz"} {
		r := httptest.NewRequest("POST", path, nil)
		r.Header.Set(RequestIDHeader, "log-me")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line (/healthz is at debug), got %q", out.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	want := map[string]any{"level": "INFO", "msg": "request", "method": "POST", "path": "/query",
		"status": 418.0, "bytes": 15.0, "request_id": "log-me"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, rec[k], v, lines[0])
		}
	}
	if _, ok := rec["duration_ms"].(float64); !ok {
		t.Errorf("no duration_ms in %s", lines[0])
	}
	if strings.Contains(lines[0], "secret") {
		t.Errorf("the query string was logged: %s", lines[0])
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/query", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(m.Wrap(mux, MuxRoute(mux)))
	defer srv.Close()
	for _, p := range []string{"/healthz", "/healthz", "/query", "/nope/1", "/nope/2"} {
		get(t, srv.URL+p, nil).Body.Close()
	}
	body := readAll(t, get(t, srv.URL+"/metrics", nil))
	for _, want := range []string{
		`mlgraph_http_requests_total{code="200",method="GET",route="/healthz"} 2`,
		`mlgraph_http_requests_total{code="400",method="GET",route="/query"} 1`,
		`mlgraph_http_requests_total{code="404",method="GET",route="other"} 2`,
		`mlgraph_http_request_duration_seconds_count{method="GET",route="/healthz"} 2`,
		`mlgraph_http_requests_in_flight 1`, // the scrape itself
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}
}

func TestParseOrigins(t *testing.T) {
	got, err := ParseOrigins(" https://app.example.com, http://localhost:3000 ,,https://*.example.org")
	if err != nil || strings.Join(got, " ") != "https://app.example.com http://localhost:3000 https://*.example.org" {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := ParseOrigins(""); err != nil || got != nil {
		t.Errorf("empty: %q, %v", got, err)
	}
	if got, err := ParseOrigins("*"); err != nil || len(got) != 1 {
		t.Errorf("*: %q, %v", got, err)
	}
	for _, bad := range []string{"example.com", "ftp://example.com", "https://example.com/app", "https://example.com/", "https://*.*.com", "https://",
		"https://example.com?", "https://example.com#", "https://exa mple.com"} {
		if _, err := ParseOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWebsocketOriginPatterns(t *testing.T) {
	got := WebsocketOriginPatterns([]string{"*", "https://*.example.com", "http://[::1]:3000"})
	if want := []string{"*", "https://*.example.com", `http://\[::1\]:3000`}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("patterns %q, want %q", got, want)
	}
	if WebsocketOriginPatterns(nil) != nil {
		t.Error("no origins must give no patterns")
	}
}

func TestCORS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	preflight := func(h http.Handler, origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("OPTIONS", "/query", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "content-type,x-request-id")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	h := CORS([]string{"https://app.example.com"})(ok)
	w := preflight(h, "https://app.example.com")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")), "x-request-id") {
		t.Errorf("allowed preflight: %d %v", w.Code, w.Header())
	}
	if w := preflight(h, "https://evil.example.com"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("denied origin got CORS headers: %v", w.Header())
	}
	// An actual request from an allowed origin can read X-Request-ID.
	r := httptest.NewRequest("POST", "/query", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.EqualFold(w.Header().Get("Access-Control-Expose-Headers"), RequestIDHeader) {
		t.Errorf("actual request: %v", w.Header())
	}
	// No origins: no CORS at all.
	if w := preflight(CORS(nil)(ok), "https://app.example.com"); w.Header().Get("Access-Control-Allow-Origin") != "" || w.Body.String() != "ok" {
		t.Errorf("CORS without origins: %v %q", w.Header(), w.Body)
	}
	if w := preflight(CORS([]string{"*"})(ok), "https://any.example"); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("*: %v", w.Header())
	}
}

func TestCompress(t *testing.T) {
	compress, err := Compress()
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat(`{"data":{"algorithms":[]}}`, 200)
	srv := httptest.NewServer(compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/tiny" {
			io.WriteString(w, "ok\n")
			return
		}
		io.WriteString(w, big)
	})))
	defer srv.Close()

	resp := get(t, srv.URL+"/big", map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("big body not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); string(got) != big {
		t.Errorf("gunzipped body differs (%d bytes)", len(got))
	}
	resp.Body.Close()

	for _, tc := range []struct{ path, accept string }{{"/big", "identity"}, {"/tiny", "gzip"}} {
		resp := get(t, srv.URL+tc.path, map[string]string{"Accept-Encoding": tc.accept})
		body := readAll(t, resp)
		if enc := resp.Header.Get("Content-Encoding"); enc != "" || (tc.path == "/big" && body != big) {
			t.Errorf("%s with Accept-Encoding %s: encoding %q, %d bytes", tc.path, tc.accept, enc, len(body))
		}
	}
}

// TestHijackThroughTheChain: a websocket upgrade hijacks the connection
// through every middleware.
func TestHijackThroughTheChain(t *testing.T) {
	compress, err := Compress()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
		rw.Flush()
	})
	h = compress(h)
	h = CORS([]string{"*"})(h)
	h = m.Wrap(h, func(*http.Request) string { return "/ws" })
	h = AccessLog(slog.New(slog.DiscardHandler))(h)
	srv := httptest.NewServer(RequestID(h))
	defer srv.Close()

	resp := get(t, srv.URL, map[string]string{"Connection": "Upgrade", "Upgrade": "test", "Accept-Encoding": "gzip"})
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('o')
	if line != "hello" {
		t.Errorf("read %q after the upgrade", line)
	}
}

// client does not ask for compression by itself nor decompress, so the
// tests see what the server sends.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func get(t *testing.T, url string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

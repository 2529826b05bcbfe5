package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"mlgraph/internal/httpx"
	"mlgraph/service"
	"mlgraph/store"
)

// post sends a GraphQL request body with an optional request id and
// returns the raw response.
func post(t *testing.T, url, body, requestID string) []byte {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if requestID != "" {
		req.Header.Set(httpx.RequestIDHeader, requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOperationMetrics(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	m, err := NewOperationMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(service.New(st, service.Options{Logger: log}), log, WithExtension(m)))
	defer srv.Close()

	for _, tc := range []struct{ body, want string }{
		{`{"query":"query ListDatasets { datasets { totalCount } }"}`, `"totalCount":0`},
		{`{"query":"query ListDatasets { datasets { totalCount } }"}`, `"totalCount":0`},
		{`{"query":"{ algorithms { name } }"}`, `LINEAR_REGRESSION`},
		{`{"query":"mutation NewDataset($csv: String!) { createDataset(input: {name: \"e\", csv: $csv}) { id } }","variables":{"csv":""}}`, `BAD_USER_INPUT`},
		{`{"query":"query Broken { nope }","operationName":"Broken"}`, `GRAPHQL_VALIDATION_FAILED`},
		{`{"query":"{"}`, `GRAPHQL_PARSE_FAILED`},
		{`{"query":"query A { algorithms { name } }","operationName":"no such name!"}`, `GRAPHQL_VALIDATION_FAILED`},
	} {
		if raw := post(t, srv.URL, tc.body, ""); !bytes.Contains(raw, []byte(tc.want)) {
			t.Errorf("%s answered %s; want %s", tc.body, raw, tc.want)
		}
	}

	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
	text := scrape.Body.String()
	for _, want := range []string{
		`mlgraph_graphql_operations_total{operation="ListDatasets",outcome="ok",type="query"} 2`,
		`mlgraph_graphql_operations_total{operation="anonymous",outcome="ok",type="query"} 1`,
		`mlgraph_graphql_operations_total{operation="NewDataset",outcome="BAD_USER_INPUT",type="mutation"} 1`,
		`mlgraph_graphql_operations_total{operation="Broken",outcome="GRAPHQL_VALIDATION_FAILED",type="unknown"} 1`,
		`mlgraph_graphql_operations_total{operation="anonymous",outcome="GRAPHQL_PARSE_FAILED",type="unknown"} 1`,
		`mlgraph_graphql_operations_total{operation="invalid",outcome="GRAPHQL_VALIDATION_FAILED",type="unknown"} 1`,
		`mlgraph_graphql_operation_duration_seconds_count{operation="ListDatasets",type="query"} 2`,
		`mlgraph_graphql_operation_duration_seconds_count{operation="NewDataset",type="mutation"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if n := strings.Count(text, "mlgraph_graphql_operations_total{"); n != 6 {
		t.Errorf("%d operation series, want 6 (a response counted twice?):\n%s", n, text)
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

func TestOperationNameLabel(t *testing.T) {
	m, err := NewOperationMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"": "anonymous", "Train_2": "Train_2", "2fast": "invalid", "a b": "invalid",
		strings.Repeat("a", 65): "invalid", "é": "invalid"} {
		if got := m.nameLabel(in); got != want {
			t.Errorf("nameLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for i := 0; i < 2*maxOperationNames; i++ {
		m.nameLabel(fmt.Sprintf("Op%d", i))
	}
	if got := m.nameLabel("OneTooMany"); got != "other" {
		t.Errorf("past %d names: %q, want other", maxOperationNames, got)
	}
	if got := m.nameLabel("Train_2"); got != "Train_2" {
		t.Errorf("a name seen before the cap: %q", got)
	}
}

// TestInternalErrorsCarryTheRequestID: the client-facing internal error
// and the server's log line both carry the request id, for a failing
// store and for a panicking resolver.
func TestInternalErrorsCarryTheRequestID(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // every query now fails inside database/sql
	for name, st := range map[string]*store.Store{"closed store": st, "panic": nil} {
		var logged bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logged, nil))
		srv := httptest.NewServer(httpx.RequestID(NewHandler(service.New(st, service.Options{Logger: log}), log)))
		raw := post(t, srv.URL, `{"query":"{ datasets { totalCount } }"}`, "ticket-"+strings.ReplaceAll(name, " ", "-"))
		srv.Close()
		var out struct {
			Errors []struct{ Extensions map[string]any }
		}
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) != 1 {
			t.Fatalf("%s: response %s: %v", name, raw, err)
		}
		want := "ticket-" + strings.ReplaceAll(name, " ", "-")
		if ext := out.Errors[0].Extensions; ext["code"] != codeInternal || ext["requestId"] != want {
			t.Errorf("%s: extensions %v; want code %s and requestId %s", name, ext, codeInternal, want)
		}
		if !strings.Contains(logged.String(), `"request_id":"`+want+`"`) {
			t.Errorf("%s: log lacks the request id: %s", name, logged.String())
		}
	}
}

// TestSubscriptionCountedOnce: a subscription is one operation, with the
// outcome of its first event, observed when its stream ends.
func TestSubscriptionCountedOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewOperationMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	oc := &graphql.OperationContext{
		OperationName: "Progress",
		Operation:     &ast.OperationDefinition{Operation: ast.Subscription, Name: "Progress"},
		Stats:         graphql.Stats{OperationStart: time.Now()},
	}
	ctx := graphql.WithOperationContext(context.Background(), oc)
	events := []*graphql.Response{{Data: []byte(`{}`)}, {Errors: gqlerror.List{{Message: "x", Extensions: map[string]any{"code": "NOT_FOUND"}}}}, nil}
	responses := m.InterceptOperation(ctx, func(ctx context.Context) graphql.ResponseHandler {
		return func(ctx context.Context) *graphql.Response {
			// Responses of a dispatched operation are not counted again.
			return m.InterceptResponse(ctx, func(context.Context) *graphql.Response {
				e := events[0]
				events = events[1:]
				return e
			})
		}
	})
	count := func() string {
		scrape := httptest.NewRecorder()
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
		return scrape.Body.String()
	}
	responses(ctx)
	responses(ctx)
	if strings.Contains(count(), "mlgraph_graphql_operations_total") {
		t.Error("a subscription was counted before its stream ended")
	}
	if responses(ctx) != nil {
		t.Fatal("want the end of the stream")
	}
	text := count()
	if !strings.Contains(text, `mlgraph_graphql_operations_total{operation="Progress",outcome="ok",type="subscription"} 1`) ||
		strings.Count(text, "mlgraph_graphql_operations_total{") != 1 {
		t.Errorf("after the stream:\n%s", text)
	}
}

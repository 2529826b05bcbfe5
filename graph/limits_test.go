package graph

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"mlgraph/internal/apperr"
)

func TestListCost(t *testing.T) {
	if got := listCost(20, 3); got != 61 {
		t.Errorf("listCost(20, 3) = %d, want 61", got)
	}
	if got := listCost(10, 0); got != 11 {
		t.Errorf("listCost(10, 0) = %d, want 11 (an element costs at least 1)", got)
	}
	// Saturates instead of overflowing (an overflow could wrap below the limit).
	huge := listCost(100, listCost(100, listCost(100, listCost(100, listCost(100, listCost(100, listCost(100, 1)))))))
	if huge <= 0 || huge < 1<<40 {
		t.Errorf("nested huge lists cost %d", huge)
	}
}

// operationComplexity is what the complexity extension computes.
func operationComplexity(t *testing.T, query string) int {
	t.Helper()
	cfg := Config{}
	setComplexity(&cfg.Complexity)
	es := NewExecutableSchema(cfg)
	doc, err := gqlparser.LoadQuery(es.Schema(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return complexity.Calculate(context.Background(), es, doc.Operations[0], nil)
}

func TestComplexityPricing(t *testing.T) {
	for _, tc := range []struct {
		query    string
		min, max int
	}{
		{`{ datasets { totalCount } }`, 1, 30},
		// 20 (default page) × (edges, node, id) + totalCount.
		{`{ datasets { edges { node { id } } } }`, 40, 100},
		// first is capped at 100.
		{`{ datasets(first: 100000) { edges { node { id } } } }`, 200, 400},
		{`{ datasets(first: 100) { edges { node { models(first: 100) { edges { node { id } } } } } } }`, 30000, 1 << 62},
		{`{ dataset(id: "1") { preview(first: 50) } }`, 50, 60},
		{`{ algorithms { name params { name } } }`, 150, 200},
		{`{ leaderboard(modelIds: ["1", "2", "3"]) { entries { rank } } }`, 10, 50},
	} {
		got := operationComplexity(t, tc.query)
		if got < tc.min || got > tc.max {
			t.Errorf("%s costs %d, want %d to %d", tc.query, got, tc.min, tc.max)
		}
	}
	// Explanations cost more with more contributions asked for.
	few := operationComplexity(t, `{ model(id: "1") { predictions { edges { node { contributions(topK: 3) { contributions { feature } } } } } } }`)
	all := operationComplexity(t, `{ model(id: "1") { predictions { edges { node { contributions(topK: 0) { contributions { feature } } } } } } }`)
	if all <= few || all < DefaultMaxComplexity {
		t.Errorf("contributions: topK 3 costs %d, all %d", few, all)
	}
}

func walk(t *testing.T, query string) fragmentInfo {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	w := depthWalker{fragments: doc.Fragments, memo: map[string]fragmentInfo{}}
	return w.selectionSet(doc.Operations[0].SelectionSet)
}

func TestDepthWalker(t *testing.T) {
	for _, tc := range []struct {
		query       string
		depth       int
		introspects bool
	}{
		{`{ a }`, 1, false},
		{`{ a { b { c } } d }`, 3, false},
		{`{ a { ...F } } fragment F on T { b { c { d } } }`, 4, false},
		{`{ a { ... on T { b { c } } } }`, 3, false},
		{`{ a { __typename } }`, 2, false},
		{`{ a __schema { types { fields { type { ofType { ofType { name } } } } } } }`, 1, true},
		{`{ a { ...F } } fragment F on T { __type(name: "X") { name } }`, 1, true},
		// Cycles (which validation rejects) end instead of recursing forever.
		{`{ a { ...F } } fragment F on T { b { ...F } }`, 2, false},
		{`{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { ...F } }`, 3, false},
		// An unknown fragment counts for nothing.
		{`{ a { ...Missing } }`, 1, false},
	} {
		if got := walk(t, tc.query); got.depth != tc.depth || got.introspects != tc.introspects {
			t.Errorf("%s: %+v, want depth %d introspects %v", tc.query, got, tc.depth, tc.introspects)
		}
	}

	// Fragments spreading the next one twice, 40 deep: 2^40 paths, each
	// fragment walked once.
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range 40 {
		next := "leaf"
		if i < 39 {
			next = "...F" + strconv.Itoa(i+1)
		}
		b.WriteString("fragment F" + strconv.Itoa(i) + " on T { x { " + next + " } y { " + next + " } }\n")
	}
	start := time.Now()
	if got := walk(t, b.String()); got.depth != 41 {
		t.Errorf("fragment fan-out: depth %d, want 41", got.depth)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("fragment fan-out took %v", d)
	}
}

func TestLimitBodies(t *testing.T) {
	h := limitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("next handler: %v", err)
		}
		w.Write([]byte("read " + strconv.Itoa(len(body)%100)))
	}), 200, 50)
	srv := httptest.NewServer(h)
	defer srv.Close()

	send := func(contentType, body string, chunked bool) (int, string) {
		t.Helper()
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r)
		}
		req, _ := http.NewRequest("POST", srv.URL, r)
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	tooLarge := func(name string, status int, raw string) {
		t.Helper()
		var out struct {
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		if status != http.StatusRequestEntityTooLarge || json.Unmarshal([]byte(raw), &out) != nil || len(out.Errors) != 1 ||
			out.Errors[0].Extensions["code"] != string(apperr.BadInput) || !strings.Contains(out.Errors[0].Message, "too large") {
			t.Errorf("%s: %d %s; want 413 and BAD_USER_INPUT", name, status, raw)
		}
	}
	for _, chunked := range []bool{false, true} {
		if status, raw := send("application/json", strings.Repeat("x", 50), chunked); status != 200 || raw != "read 50" {
			t.Errorf("body at the limit (chunked %v): %d %s", chunked, status, raw)
		}
		status, raw := send("application/json", strings.Repeat("x", 51), chunked)
		tooLarge("JSON body over the limit", status, raw)
	}
	// Multipart requests have the upload limit.
	if status, raw := send("multipart/form-data; boundary=x", strings.Repeat("x", 150), false); status != 200 || raw != "read 50" {
		t.Errorf("multipart under the upload limit: %d %s", status, raw)
	}
	status, raw := send("multipart/form-data; boundary=x", strings.Repeat("x", 201), false)
	tooLarge("multipart over the upload limit", status, raw)
}

func TestTimeoutErrors(t *testing.T) {
	present := errorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Nanosecond, errRequestTimeout)
	defer cancel()
	<-ctx.Done()
	if e := present(ctx, ctx.Err()); e.Extensions["code"] != string(apperr.Timeout) || strings.Contains(e.Message, "deadline") {
		t.Errorf("deadline passed: %+v", e)
	}
	// A client error stays one, even late.
	if e := present(ctx, apperr.NotFoundf("model", 7)); e.Extensions["code"] != string(apperr.NotFound) {
		t.Errorf("not found after the deadline: %+v", e)
	}
	// A client going away is no timeout.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if e := present(cctx, cctx.Err()); e.Extensions["code"] != codeInternal {
		t.Errorf("cancelled: %+v", e)
	}
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mlgraph/internal/testdb"
)

// post sends raw bytes to /query (chunked when chunked is set: the
// request then declares no length) and decodes the answer.
func (s *testServer) post(body string, chunked bool) (int, gqlResponse) {
	s.t.Helper()
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length from net/http
	}
	req, err := http.NewRequest("POST", s.http.URL+"/query", r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	if chunked && req.ContentLength != -1 {
		req.ContentLength = -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func TestComplexityLimit(t *testing.T) {
	srv := newServer(t)
	// The README's browsing query is well within the default limit.
	var out map[string]any
	srv.mustDo(`{
	  datasets(first: 10) {
	    totalCount
	    pageInfo { hasNextPage endCursor }
	    edges { node { id name rowCount models { totalCount } } }
	  }
	  algorithms { name tasks params { name type default min max description } }
	}`, nil, &out)

	// Three nested connections of 100: a million nodes.
	e := srv.mustFail(`{ datasets(first: 100) { edges { node { models(first: 100) { edges { node {
	  predictions(first: 100) { edges { node { id } } } } } } } } } }`, nil,
		"COMPLEXITY_LIMIT_EXCEEDED", "exceeds the limit of 5000")
	if strings.Contains(e.Message, "goroutine") || strings.Contains(e.Message, "SELECT") {
		t.Errorf("error leaks internals: %q", e.Message)
	}
	if status, _ := srv.post(`{"query":"{ datasets(first: 100) { edges { node { models(first: 100) { edges { node { id } } } } } } }"}`, false); status >= 500 {
		t.Errorf("over the complexity limit: HTTP %d", status)
	}
	// first is capped at 100: asking for more costs no more than 100.
	srv.mustFail(`{ datasets(first: 1000000) { edges { node { models(first: 1000000) { edges { node {
	  predictions(first: 1000000) { edges { node { id } } } } } } } } } }`, nil,
		"COMPLEXITY_LIMIT_EXCEEDED", "exceeds the limit of 5000")

	// A lower limit: one list of algorithms is fine, their parameters
	// (15 × 10) are not.
	low := startServer(t, testdb.New(t), withMaxComplexity(50))
	low.mustDo(`{ algorithms { name } }`, nil, &out)
	low.mustFail(`{ algorithms { name params { name } } }`, nil, "COMPLEXITY_LIMIT_EXCEEDED", "limit of 50")
	// Variables count: first comes from them too.
	low.mustDo(`query($n: Int) { datasets(first: $n) { edges { node { id } } } }`, map[string]any{"n": 5}, &out)
	low.mustFail(`query($n: Int) { datasets(first: $n) { edges { node { id name } } } }`, map[string]any{"n": 50}, "COMPLEXITY_LIMIT_EXCEEDED")
}

// nested returns a query whose selection is depth levels deep (2 to 15),
// going back and forth between datasets and their models.
func nested(depth int) string {
	path := []string{"datasets(first: 2)", "edges", "node", "models(first: 2)", "edges", "node", "dataset",
		"models(first: 2)", "edges", "node", "dataset", "models(first: 2)", "edges", "node"}
	leaves := map[string]string{"dataset": "id", "models(first: 2)": "totalCount", "edges": "cursor", "node": "id"}
	var b strings.Builder
	b.WriteString("{ ")
	for _, f := range path[:depth-1] {
		b.WriteString(f + " { ")
	}
	b.WriteString(leaves[path[depth-2]] + " ")
	b.WriteString(strings.Repeat("} ", depth-1))
	b.WriteString("}")
	return b.String()
}

func TestDepthLimit(t *testing.T) {
	srv := newServer(t)
	var out map[string]any
	// Exactly the default limit of 12 passes.
	srv.mustDo(nested(12), nil, &out)
	srv.mustFail(nested(13), nil, "BAD_USER_INPUT", "13 levels deep", "limit of 12")

	// Fragments count where they are spread.
	srv.mustFail(`
	  query { model(id: "1") { ...A } }
	  fragment A on Model { dataset { models { edges { node { ...B } } } } }
	  fragment B on Model { dataset { models { edges { node { ...C } } } } }
	  fragment C on Model { dataset { models { edges { node { id } } } } }`, nil,
		"BAD_USER_INPUT", "14 levels deep", "limit of 12")
	// Inline fragments too.
	srv.mustFail(`{ model(id: "1") { ... on Model { dataset { models { edges { node { ... on Model {
	  dataset { models { edges { node { dataset { models { edges { node { id } } } } } } } } } } } } } } } }`, nil,
		"BAD_USER_INPUT", "limit of 12")
	// A fragment that spreads itself never runs: validation rejects it.
	srv.mustFail(`
	  query { model(id: "1") { ...Loop } }
	  fragment Loop on Model { dataset { models { edges { node { ...Loop } } } } }`, nil,
		"GRAPHQL_VALIDATION_FAILED", "Loop")
	srv.mustFail(`
	  query { model(id: "1") { ...P } }
	  fragment P on Model { dataset { models { edges { node { ...Q } } } } }
	  fragment Q on Model { ...P }`, nil,
		"GRAPHQL_VALIDATION_FAILED")
	// A fragment spread many times is walked once: this stays quick.
	srv.mustDo(`
	  query { a: models { ...M } b: models { ...M } c: models { ...M } }
	  fragment M on ModelConnection { x: edges { node { ...D } } y: edges { node { ...D } } z: edges { node { ...D } } }
	  fragment D on Model { id name dataset { id } }`, nil, &out)

	// The playground's introspection query is deeper than 12 and passes.
	var schema struct {
		Schema struct {
			Types []struct{ Name string }
		} `json:"__schema"`
	}
	srv.mustDo(introspectionQuery, nil, &schema)
	if len(schema.Schema.Types) < 20 {
		t.Errorf("introspection found %d types", len(schema.Schema.Types))
	}

	shallow := startServer(t, testdb.New(t), withMaxDepth(3))
	shallow.mustDo(`{ datasets { edges { cursor } } }`, nil, &out)
	shallow.mustFail(`{ datasets { edges { node { id } } } }`, nil, "BAD_USER_INPUT", "4 levels deep", "limit of 3")
}

// introspectionQuery is the one GraphiQL (the playground) sends.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

func TestBodyLimit(t *testing.T) {
	srv := startServer(t, testdb.New(t), withMaxBody(2048))
	small := `{"query":"{ datasets { totalCount } }"}`
	big := `{"query":"{ datasets { totalCount } }","variables":{"pad":"` + strings.Repeat("x", 4096) + `"}}`
	for _, chunked := range []bool{false, true} {
		status, out := srv.post(small, chunked)
		if status != http.StatusOK || len(out.Errors) > 0 {
			t.Errorf("small body (chunked %v): %d %+v", chunked, status, out.Errors)
		}
		status, out = srv.post(big, chunked)
		if status != http.StatusRequestEntityTooLarge || len(out.Errors) != 1 ||
			out.Errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(out.Errors[0].Message, "the limit is 2048") {
			t.Errorf("big body (chunked %v): %d %+v", chunked, status, out.Errors)
		}
	}
	// Uploads are bounded by -max-upload, not -max-body.
	csv := "a,b\n" + strings.Repeat("1,2\n", 2000)
	out := srv.upload(uploadMutation, map[string]any{"name": "big"}, "file", "big.csv", []byte(csv))
	if len(out.Errors) > 0 {
		t.Fatalf("upload over -max-body: %+v", out.Errors)
	}
	// The server is still fine after refusing bodies.
	var data map[string]any
	srv.mustDo(`{ datasets { totalCount } }`, nil, &data)
}

func TestRequestTimeout(t *testing.T) {
	dsn := testdb.New(t)
	// The dataset is made under the default limit; then the server restarts
	// with a short one.
	srv := startServer(t, dsn)
	digits := srv.createDataset("digits", datasetCSV(t, "digits", true)).ID
	srv.stop()
	srv = startServer(t, dsn, withRequestTimeout(200*time.Millisecond))

	var out map[string]any
	srv.mustDo(`{ algorithms { name } }`, nil, &out) // quick: not hit

	start := time.Now()
	e := srv.mustFail(`mutation($input: TrainModelInput!) { trainModel(wait: true, input: $input) { id status } }`,
		map[string]any{"input": slowTraining(digits, 300)}, "TIMEOUT", "time limit")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("timed-out request took %v", took)
	}
	if strings.Contains(e.Message, "context") {
		t.Errorf("timeout message shows internals: %q", e.Message)
	}

	// The training goes on and finishes.
	var list struct {
		Models struct {
			Edges []struct{ Node struct{ ID, Status string } }
		}
	}
	srv.mustDo(`{ models(first: 1) { edges { node { id status } } } }`, nil, &list)
	if len(list.Models.Edges) != 1 {
		t.Fatalf("models: %+v", list)
	}
	if m := srv.waitStatus(list.Models.Edges[0].Node.ID, "READY", "FAILED"); m.Status != "READY" {
		t.Fatalf("the training stopped: %+v", m)
	}
}

func TestIntrospectionSwitch(t *testing.T) {
	var out map[string]any
	on := newServer(t)
	on.mustDo(`{ __schema { queryType { name } } __type(name: "Model") { name } }`, nil, &out)

	off := startServer(t, testdb.New(t), withIntrospection(false))
	off.mustFail(`{ __schema { queryType { name } } }`, nil, "BAD_USER_INPUT", "introspection is disabled")
	off.mustFail(`{ __type(name: "Model") { name fields { name } } }`, nil, "BAD_USER_INPUT", "introspection is disabled")
	off.mustFail(`query { ...Q } fragment Q on Query { datasets { totalCount } __schema { types { name } } }`, nil,
		"BAD_USER_INPUT", "introspection is disabled")
	off.mustFail(introspectionQuery, nil, "BAD_USER_INPUT", "introspection is disabled")
	// __typename is not introspection of the schema: it still works, as do
	// ordinary queries.
	off.mustDo(`{ __typename datasets { totalCount } }`, nil, &out)
}

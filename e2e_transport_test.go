package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"mlgraph/internal/testdb"
)

// TestTransportErrorsAreClientErrors: every request that is not a GraphQL
// request /query accepts gets a 4xx, a GraphQL error body with
// extensions.code, and leaves nothing at WARN or ERROR in the server's log
// (no panic, no "superfluous WriteHeader").
func TestTransportErrorsAreClientErrors(t *testing.T) {
	var logged syncBuffer
	logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := openApp(context.Background(), testdb.New(t), logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.handler)
	srv.Config.ErrorLog = log.New(&logged, "http: ", 0)
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.close() })

	get := func(query url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/query?"+query.Encode(), nil)
		return req
	}
	body := func(method, contentType, body string) *http.Request {
		req, _ := http.NewRequest(method, srv.URL+"/query", strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}
	const jsonType = "application/json"
	cases := []struct {
		name    string
		req     *http.Request
		status  int
		code    string
		message string
	}{
		{"empty body", body("POST", jsonType, ""), 400, "BAD_REQUEST", "the request body is empty"},
		{"only spaces", body("POST", jsonType, "  \n "), 400, "BAD_REQUEST", "the request body is empty"},
		{"not JSON", body("POST", jsonType, "not json"), 400, "BAD_REQUEST", "not valid JSON"},
		{"truncated JSON", body("POST", jsonType, `{"query": "{ datasets`), 400, "BAD_REQUEST", "not valid JSON"},
		{"batch", body("POST", jsonType, `[{"query":"{ datasets { totalCount } }"}]`), 400, "BAD_REQUEST", "batched requests"},
		{"a JSON string", body("POST", jsonType, `"{ datasets { totalCount } }"`), 400, "BAD_REQUEST", "is a JSON string, not an object"},
		{"a JSON null", body("POST", jsonType, `null`), 400, "BAD_REQUEST", `the request has no "query"`},
		{"query is a number", body("POST", jsonType, `{"query":5}`), 400, "BAD_REQUEST", `"query" must be a string, not a JSON number`},
		{"variables is a string", body("POST", jsonType, `{"query":"{ datasets { totalCount } }","variables":"x"}`), 400, "BAD_REQUEST", `"variables" must be a JSON object`},
		{"operationName is an object", body("POST", jsonType, `{"query":"{ datasets { totalCount } }","operationName":{}}`), 400, "BAD_REQUEST", `"operationName" must be a string`},
		{"two JSON values", body("POST", jsonType, `{"query":"{ datasets { totalCount } }"} {"query":"{ datasets { totalCount } }"}`), 400, "BAD_REQUEST", "more than one JSON value"},
		{"no query", body("POST", jsonType, `{}`), 400, "BAD_REQUEST", `the request has no "query"`},
		{"not GraphQL", body("POST", jsonType, `{"query":"hello"}`), 422, "GRAPHQL_PARSE_FAILED", "Unexpected Name"},
		{"unknown field", body("POST", jsonType, `{"query":"{ nothing }"}`), 422, "GRAPHQL_VALIDATION_FAILED", "Cannot query field"},
		{"text/plain", body("POST", "text/plain", `{"query":"{ datasets { totalCount } }"}`), 415, "BAD_REQUEST", `content type "text/plain" is not supported`},
		{"no content type", body("POST", "", `{"query":"{ datasets { totalCount } }"}`), 415, "BAD_REQUEST", `content type "none" is not supported`},
		{"form urlencoded", body("POST", "application/x-www-form-urlencoded", "query=x"), 415, "BAD_REQUEST", "is not supported"},
		{"PUT", body("PUT", jsonType, `{"query":"{ datasets { totalCount } }"}`), 405, "BAD_REQUEST", "PUT is not supported"},
		{"DELETE", body("DELETE", "", ""), 405, "BAD_REQUEST", "DELETE is not supported"},
		{"GET without query", get(url.Values{}), 400, "BAD_REQUEST", `the request has no "query"`},
		{"GET with a mutation", get(url.Values{"query": {`mutation { deleteDataset(id: "1") }`}}), 405, "BAD_REQUEST", "a mutation cannot be sent with GET"},
		{"GET with bad variables", get(url.Values{"query": {"{ datasets { totalCount } }"}, "variables": {"{"}}), 400, "BAD_REQUEST", `the "variables" parameter must be a JSON object`},
		{"multipart without operations", multipartWithout(t, srv.URL), 422, "BAD_REQUEST", "operations"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(c.req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			var out gqlResponse
			if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) == 0 {
				t.Fatalf("not a GraphQL error body (%v): %s", err, raw)
			}
			e := out.Errors[0]
			if e.Extensions["code"] != c.code || !strings.Contains(e.Message, c.message) {
				t.Errorf("error %q (code %v), want %s containing %q", e.Message, e.Extensions["code"], c.code, c.message)
			}
			if len(raw) > 1024 {
				t.Errorf("error body of %d bytes: it should not echo the request", len(raw))
			}
		})
	}
	// A good request still works on every transport.
	resp, err := http.DefaultClient.Do(get(url.Values{"query": {"{ datasets { totalCount } }"}}))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"totalCount":0`) {
		t.Errorf("GET query: %d %s", resp.StatusCode, raw)
	}
	if !strings.Contains(logged.String(), "status=415") {
		t.Fatalf("the access log was not captured: %q", logged.String())
	}
	for _, line := range strings.Split(logged.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "http: ") || strings.Contains(line, "panic") {
			t.Errorf("logged: %s", line)
		}
	}
}

// multipartWithout is an upload request whose first part is not
// "operations".
func multipartWithout(t *testing.T, base string) *http.Request {
	var b bytes.Buffer
	b.WriteString("--X\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{}\r\n--X--\r\n")
	req, err := http.NewRequest(http.MethodPost, base+"/query", &b)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary=X")
	return req
}

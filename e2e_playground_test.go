package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestPlaygroundPage: / is the embedded GraphiQL page, which names no
// other host, and every file it references is served from this server with
// its content type, compressed.
func TestPlaygroundPage(t *testing.T) {
	srv := newServer(t)
	get := func(p string) (*http.Response, []byte, int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.http.URL+p, nil)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the client then leaves the body compressed
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body := raw
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatalf("GET %s: %v", p, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("GET %s: %v", p, err)
			}
		}
		return resp, body, len(raw)
	}

	resp, page, sent := get("/")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(page), `id="graphiql"`) {
		t.Fatalf("GET /: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	for _, scheme := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.Contains(string(page), scheme) {
			t.Errorf("the page names a %s URL:\n%s", scheme, page)
		}
	}
	total, totalSent := len(page), sent
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	refs := regexp.MustCompile(`\s(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(page), -1)
	seen := map[string]bool{}
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page references %q: want a path on this server", ref)
			continue
		}
		resp, body, sent := get(ref)
		ext := path.Ext(ref)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType[ext] || len(body) == 0 {
			t.Errorf("GET %s: %d %q, %d bytes; want 200 %q", ref, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), wantType[ext])
		}
		if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
			t.Errorf("GET %s: Content-Encoding %q, want gzip", ref, enc)
		}
		seen[ext] = true
		total, totalSent = total+len(body), totalSent+sent
	}
	if !seen[".js"] || !seen[".css"] {
		t.Errorf("the page references no script or no stylesheet: %q", refs)
	}
	t.Logf("the page and its files: %d bytes, %d sent gzip-compressed", total, totalSent)
}

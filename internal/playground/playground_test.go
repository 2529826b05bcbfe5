package playground

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// attrURL finds the src and href attributes of the page.
var attrURL = regexp.MustCompile(`\s(?:src|href)="([^"]*)"`)

// pageRefs are the URLs the page's src and href attributes name.
func pageRefs(t *testing.T) []string {
	t.Helper()
	var refs []string
	for _, m := range attrURL.FindAllStringSubmatch(string(files["/"].body), -1) {
		refs = append(refs, m[1])
	}
	if len(refs) == 0 {
		t.Fatal("the page references no script or stylesheet")
	}
	return refs
}

func TestEmbeddedFiles(t *testing.T) {
	var js, css int
	for _, ref := range pageRefs(t) {
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		f, ok := files[ref]
		if !ok {
			t.Errorf("the page references %s, which dist does not hold", ref)
			continue
		}
		switch f.contentType {
		case contentTypes[".js"]:
			js++
		case contentTypes[".css"]:
			css++
		}
		if !strings.Contains(f.cacheControl, "immutable") {
			t.Errorf("%s is not hashed: cache-control %q", ref, f.cacheControl)
		}
	}
	if js != 1 || css != 1 {
		t.Errorf("the page references %d scripts and %d stylesheets of dist, want 1 and 1", js, css)
	}
	if _, ok := files[AssetsPath+"licenses.txt"]; !ok {
		t.Error("dist has no assets/licenses.txt")
	}
}

func TestLoadRejectsUnknownFiles(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no page":        {"dist/assets/app-ABCDEFGH.js": {Data: []byte("x")}},
		"unknown type":   {"dist/index.html": {Data: []byte("x")}, "dist/assets/logo.png": {Data: []byte("x")}},
		"outside assets": {"dist/index.html": {Data: []byte("x")}, "dist/app.js": {Data: []byte("x")}},
	} {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: load accepted it", name)
		}
	}
}

// absoluteURL finds http(s) URLs and their host; cssURL the addresses of
// url() in a stylesheet.
var (
	absoluteURL = regexp.MustCompile(`(?i)\bhttps?://([a-z0-9.-]*)`)
	cssURL      = regexp.MustCompile(`url\(\s*["']?([^"')]*)`)
)

// scriptHosts are the hosts the bundled script names, none of which it
// loads anything from: each is text or an identifier, or a link a person
// may follow. The browser test (browser-test/) blocks and reports any
// request to another host while the page runs.
var scriptHosts = map[string]string{
	"www.w3.org":       "XML namespace names of SVG, MathML and XLink elements (React)",
	"react.dev":        "the address of React's error decoder, in its error messages",
	"en.wikipedia.org": "graphql-js: the description of the Float scalar",
	"commonmark.org":   "graphql-js: the description of the @deprecated directive",
	"github.com":       "GraphiQL's default logo link, which the page replaces with its own",
	"codemirror.net":   "a link in GraphiQL's keyboard shortcuts dialog, followed only when clicked",
	"yarnpkg.com":      "a hint in GraphiQL's warning about two copies of graphql",
	"":                 "markdown-it's linkify, making http:// links of text in schema descriptions",
}

func TestPageLoadsNothingOffHost(t *testing.T) {
	page := string(files["/"].body)
	if i := strings.Index(page, "://"); i >= 0 {
		t.Errorf("the page names a URL with a host: %q", page[max(0, i-20):min(len(page), i+30)])
	}
	for _, ref := range pageRefs(t) {
		if !strings.HasPrefix(ref, "data:") && !strings.HasPrefix(ref, AssetsPath) {
			t.Errorf("the page references %q: want a path under %s or a data: URL", ref, AssetsPath)
		}
	}
	for name, f := range files {
		switch f.contentType {
		case contentTypes[".css"]:
			css := string(f.body)
			if strings.Contains(css, "@import") {
				t.Errorf("%s imports a stylesheet", name)
			}
			for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					t.Errorf("%s loads %q: want data: URLs only", name, m[1])
				}
			}
			if m := absoluteURL.FindString(css); m != "" {
				t.Errorf("%s names %q", name, m)
			}
		case contentTypes[".js"]:
			for _, m := range absoluteURL.FindAllStringSubmatch(string(f.body), -1) {
				if _, ok := scriptHosts[strings.ToLower(m[1])]; !ok {
					t.Errorf("%s names %q, a host not in scriptHosts: does the page load from it?", name, m[0])
				}
			}
		}
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	get := func(path string, header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	page := get("/")
	if page.Code != http.StatusOK || page.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		page.Header().Get("Cache-Control") != "no-cache" || !strings.Contains(page.Body.String(), `<div id="graphiql">`) {
		t.Fatalf("GET /: %d %v\n%s", page.Code, page.Header(), page.Body)
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}
	if w := get("/", "If-None-Match", page.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("GET / with its ETag: %d, want 304", w.Code)
	}
	for _, ref := range pageRefs(t) {
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		w := get(ref)
		want := contentTypes[ref[strings.LastIndex(ref, "."):]]
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != want || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
			w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" || w.Body.Len() != len(files[ref].body) {
			t.Errorf("GET %s: %d %v, %d bytes", ref, w.Code, w.Header(), w.Body.Len())
		}
	}
	if w := get(AssetsPath + "licenses.txt"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "graphiql@") {
		t.Errorf("GET licenses.txt: %d", w.Code)
	}
	for _, path := range []string{AssetsPath + "missing.js", AssetsPath, "/index.html", "/dist/index.html"} {
		if w := get(path); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
}

// Package playground serves mlgraph's GraphiQL page from the binary: the
// page, its script and stylesheet are built by web/ (see build.sh) into
// dist/, committed, and embedded here, so the page loads nothing from
// another host and works offline.
package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// AssetsPath is where the page's files are served; the page itself is at /.
const AssetsPath = "/assets/"

// contentTypes are the types of the files dist may hold, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
}

// hashed matches the names the build gives the script and stylesheet
// (esbuild's [name]-[hash]): their content never changes under one name.
var hashed = regexp.MustCompile(`-[A-Z0-9]{8}\.(js|css)$`)

// csp keeps the page to its own origin: scripts and stylesheets from this
// server, requests to its /query (connect-src 'self' covers the websocket
// of the same host), images and fonts inline at most.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

type file struct {
	body         []byte
	contentType  string
	etag         string
	cacheControl string
}

// files are dist's files by URL path, loaded once.
var files = func() map[string]file {
	m, err := load(dist)
	if err != nil {
		panic(err) // the embedded files are the build's: TestEmbeddedFiles covers them
	}
	return m
}()

// load reads the page and assets of fsys (holding dist/) by URL path.
func load(fsys fs.FS) (map[string]file, error) {
	m := map[string]file{}
	err := fs.WalkDir(fsys, "dist", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("playground: no content type for %s", name)
		}
		sum := sha256.Sum256(body)
		f := file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cacheControl: "no-cache"}
		if hashed.MatchString(name) {
			f.cacheControl = "public, max-age=31536000, immutable"
		}
		urlPath := "/" + strings.TrimPrefix(name, "dist/")
		if urlPath == "/index.html" {
			urlPath = "/"
		} else if !strings.HasPrefix(urlPath, AssetsPath) {
			return fmt.Errorf("playground: %s is neither the page nor under %s", name, AssetsPath)
		}
		m[urlPath] = f
		return nil
	})
	if err == nil && m["/"].body == nil {
		err = fmt.Errorf("playground: no dist/index.html")
	}
	return m, err
}

// Handler serves the page at / and its files under AssetsPath (GET and
// HEAD): the page and licences revalidated each time (ETag), the hashed
// script and stylesheet cached for good. Other paths are 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", f.cacheControl)
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/" {
			h.Set("Content-Security-Policy", csp)
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
	})
}

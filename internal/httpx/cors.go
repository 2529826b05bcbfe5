package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"
)

// ParseOrigins splits a comma-separated list of allowed CORS origins and
// checks each: "*" (any origin) or scheme://host[:port], where the host may
// hold one "*" wildcard (https://*.example.com). Empty means no CORS.
func ParseOrigins(s string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			if err := checkOrigin(o); err != nil {
				return nil, err
			}
		}
		origins = append(origins, o)
	}
	return origins, nil
}

func checkOrigin(o string) error {
	if strings.Count(o, "*") > 1 {
		return fmt.Errorf("origin %q: at most one * wildcard", o)
	}
	if strings.ContainsAny(o, "?#\\ \t") {
		return fmt.Errorf("origin %q: want scheme://host[:port] (http or https, no path), or *", o)
	}
	// Parse with the wildcard replaced: url.Parse rejects "*" in a host.
	u, err := url.Parse(strings.Replace(o, "*", "x", 1))
	if err != nil {
		return fmt.Errorf("origin %q: %w", o, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/") {
		return fmt.Errorf("origin %q: want scheme://host[:port] (http or https, no path), or *", o)
	}
	return nil
}

// CORS answers preflight requests and adds CORS headers for the allowed
// origins (see ParseOrigins): methods GET, POST and OPTIONS, request headers
// Content-Type, Authorization and X-Request-ID, and X-Request-ID readable by
// the page. No origins means no CORS headers at all, so browsers keep the
// same-origin policy.
//
// Browsers do not apply CORS to websocket upgrades: the websocket transport
// checks the Origin header itself, with WebsocketOriginPatterns.
func CORS(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return func(h http.Handler) http.Handler { return h }
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders: []string{"Content-Type", "Authorization", RequestIDHeader},
		ExposedHeaders: []string{RequestIDHeader},
		MaxAge:         600, // seconds a browser may cache a preflight answer
	})
	return c.Handler
}

// WebsocketOriginPatterns turns allowed CORS origins (see ParseOrigins) into
// github.com/coder/websocket AcceptOptions.OriginPatterns, so that a page
// that may call the API may also open its websocket: browsers send Origin
// on the upgrade but do not apply CORS to it. Same-origin upgrades are
// always accepted; none means same-origin only.
func WebsocketOriginPatterns(origins []string) []string {
	var patterns []string
	for _, o := range origins {
		// Patterns are path.Match patterns matched against scheme://host
		// (or the host alone for "*"): the wildcard stays, the brackets of
		// an IPv6 host are escaped.
		patterns = append(patterns, strings.NewReplacer("[", `\[`, "]", `\]`).Replace(o))
	}
	return patterns
}

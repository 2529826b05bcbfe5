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
// Browsers do not apply CORS to websocket upgrades: a websocket transport
// must check the Origin header itself against the same list (gqlgen's
// transport.Websocket Upgrader.CheckOrigin or AcceptOptions.OriginPatterns).
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

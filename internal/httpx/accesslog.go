package httpx

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"mlgraph/internal/telemetry"
)

// AccessLog logs one line per request: method, path, status, bytes sent,
// duration and (from the context, see RequestID) the request id. Requests
// to the quiet paths (health checks, metric scrapes) are logged at debug,
// all others at info.
func AccessLog(log *slog.Logger, quiet ...string) func(http.Handler) http.Handler {
	log = telemetry.WithRequestIDs(log)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			level := slog.LevelInfo
			if slices.Contains(quiet, r.URL.Path) {
				level = slog.LevelDebug
			}
			ctx := r.Context()
			if !log.Enabled(ctx, level) {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			rec := newRecorder(w)
			next.ServeHTTP(rec, r)
			// The path only: a GET query string can hold a whole GraphQL
			// document and its variables.
			log.LogAttrs(ctx, level, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.statusCode()),
				slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("remote", r.RemoteAddr),
			)
		})
	}
}

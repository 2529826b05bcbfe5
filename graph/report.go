package graph

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/service"
)

// ReportHandler serves GET /models/{id}/report.svg, a model's report as
// SVG, to a request that may read the model: one with an API key, as for
// /query, or one without an Authorization header holding a report link's
// expires and sig (see service.ReportURL), which a browser can open. An
// invalid or expired link is answered 403 with the reason; a request with
// neither a key nor a link, 401 once keys are needed.
func ReportHandler(svc *service.Service, log *slog.Logger) http.Handler {
	serve := func(w http.ResponseWriter, r *http.Request, cacheControl string) {
		svg, err := svc.ReportSVG(r.Context(), r.PathValue("id"))
		switch {
		case apperr.CodeOf(err) == apperr.NotFound || (err == nil && svg == nil):
			http.Error(w, "no report for this model", http.StatusNotFound)
		case err != nil:
			log.ErrorContext(r.Context(), "render report", "model", r.PathValue("id"), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "image/svg+xml")
			if cacheControl != "" {
				w.Header().Set("Cache-Control", cacheControl)
			}
			w.Write(svg)
		}
	}
	withKey := Authenticate(svc, log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := HasScope(r.Context(), svc, service.ScopeRead); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		serve(w, r, "")
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Header.Get("Authorization") != "" || !q.Has("sig") && !q.Has("expires") {
			withKey.ServeHTTP(w, r)
			return
		}
		if ok, wait := svc.Allow(nil, clientAddr(r)); !ok {
			writeRateLimited(w, wait)
			return
		}
		p, expires, err := svc.VerifyReportLink(r.Context(), r.PathValue("id"), q.Get("expires"), q.Get("sig"))
		if e, ok := apperr.As(err); ok {
			http.Error(w, e.Message, http.StatusForbidden)
			return
		}
		if err != nil {
			writeInternalError(w, log, r, fmt.Errorf("verify report link: %w", err))
			return
		}
		// Cached by the browser only, and no longer than the link works.
		maxAge := max(0, int(time.Until(expires)/time.Second))
		serve(w, r.WithContext(service.WithPrincipal(r.Context(), p)), fmt.Sprintf("private, max-age=%d", maxAge))
	})
}

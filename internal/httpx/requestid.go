package httpx

import (
	"crypto/rand"
	"net/http"
	"strings"

	"mlgraph/internal/telemetry"
)

// RequestIDHeader carries the request id, in requests and responses.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLen bounds an incoming id: it is echoed, logged and put in
// error extensions.
const maxRequestIDLen = 64

// RequestID takes the request's X-Request-ID (sanitised) or generates one,
// echoes it in the response header and puts it in the request context
// (telemetry.RequestID), where loggers made by telemetry find it.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := sanitizeRequestID(r.Header.Get(RequestIDHeader))
		if id == "" {
			id = rand.Text()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(telemetry.WithRequestID(r.Context(), id)))
	})
}

// sanitizeRequestID keeps the characters of an incoming id that are safe
// in a header, a log line and a JSON string (letters, digits
// and -_.:/+=@), truncated to maxRequestIDLen.
func sanitizeRequestID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxRequestIDLen; i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.:/+=@", c) >= 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

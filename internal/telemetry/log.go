package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Log formats accepted by NewLogger.
const (
	LogText = "text"
	LogJSON = "json"
)

// NewLogger returns a logger writing to w in the given format ("text" or
// "json") at level and above, that adds the request id of the context
// passed to its *Context methods.
func NewLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogText:
		h = slog.NewTextHandler(w, opts)
	case LogJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want %s or %s", format, LogText, LogJSON)
	}
	return WithRequestIDs(slog.New(h)), nil
}

// WithRequestIDs returns log with a handler that adds a "request_id"
// attribute to every record logged with a context carrying one (see
// WithRequestID). Wrapping an already wrapped logger returns it unchanged,
// so each layer can call it on the logger it was given.
func WithRequestIDs(log *slog.Logger) *slog.Logger {
	if _, ok := log.Handler().(requestIDHandler); ok {
		return log
	}
	return slog.New(requestIDHandler{log.Handler()})
}

// requestIDHandler adds the context's request id to each record. Under a
// WithGroup the attribute lands in that group, as any attribute would.
type requestIDHandler struct{ inner slog.Handler }

func (h requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		// Clone: the record may share attribute storage with its caller.
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.inner.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.inner.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.inner.WithGroup(name)}
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

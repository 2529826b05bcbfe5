package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/service"
)

// codeInternal is sent for every error that is not the client's to see.
const codeInternal = "INTERNAL_SERVER_ERROR"

// HandlerOption configures NewHandler.
type HandlerOption func(*handlerOptions)

type handlerOptions struct {
	extensions       []graphql.HandlerExtension
	websocketOrigins []string
	limits           Limits
}

// WithExtension adds a gqlgen extension (such as OperationMetrics), used
// after the built-in ones.
func WithExtension(e graphql.HandlerExtension) HandlerOption {
	return func(o *handlerOptions) { o.extensions = append(o.extensions, e) }
}

// WithWebsocketOrigins accepts websocket upgrades from pages on other
// origins matching these coder/websocket OriginPatterns (see
// httpx.WebsocketOriginPatterns); without it, same-origin pages only.
func WithWebsocketOrigins(patterns []string) HandlerOption {
	return func(o *handlerOptions) { o.websocketOrigins = patterns }
}

// NewHandler returns the GraphQL HTTP handler: POST and GET transports, a
// parsed-query cache, automatic persisted queries, introspection (unless
// the limits turn it off), the request limits (complexity, depth, body
// size, timeout), and an error presenter that shows clients only what is
// theirs to see.
func NewHandler(svc *service.Service, log *slog.Logger, opts ...HandlerOption) http.Handler {
	o := handlerOptions{limits: DefaultLimits()}
	for _, opt := range opts {
		opt(&o)
	}
	// Log lines made with a request's context carry its request id.
	log = telemetry.WithRequestIDs(log)
	cfg := Config{Resolvers: &Resolver{Service: svc}}
	cfg.Directives.Auth = authDirective(svc)
	setComplexity(&cfg.Complexity)
	srv := handler.New(NewExecutableSchema(cfg))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(getQuery{})
	srv.AddTransport(postJSON{})
	// Dataset uploads (GraphQL multipart request spec): files larger than
	// MaxMemory go to a temporary file, which uploadDataset streams.
	srv.AddTransport(codedErrors{transport.MultipartForm{MaxUploadSize: svc.MaxUploadBytes(), MaxMemory: 4 << 20}})
	// Subscriptions (trainingProgress) over websocket; the
	// graphql-transport-ws protocol is chosen by the client's subprotocol.
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		// A browser's key comes in connection_init, not a header.
		InitFunc: websocketInit(svc),
		// Browsers do not apply CORS to websockets: the upgrade checks
		// Origin itself (same origin, or one of the patterns).
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: o.websocketOrigins},
		},
	})
	// Last: every other method or content type gets a BAD_REQUEST.
	srv.AddTransport(unsupported{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if o.limits.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(limitsExtension{maxDepth: o.limits.MaxDepth, introspection: o.limits.Introspection, timeout: o.limits.RequestTimeout})
	if o.limits.MaxComplexity > 0 {
		srv.Use(extension.FixedComplexityLimit(o.limits.MaxComplexity))
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	for _, e := range o.extensions {
		srv.Use(e)
	}
	srv.SetErrorPresenter(errorPresenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errInternal
	})
	maxBody := o.limits.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return limitBodies(withLoaders(svc, srv), svc.MaxUploadBytes(), maxBody)
}

var errInternal = errors.New("internal error")

// errorPresenter maps client-facing errors to extensions.code, keeps
// gqlgen's own parse and validation errors, and replaces every other error
// with a generic one after logging it. The generic error carries the
// request id in extensions.requestId, so a user can quote it and an
// operator find the log line.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	log = telemetry.WithRequestIDs(log)
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if e, ok := apperr.As(err); ok {
			gerr.Message = e.Message
			setCode(gerr, string(e.Code))
			return gerr
		}
		if timedOut(ctx) {
			// The request's deadline passed: whatever failed, failed
			// because of it (a training it waited for goes on).
			gerr.Message = "the request took longer than the server's time limit; a training it started goes on"
			gerr.Extensions = map[string]any{"code": string(apperr.Timeout)}
			return gerr
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Err == nil {
			// An error gqlgen made itself (parse, validation, input
			// coercion): its message is about the request.
			if gerr.Extensions["code"] == nil {
				setCode(gerr, string(apperr.BadInput))
			}
			return gerr
		}
		if !errors.Is(err, errInternal) {
			log.ErrorContext(ctx, "internal error", "path", gerr.Path.String(), "err", err)
		}
		gerr.Message = "internal error"
		gerr.Extensions = map[string]any{"code": codeInternal}
		if id := telemetry.RequestID(ctx); id != "" {
			gerr.Extensions["requestId"] = id
		}
		return gerr
	}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

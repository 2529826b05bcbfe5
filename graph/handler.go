package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"mlgraph/internal/apperr"
	"mlgraph/service"
)

// codeInternal is sent for every error that is not the client's to see.
const codeInternal = "INTERNAL_SERVER_ERROR"

// NewHandler returns the GraphQL HTTP handler: POST and GET transports, a
// parsed-query cache, automatic persisted queries, introspection, and an
// error presenter that shows clients only what is theirs to see.
func NewHandler(svc *service.Service, log *slog.Logger) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{Service: svc}}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.SetErrorPresenter(errorPresenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errInternal
	})
	return srv
}

var errInternal = errors.New("internal error")

// errorPresenter maps client-facing errors to extensions.code, keeps
// gqlgen's own parse and validation errors, and replaces every other error
// with a generic one after logging it.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		if e, ok := apperr.As(err); ok {
			gerr.Message = e.Message
			setCode(gerr, string(e.Code))
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
		return gerr
	}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

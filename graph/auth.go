package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"mlgraph/internal/apperr"
	"mlgraph/internal/telemetry"
	"mlgraph/service"
)

// Authentication happens before GraphQL: Authenticate resolves the bearer
// key of each HTTP request (or, for a websocket, of its connection_init
// payload, see websocketInit) to a service.Principal in the context, and
// applies the rate limit. Authorisation happens per field: the schema's
// @auth directive (authDirective) checks the principal's scopes, and the
// store limits every query to the principal's project.

// Authenticate returns middleware that lets a request in only with a valid
// API key when authentication is on, answering 401 UNAUTHENTICATED
// otherwise and 429 RATE_LIMITED (with Retry-After) past the rate limit.
// Websocket upgrades without an Authorization header pass: browsers
// cannot set one, so their key comes in connection_init.
func Authenticate(svc *service.Service, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if r.Method == http.MethodOptions {
				next.ServeHTTP(w, r) // CORS preflight: nothing runs
				return
			}
			var principal *service.Principal
			if svc.AuthMode() != service.AuthOff {
				token, present := bearer(r.Header.Get("Authorization"))
				switch {
				case present:
					p, err := svc.Authenticate(ctx, token)
					if err != nil {
						writeAuthError(w, log, r, err)
						return
					}
					principal, ctx = p, service.WithPrincipal(ctx, p)
				case !isWebsocketUpgrade(r):
					if err := keylessAllowed(ctx, svc); err != nil {
						writeAuthError(w, log, r, err)
						return
					}
				}
			}
			if ok, wait := svc.Allow(principal, clientAddr(r)); !ok {
				writeRateLimited(w, wait)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

var errKeyNeeded = apperr.Newf(apperr.Unauthenticated, "this server needs an API key: send Authorization: Bearer <key>")

// keylessAllowed says whether a request without a key may go on: nil if
// authentication is not on (yet), errKeyNeeded if it is, or the error of
// looking for keys.
func keylessAllowed(ctx context.Context, svc *service.Service) error {
	required, err := svc.AuthRequired(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("look for API keys: %w", err)
	case required:
		return errKeyNeeded
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header,
// and whether the header was there at all (a malformed one gives an empty
// token, which no key matches).
func bearer(header string) (string, bool) {
	if header == "" {
		return "", false
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

func isWebsocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// clientAddr is the client's IP address, which rate-limits requests made
// without a key.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeAuthError(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	e, ok := apperr.As(err)
	if !ok {
		writeInternalError(w, log, r, fmt.Errorf("authenticate: %w", err))
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="mlgraph"`)
	writeGraphQLError(w, http.StatusUnauthorized, e.Message, string(e.Code), nil)
}

// writeInternalError answers as the GraphQL error presenter does for an
// internal error: logged with the request id, which the client gets to
// quote.
func writeInternalError(w http.ResponseWriter, log *slog.Logger, r *http.Request, err error) {
	log.ErrorContext(r.Context(), "internal error", "err", err)
	var extra map[string]any
	if id := telemetry.RequestID(r.Context()); id != "" {
		extra = map[string]any{"requestId": id}
	}
	writeGraphQLError(w, http.StatusServiceUnavailable, "internal error", codeInternal, extra)
}

func writeRateLimited(w http.ResponseWriter, wait time.Duration) {
	seconds := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(1, seconds)))
	writeGraphQLError(w, http.StatusTooManyRequests,
		fmt.Sprintf("rate limit exceeded: retry in %.2f s", wait.Seconds()), string(apperr.RateLimited),
		map[string]any{"retryAfterSeconds": wait.Seconds()})
}

// writeGraphQLError answers with a GraphQL response holding one error, as
// clients expect even when the request never reached GraphQL.
func writeGraphQLError(w http.ResponseWriter, status int, message, code string, extra map[string]any) {
	ext := map[string]any{"code": code}
	for k, v := range extra {
		ext[k] = v
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"message": message, "extensions": ext}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// websocketInit authenticates a websocket connection by the Authorization
// in its connection_init payload, unless its upgrade request carried one.
// A refused connection is closed with 4403, as graphql-transport-ws
// prescribes.
func websocketInit(svc *service.Service) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if svc.AuthMode() == service.AuthOff || service.PrincipalOf(ctx) != nil {
			return ctx, nil, nil
		}
		refuse := func(err error) (context.Context, *transport.InitPayload, error) {
			ctx = transport.WithWebsocketCloseCode(ctx, 4403)
			ctx = transport.AppendCloseReason(ctx, "Forbidden")
			return ctx, nil, err
		}
		token, present := bearer(payload.Authorization())
		if !present {
			if err := keylessAllowed(ctx, svc); err != nil {
				return refuse(err)
			}
			return ctx, nil, nil
		}
		p, err := svc.Authenticate(ctx, token)
		if err != nil {
			return refuse(err)
		}
		if ok, _ := svc.Allow(p, ""); !ok {
			return refuse(apperr.Newf(apperr.RateLimited, "rate limit exceeded"))
		}
		return service.WithPrincipal(ctx, p), nil, nil
	}
}

// authDirective implements @auth(scope:): with authentication on, the
// field needs a principal (any, or one with the scope). The HTTP
// middleware has already turned requests without a key away; checking
// again here keeps a field safe whatever way it is reached.
func authDirective(svc *service.Service) func(ctx context.Context, obj any, next graphql.Resolver, scope *string) (any, error) {
	return func(ctx context.Context, obj any, next graphql.Resolver, scope *string) (any, error) {
		if svc.AuthMode() == service.AuthOff {
			return next(ctx)
		}
		p := service.PrincipalOf(ctx)
		if p == nil {
			if err := keylessAllowed(ctx, svc); err != nil {
				return nil, err
			}
			return next(ctx)
		}
		if scope != nil && !p.Has(*scope) {
			field := "this field"
			if fc := graphql.GetFieldContext(ctx); fc != nil {
				field = fc.Field.Name
			}
			return nil, apperr.Newf(apperr.Forbidden, "%s needs an API key with the %s scope", field, *scope)
		}
		return next(ctx)
	}
}

// HasScope reports whether ctx may act in scope: FORBIDDEN if its key
// lacks it, nil when it may (or no key is needed). For routes outside
// GraphQL, behind Authenticate.
func HasScope(ctx context.Context, svc *service.Service, scope string) error {
	_, err := authDirective(svc)(ctx, nil, func(context.Context) (any, error) { return nil, nil }, &scope)
	return err
}

package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"

	"mlgraph/internal/telemetry"
)

// OperationMetrics is a gqlgen extension that counts GraphQL operations by
// name, type and outcome ("ok" or the first error's extensions.code) and
// times them by name and type, from the start of the HTTP request.
//
// Queries and mutations are observed at their response. A subscription is
// counted once, with the outcome of its first response, and its duration is
// its lifetime. Requests that fail before execution (parse, validation,
// persisted-query errors) are counted too, by the response interceptor.
type OperationMetrics struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu    sync.Mutex
	names map[string]bool // operation names seen, bounded by maxOperationNames
}

var (
	_ graphql.HandlerExtension     = (*OperationMetrics)(nil)
	_ graphql.OperationInterceptor = (*OperationMetrics)(nil)
	_ graphql.ResponseInterceptor  = (*OperationMetrics)(nil)
)

// maxOperationNames bounds the "operation" label: names come from clients,
// and each new one is a new time series. Later names count as "other".
const maxOperationNames = 200

var operationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// NewOperationMetrics creates the GraphQL metrics and registers them on reg.
func NewOperationMetrics(reg prometheus.Registerer) (*OperationMetrics, error) {
	m := &OperationMetrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: telemetry.Namespace, Name: "graphql_operations_total",
			Help: `GraphQL operations by operation name, type (query, mutation, subscription, unknown) and outcome ("ok" or the error code).`,
		}, []string{"operation", "type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "graphql_operation_duration_seconds",
			Help:    "GraphQL operation latency by operation name and type, from the start of the request to the response.",
			Buckets: operationBuckets,
		}, []string{"operation", "type"}),
		names: map[string]bool{},
	}
	for _, c := range []prometheus.Collector{m.ops, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register GraphQL metrics: %w", err)
		}
	}
	return m, nil
}

func (m *OperationMetrics) ExtensionName() string                   { return "OperationMetrics" }
func (m *OperationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// dispatchedKey marks the contexts of an operation that InterceptOperation
// observes, so InterceptResponse does not count its responses again.
type dispatchedKey struct{}

func (m *OperationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	name, typ, start := m.labels(ctx)
	// The mark goes on both the operation's context and each response's:
	// gqlgen derives response contexts from one or the other depending on
	// the dispatch path.
	responses := next(context.WithValue(ctx, dispatchedKey{}, true))
	var seen, done bool
	var outcome string
	// The transport calls the handler from one goroutine, once per response
	// and once more with nil at the end.
	return func(ctx context.Context) *graphql.Response {
		resp := responses(context.WithValue(ctx, dispatchedKey{}, true))
		if done {
			return resp
		}
		if typ != string(ast.Subscription) {
			if resp != nil {
				done = true
				m.observe(name, typ, outcomeOf(resp), time.Since(start))
			}
			return resp
		}
		if resp != nil {
			if !seen {
				seen, outcome = true, outcomeOf(resp)
			}
			return resp
		}
		done = true
		if !seen {
			outcome = "ok"
		}
		m.observe(name, typ, outcome, time.Since(start))
		return nil
	}
}

// InterceptResponse counts the responses gqlgen produces without
// dispatching an operation: the request failed to parse or validate.
func (m *OperationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || ctx.Value(dispatchedKey{}) != nil {
		return resp
	}
	name, typ, start := m.labels(ctx)
	m.observe(name, typ, outcomeOf(resp), time.Since(start))
	return resp
}

func (m *OperationMetrics) observe(name, typ, outcome string, d time.Duration) {
	m.ops.WithLabelValues(name, typ, outcome).Inc()
	m.duration.WithLabelValues(name, typ).Observe(d.Seconds())
}

// labels returns the operation's name and type labels and when its request
// started (now, if unknown: a body that is not JSON has no operation
// context). Before parsing succeeds the type is "unknown".
func (m *OperationMetrics) labels(ctx context.Context) (name, typ string, start time.Time) {
	typ = "unknown"
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		name = oc.OperationName
		if op := oc.Operation; op != nil {
			typ = string(op.Operation)
			if op.Name != "" {
				name = op.Name
			}
		}
		if !oc.Stats.OperationStart.IsZero() {
			start = oc.Stats.OperationStart
		}
	}
	if start.IsZero() {
		start = time.Now()
	}
	return m.nameLabel(name), typ, start
}

// nameLabel bounds the operation label: "anonymous" without a name,
// "invalid" for what is not a GraphQL name (a client can send any string
// as operationName), "other" once maxOperationNames names have been seen.
func (m *OperationMetrics) nameLabel(name string) string {
	if name == "" {
		return "anonymous"
	}
	if !isGraphQLName(name) {
		return "invalid"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.names[name] {
		if len(m.names) >= maxOperationNames {
			return "other"
		}
		m.names[name] = true
	}
	return name
}

// isGraphQLName reports whether s is a GraphQL Name of at most 64 bytes.
func isGraphQLName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// outcomeOf is "ok" for a response without errors, else the first error's
// extensions.code (the error presenter always sets one).
func outcomeOf(resp *graphql.Response) string {
	if len(resp.Errors) == 0 {
		return "ok"
	}
	if code, ok := resp.Errors[0].Extensions["code"].(string); ok && code != "" {
		return code
	}
	return "error"
}

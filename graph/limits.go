package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"mlgraph/graph/model"
	"mlgraph/internal/apperr"
)

// Limits bound what one GraphQL request may cost the server.
type Limits struct {
	// MaxComplexity is the largest operation complexity accepted (see
	// setComplexity for the per-field costs). Over it, the error's code is
	// gqlgen's COMPLEXITY_LIMIT_EXCEEDED.
	MaxComplexity int
	// MaxDepth is the deepest selection accepted, fragments included
	// (introspection fields excluded: gqlparser bounds those itself).
	MaxDepth int
	// MaxBody is the largest non-multipart request body, in bytes.
	// Multipart uploads are bounded by the service's upload limit instead.
	MaxBody int64
	// RequestTimeout bounds each query and mutation (not subscriptions);
	// 0: no limit. A request over it gets a TIMEOUT error.
	RequestTimeout time.Duration
	// Introspection allows __schema and __type queries (the playground
	// needs them).
	Introspection bool
}

// The defaults of Limits.
const (
	DefaultMaxComplexity  = 5000
	DefaultMaxDepth       = 12
	DefaultMaxBody        = 16 << 20
	DefaultRequestTimeout = 60 * time.Second
)

// DefaultLimits returns the limits NewHandler uses without WithLimits.
func DefaultLimits() Limits {
	return Limits{
		MaxComplexity:  DefaultMaxComplexity,
		MaxDepth:       DefaultMaxDepth,
		MaxBody:        DefaultMaxBody,
		RequestTimeout: DefaultRequestTimeout,
		Introspection:  true,
	}
}

// WithLimits sets the request limits (default: DefaultLimits()).
func WithLimits(l Limits) HandlerOption {
	return func(o *handlerOptions) { o.limits = l }
}

// Connection page sizes, as the resolvers apply them.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// Assumed lengths of lists that take no size argument.
const (
	costAlgorithms   = 15 // Query.algorithms
	costSmallList    = 10 // params, classes, folds, categories, outputs…
	costFeatureList  = 20 // columns, features, coefficients
	costTrials       = 20 // Tuning.trials
	costExplainedRow = 10 // rows explained by Prediction.contributions
)

// setComplexity prices list fields: a list costs its (expected or
// requested) length times the cost of one element, so nested connections
// multiply.
func setComplexity(c *ComplexityRoot) {
	page := func(first *int) int {
		n := defaultPageSize
		if first != nil {
			n = min(max(*first, 1), maxPageSize)
		}
		return n
	}
	list := func(n int) func(int) int {
		return func(child int) int { return listCost(n, child) }
	}

	c.Query.Datasets = func(child int, first *int, _ *string, _ *model.DatasetFilter, _ *model.DatasetOrder) int {
		return listCost(page(first), child)
	}
	c.Query.Models = func(child int, first *int, _ *string, _ *string, _ *model.ModelFilter, _ *model.ModelOrder) int {
		return listCost(page(first), child)
	}
	c.Dataset.Models = func(child int, first *int, _ *string, _ *model.ModelFilter, _ *model.ModelOrder) int {
		return listCost(page(first), child)
	}
	c.Model.Predictions = func(child int, first *int, _ *string) int {
		return listCost(page(first), child)
	}
	c.Dataset.Preview = func(child int, first *int) int {
		n := 10
		if first != nil {
			n = min(max(*first, 1), maxPageSize)
		}
		return listCost(n, child)
	}
	c.Query.Leaderboard = func(child int, modelIDs []string, _ *string) int {
		return listCost(max(len(modelIDs), 1), child)
	}
	// Explanations are computed on demand (Shapley sampling for most
	// models): they cost per row and per contribution asked for.
	c.Prediction.Contributions = func(child int, topK *int) int {
		k := 10
		if topK != nil {
			k = *topK
		}
		if k <= 0 || k > maxPageSize {
			k = maxPageSize
		}
		return listCost(costExplainedRow, listCost((k+9)/10, child))
	}

	c.Query.Algorithms = list(costAlgorithms)
	c.AlgorithmInfo.Params = list(costSmallList)
	c.Dataset.Columns = list(costFeatureList)
	c.Column.TopCategories = list(costSmallList)
	c.Leaderboard.Entries = list(costSmallList)
	c.Model.FeatureImportance = list(costFeatureList)
	c.Model.InputSchema = list(costFeatureList)
	c.Model.Coefficients = func(child int, _ *string, _ *int) int { return listCost(costFeatureList, child) }
	c.Model.Intercepts = func(child int, _ *string) int { return listCost(costSmallList, child) }
	c.CrossValidation.FoldMetrics = list(costSmallList)
	c.Tuning.Trials = list(costTrials)
	c.Metrics.PerClass = list(costSmallList)
	c.Prediction.Outputs = list(costSmallList)
	c.Explanation.Contributions = list(costSmallList)
	c.PredictionOutput.Probabilities = list(costSmallList)
}

// listCost is 1 + n × child, saturating instead of overflowing.
func listCost(n, child int) int {
	const ceiling = 1 << 40
	child = max(child, 1)
	if n > 0 && child > ceiling/n {
		return ceiling
	}
	return 1 + n*child
}

// limitsExtension enforces the depth limit, introspection switch and
// request timeout.
type limitsExtension struct {
	maxDepth      int
	introspection bool
	timeout       time.Duration
}

var (
	_ graphql.HandlerExtension        = limitsExtension{}
	_ graphql.OperationContextMutator = limitsExtension{}
	_ graphql.ResponseInterceptor     = limitsExtension{}
)

func (limitsExtension) ExtensionName() string                   { return "Limits" }
func (limitsExtension) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext rejects an operation that is too deep or asks
// for introspection when it is off, before anything runs.
func (l limitsExtension) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	w := depthWalker{fragments: opCtx.Doc.Fragments, memo: map[string]fragmentInfo{}}
	info := w.selectionSet(opCtx.Operation.SelectionSet)
	if info.introspects && !l.introspection {
		return badInput("introspection is disabled on this server (__schema and __type)")
	}
	if l.maxDepth > 0 && info.depth > l.maxDepth {
		return badInput(fmt.Sprintf("operation is %d levels deep, which exceeds the limit of %d (max depth)", info.depth, l.maxDepth))
	}
	return nil
}

func badInput(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": string(apperr.BadInput)}}
}

// errRequestTimeout is the cause of a request's context when its deadline
// passes; the error presenter turns errors it caused into TIMEOUT.
var errRequestTimeout = errors.New("request timeout")

// InterceptResponse gives queries and mutations a deadline. Subscriptions
// are left alone: they last as long as the client wants.
func (l limitsExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	// A request that never parsed (DispatchError) has no operation context.
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	opCtx := graphql.GetOperationContext(ctx)
	if l.timeout <= 0 || opCtx.Operation == nil || opCtx.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, l.timeout, errRequestTimeout)
	defer cancel()
	return next(ctx)
}

// timedOut reports whether ctx is a request's whose deadline passed.
func timedOut(ctx context.Context) bool {
	return ctx != nil && errors.Is(context.Cause(ctx), errRequestTimeout)
}

// fragmentInfo is what a selection set holds: its depth and whether it
// selects introspection fields.
type fragmentInfo struct {
	depth       int
	introspects bool
}

// depthWalker measures an operation, following fragment spreads once each
// (memoized, so reuse does not multiply the work) and never around a cycle
// (gqlparser's validation rejects cycles; this walker stays safe anyway).
type depthWalker struct {
	fragments ast.FragmentDefinitionList
	memo      map[string]fragmentInfo
	visiting  map[string]bool
}

func (w *depthWalker) selectionSet(set ast.SelectionSet) fragmentInfo {
	var out fragmentInfo
	merge := func(in fragmentInfo) {
		out.depth = max(out.depth, in.depth)
		out.introspects = out.introspects || in.introspects
	}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				// Introspection's nesting is bounded by gqlparser's own
				// rule; it does not count towards the depth limit.
				out.introspects = true
				continue
			}
			child := w.selectionSet(sel.SelectionSet)
			merge(fragmentInfo{depth: 1 + child.depth, introspects: child.introspects})
		case *ast.InlineFragment:
			merge(w.selectionSet(sel.SelectionSet))
		case *ast.FragmentSpread:
			merge(w.fragment(sel.Name))
		}
	}
	return out
}

func (w *depthWalker) fragment(name string) fragmentInfo {
	if info, ok := w.memo[name]; ok {
		return info
	}
	if w.visiting[name] {
		return fragmentInfo{}
	}
	def := w.fragments.ForName(name)
	if def == nil {
		return fragmentInfo{}
	}
	if w.visiting == nil {
		w.visiting = map[string]bool{}
	}
	w.visiting[name] = true
	info := w.selectionSet(def.SelectionSet)
	delete(w.visiting, name)
	w.memo[name] = info
	return info
}

// limitBodies answers a request whose body is over its limit with HTTP 413
// and a BAD_USER_INPUT error: multipart requests (uploads) up to
// uploadLimit, declared by Content-Length (the multipart transport also
// stops a body without one at the limit); every other body up to
// bodyLimit, declared or not (a chunked body is read up to the limit
// first).
func limitBodies(next http.Handler, uploadLimit, bodyLimit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := bodyLimit
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		multipart := mediaType == "multipart/form-data"
		if multipart {
			limit = uploadLimit
		}
		if r.ContentLength > limit {
			tooLarge(w, fmt.Sprintf("request body too large: %d bytes; the limit is %d", r.ContentLength, limit))
			return
		}
		if !multipart && r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				tooLarge(w, fmt.Sprintf("request body too large: the limit is %d bytes", limit))
				return
			case err != nil:
				writeError(w, http.StatusBadRequest, "could not read the request body")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusRequestEntityTooLarge, msg)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeGraphQLError(w, status, msg, string(apperr.BadInput), nil)
}

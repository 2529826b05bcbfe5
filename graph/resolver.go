// Package graph is mlgraph's GraphQL layer: gqlgen's generated executor
// (generated.go, model/) and thin resolvers that check arguments, call the
// service and map its results to the schema's types.
package graph

import (
	"context"

	"mlgraph/ml"
	"mlgraph/service"
	"mlgraph/store"
)

// Resolver holds the resolvers' one dependency.
type Resolver struct {
	Service *service.Service
}

// weights returns a linear model's coefficients and intercepts on the
// requested scale; nil for models without weights or not READY.
func (r *modelResolver) weights(ctx context.Context, m *store.Model, scale *string) ([]ml.Coefficient, []ml.Intercept, error) {
	fitted, err := r.Service.Fitted(ctx, m)
	if fitted == nil || err != nil {
		return nil, nil, err
	}
	var (
		coefs      []ml.Coefficient
		intercepts []ml.Intercept
	)
	if scale != nil && *scale == "STANDARDIZED" {
		coefs, intercepts, _ = fitted.StandardizedCoefficients()
	} else {
		coefs, intercepts, _ = fitted.Coefficients()
	}
	return coefs, intercepts, nil
}

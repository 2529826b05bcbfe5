package ml

import "context"

// Progress is how far an estimator's fit has got.
type Progress struct {
	// Fraction of the fit done, in [0, 1]: iterations over the iteration
	// limit for iterative solvers (which may stop earlier), trees grown for
	// ensembles.
	Fraction float64
	// Iteration is the current iteration, epoch, tree or stage (1-based).
	Iteration int
	// Loss is the training objective at this iteration, when the
	// estimator has one; HasLoss says whether it does.
	Loss    float64
	HasLoss bool
}

type progressKey struct{}

// WithProgress returns a context whose fits report their progress to fn.
// fn is called from the fitting goroutine (or, for parallel ensembles, from
// several): it must be quick and safe for concurrent use.
func WithProgress(ctx context.Context, fn func(Progress)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// reportProgress tells the context's progress function, if any, that
// iteration of total is done, with the loss when hasLoss.
func reportProgress(ctx context.Context, iteration, total int, loss float64, hasLoss bool) {
	fn, ok := ctx.Value(progressKey{}).(func(Progress))
	if !ok || total <= 0 {
		return
	}
	fn(Progress{Fraction: min(float64(iteration)/float64(total), 1), Iteration: iteration, Loss: loss, HasLoss: hasLoss})
}

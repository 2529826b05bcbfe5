package ml

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// LogisticRegression is L2-regularised logistic regression, defined as in
// scikit-learn's LogisticRegression(penalty="l2", solver="lbfgs"). With K
// classes it minimises
//
//	C·Σᵢ ℓ(yᵢ, zᵢ) + ½‖W‖²    (the intercept b is not penalised)
//
// where zᵢ = W·xᵢ + b. For K = 2, W is a single row for class 1,
// zᵢ is a scalar and ℓ(y, z) = log(1 + e^z) − y·z (binary cross-entropy with
// P(class 1) = σ(z)). For K > 2, W has one row per class (the symmetric
// softmax parameterisation), P(k) = softmax(z)ₖ and
// ℓ(y, z) = logΣₖ e^{zₖ} − z_y.
//
// The objective is minimised by L-BFGS (gonum/optimize) from zero with the
// analytic gradient C·Σᵢ (pᵢ − onehot(yᵢ))·xᵢᵀ + W. For the stopping test
// and step scaling the objective is divided by n, so Tol bounds every
// gradient component of the per-row objective.
type LogisticRegression struct {
	C            float64
	MaxIter      int
	Tol          float64
	FitIntercept bool

	// Classes is the number of classes K.
	Classes int
	// Coef holds the weight rows (1×p for binary, K×p otherwise) and
	// Intercept their intercepts.
	Coef      [][]float64
	Intercept []float64
	// Iterations is the number of L-BFGS iterations run; Converged reports
	// whether the gradient tolerance was reached within MaxIter.
	Iterations int
	Converged  bool
}

func logisticRegressionAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "LOGISTIC_REGRESSION",
			Tasks:       []Task{Classification},
			Description: "L2-regularised logistic regression (binary, or multinomial softmax for more classes), fitted by L-BFGS on standardised features.",
			Params: []ParamSpec{
				{Name: "C", Type: ParamFloat, Default: 1.0, Min: ptr(0), MinExclusive: true,
					Description: "Inverse regularisation strength: the data term is weighted by C against ½‖w‖²; smaller means stronger regularisation."},
				{Name: "maxIter", Type: ParamInt, Default: 1000, Min: ptr(1),
					Description: "Maximum number of L-BFGS iterations."},
				{Name: "tol", Type: ParamFloat, Default: 1e-6, Min: ptr(0), MinExclusive: true,
					Description: "Stop when every gradient component of the per-row objective is below tol."},
				fitInterceptParam(),
			},
			NeedsScaling: true,
		},
		newEstimator: newLogisticRegression,
	}
}

func newLogisticRegression(params map[string]any) Estimator {
	return &LogisticRegression{
		C:            params["C"].(float64),
		MaxIter:      params["maxIter"].(int),
		Tol:          params["tol"].(float64),
		FitIntercept: params["fitIntercept"].(bool),
	}
}

// Fit implements Estimator. Only the Classification task is supported.
func (m *LogisticRegression) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("fit logistic regression: unsupported task %q", task)
	}
	n, _ := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit logistic regression: %d targets for %d rows", len(y), n)
	}
	if nClasses < 2 {
		return fmt.Errorf("fit logistic regression: need at least 2 classes, got %d", nClasses)
	}
	labels := make([]int, n)
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
			return fmt.Errorf("fit logistic regression: row %d has class %v outside 0..%d", i, v, nClasses-1)
		}
		labels[i] = int(v)
	}
	rows := nClasses
	if nClasses == 2 {
		rows = 1
	}
	obj := &logisticObjective{x: x, labels: labels, rows: rows, c: m.C, fitIntercept: m.FitIntercept,
		segs: rowSegments(n, 4096, maxSegments)}

	problem := optimize.Problem{
		Func: func(theta []float64) float64 { return obj.eval(theta, nil) },
		Grad: func(grad, theta []float64) { obj.eval(theta, grad) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: m.Tol,
		MajorIterations:   m.MaxIter,
		// Stop only on the gradient test or the iteration limit, not on a
		// stalled function value.
		Converger: optimize.NeverTerminate{},
	}
	theta0 := make([]float64, obj.dim())
	method := &optimize.LBFGS{Linesearcher: &optimize.MoreThuente{}, GradStopThreshold: math.NaN()}
	res, err := optimize.Minimize(problem, theta0, settings, method)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err != nil {
		// A line search that cannot make progress means the optimum has
		// been reached to floating-point precision; keep the best point.
		// Anything else is a real failure.
		if res == nil || !isLinesearchStall(err) {
			return fmt.Errorf("fit logistic regression: %w", err)
		}
	}
	theta := res.X
	if err := checkFinite("weights", theta); err != nil {
		return fmt.Errorf("fit logistic regression: optimisation diverged: %w", err)
	}
	m.Classes = nClasses
	m.Coef, m.Intercept = obj.unpack(theta)
	m.Iterations = res.MajorIterations
	m.Converged = res.Status == optimize.GradientThreshold ||
		(res.Gradient != nil && floats.Norm(res.Gradient, math.Inf(1)) < m.Tol)
	return nil
}

func isLinesearchStall(err error) bool {
	return errors.Is(err, optimize.ErrLinesearcherFailure) || errors.Is(err, optimize.ErrNoProgress)
}

// logisticObjective evaluates the per-row objective
// (C·Σᵢ ℓᵢ + ½‖W‖²)/n and its gradient. θ holds W row-major (rows×p)
// followed by the intercepts (rows) when fitted.
type logisticObjective struct {
	x            *mat.Dense
	labels       []int
	rows         int // weight rows: 1 for binary, K for multinomial
	c            float64
	fitIntercept bool
	segs         []segment
}

func (o *logisticObjective) dim() int {
	_, p := o.x.Dims()
	if o.fitIntercept {
		return o.rows * (p + 1)
	}
	return o.rows * p
}

func (o *logisticObjective) unpack(theta []float64) (coef [][]float64, intercept []float64) {
	_, p := o.x.Dims()
	coef = make([][]float64, o.rows)
	intercept = make([]float64, o.rows)
	for k := range o.rows {
		coef[k] = append([]float64(nil), theta[k*p:(k+1)*p]...)
		if o.fitIntercept {
			intercept[k] = theta[o.rows*p+k]
		}
	}
	return coef, intercept
}

// eval returns the objective at θ and, if grad is non-nil, stores its
// gradient there. Row segments are evaluated in parallel and reduced in
// order, so the result does not depend on the number of cores.
func (o *logisticObjective) eval(theta, grad []float64) float64 {
	n, p := o.x.Dims()
	raw := o.x.RawMatrix()
	rows := o.rows
	w := theta[:rows*p]
	var b []float64
	if o.fitIntercept {
		b = theta[rows*p : rows*p+rows]
	}
	type partial struct {
		loss float64
		grad []float64 // rows×p weights then rows intercepts
	}
	partials := make([]partial, len(o.segs))
	forEachSegment(o.segs, func(s int, seg segment) {
		var pt partial
		if grad != nil {
			pt.grad = make([]float64, rows*(p+1))
		}
		z := make([]float64, rows)
		for i := seg.lo; i < seg.hi; i++ {
			xi := raw.Data[i*raw.Stride : i*raw.Stride+p]
			for k := range rows {
				s := 0.0
				if b != nil {
					s = b[k]
				}
				wk := w[k*p : (k+1)*p]
				for j, v := range xi {
					s += wk[j] * v
				}
				z[k] = s
			}
			y := o.labels[i]
			// After this, z holds the residuals pₖ − [y = k].
			if rows == 1 {
				t := float64(y)
				pt.loss += softplus(z[0]) - t*z[0]
				z[0] = sigmoid(z[0]) - t
			} else {
				lse := logSumExp(z)
				pt.loss += lse - z[y]
				for k := range z {
					z[k] = math.Exp(z[k] - lse)
				}
				z[y]--
			}
			if pt.grad != nil {
				for k, r := range z {
					if r == 0 {
						continue
					}
					g := pt.grad[k*p : (k+1)*p]
					for j, v := range xi {
						g[j] += r * v
					}
					pt.grad[rows*p+k] += r
				}
			}
		}
		partials[s] = pt
	})
	inv := 1 / float64(n)
	loss, penalty := 0.0, 0.0
	for _, pt := range partials {
		loss += pt.loss
	}
	for _, v := range w {
		penalty += v * v
	}
	if grad != nil {
		for k := range grad {
			grad[k] = 0
		}
		full := make([]float64, rows*(p+1))
		for _, pt := range partials {
			floats.Add(full, pt.grad)
		}
		for k, v := range w {
			grad[k] = (o.c*full[k] + v) * inv
		}
		if o.fitIntercept {
			for k := range rows {
				grad[rows*p+k] = o.c * full[rows*p+k] * inv
			}
		}
	}
	return (o.c*loss + 0.5*penalty) * inv
}

// Predict implements Estimator: dst (n×K) receives class probabilities.
func (m *LogisticRegression) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	z := make([]float64, len(m.Coef))
	for i := range n {
		xi := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for k, wk := range m.Coef {
			s := m.Intercept[k]
			for j, v := range xi {
				s += wk[j] * v
			}
			z[k] = s
		}
		if m.Classes == 2 {
			// σ(−z) rather than 1 − σ(z) keeps tiny probabilities exact.
			dst.Set(i, 0, sigmoid(-z[0]))
			dst.Set(i, 1, sigmoid(z[0]))
			continue
		}
		lse := logSumExp(z)
		for k, v := range z {
			dst.Set(i, k, math.Exp(v-lse))
		}
	}
}

// Weights implements Linear.
func (m *LogisticRegression) Weights() (*mat.Dense, []float64) {
	p := 0
	if len(m.Coef) > 0 {
		p = len(m.Coef[0])
	}
	w := mat.NewDense(len(m.Coef), p, nil)
	for k, row := range m.Coef {
		w.SetRow(k, row)
	}
	return w, append([]float64(nil), m.Intercept...)
}

// checkShape implements shapeChecker.
func (m *LogisticRegression) checkShape(inputs int, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("logistic regression cannot serve task %q", task)
	}
	rows := nClasses
	if nClasses == 2 {
		rows = 1
	}
	if m.Classes != nClasses || len(m.Coef) != rows || len(m.Intercept) != rows {
		return fmt.Errorf("logistic regression has %d weight rows for %d classes (want %d)", len(m.Coef), nClasses, rows)
	}
	for k, row := range m.Coef {
		if len(row) != inputs {
			return fmt.Errorf("logistic regression weight row %d has %d weights for %d inputs", k, len(row), inputs)
		}
		if err := checkFinite("logistic regression weights", row); err != nil {
			return err
		}
	}
	return checkFinite("logistic regression intercepts", m.Intercept)
}

// sigmoid is the logistic function 1/(1+e^−z), evaluated without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1 + e^z), evaluated without overflow or loss of
// precision for large |z|.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// logSumExp is log Σₖ e^{zₖ}, shifted by the maximum to avoid overflow.
func logSumExp(z []float64) float64 {
	m := z[0]
	for _, v := range z[1:] {
		m = max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

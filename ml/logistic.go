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

// LogisticRegression is regularised logistic regression, defined as in
// scikit-learn's LogisticRegression(penalty, C, l1_ratio). With K classes
// it minimises
//
//	C·Σᵢ ℓ(yᵢ, zᵢ) + R(W)    (the intercept b is not penalised)
//
// where zᵢ = W·xᵢ + b. For K = 2, W is a single row for class 1,
// zᵢ is a scalar and ℓ(y, z) = log(1 + e^z) − y·z (binary cross-entropy with
// P(class 1) = σ(z)). For K > 2, W has one row per class (the symmetric
// softmax parameterisation), P(k) = softmax(z)ₖ and
// ℓ(y, z) = logΣₖ e^{zₖ} − z_y. The penalty R is
//
//	"l2" (default)  ½‖W‖²
//	"l1"            ‖W‖₁ = Σ|Wₖⱼ|
//	"elasticnet"    ρ‖W‖₁ + ½(1−ρ)‖W‖²   (ρ = L1Ratio)
//	"none"          0
//
// Without an L1 term the objective is smooth and is minimised by L-BFGS
// (gonum/optimize) from zero with the analytic gradient
// C·Σᵢ (pᵢ − onehot(yᵢ))·xᵢᵀ + λ₂W. With one, it is minimised by OWL-QN
// (orthant-wise limited-memory quasi-Newton, Andrew & Gao 2007): L-BFGS on
// the smooth part, steered by the pseudo-gradient of the whole objective
// and with each step kept inside the orthant it starts in, so weights
// reach exactly zero and the solution is sparse. For the stopping test and
// step scaling the objective is divided by n, so Tol bounds every
// (pseudo-)gradient component of the per-row objective: with L1 weight λ₁
// and smooth part f = C·Σℓ + ½λ₂‖W‖², that is the optimality condition
// |∂ⱼf| ≤ λ₁ for every zero weight and ∂ⱼf = −λ₁·sign(Wⱼ) for the others,
// to within n·Tol. With penalty "none" on separable classes there is no
// minimiser: the weights grow until the gradient falls below Tol or MaxIter
// is reached, as in scikit-learn.
type LogisticRegression struct {
	C            float64
	MaxIter      int
	Tol          float64
	FitIntercept bool
	// Penalty is "l2", "l1", "elasticnet" or "none"; "" (models saved
	// before it existed) means "l2". L1Ratio is ρ, used by "elasticnet".
	Penalty string  `json:",omitempty"`
	L1Ratio float64 `json:",omitempty"`

	classWeights
	// Iterations is the number of L-BFGS (or OWL-QN) iterations run;
	// Converged reports whether the gradient tolerance was reached within
	// MaxIter.
	Iterations int
	Converged  bool
}

func logisticRegressionAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "LOGISTIC_REGRESSION",
			Tasks: []Task{Classification},
			Description: "Regularised logistic regression (binary, or multinomial softmax for more classes) on standardised features: " +
				"L2 penalty by default, fitted by L-BFGS; L1 or elastic-net penalties (sparse weights) fitted by OWL-QN.",
			Params: []ParamSpec{
				{Name: "C", Type: ParamFloat, Default: 1.0, Min: ptr(0), MinExclusive: true,
					Description: "Inverse regularisation strength: the data term is weighted by C against the penalty; smaller means stronger regularisation."},
				{Name: "maxIter", Type: ParamInt, Default: 1000, Min: ptr(1),
					Description: "Maximum number of L-BFGS (OWL-QN with an L1 term) iterations."},
				{Name: "tol", Type: ParamFloat, Default: 1e-6, Min: ptr(0), MinExclusive: true,
					Description: "Stop when every gradient component (pseudo-gradient with an L1 term) of the per-row objective is below tol."},
				fitInterceptParam(),
				{Name: "penalty", Type: ParamString, Default: "l2", Choices: []string{"l2", "l1", "elasticnet", "none"},
					Description: "Penalty on the weights: l2 (½‖w‖²), l1 (‖w‖₁, sets weights exactly to zero), elasticnet (l1Ratio·‖w‖₁ + ½(1 − l1Ratio)‖w‖²) or none."},
				{Name: "l1Ratio", Type: ParamFloat, Default: 0.5, Min: ptr(0), Max: ptr(1),
					Description: "Share of the L1 term in the elasticnet penalty (1 is l1, 0 is l2); used only with penalty elasticnet."},
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
		Penalty:      params["penalty"].(string),
		L1Ratio:      params["l1Ratio"].(float64),
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
			return fmt.Errorf("fit logistic regression: %s has class %v outside 0..%d", RowName(i), v, nClasses-1)
		}
		labels[i] = int(v)
	}
	rows := nClasses
	if nClasses == 2 {
		rows = 1
	}
	// λ₁ and λ₂ weigh ‖W‖₁ and ½‖W‖² against C·Σℓ.
	var l1, l2 float64
	switch m.Penalty {
	case "l2", "":
		l2 = 1
	case "l1":
		l1 = 1
	case "elasticnet":
		if !(m.L1Ratio >= 0 && m.L1Ratio <= 1) {
			return inputErrorf("logistic regression l1Ratio must be in [0, 1], got %v", m.L1Ratio)
		}
		l1, l2 = m.L1Ratio, 1-m.L1Ratio
	case "none":
	default:
		return inputErrorf("logistic regression penalty must be one of l2, l1, elasticnet, none; got %q", m.Penalty)
	}
	obj := &logisticObjective{x: x, labels: labels, rows: rows, c: m.C, l2: l2, fitIntercept: m.FitIntercept,
		segs: rowSegments(n, 4096, maxSegments), sparse: sparseRowsOf(x)}

	var (
		theta      []float64
		iterations int
		converged  bool
		err        error
	)
	if l1 == 0 {
		theta, iterations, converged, err = m.minimizeSmooth(ctx, obj)
	} else {
		// Per-row objective: λ₁/n on every weight, 0 on the intercepts.
		lambda := make([]float64, obj.dim())
		_, p := x.Dims()
		for k := range rows * p {
			lambda[k] = l1 / float64(n)
		}
		theta, iterations, converged, err = minimizeOWLQN(ctx, obj.eval, lambda, m.MaxIter, m.Tol)
		if err == nil && rows > 1 && m.FitIntercept {
			// Softmax probabilities do not change when every intercept
			// moves by the same amount, and intercepts are not penalised:
			// report the solution whose intercepts sum to zero.
			b := theta[rows*p:]
			floats.AddConst(-floats.Sum(b)/float64(rows), b)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if err != nil {
		return fmt.Errorf("fit logistic regression: %w", err)
	}
	if err := checkFinite("weights", theta); err != nil {
		return fmt.Errorf("fit logistic regression: optimisation diverged: %w", err)
	}
	m.Classes = nClasses
	m.Coef, m.Intercept = obj.unpack(theta)
	m.Iterations, m.Converged = iterations, converged
	return nil
}

// minimizeSmooth minimises a logistic objective without L1 term by L-BFGS
// from zero.
func (m *LogisticRegression) minimizeSmooth(ctx context.Context, obj *logisticObjective) (theta []float64, iterations int, converged bool, err error) {
	evaluations := 0
	problem := optimize.Problem{
		Func: func(theta []float64) float64 { return obj.eval(theta, nil) },
		Grad: func(grad, theta []float64) { obj.eval(theta, grad) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			// Status runs once per function evaluation; L-BFGS needs about
			// one per iteration, so this is a fair measure of progress.
			evaluations++
			reportProgress(ctx, evaluations, m.MaxIter, 0, false)
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
		return nil, 0, false, ctxErr
	}
	if err != nil {
		// A line search that cannot make progress means the optimum has
		// been reached to floating-point precision; keep the best point.
		// Anything else is a real failure.
		if res == nil || !isLinesearchStall(err) {
			return nil, 0, false, err
		}
	}
	converged = res.Status == optimize.GradientThreshold ||
		(res.Gradient != nil && floats.Norm(res.Gradient, math.Inf(1)) < m.Tol)
	return res.X, res.MajorIterations, converged, nil
}

func isLinesearchStall(err error) bool {
	return errors.Is(err, optimize.ErrLinesearcherFailure) || errors.Is(err, optimize.ErrNoProgress)
}

// logisticObjective evaluates the smooth per-row objective
// (C·Σᵢ ℓᵢ + ½λ₂‖W‖²)/n and its gradient. θ holds W row-major (rows×p)
// followed by the intercepts (rows) when fitted.
type logisticObjective struct {
	x            *mat.Dense
	labels       []int
	rows         int // weight rows: 1 for binary, K for multinomial
	c            float64
	l2           float64 // λ₂
	fitIntercept bool
	segs         []segment
	// sparse holds x's non-zero entries when they are few (text
	// features), nil otherwise: the loops then skip the zeros.
	sparse *sparseRows
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
		var (
			cols []int32
			vals []float64
		)
		for i := seg.lo; i < seg.hi; i++ {
			xi := raw.Data[i*raw.Stride : i*raw.Stride+p]
			if o.sparse != nil {
				cols, vals = o.sparse.row(i)
			}
			for k := range rows {
				s := 0.0
				if b != nil {
					s = b[k]
				}
				wk := w[k*p : (k+1)*p]
				if o.sparse != nil {
					for t, j := range cols {
						s += wk[j] * vals[t]
					}
				} else {
					s += floats.Dot(wk, xi)
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
				// One exponential per class serves the loss (log Σ e^z)
				// and the probabilities (e^z / Σ e^z).
				top := z[0]
				for _, v := range z[1:] {
					top = max(top, v)
				}
				zy, sum := z[y], 0.0
				for k, v := range z {
					z[k] = math.Exp(v - top)
					sum += z[k]
				}
				pt.loss += top + math.Log(sum) - zy
				inv := 1 / sum
				for k := range z {
					z[k] *= inv
				}
				z[y]--
			}
			if pt.grad != nil {
				for k, r := range z {
					if r == 0 {
						continue
					}
					g := pt.grad[k*p : (k+1)*p]
					if o.sparse != nil {
						for t, j := range cols {
							g[j] += r * vals[t]
						}
					} else {
						floats.AddScaled(g, r, xi)
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
			grad[k] = (o.c*full[k] + o.l2*v) * inv
		}
		if o.fitIntercept {
			for k := range rows {
				grad[rows*p+k] = o.c * full[rows*p+k] * inv
			}
		}
	}
	return (o.c*loss + 0.5*o.l2*penalty) * inv
}

// Predict implements Estimator: dst (n×K) receives class probabilities.
// Rows that are mostly zeros (text) are scored on their non-zeros only.
func (m *LogisticRegression) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	z := make([]float64, len(m.Coef))
	var nz []int32
	for i := range n {
		xi := raw.Data[i*raw.Stride : i*raw.Stride+p]
		var sparse bool
		nz, sparse = nonZeros(nz, xi)
		for k, wk := range m.Coef {
			s := m.Intercept[k]
			if sparse {
				for _, j := range nz {
					s += wk[j] * xi[j]
				}
			} else {
				for j, v := range xi {
					s += wk[j] * v
				}
			}
			z[k] = s
		}
		if m.Classes == 2 {
			// σ(−z) rather than 1 − σ(z) keeps tiny probabilities exact.
			dst.Set(i, 0, sigmoid(-z[0]))
			dst.Set(i, 1, sigmoid(z[0]))
			continue
		}
		softmaxInto(dst.RawRowView(i), z)
	}
}

// checkShape implements shapeChecker.
func (m *LogisticRegression) checkShape(inputs int, task Task, nClasses int) error {
	return m.checkWeights("logistic regression", inputs, task, nClasses)
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

// softmaxInto sets dst to softmax(z) = exp(z − logΣexp z). If every z is
// −Inf or the sum overflows, it falls back to a uniform distribution so the
// row still sums to one.
func softmaxInto(dst, z []float64) {
	lse := logSumExp(z)
	if math.IsInf(lse, 0) || math.IsNaN(lse) {
		for c := range dst {
			dst[c] = 1 / float64(len(dst))
		}
		return
	}
	// Normalise by the sum too: with log-likelihoods near 1e12, exp(z −
	// lse) alone is off from summing to one by the rounding error of z.
	sum := 0.0
	for c, v := range z {
		dst[c] = math.Exp(v - lse)
		sum += dst[c]
	}
	for c := range dst {
		dst[c] /= sum
	}
}

// owlqnMemory is the number of correction pairs kept by OWL-QN, as in
// gonum's L-BFGS default.
const owlqnMemory = 15

// minimizeOWLQN minimises F(θ) = f(θ) + Σⱼ λⱼ|θⱼ| from θ = 0 by OWL-QN
// (Andrew & Gao, "Scalable training of L1-regularized log-linear models",
// ICML 2007), where f(θ, grad) returns the smooth convex part and stores its
// gradient. Each iteration
//
//  1. takes the pseudo-gradient ◇F, the minimum-norm subgradient:
//     ∂ⱼf + λⱼ·sign(θⱼ) where θⱼ ≠ 0; at θⱼ = 0, ∂ⱼf shrunk towards zero
//     by λⱼ, and 0 if |∂ⱼf| ≤ λⱼ (such a coordinate is fixed: it stays 0);
//  2. forms the L-BFGS direction d = −H·◇F from the smooth part's
//     gradient differences, restricted to the free coordinates (the
//     curvature pairs' inner products skip the fixed ones), and zeroes the
//     components of coordinates at zero that would leave along +◇F;
//  3. backtracks along d from the unit step (1/‖◇F‖ without curvature
//     information), projecting each trial point onto the orthant of θ
//     (a coordinate that would change sign stops at zero), until
//     F(θ') ≤ F(θ) + 10⁻⁴·◇Fᵀ(θ' − θ).
//
// Two departures from the paper, both much faster here (breast_cancer at
// C = 10: 300 iterations instead of 1900) and both keeping d a descent
// direction: the sign constraint of step 2 applies only to coordinates at
// zero (elsewhere F is smooth and the orthant projection already stops
// sign changes), and the quasi-Newton model ignores fixed coordinates.
//
// It stops when ‖◇F‖∞ ≤ tol (converged), after maxIter iterations, or when
// no step decreases F even along −◇F (the optimum has been reached to
// floating-point precision; converged then reports the same gradient
// test). It returns ctx.Err() if ctx is done.
func minimizeOWLQN(ctx context.Context, f func(theta, grad []float64) float64, lambda []float64, maxIter int, tol float64) (theta []float64, iterations int, converged bool, err error) {
	dim := len(lambda)
	penalty := func(v []float64) float64 {
		s := 0.0
		for j, x := range v {
			s += lambda[j] * math.Abs(x)
		}
		return s
	}
	x, g := make([]float64, dim), make([]float64, dim)
	fx := f(x, g) + penalty(x)
	pg := make([]float64, dim)
	pseudoGradient(pg, x, g, lambda)

	var sMem, yMem [][]float64 // curvature pairs, oldest first
	d, orthant, xn, gn := make([]float64, dim), make([]float64, dim), make([]float64, dim), make([]float64, dim)
	free := make([]bool, dim)
	alpha, rho := make([]float64, owlqnMemory), make([]float64, owlqnMemory)
	freeDot := func(a, b []float64) float64 {
		s := 0.0
		for j, isFree := range free {
			if isFree {
				s += a[j] * b[j]
			}
		}
		return s
	}
	for iter := 0; ; iter++ {
		if floats.Norm(pg, math.Inf(1)) <= tol {
			return x, iter, true, nil
		}
		if iter == maxIter {
			return x, iter, false, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, iter, false, err
		}

		// d = −H·◇F by the two-loop recursion over the free coordinates,
		// with H₀ = γI scaled by the newest usable pair. Pairs without
		// positive curvature on the free coordinates are skipped.
		for j := range free {
			free[j] = lambda[j] == 0 || x[j] != 0 || pg[j] != 0
		}
		copy(d, pg)
		newest := -1
		for i := len(sMem) - 1; i >= 0; i-- {
			rho[i], alpha[i] = 0, 0
			if sy := freeDot(sMem[i], yMem[i]); sy > 0 {
				rho[i] = 1 / sy
				alpha[i] = rho[i] * freeDot(sMem[i], d)
				floats.AddScaled(d, -alpha[i], yMem[i])
				if newest < 0 {
					newest = i
				}
			}
		}
		step := 1.0
		if newest >= 0 {
			floats.Scale(1/(rho[newest]*freeDot(yMem[newest], yMem[newest])), d)
		} else {
			step = 1 / floats.Norm(pg, 2)
		}
		for i := range sMem {
			if rho[i] > 0 {
				beta := rho[i] * freeDot(yMem[i], d)
				floats.AddScaled(d, alpha[i]-beta, sMem[i])
			}
		}
		for j := range d {
			d[j] = -d[j]
			if !free[j] || lambda[j] > 0 && x[j] == 0 && d[j]*pg[j] >= 0 {
				d[j] = 0
			}
		}
		if floats.Dot(d, pg) >= 0 {
			// Not a descent direction (only possible through rounding):
			// fall back to steepest descent.
			sMem, yMem = sMem[:0], yMem[:0]
			for j := range d {
				d[j] = -pg[j]
			}
			step = 1 / floats.Norm(pg, 2)
		}
		for j, v := range x {
			switch {
			case v != 0:
				orthant[j] = math.Copysign(1, v)
			case pg[j] != 0:
				orthant[j] = -math.Copysign(1, pg[j])
			default:
				orthant[j] = 0
			}
		}

		// Backtracking line search on the orthant-projected path.
		var fn float64
		accepted := false
		for range 60 {
			for j := range x {
				v := x[j] + step*d[j]
				if lambda[j] > 0 && v*orthant[j] <= 0 {
					v = 0
				}
				xn[j] = v
			}
			fn = f(xn, gn) + penalty(xn)
			decrease := 0.0
			for j := range x {
				decrease += pg[j] * (xn[j] - x[j])
			}
			// decrease < 0 also rejects steps too small to move θ.
			if decrease < 0 && fn <= fx+1e-4*decrease {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			if len(sMem) > 0 {
				// Curvature pairs from far away can mislead near the
				// optimum: retry along −◇F before giving up.
				sMem, yMem = sMem[:0], yMem[:0]
				iter--
				continue
			}
			return x, iter, floats.Norm(pg, math.Inf(1)) <= tol, nil
		}

		// The curvature pair comes from the smooth part only.
		sNew, yNew := make([]float64, dim), make([]float64, dim)
		if len(sMem) == owlqnMemory {
			sNew, yNew = sMem[0], yMem[0] // reuse the oldest pair's storage
			sMem, yMem = sMem[1:], yMem[1:]
		}
		floats.SubTo(sNew, xn, x)
		floats.SubTo(yNew, gn, g)
		sMem, yMem = append(sMem, sNew), append(yMem, yNew)
		x, xn = xn, x
		g, gn = gn, g
		fx = fn
		pseudoGradient(pg, x, g, lambda)
	}
}

// pseudoGradient stores in pg the minimum-norm subgradient of
// f(θ) + Σⱼ λⱼ|θⱼ| at x, given the gradient g of f.
func pseudoGradient(pg, x, g, lambda []float64) {
	for j, v := range x {
		l := lambda[j]
		switch {
		case v > 0:
			pg[j] = g[j] + l
		case v < 0:
			pg[j] = g[j] - l
		case g[j]+l < 0:
			pg[j] = g[j] + l
		case g[j]-l > 0:
			pg[j] = g[j] - l
		default:
			pg[j] = 0
		}
	}
}

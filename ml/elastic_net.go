package ml

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ElasticNet is least squares with a combined L1 and L2 penalty, defined as
// scikit-learn's ElasticNet(alpha, l1_ratio): with ρ = L1Ratio it finds w
// and b minimising
//
//	(1/2n)‖y − Xw − b‖² + α·ρ‖w‖₁ + ½·α·(1−ρ)‖w‖²
//
// (b = 0 unless FitIntercept; the intercept is not penalised: X and y are
// centred and b = ȳ − μ·w). ρ = 1 is the lasso (LASSO is this estimator
// with L1Ratio fixed at 1); the L1 term sets weights exactly to zero.
//
// The fit is scikit-learn's cyclic coordinate descent from w = 0 with its
// duality-gap stopping rule (gap ≤ Tol·‖y − ȳ‖², checked once the largest
// weight change of a sweep falls below Tol relative to the largest weight;
// see coordinate_descent.go), so the coefficients follow scikit-learn's.
// Two degenerate cases are solved exactly instead, since the duality gap of
// coordinate descent cannot certify them:
//
//   - α = 0 is ordinary least squares (as LinearRegression);
//   - ρ = 0 is a ridge regression: multiplying the objective by 2n gives
//     ‖y − Xw − b‖² + n·α‖w‖², i.e. Ridge with alpha n·α.
//
// Features are used as given (no scaling), like scikit-learn's estimators
// on raw features.
type ElasticNet struct {
	Alpha        float64
	L1Ratio      float64
	MaxIter      int
	Tol          float64
	FitIntercept bool

	Coef      []float64
	Intercept float64
	// Iterations is the number of coordinate-descent sweeps run (0 when
	// solved exactly); Converged reports whether the duality gap reached
	// the tolerance within MaxIter sweeps. DualGap is the final duality
	// gap of the (1/2n)-scaled objective, like scikit-learn's dual_gap_.
	Iterations int
	Converged  bool
	DualGap    float64
	// Solver records how the fit was solved: "cd_gram" or "cd" (coordinate
	// descent on the Gram matrix or on the residual), "cholesky" or "svd"
	// (the exact ridge and least-squares cases).
	Solver string `json:",omitempty"`
}

func elasticNetAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "ELASTIC_NET",
			Tasks: []Task{Regression},
			Description: "Elastic net: least squares with a mix of L1 and L2 penalties " +
				"(1/2n)‖y − Xw − b‖² + α·ρ‖w‖₁ + ½α(1−ρ)‖w‖², fitted by coordinate descent.",
			Params: []ParamSpec{
				alphaParam("(1/2n)‖y − Xw − b‖² + α·ρ‖w‖₁ + ½α(1−ρ)‖w‖²"),
				{Name: "l1Ratio", Type: ParamFloat, Default: 0.5, Min: ptr(0), Max: ptr(1),
					Description: "Mix ρ of the penalties: 1 is the lasso (pure L1), 0 is ridge (pure L2)."},
				maxIterCDParam(),
				tolCDParam(),
				fitInterceptParam(),
			},
		},
		newEstimator: func(params map[string]any) Estimator {
			return newElasticNet(params, params["l1Ratio"].(float64))
		},
	}
}

func alphaParam(objective string) ParamSpec {
	return ParamSpec{Name: "alpha", Type: ParamFloat, Default: 1.0, Min: ptr(0),
		Description: "Regularisation strength α of the objective " + objective + "; larger zeroes more weights."}
}

func maxIterCDParam() ParamSpec {
	return ParamSpec{Name: "maxIter", Type: ParamInt, Default: 1000, Min: ptr(1),
		Description: "Maximum number of coordinate-descent sweeps over the features."}
}

func tolCDParam() ParamSpec {
	return ParamSpec{Name: "tol", Type: ParamFloat, Default: 1e-4, Min: ptr(0),
		Description: "Stop when the duality gap is at most tol·‖y − mean(y)‖² (checked once the largest weight change of a sweep is below tol relative to the largest weight)."}
}

func newElasticNet(params map[string]any, l1Ratio float64) *ElasticNet {
	return &ElasticNet{
		Alpha:        params["alpha"].(float64),
		L1Ratio:      l1Ratio,
		MaxIter:      params["maxIter"].(int),
		Tol:          params["tol"].(float64),
		FitIntercept: params["fitIntercept"].(bool),
	}
}

// Fit implements Estimator. Only the Regression task is supported.
func (m *ElasticNet) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, _ int) error {
	if task != Regression {
		return fmt.Errorf("fit elastic net: unsupported task %q", task)
	}
	n, p := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit elastic net: %d targets for %d rows", len(y), n)
	}
	switch {
	case !(m.Alpha >= 0) || math.IsInf(m.Alpha, 1):
		return inputErrorf("elastic net alpha must be a finite number >= 0, got %v", m.Alpha)
	case !(m.L1Ratio >= 0 && m.L1Ratio <= 1):
		return inputErrorf("elastic net l1Ratio must be in [0, 1], got %v", m.L1Ratio)
	case m.MaxIter < 1:
		return inputErrorf("elastic net maxIter must be >= 1, got %d", m.MaxIter)
	case !(m.Tol >= 0):
		return inputErrorf("elastic net tol must be >= 0, got %v", m.Tol)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if m.Alpha == 0 || m.L1Ratio == 0 {
		w, b, solver, err := RidgeRegression(x, y, float64(n)*m.Alpha, m.FitIntercept)
		if err != nil {
			return fmt.Errorf("fit elastic net: %w", err)
		}
		m.Coef, m.Intercept, m.Solver = w, b, solver
		m.Iterations, m.Converged, m.DualGap = 0, true, 0
		return nil
	}

	l1 := float64(n) * m.Alpha * m.L1Ratio
	l2 := float64(n) * m.Alpha * (1 - m.L1Ratio)
	var (
		data   cdData
		xMean  []float64
		yMean  float64
		solver string
	)
	if p <= maxGramCDColumns {
		ne := computeNormalEquations(x, y, m.FitIntercept)
		yy := 0.0
		for _, v := range y {
			d := v - ne.YMean
			yy += d * d
		}
		data, xMean, yMean, solver = newGramCD(ne, yy), ne.XMean, ne.YMean, "cd_gram"
	} else {
		var cd *residualCD
		cd, xMean, yMean = newResidualCD(x, y, m.FitIntercept)
		data, solver = cd, "cd"
	}
	w := make([]float64, p)
	res, err := coordinateDescent(ctx, data, w, l1, l2, m.Tol, m.MaxIter)
	if err != nil {
		return err
	}
	if err := checkFinite("elastic net weights", w); err != nil {
		return fmt.Errorf("fit elastic net: coordinate descent diverged: %w", err)
	}
	b := 0.0
	if m.FitIntercept {
		b = yMean
		for j, v := range w {
			b -= xMean[j] * v
		}
	}
	m.Coef, m.Intercept, m.Solver = w, b, solver
	m.Iterations, m.Converged, m.DualGap = res.Iterations, res.Converged, res.Gap/float64(n)
	return nil
}

// Predict implements Estimator: dst (n×1) receives x·w + b.
func (m *ElasticNet) Predict(x *mat.Dense, dst *mat.Dense) {
	predictLinear(x, dst, m.Coef, m.Intercept)
}

// Weights implements Linear.
func (m *ElasticNet) Weights() (*mat.Dense, []float64) {
	return mat.NewDense(1, len(m.Coef), append([]float64(nil), m.Coef...)), []float64{m.Intercept}
}

// checkShape implements shapeChecker.
func (m *ElasticNet) checkShape(inputs int, task Task, _ int) error {
	return checkLinearShape("elastic net", m.Coef, m.Intercept, inputs, task)
}

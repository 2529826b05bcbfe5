package ml

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Ridge is L2-penalised least squares, defined as scikit-learn's
// Ridge(alpha): it finds w and b minimising
//
//	‖y − Xw − b‖² + α‖w‖²
//
// (b = 0 unless FitIntercept). The intercept is not penalised: with X and y
// centred on their means μ and ȳ the slope solves
//
//	(XcᵀXc + αI)·w = Xcᵀyc,   b = ȳ − μ·w.
//
// The system is solved by Cholesky after scaling to unit diagonal (the
// centred Gram matrix is built on all cores, as for LinearRegression).
// When that fails or is too ill-conditioned (tiny α on collinear columns)
// the fit falls back to the SVD Xc = U·S·Vᵀ of the centred design:
// w = V·diag(s/(s² + α))·Uᵀyc over the singular values above the LAPACK
// rank tolerance, which for α = 0 is the minimum-norm least-squares
// solution. Constant columns get weight 0.
//
// Features are used as given (no scaling), like scikit-learn's Ridge on
// raw features.
type Ridge struct {
	Alpha        float64
	FitIntercept bool

	Coef      []float64
	Intercept float64
	// Solver records how the fit was solved: "cholesky" or "svd".
	Solver string `json:",omitempty"`
}

func ridgeAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "RIDGE",
			Tasks: []Task{Regression},
			Description: "Ridge regression: least squares with an L2 penalty α‖w‖² on the weights " +
				"(the intercept is not penalised), solved in closed form.",
			Params: []ParamSpec{
				{Name: "alpha", Type: ParamFloat, Default: 1.0, Min: ptr(0),
					Description: "Regularisation strength α: the objective is ‖y − Xw − b‖² + α‖w‖²; 0 gives ordinary least squares."},
				fitInterceptParam(),
			},
		},
		newEstimator: newRidge,
	}
}

func newRidge(params map[string]any) Estimator {
	return &Ridge{Alpha: params["alpha"].(float64), FitIntercept: params["fitIntercept"].(bool)}
}

// Fit implements Estimator. Only the Regression task is supported.
func (m *Ridge) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, _ int) error {
	if task != Regression {
		return fmt.Errorf("fit ridge: unsupported task %q", task)
	}
	n, _ := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit ridge: %d targets for %d rows", len(y), n)
	}
	if !(m.Alpha >= 0) || math.IsInf(m.Alpha, 1) {
		return inputErrorf("ridge alpha must be a finite number >= 0, got %v", m.Alpha)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	coef, intercept, solver, err := RidgeRegression(x, y, m.Alpha, m.FitIntercept)
	if err != nil {
		return fmt.Errorf("fit ridge: %w", err)
	}
	m.Coef, m.Intercept, m.Solver = coef, intercept, solver
	return nil
}

// RidgeRegression returns w and b minimising ‖y − Xw − b‖² + α‖w‖² (b = 0
// unless fitIntercept; α ≥ 0) and the solver used ("cholesky" or "svd");
// see Ridge.
func RidgeRegression(x *mat.Dense, y []float64, alpha float64, fitIntercept bool) (w []float64, b float64, solver string, err error) {
	n, p := x.Dims()
	ne := computeNormalEquations(x, y, fitIntercept)
	w, ok := solveNormalEquations(ne, alpha)
	solver = "cholesky"
	if !ok {
		if alpha == 0 {
			w, err = solveSVD(x, y, ne, 0)
		} else {
			w, err = solveSVD(x, y, ne, alpha)
		}
		if err != nil {
			return nil, 0, "", err
		}
		solver = "svd"
	}
	if err := checkFinite(fmt.Sprintf("weights of %d×%d design", n, p), w); err != nil {
		return nil, 0, "", err
	}
	if fitIntercept {
		b = ne.YMean
		for j := range p {
			b -= ne.XMean[j] * w[j]
		}
	}
	return w, b, solver, nil
}

// Predict implements Estimator: dst (n×1) receives x·w + b.
func (m *Ridge) Predict(x *mat.Dense, dst *mat.Dense) { predictLinear(x, dst, m.Coef, m.Intercept) }

// Weights implements Linear.
func (m *Ridge) Weights() (*mat.Dense, []float64) {
	return mat.NewDense(1, len(m.Coef), append([]float64(nil), m.Coef...)), []float64{m.Intercept}
}

// checkShape implements shapeChecker.
func (m *Ridge) checkShape(inputs int, task Task, _ int) error {
	return checkLinearShape("ridge", m.Coef, m.Intercept, inputs, task)
}

// predictLinear writes x·coef + intercept to the single column of dst.
func predictLinear(x *mat.Dense, dst *mat.Dense, coef []float64, intercept float64) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	coef = coef[:p]
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		s := intercept
		for j, v := range row {
			s += coef[j] * v
		}
		dst.Set(i, 0, s)
	}
}

// checkLinearShape verifies the decoded state of a single-output linear
// regression model: one finite weight per input and a finite intercept.
func checkLinearShape(what string, coef []float64, intercept float64, inputs int, task Task) error {
	if task != Regression {
		return fmt.Errorf("%s cannot serve task %q", what, task)
	}
	if len(coef) != inputs {
		return fmt.Errorf("%s has %d weights for %d inputs", what, len(coef), inputs)
	}
	return checkFinite(what+" weights", append([]float64{intercept}, coef...))
}

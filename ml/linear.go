package ml

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// LinearRegression is ordinary least squares: it finds w and b minimising
//
//	Σᵢ (yᵢ − xᵢ·w − b)²
//
// (b = 0 unless FitIntercept). When X has full column rank the solution is
// unique; otherwise it returns the minimum-norm solution, like
// scikit-learn's LinearRegression (LAPACK gelsd).
//
// The fast path solves the centred normal equations XᵀX·w = Xᵀy by
// Cholesky after scaling XᵀX to unit diagonal (which removes the effect of
// feature units on the conditioning). The normal equations square X's
// condition number, so when Cholesky fails or the scaled XᵀX has condition
// number above maxGramCond, the fit falls back to the SVD of the centred X,
// truncated at the LAPACK default rank tolerance.
type LinearRegression struct {
	FitIntercept bool
	Coef         []float64
	Intercept    float64
	// Solver records how the fit was solved: "cholesky" or "svd".
	Solver string `json:",omitempty"`
}

// maxGramCond bounds the (1-norm estimated) condition number of the unit
// diagonal XᵀX accepted from the Cholesky path: relative error in w is
// about cond·ε ≈ 2e-8 at the limit.
const maxGramCond = 1e8

func linearRegressionAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "LINEAR_REGRESSION",
			Tasks:       []Task{Regression},
			Description: "Ordinary least squares: the linear function minimising the sum of squared errors.",
			Params: []ParamSpec{
				fitInterceptParam(),
			},
		},
		newEstimator: newLinearRegression,
	}
}

func newLinearRegression(params map[string]any) Estimator {
	return &LinearRegression{FitIntercept: params["fitIntercept"].(bool)}
}

// Fit implements Estimator. Only the Regression task is supported.
func (m *LinearRegression) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, _ int) error {
	if task != Regression {
		return fmt.Errorf("fit linear regression: unsupported task %q", task)
	}
	n, _ := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit linear regression: %d targets for %d rows", len(y), n)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	coef, intercept, solver, err := LeastSquares(x, y, m.FitIntercept)
	if err != nil {
		return fmt.Errorf("fit linear regression: %w", err)
	}
	m.Coef, m.Intercept, m.Solver = coef, intercept, solver
	return nil
}

// LeastSquares returns w and b minimising ‖y − Xw − b‖² (b = 0 unless
// fitIntercept), the minimum-norm solution if X is rank deficient, and the
// solver used ("cholesky" or "svd"); see LinearRegression.
func LeastSquares(x *mat.Dense, y []float64, fitIntercept bool) (w []float64, b float64, solver string, err error) {
	n, p := x.Dims()
	ne := computeNormalEquations(x, y, fitIntercept)
	w, ok := solveNormalEquations(ne, 0)
	solver = "cholesky"
	if !ok {
		if w, err = solveSVD(x, y, ne, 0); err != nil {
			return nil, 0, "", err
		}
		solver = "svd"
	}
	for j := range p {
		if math.IsNaN(w[j]) || math.IsInf(w[j], 0) {
			return nil, 0, "", fmt.Errorf("non-finite weight for column %d of %d×%d design", j, n, p)
		}
	}
	if fitIntercept {
		b = ne.YMean
		for j := range p {
			b -= ne.XMean[j] * w[j]
		}
	}
	return w, b, solver, nil
}

// solveNormalEquations solves (XtX + ridge·I)·w = Xty on the non-constant
// columns (constant ones get weight 0) by Cholesky of the system scaled to
// unit diagonal. ok is false if the scaled system is not positive definite
// or is too ill-conditioned for the result to be trusted.
func solveNormalEquations(ne normalEquations, ridge float64) (w []float64, ok bool) {
	p := len(ne.Xty)
	w = make([]float64, p)
	var cols []int
	for j := range p {
		if !ne.Constant[j] {
			cols = append(cols, j)
		}
	}
	if len(cols) == 0 {
		return w, true
	}
	k := len(cols)
	// Scale by d_j = 1/√(XtX_jj + ridge): A = D(XtX+ridge)D, solve A z = D·Xty,
	// then w = D z.
	d := make([]float64, k)
	for a, j := range cols {
		diag := ne.XtX.At(j, j) + ridge
		if !(diag > 0) {
			return nil, false
		}
		d[a] = 1 / math.Sqrt(diag)
	}
	scaled := mat.NewSymDense(k, nil)
	rhs := mat.NewVecDense(k, nil)
	for a, i := range cols {
		for c := a; c < k; c++ {
			v := ne.XtX.At(i, cols[c])
			if c == a {
				v += ridge
			}
			scaled.SetSym(a, c, d[a]*v*d[c])
		}
		rhs.SetVec(a, d[a]*ne.Xty[i])
	}
	var chol mat.Cholesky
	if !chol.Factorize(scaled) || chol.Cond() > maxGramCond {
		return nil, false
	}
	var z mat.VecDense
	if err := chol.SolveVecTo(&z, rhs); err != nil {
		return nil, false
	}
	for a, j := range cols {
		w[j] = d[a] * z.AtVec(a)
	}
	return w, true
}

// solveSVD returns w = V·diag(s/(s² + α))·Uᵀyc for the non-constant
// columns of x, centred as ne is, ignoring singular values below
// ε·max(n, p)·s_max (the LAPACK/NumPy rank tolerance). With α = 0 this is
// the minimum-norm least-squares solution; with α > 0, ridge's.
func solveSVD(x *mat.Dense, y []float64, ne normalEquations, alpha float64) ([]float64, error) {
	n, p := x.Dims()
	w := make([]float64, p)
	var cols []int
	for j := range p {
		if !ne.Constant[j] {
			cols = append(cols, j)
		}
	}
	if len(cols) == 0 {
		return w, nil
	}
	k := len(cols)
	xc := mat.NewDense(n, k, nil)
	yc := mat.NewVecDense(n, nil)
	for i := range n {
		row, dst := x.RawRowView(i), xc.RawRowView(i)
		for a, j := range cols {
			dst[a] = row[j] - ne.XMean[j]
		}
		yc.SetVec(i, y[i]-ne.YMean)
	}
	var svd mat.SVD
	if !svd.Factorize(xc, mat.SVDThin) {
		return nil, errors.New("SVD of the design matrix did not converge")
	}
	s := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	// z = diag(s/(s² + α))·Uᵀyc, then w = V·z. Singular values below the
	// LAPACK rank tolerance are rounding noise of exact collinearity: they
	// are dropped as in the least-squares solution, since s/(s² + α) would
	// amplify the noise when α is tiny too.
	eps := math.Nextafter(1, 2) - 1
	cutoff := eps * float64(max(n, k)) * s[0]
	z := mat.NewVecDense(len(s), nil)
	z.MulVec(u.T(), yc)
	for r, sv := range s {
		f := 0.0
		if sv > cutoff {
			f = sv / (sv*sv + alpha)
		}
		z.SetVec(r, z.AtVec(r)*f)
	}
	var sol mat.VecDense
	sol.MulVec(&v, z)
	for a, j := range cols {
		w[j] = sol.AtVec(a)
	}
	return w, nil
}

// Predict implements Estimator: dst (n×1) receives x·w + b.
func (m *LinearRegression) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	coef := m.Coef[:p]
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		s := m.Intercept
		for j, v := range row {
			s += coef[j] * v
		}
		dst.Set(i, 0, s)
	}
}

// Weights implements Linear.
func (m *LinearRegression) Weights() (*mat.Dense, []float64) {
	w := mat.NewDense(1, len(m.Coef), append([]float64(nil), m.Coef...))
	return w, []float64{m.Intercept}
}

// checkShape implements shapeChecker.
func (m *LinearRegression) checkShape(inputs int, task Task, _ int) error {
	if task != Regression {
		return fmt.Errorf("linear regression cannot serve task %q", task)
	}
	if len(m.Coef) != inputs {
		return fmt.Errorf("linear regression has %d weights for %d inputs", len(m.Coef), inputs)
	}
	return checkFinite("linear regression weights", append([]float64{m.Intercept}, m.Coef...))
}

// classWeights is the fitted state of a linear classifier: one row of
// weights per class, or a single row (for class 1) when there are two
// classes. Embedded in an estimator, its fields serialise inline.
type classWeights struct {
	// Classes is the number of classes K.
	Classes int
	// Coef holds the weight rows (1×p for binary, K×p otherwise) and
	// Intercept their intercepts.
	Coef      [][]float64
	Intercept []float64
}

// Weights implements Linear.
func (c *classWeights) Weights() (*mat.Dense, []float64) {
	p := 0
	if len(c.Coef) > 0 {
		p = len(c.Coef[0])
	}
	w := mat.NewDense(len(c.Coef), p, nil)
	for k, row := range c.Coef {
		w.SetRow(k, row)
	}
	return w, append([]float64(nil), c.Intercept...)
}

// checkWeights is the shape check of a decoded linear classifier (see
// shapeChecker); name says which estimator in errors.
func (c *classWeights) checkWeights(name string, inputs int, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("%s cannot serve task %q", name, task)
	}
	rows := nClasses
	if nClasses == 2 {
		rows = 1
	}
	if c.Classes != nClasses || len(c.Coef) != rows || len(c.Intercept) != rows {
		return fmt.Errorf("%s has %d weight rows for %d classes (want %d)", name, len(c.Coef), nClasses, rows)
	}
	for k, row := range c.Coef {
		if len(row) != inputs {
			return fmt.Errorf("%s weight row %d has %d weights for %d inputs", name, k, len(row), inputs)
		}
		if err := checkFinite(name+" weights", row); err != nil {
			return err
		}
	}
	return checkFinite(name+" intercepts", c.Intercept)
}

package ml

import (
	"context"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Coordinate descent for the elastic net, shared by LASSO and ELASTIC_NET.
//
// With X and y centred (or not, without intercept) the problem solved is,
// in scikit-learn's internal scaling (the user objective multiplied by n),
//
//	minimise P(w) = ½‖y − Xw‖² + l1·‖w‖₁ + ½·l2·‖w‖²
//
// with l1 = n·α·ρ and l2 = n·α·(1−ρ). Cyclic coordinate descent updates one
// weight at a time to its exact minimiser given the others:
//
//	zⱼ = xⱼᵀ(y − Xw) + ‖xⱼ‖²·wⱼ      (correlation with the partial residual)
//	wⱼ ← S(zⱼ, l1) / (‖xⱼ‖² + l2)     (S(z, t) = sign(z)·max(|z| − t, 0))
//
// Stopping follows scikit-learn's enet_coordinate_descent exactly: after a
// sweep in which the largest weight change is below tol times the largest
// weight (or all weights are zero, or on the last sweep), the duality gap is
// computed and the descent stops once it is at most tol·‖y‖². The gap is
// that of the lasso on the augmented data X̃ = [X; √l2·I], ỹ = [y; 0]: with
// residual r = y − Xw, v = Xᵀr − l2·w and the dual point θ = c·r̃ scaled
// into the dual feasible set by c = min(1, l1/‖v‖∞),
//
//	gap = ½(1 + c²)(‖r‖² + l2‖w‖²) + l1‖w‖₁ − c·rᵀy.
//
// Following the iterates of scikit-learn (same order, same test) gives
// coefficients that agree with its Lasso and ElasticNet to far better than
// the tolerance, not merely two solutions within tol of the optimum.
//
// The data enters through cdData in one of two equivalent forms: the Gram
// form (XᵀX, Xᵀy, ‖y‖², built in parallel by computeNormalEquations; each
// sweep then costs O(p²) whatever n) for designs of up to
// maxGramCDColumns columns, and the residual form (centred columns and the
// running residual; each sweep costs O(n·p)) for wider ones, where the p×p
// Gram matrix would cost more than the descent.

// maxGramCDColumns is the widest design solved in the Gram form. Building
// XᵀX costs about n·p²/2 multiply-adds (split over cores) and a residual
// sweep about 2·n·p, so the Gram matrix costs as much as p/4 sweeps: 128 at
// this width, about what a typical solve needs. Wider designs use the
// residual form.
const maxGramCDColumns = 512

// cdData is the design of a coordinate-descent problem together with the
// running state needed to evaluate partial residual correlations.
type cdData interface {
	// colNorm2 returns ‖xⱼ‖², or 0 for a column that carries no
	// information (constant), which is then left at weight 0.
	colNorm2(j int) float64
	// corr returns xⱼᵀ(y − Xw) for the current weights w.
	corr(j int) float64
	// update records that wⱼ changed by delta.
	update(j int, delta float64)
	// gapTerms stores Xᵀ(y − Xw) in xtr and returns ‖y − Xw‖² and (y − Xw)ᵀy.
	gapTerms(w, xtr []float64) (rNorm2, rty float64)
	// yNorm2 returns ‖y‖².
	yNorm2() float64
}

// gramCD is the Gram form: Q = XᵀX (p×p row-major), q = Xᵀy and h = Q·w.
type gramCD struct {
	p     int
	gram  []float64
	xty   []float64
	yy    float64
	h     []float64
	norms []float64
}

func newGramCD(ne normalEquations, yy float64) *gramCD {
	p := len(ne.Xty)
	g := &gramCD{p: p, gram: make([]float64, p*p), xty: ne.Xty, yy: yy,
		h: make([]float64, p), norms: make([]float64, p)}
	// A full row-major copy: update reads whole rows of Q.
	for i := range p {
		for j := range p {
			g.gram[i*p+j] = ne.XtX.At(i, j)
		}
	}
	for j := range p {
		if !ne.Constant[j] {
			g.norms[j] = g.gram[j*p+j]
		}
	}
	return g
}

func (g *gramCD) colNorm2(j int) float64 { return g.norms[j] }
func (g *gramCD) corr(j int) float64     { return g.xty[j] - g.h[j] }
func (g *gramCD) yNorm2() float64        { return g.yy }

func (g *gramCD) update(j int, delta float64) {
	floats.AddScaled(g.h, delta, g.gram[j*g.p:(j+1)*g.p])
}

func (g *gramCD) gapTerms(w, xtr []float64) (rNorm2, rty float64) {
	// ‖y − Xw‖² = ‖y‖² − 2wᵀq + wᵀQw and (y − Xw)ᵀy = ‖y‖² − wᵀq.
	wq, wh := floats.Dot(w, g.xty), floats.Dot(w, g.h)
	for j := range xtr {
		xtr[j] = g.xty[j] - g.h[j]
	}
	return max(g.yy-2*wq+wh, 0), g.yy - wq
}

// residualCD is the residual form: the (centred) columns of X stored
// contiguously, y and the running residual r = y − Xw.
type residualCD struct {
	n     int
	cols  []float64 // column j is cols[j*n : (j+1)*n]
	y, r  []float64
	yy    float64
	norms []float64
}

// newResidualCD copies x column by column, subtracting the column means
// and the mean of y when center is set; constant columns (all zero when
// not centring) get norm 0. It returns the means it subtracted.
func newResidualCD(x *mat.Dense, y []float64, center bool) (cd *residualCD, xMean []float64, yMean float64) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	cd = &residualCD{n: n, cols: make([]float64, n*p), y: make([]float64, n), r: make([]float64, n),
		norms: make([]float64, p)}
	xMean = make([]float64, p)
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for j, v := range row {
			cd.cols[j*n+i] = v
		}
	}
	if center {
		yMean = centre(y, cd.y)
	} else {
		copy(cd.y, y)
	}
	parallelFor(p, func(j int) {
		col := cd.cols[j*n : (j+1)*n]
		lo, hi := floats.Min(col), floats.Max(col)
		if center {
			xMean[j] = centre(col, col)
		}
		if lo != hi || (!center && lo != 0) {
			cd.norms[j] = floats.Dot(col, col)
		}
	})
	copy(cd.r, cd.y)
	cd.yy = floats.Dot(cd.y, cd.y)
	return cd, xMean, yMean
}

// centre writes src − mean(src) to dst and returns the mean, computed in two
// passes (the second corrects the rounding of the first).
func centre(src, dst []float64) float64 {
	mean := floats.Sum(src) / float64(len(src))
	dev := 0.0
	for _, v := range src {
		dev += v - mean
	}
	mean += dev / float64(len(src))
	for i, v := range src {
		dst[i] = v - mean
	}
	return mean
}

func (c *residualCD) col(j int) []float64    { return c.cols[j*c.n : (j+1)*c.n] }
func (c *residualCD) colNorm2(j int) float64 { return c.norms[j] }
func (c *residualCD) corr(j int) float64     { return floats.Dot(c.col(j), c.r) }
func (c *residualCD) update(j int, delta float64) {
	floats.AddScaled(c.r, -delta, c.col(j))
}
func (c *residualCD) yNorm2() float64 { return c.yy }

func (c *residualCD) gapTerms(_, xtr []float64) (rNorm2, rty float64) {
	for j := range xtr {
		xtr[j] = floats.Dot(c.col(j), c.r)
	}
	return floats.Dot(c.r, c.r), floats.Dot(c.r, c.y)
}

// cdResult reports how a coordinate descent ended.
type cdResult struct {
	Iterations int     // sweeps run
	Gap        float64 // last duality gap computed (in the n-scaled objective)
	Converged  bool    // gap ≤ tol·‖y‖² was reached
}

// coordinateDescent minimises ½‖y − Xw‖² + l1‖w‖₁ + ½·l2‖w‖² over w,
// starting from (and overwriting) w, for at most maxIter sweeps; see the
// comment at the top of this file. It returns ctx.Err() if ctx is done.
func coordinateDescent(ctx context.Context, data cdData, w []float64, l1, l2, tol float64, maxIter int) (cdResult, error) {
	p := len(w)
	gapTol := tol * data.yNorm2()
	xtr := make([]float64, p)
	res := cdResult{Gap: math.Inf(1)}
	for iter := range maxIter {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		wMax, dwMax := 0.0, 0.0
		for j := range p {
			norm := data.colNorm2(j)
			if norm == 0 {
				continue
			}
			old := w[j]
			z := data.corr(j) + norm*old
			next := softThreshold(z, l1) / (norm + l2)
			if next != old {
				data.update(j, next-old)
				w[j] = next
			}
			dwMax = max(dwMax, math.Abs(next-old))
			wMax = max(wMax, math.Abs(next))
		}
		res.Iterations = iter + 1
		if wMax == 0 || dwMax/wMax < tol || iter == maxIter-1 {
			res.Gap = dualityGap(data, w, xtr, l1, l2)
			if res.Gap <= gapTol {
				res.Converged = true
				return res, nil
			}
		}
	}
	return res, nil
}

// dualityGap returns the elastic-net duality gap at w (see the comment at
// the top of this file), using xtr as scratch space.
func dualityGap(data cdData, w, xtr []float64, l1, l2 float64) float64 {
	rNorm2, rty := data.gapTerms(w, xtr)
	dualNorm, wNorm1, wNorm2 := 0.0, 0.0, 0.0
	for j, v := range w {
		dualNorm = max(dualNorm, math.Abs(xtr[j]-l2*v))
		wNorm1 += math.Abs(v)
		wNorm2 += v * v
	}
	c := 1.0
	if dualNorm > l1 {
		c = l1 / dualNorm
	}
	return 0.5*(1+c*c)*(rNorm2+l2*wNorm2) + l1*wNorm1 - c*rty
}

// softThreshold is S(z, t) = sign(z)·max(|z| − t, 0), the proximal map of
// t·|·|.
func softThreshold(z, t float64) float64 {
	switch {
	case z > t:
		return z - t
	case z < -t:
		return z + t
	}
	return 0
}

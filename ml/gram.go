package ml

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// normalEquations are the sufficient statistics of a least-squares problem
// min ‖y − Xw − b‖²: with μ the column means of X and ȳ the mean of y when
// centring (zero otherwise),
//
//	XtX = Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ   (p×p, symmetric)
//	Xty = Σᵢ (xᵢ − μ)(yᵢ − ȳ)
//
// so that the slope solves XtX·w = Xty and the intercept is ȳ − μ·w.
// Ridge-style solvers reuse them by adding to the diagonal.
type normalEquations struct {
	XtX   *mat.SymDense
	Xty   []float64
	XMean []float64
	YMean float64
	// Constant marks columns that carry no information: a single repeated
	// value when centring, all zeros otherwise. Their XtX rows are zero up
	// to rounding, so solvers give them weight 0.
	Constant []bool
}

// Segment sizes for the parallel passes over rows. Each segment keeps its
// own p×p partial sum, so the count is bounded by memory as well.
const (
	minRowsPerSegment   = 16384
	maxSegments         = 16
	maxPartialGramBytes = 64 << 20
)

// computeNormalEquations accumulates the normal equations of x (n×p) and y,
// centring both if center is set. The work is split into row segments run
// on all cores; the reduction is in segment order, so the result does not
// depend on the number of cores.
//
// Centring uses the corrected two-pass scheme: the first pass computes the
// means, the second accumulates products of deviations from them together
// with the deviations' sums δ, and the result is corrected by −n·δδᵀ. This
// keeps full accuracy when the column means are large relative to the
// spread.
func computeNormalEquations(x *mat.Dense, y []float64, center bool) normalEquations {
	n, p := x.Dims()
	raw := x.RawMatrix()
	segLimit := max(1, min(maxSegments, maxPartialGramBytes/(8*p*p+1)))
	segs := rowSegments(n, minRowsPerSegment, segLimit)

	ne := normalEquations{XMean: make([]float64, p), Constant: make([]bool, p)}

	// Pass 1: column sums (for the means) and whether each column is constant.
	type colStats struct {
		sum      []float64
		ySum     float64
		min, max []float64
	}
	stats := make([]colStats, len(segs))
	forEachSegment(segs, func(s int, seg segment) {
		st := colStats{sum: make([]float64, p), min: make([]float64, p), max: make([]float64, p)}
		copy(st.min, raw.Data[seg.lo*raw.Stride:seg.lo*raw.Stride+p])
		copy(st.max, st.min)
		for i := seg.lo; i < seg.hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			for j, v := range row {
				st.sum[j] += v
				if v < st.min[j] {
					st.min[j] = v
				} else if v > st.max[j] {
					st.max[j] = v
				}
			}
			st.ySum += y[i]
		}
		stats[s] = st
	})
	colMin, colMax := stats[0].min, stats[0].max
	for s, st := range stats {
		for j := range p {
			if s > 0 {
				colMin[j] = min(colMin[j], st.min[j])
				colMax[j] = max(colMax[j], st.max[j])
			}
			ne.XMean[j] += st.sum[j]
		}
		ne.YMean += st.ySum
	}
	for j := range p {
		if center {
			ne.XMean[j] /= float64(n)
			ne.Constant[j] = colMin[j] == colMax[j]
		} else {
			ne.XMean[j] = 0
			ne.Constant[j] = colMin[j] == 0 && colMax[j] == 0
		}
	}
	if center {
		ne.YMean /= float64(n)
	} else {
		ne.YMean = 0
	}

	// Pass 2: products of deviations.
	type partial struct {
		gram, xty, dev []float64 // dev: Σ (x − μ) per column
		yDev           float64
	}
	partials := make([]partial, len(segs))
	forEachSegment(segs, func(s int, seg segment) {
		pt := partial{gram: make([]float64, p*p), xty: make([]float64, p), dev: make([]float64, p)}
		pt.yDev = accumulateGram(pt.gram, pt.xty, pt.dev, raw, y, ne.XMean, ne.YMean, seg.lo, seg.hi)
		partials[s] = pt
	})
	gram, xty, dev := partials[0].gram, partials[0].xty, partials[0].dev
	yDev := partials[0].yDev
	for _, pt := range partials[1:] {
		for k, v := range pt.gram {
			gram[k] += v
		}
		for j := range p {
			xty[j] += pt.xty[j]
			dev[j] += pt.dev[j]
		}
		yDev += pt.yDev
	}
	// Correct for the rounding in the means: Σ(x−μ−δ)(x−μ−δ)ᵀ with
	// δ = Σ(x−μ)/n equals Σ(x−μ)(x−μ)ᵀ − n·δδᵀ.
	if center {
		fn := float64(n)
		for i := range p {
			for j := i; j < p; j++ {
				gram[i*p+j] -= dev[i] * dev[j] / fn
			}
			xty[i] -= dev[i] * yDev / fn
		}
		for j := range p {
			ne.XMean[j] += dev[j] / fn
		}
		ne.YMean += yDev / fn
	}
	// accumulateGram fills the upper triangle; mirror it.
	for i := range p {
		for j := i + 1; j < p; j++ {
			gram[j*p+i] = gram[i*p+j]
		}
	}
	ne.XtX = mat.NewSymDense(p, gram)
	ne.Xty = xty
	return ne
}

// accumulateGram adds, for rows lo..hi-1 of x, the upper triangle of
// Σ (xᵢ − mu)(xᵢ − mu)ᵀ to gram (p×p row-major), Σ (xᵢ − mu)(yᵢ − yMean)
// to xty and Σ (xᵢ − mu) to dev; it returns Σ (yᵢ − yMean).
//
// Rows are taken four at a time so that each gram element is loaded and
// stored once per four rows (a rank-4 update), which roughly halves the
// memory traffic of a row-at-a-time update and lets the CPU overlap the
// independent multiplications.
func accumulateGram(gram, xty, dev []float64, raw blas64.General, y, mu []float64, yMean float64, lo, hi int) float64 {
	p := raw.Cols
	buf := make([]float64, 4*p)
	r0, r1, r2, r3 := buf[:p], buf[p:2*p], buf[2*p:3*p], buf[3*p:]
	center := func(dst []float64, i int) float64 {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for j, v := range row {
			d := v - mu[j]
			dst[j] = d
			dev[j] += d
		}
		return y[i] - yMean
	}
	yDev := 0.0
	i := lo
	for ; i+4 <= hi; i += 4 {
		d0, d1, d2, d3 := center(r0, i), center(r1, i+1), center(r2, i+2), center(r3, i+3)
		yDev += d0 + d1 + d2 + d3
		for a := range p {
			s0, s1, s2, s3 := r0[a], r1[a], r2[a], r3[a]
			g := gram[a*p+a : a*p+p]
			b0, b1, b2, b3 := r0[a:p], r1[a:p], r2[a:p], r3[a:p]
			b0, b1, b2, b3 = b0[:len(g)], b1[:len(g)], b2[:len(g)], b3[:len(g)]
			for c := range g {
				g[c] += s0*b0[c] + s1*b1[c] + s2*b2[c] + s3*b3[c]
			}
			xty[a] += s0*d0 + s1*d1 + s2*d2 + s3*d3
		}
	}
	for ; i < hi; i++ {
		d := center(r0, i)
		yDev += d
		for a := range p {
			s := r0[a]
			g := gram[a*p+a : a*p+p]
			b := r0[a:p]
			b = b[:len(g)]
			for c := range g {
				g[c] += s * b[c]
			}
			xty[a] += s * d
		}
	}
	return yDev
}

package ml

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Probability calibration shared by the support vector machines, which
// produce decision values rather than probabilities.

// plattSigmoid is Platt's model of the probability of the positive class
// given a decision value f:
//
//	P(+1 | f) = 1 / (1 + exp(A·f + B))
//
// (A < 0 when larger decision values mean the positive class).
type plattSigmoid struct{ A, B float64 }

// fitPlattSigmoid fits A and B to decision values dec with labels positive
// by the method of Lin, Lin & Weng (2007), "A note on Platt's probabilistic
// outputs for support vector machines", as libsvm's sigmoid_train: it
// minimises the cross-entropy
//
//	−Σᵢ tᵢ·log pᵢ + (1−tᵢ)·log(1−pᵢ),   pᵢ = P(+1 | decᵢ),
//
// against Platt's regularised targets tᵢ = (N₊+1)/(N₊+2) for positive rows
// and 1/(N₋+2) for negative ones (which keep A finite on separable data),
// by Newton's method with a backtracking line search, starting from A = 0,
// B = log((N₋+1)/(N₊+1)).
func fitPlattSigmoid(dec []float64, positive []bool) plattSigmoid {
	const (
		maxIter = 100
		minStep = 1e-10
		sigma   = 1e-12 // added to the Hessian's diagonal to keep it positive definite
		eps     = 1e-5
	)
	var nPos, nNeg float64
	for _, p := range positive {
		if p {
			nPos++
		} else {
			nNeg++
		}
	}
	hiTarget := (nPos + 1) / (nPos + 2)
	loTarget := 1 / (nNeg + 2)
	target := make([]float64, len(dec))
	for i, p := range positive {
		target[i] = loTarget
		if p {
			target[i] = hiTarget
		}
	}
	// loss is the cross-entropy at (a, b), written so that neither
	// exponential overflows: with z = a·f + b, −log p = log(1+e^z) and
	// −log(1−p) = log(1+e^z) − z.
	loss := func(a, b float64) float64 {
		s := 0.0
		for i, f := range dec {
			z := f*a + b
			s += softplus(z) - (1-target[i])*z
		}
		return s
	}

	a, b := 0.0, math.Log((nNeg+1)/(nPos+1))
	fval := loss(a, b)
	for range maxIter {
		// Gradient g and Hessian H of the loss in (A, B).
		h11, h22, h21, g1, g2 := sigma, sigma, 0.0, 0.0, 0.0
		for i, f := range dec {
			p := sigmoid(-(f*a + b)) // P(+1 | f)
			d2 := p * (1 - p)
			h11 += f * f * d2
			h22 += d2
			h21 += f * d2
			d1 := target[i] - p
			g1 += f * d1
			g2 += d1
		}
		if math.Abs(g1) < eps && math.Abs(g2) < eps {
			break
		}
		// Newton direction −H⁻¹g.
		det := h11*h22 - h21*h21
		dA := -(h22*g1 - h21*g2) / det
		dB := -(-h21*g1 + h11*g2) / det
		gd := g1*dA + g2*dB
		step := 1.0
		for ; step >= minStep; step /= 2 {
			newA, newB := a+step*dA, b+step*dB
			if newF := loss(newA, newB); newF < fval+1e-4*step*gd {
				a, b, fval = newA, newB, newF
				break
			}
		}
		if step < minStep {
			break // no further decrease is possible in floating point
		}
	}
	return plattSigmoid{A: a, B: b}
}

// prob returns P(+1 | f).
func (s plattSigmoid) prob(f float64) float64 { return sigmoid(-(f*s.A + s.B)) }

// couplePairwise combines pairwise class probabilities into one
// distribution p over k classes by the second method of Wu, Lin & Weng
// (2004), "Probability estimates for multi-class classification by
// pairwise coupling", as libsvm's multiclass_probability. r[i][j] is the
// estimate of P(class i | class i or j), with r[j][i] = 1 − r[i][j]; p
// minimises
//
//	Σᵢ Σ_{j≠i} (r[j][i]·pᵢ − r[i][j]·pⱼ)²   subject to Σᵢ pᵢ = 1, pᵢ ≥ 0,
//
// that is pᵀQp with Qᵢᵢ = Σ_{j≠i} r[j][i]², Qᵢⱼ = −r[j][i]·r[i][j], which is
// solved by the fixed-point iteration pₜ ← pₜ + (pᵀQp − (Qp)ₜ)/Qₜₜ followed
// by renormalisation, until every |(Qp)ₜ − pᵀQp| < 0.005/k. q (k×k) and
// qp (k) are scratch space.
func couplePairwise(r [][]float64, p []float64, q [][]float64, qp []float64) {
	k := len(p)
	for t := range k {
		p[t] = 1 / float64(k)
		q[t][t] = 0
		for j := range k {
			if j == t {
				continue
			}
			q[t][t] += r[j][t] * r[j][t]
			q[t][j] = -r[j][t] * r[t][j]
		}
	}
	maxIter := max(100, k)
	eps := 0.005 / float64(k)
	for range maxIter {
		// Recompute Qp and pᵀQp from scratch each sweep for accuracy.
		pQp := 0.0
		for t := range k {
			s := 0.0
			for j := range k {
				s += q[t][j] * p[j]
			}
			qp[t] = s
			pQp += p[t] * s
		}
		maxErr := 0.0
		for t := range k {
			maxErr = max(maxErr, math.Abs(qp[t]-pQp))
		}
		if maxErr < eps {
			break
		}
		for t := range k {
			diff := (pQp - qp[t]) / q[t][t]
			p[t] += diff
			pQp = (pQp + diff*(diff*q[t][t]+2*qp[t])) / (1 + diff) / (1 + diff)
			for j := range k {
				qp[j] = (qp[j] + diff*q[t][j]) / (1 + diff)
				p[j] /= 1 + diff
			}
		}
	}
}

// fitTemperature returns the scale s > 0 of the logits z (n×K) minimising
// the cross-entropy of softmax(s·zᵢ) against targets that generalise
// Platt's: the true class of a row gets (N_y+1)/(N_y+2), where N_y is the
// number of rows of that class, and the other classes share the rest
// equally (for binary logits (0, f) this is exactly Platt's sigmoid
// σ(s·f + B) with B = 0, so the decision threshold stays at 0). The
// regularised targets keep s finite when the training rows are separable.
//
// The loss L(s) = Σᵢ logΣₖ e^{s·zᵢₖ} − s·Σₖ tᵢₖzᵢₖ is convex, with
// L′(s) = Σᵢ E_p[zᵢ] − E_t[zᵢ] and L″(s) = Σᵢ Var_p(zᵢ); its root is
// bracketed by doubling and found by Newton's method safeguarded by
// bisection. If L′(0) ≥ 0 (the logits carry no information about the
// labels) s is minTemperature, which gives nearly uniform probabilities
// that still rank the classes as z does.
func fitTemperature(z *mat.Dense, labels []int, nClasses int) float64 {
	const (
		minTemperature = 1e-6
		maxTemperature = 1e8
	)
	n, k := z.Dims()
	counts := make([]float64, nClasses)
	for _, c := range labels {
		counts[c]++
	}
	segs := rowSegments(n, 4096, maxSegments)
	// derivatives returns L′(s) and L″(s), reduced over row segments in
	// order so the result does not depend on the number of cores.
	derivatives := func(s float64) (d1, d2 float64) {
		type partial struct{ d1, d2 float64 }
		parts := make([]partial, len(segs))
		forEachSegment(segs, func(g int, seg segment) {
			prob := make([]float64, k)
			var pt partial
			for i := seg.lo; i < seg.hi; i++ {
				zi := z.RawRowView(i)
				softmaxScaled(zi, s, prob)
				y := labels[i]
				tTrue := (counts[y] + 1) / (counts[y] + 2)
				tOther := (1 - tTrue) / float64(k-1)
				var ep, ep2, et float64
				for c, v := range zi {
					ep += prob[c] * v
					ep2 += prob[c] * v * v
					if c == y {
						et += tTrue * v
					} else {
						et += tOther * v
					}
				}
				pt.d1 += ep - et
				pt.d2 += max(ep2-ep*ep, 0)
			}
			parts[g] = pt
		})
		for _, pt := range parts {
			d1 += pt.d1
			d2 += pt.d2
		}
		return d1, d2
	}

	if d1, _ := derivatives(0); !(d1 < 0) {
		return minTemperature
	}
	lo, hi := 0.0, 1.0
	for {
		d1, _ := derivatives(hi)
		if d1 >= 0 {
			break
		}
		if hi >= maxTemperature {
			return maxTemperature
		}
		lo, hi = hi, 2*hi
	}
	// L′(lo) < 0 ≤ L′(hi).
	s := (lo + hi) / 2
	for range 100 {
		d1, d2 := derivatives(s)
		if d1 < 0 {
			lo = s
		} else {
			hi = s
		}
		if d1 == 0 || hi-lo <= 1e-10*hi {
			break
		}
		next := s - d1/d2
		if !(d2 > 0) || !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-s) <= 1e-12*s {
			s = next
			break
		}
		s = next
	}
	return max(s, minTemperature)
}

// softmaxScaled writes softmax(s·z) to dst.
func softmaxScaled(z []float64, s float64, dst []float64) {
	top := math.Inf(-1)
	for _, v := range z {
		top = max(top, s*v)
	}
	sum := 0.0
	for c, v := range z {
		dst[c] = math.Exp(s*v - top)
		sum += dst[c]
	}
	for c := range dst {
		dst[c] /= sum
	}
}

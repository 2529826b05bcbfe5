package ml

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// KMeans is k-means clustering, defined as scikit-learn's
// KMeans(algorithm="lloyd", init="k-means++"). It looks for K centres
// c₁..c_K minimising the inertia
//
//	Σᵢ minₖ ‖xᵢ − cₖ‖²
//
// by Lloyd's algorithm: assign every row to its nearest centre, move every
// centre to the mean of its rows, and repeat until no row changes cluster,
// the centres move by at most tol·(mean feature variance) in total squared
// distance, or MaxIter rounds have run. A centre left without rows is moved
// to the row farthest from its own centre (as scikit-learn does). After a
// stop on the tolerance the rows are reassigned to the final centres, so
// the labels and centres are consistent.
//
// Each of NInit runs starts from greedy k-means++ seeding: the first centre
// is a uniformly random row; each further centre is the best, by resulting
// inertia, of 2 + ⌊ln K⌋ rows drawn with probability proportional to their
// squared distance to the nearest centre chosen so far. The run with the
// lowest inertia is kept. The runs' generators derive from Seed, so the
// same seed on the same data gives the same centres.
//
// The assignment step computes ‖c‖² − 2x·c (‖x‖² does not change the
// nearest centre) with vectorised multiply-adds over the transposed data,
// in parallel over fixed row segments whose sums are reduced in order, so
// results do not depend on the number of cores.
type KMeans struct {
	K       int
	NInit   int
	MaxIter int
	Tol     float64
	Seed    int

	// Centers holds the K cluster centres (K×inputs).
	Centers [][]float64
	// Inertia is the training rows' sum of squared distances to their
	// centre, and Iterations the number of Lloyd rounds, of the kept run.
	Inertia    float64
	Iterations int
}

func kmeansAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "KMEANS",
			Tasks: []Task{Clustering},
			Description: "k-means clustering (Lloyd's algorithm with k-means++ seeding, best of several restarts) on " +
				"standardised features; predicts each row's nearest cluster centre.",
			Params: []ParamSpec{
				{Name: "k", Type: ParamInt, Default: 8, Min: ptr(1),
					Description: "Number of clusters (scikit-learn's default 8); at most the number of training rows."},
				{Name: "nInit", Type: ParamInt, Default: 10, Min: ptr(1),
					Description: "Number of runs from different k-means++ seedings; the one with the lowest inertia is kept."},
				{Name: "maxIter", Type: ParamInt, Default: 300, Min: ptr(1),
					Description: "Maximum number of Lloyd iterations per run."},
				{Name: "tol", Type: ParamFloat, Default: 1e-4, Min: ptr(0),
					Description: "A run stops when the centres move, in total squared distance, by at most tol times the mean feature variance."},
				seedParam(),
			},
			NeedsScaling: true,
		},
		newEstimator: newKMeans,
	}
}

func newKMeans(params map[string]any) Estimator {
	return &KMeans{
		K:       params["k"].(int),
		NInit:   params["nInit"].(int),
		MaxIter: params["maxIter"].(int),
		Tol:     params["tol"].(float64),
		Seed:    params["seed"].(int),
	}
}

// kmeansData is the training matrix laid out for the assignment step.
type kmeansData struct {
	x     []float64 // rows, n×p row-major
	xt    []float64 // Xᵀ, p×n row-major
	norms []float64 // ‖xᵢ‖²
	n, p  int
	segs  []segment
}

// kmeansChunk is the number of rows whose centre distances are computed
// together (k slices of this length stay in the L1/L2 cache).
const kmeansChunk = 512

// Fit implements Estimator. Only the Clustering task is supported; y is
// ignored.
func (m *KMeans) Fit(ctx context.Context, x *mat.Dense, _ []float64, task Task, _ int) error {
	if task != Clustering {
		return fmt.Errorf("fit k-means: unsupported task %q", task)
	}
	if m.K < 1 || m.NInit < 1 || m.MaxIter < 1 || !(m.Tol >= 0) {
		return fmt.Errorf("fit k-means: invalid parameters k=%d nInit=%d maxIter=%d tol=%v", m.K, m.NInit, m.MaxIter, m.Tol)
	}
	n, p := x.Dims()
	if m.K > n {
		return inputErrorf("parameter k of KMEANS is %d but there are only %d rows; choose k <= %d", m.K, n, n)
	}
	data := newKMeansData(x)

	// The tolerance is relative to the data's spread, as in scikit-learn.
	tol := 0.0
	for l := range p {
		tol += variance(data.xt[l*n:(l+1)*n]) / float64(p)
	}
	tol *= m.Tol

	rng := newRand(m.Seed)
	best := kmeansRun{inertia: math.Inf(1)}
	for range m.NInit {
		// Each run has its own generator, derived in order from the seed.
		r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		centers, err := data.seedPlusPlus(ctx, m.K, r)
		if err != nil {
			return err
		}
		run, err := data.lloyd(ctx, centers, m.MaxIter, tol)
		if err != nil {
			return err
		}
		if run.inertia < best.inertia || best.centers == nil && !math.IsNaN(run.inertia) {
			best = run
		}
	}
	if best.centers == nil {
		// Only non-finite distances: no run can be compared, and no centre
		// would be meaningful.
		return errors.New("fit k-means: distances are not finite")
	}
	m.Centers = make([][]float64, m.K)
	for c := range m.K {
		m.Centers[c] = slices.Clone(best.centers[c*p : (c+1)*p])
	}
	m.Inertia, m.Iterations = best.inertia, best.iterations
	return nil
}

func newKMeansData(x *mat.Dense) *kmeansData {
	n, p := x.Dims()
	raw := x.RawMatrix()
	d := &kmeansData{x: make([]float64, n*p), xt: make([]float64, n*p), norms: make([]float64, n), n: n, p: p,
		segs: rowSegments(n, 4096, maxSegments)}
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		copy(d.x[i*p:], row)
		d.norms[i] = floats.Dot(row, row)
	}
	parallelFor(p, func(l int) {
		col := d.xt[l*n : (l+1)*n]
		for i := range col {
			col[i] = d.x[i*p+l]
		}
	})
	return d
}

// variance is the population variance of v.
func variance(v []float64) float64 {
	mean := floats.Sum(v) / float64(len(v))
	s := 0.0
	for _, x := range v {
		s += (x - mean) * (x - mean)
	}
	return s / float64(len(v))
}

// sqDistances sets dst[i−lo] = ‖xᵢ − c‖² for rows [lo, hi), by
// ‖xᵢ‖² + ‖c‖² − 2xᵢ·c clamped at 0.
func (d *kmeansData) sqDistances(dst []float64, c []float64, lo, hi int) {
	cc := floats.Dot(c, c)
	dst = dst[:hi-lo]
	for i := range dst {
		dst[i] = d.norms[lo+i] + cc
	}
	for l, v := range c {
		if v != 0 {
			floats.AddScaled(dst, -2*v, d.xt[l*d.n+lo:l*d.n+hi])
		}
	}
	for i, v := range dst {
		dst[i] = max(v, 0)
	}
}

// seedPlusPlus chooses k initial centres (k×p row-major) by greedy
// k-means++, as scikit-learn's _kmeans_plusplus.
func (d *kmeansData) seedPlusPlus(ctx context.Context, k int, r *rand.Rand) ([]float64, error) {
	n, p := d.n, d.p
	centers := make([]float64, k*p)
	first := r.IntN(n)
	copy(centers, d.x[first*p:(first+1)*p])
	closest := make([]float64, n)
	pot := d.minSqDistances(closest, nil, d.x[first*p:(first+1)*p])

	trials := 2 + int(math.Log(float64(k)))
	cumsum := make([]float64, n)
	candidates := make([]int, trials)
	trialDist := make([][]float64, trials)
	for t := range trialDist {
		trialDist[t] = make([]float64, n)
	}
	for c := 1; c < k; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := 0.0
		for i, v := range closest {
			s += v
			cumsum[i] = s
		}
		for t := range candidates {
			// The first row whose cumulative potential reaches the draw
			// (numpy's searchsorted), clipped to the last row.
			target := r.Float64() * pot
			i, _ := slices.BinarySearch(cumsum, target)
			candidates[t] = min(i, n-1)
		}
		bestT, bestPot := 0, math.Inf(1)
		for t, cand := range candidates {
			tp := d.minSqDistances(trialDist[t], closest, d.x[cand*p:(cand+1)*p])
			if tp < bestPot {
				bestT, bestPot = t, tp
			}
		}
		pot = bestPot
		copy(closest, trialDist[bestT])
		copy(centers[c*p:(c+1)*p], d.x[candidates[bestT]*p:(candidates[bestT]+1)*p])
	}
	return centers, nil
}

// minSqDistances sets dst to the squared distances of every row to c, or
// to their minimum with prev when prev is non-nil, and returns their sum.
func (d *kmeansData) minSqDistances(dst, prev, c []float64) float64 {
	partial := make([]float64, len(d.segs))
	forEachSegment(d.segs, func(s int, seg segment) {
		for lo := seg.lo; lo < seg.hi; lo += kmeansChunk {
			hi := min(lo+kmeansChunk, seg.hi)
			part := dst[lo:hi]
			d.sqDistances(part, c, lo, hi)
			if prev != nil {
				for i, v := range prev[lo:hi] {
					part[i] = min(part[i], v)
				}
			}
		}
		partial[s] = floats.Sum(dst[seg.lo:seg.hi])
	})
	return floats.Sum(partial)
}

// kmeansRun is the result of one Lloyd run.
type kmeansRun struct {
	centers    []float64 // k×p row-major
	inertia    float64
	iterations int
}

// lloyd runs Lloyd's algorithm from centers (k×p row-major, modified).
func (d *kmeansData) lloyd(ctx context.Context, centers []float64, maxIter int, tol float64) (kmeansRun, error) {
	n, p := d.n, d.p
	k := len(centers) / p
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	sums := make([]float64, k*p)
	counts := make([]float64, k)
	converged := false
	iter := 0
	for iter < maxIter {
		if err := ctx.Err(); err != nil {
			return kmeansRun{}, err
		}
		iter++
		changed := d.assign(labels, centers, sums, counts)
		if slices.Contains(counts, 0) {
			d.relocateEmpty(labels, centers, sums, counts)
		}
		shift := 0.0
		for c := range k {
			if counts[c] == 0 {
				continue // keep the old centre (only if relocation ran out of rows)
			}
			old, mean := centers[c*p:(c+1)*p], sums[c*p:(c+1)*p]
			for l := range p {
				v := mean[l] / counts[c]
				shift += (v - old[l]) * (v - old[l])
				old[l] = v
			}
		}
		if changed == 0 {
			converged = true // the labels are those of the final centres
			break
		}
		if shift <= tol {
			break
		}
	}
	if !converged {
		d.assign(labels, centers, nil, nil)
	}
	return kmeansRun{centers: centers, inertia: d.inertia(labels, centers), iterations: iter}, nil
}

// assign sets every row's label to its nearest centre and returns the
// number of labels that changed. If sums is non-nil it also sets sums
// (k×p) and counts (k) to the per-cluster sums and sizes.
func (d *kmeansData) assign(labels []int, centers, sums, counts []float64) int {
	p := d.p
	k := len(centers) / p
	norms := make([]float64, k)
	for c := range k {
		cc := centers[c*p : (c+1)*p]
		norms[c] = floats.Dot(cc, cc)
	}
	type partial struct {
		changed int
		sums    []float64
		counts  []float64
	}
	partials := make([]partial, len(d.segs))
	forEachSegment(d.segs, func(s int, seg segment) {
		pt := partial{}
		if sums != nil {
			pt.sums, pt.counts = make([]float64, k*p), make([]float64, k)
		}
		dist := make([]float64, k*kmeansChunk) // dist[c*kmeansChunk+i]
		bestD := make([]float64, kmeansChunk)
		best := make([]int, kmeansChunk)
		for lo := seg.lo; lo < seg.hi; lo += kmeansChunk {
			hi := min(lo+kmeansChunk, seg.hi)
			m := hi - lo
			for c := range k {
				dc := dist[c*kmeansChunk : c*kmeansChunk+m]
				for i := range dc {
					dc[i] = norms[c]
				}
			}
			// Feature-major, so that each column piece of Xᵀ is read once
			// from memory for all centres.
			for l := range p {
				col := d.xt[l*d.n+lo : l*d.n+hi]
				for c := range k {
					if v := centers[c*p+l]; v != 0 {
						floats.AddScaled(dist[c*kmeansChunk:c*kmeansChunk+m], -2*v, col)
					}
				}
			}
			copy(bestD[:m], dist[:m])
			clear(best[:m])
			for c := 1; c < k; c++ {
				bd, bc := bestD[:m], best[:m]
				for i, v := range dist[c*kmeansChunk : c*kmeansChunk+m] {
					if v < bd[i] {
						bd[i], bc[i] = v, c
					}
				}
			}
			for i, c := range best[:m] {
				row := lo + i
				if labels[row] != c {
					labels[row] = c
					pt.changed++
				}
				if pt.sums != nil {
					sum := pt.sums[c*p : (c+1)*p]
					for l, v := range d.x[row*p : (row+1)*p] {
						sum[l] += v
					}
					pt.counts[c]++
				}
			}
		}
		partials[s] = pt
	})
	changed := 0
	if sums != nil {
		clear(sums)
		clear(counts)
	}
	for _, pt := range partials {
		changed += pt.changed
		if sums != nil {
			floats.Add(sums, pt.sums)
			floats.Add(counts, pt.counts)
		}
	}
	return changed
}

// relocateEmpty gives every empty cluster one of the rows farthest from
// their current centre (the farthest to the first empty cluster), moving
// that row's contribution out of its old cluster's sums, as scikit-learn
// does. Labels are not changed; the next assignment settles them.
func (d *kmeansData) relocateEmpty(labels []int, centers, sums, counts []float64) {
	p := d.p
	var empty []int
	for c, v := range counts {
		if v == 0 {
			empty = append(empty, c)
		}
	}
	dist := make([]float64, d.n)
	parallelFor(d.n/kmeansChunk+1, func(b int) {
		for i := b * kmeansChunk; i < min((b+1)*kmeansChunk, d.n); i++ {
			dist[i] = sqDist(d.x[i*p:(i+1)*p], centers[labels[i]*p:(labels[i]+1)*p])
		}
	})
	order := make([]int, d.n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return -cmpFloat(dist[a], dist[b]) })
	for e, c := range empty {
		if e >= len(order) {
			break
		}
		far := order[e]
		old := labels[far]
		row := d.x[far*p : (far+1)*p]
		if counts[old] > 1 { // never empty another cluster
			floats.Sub(sums[old*p:(old+1)*p], row)
			counts[old]--
		}
		copy(sums[c*p:(c+1)*p], row)
		counts[c] = 1
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// inertia is Σᵢ ‖xᵢ − c_{labelᵢ}‖², computed directly (not by the
// expanded form) for accuracy, reduced over segments in order.
func (d *kmeansData) inertia(labels []int, centers []float64) float64 {
	p := d.p
	partial := make([]float64, len(d.segs))
	forEachSegment(d.segs, func(s int, seg segment) {
		sum := 0.0
		for i := seg.lo; i < seg.hi; i++ {
			sum += sqDist(d.x[i*p:(i+1)*p], centers[labels[i]*p:(labels[i]+1)*p])
		}
		partial[s] = sum
	})
	return floats.Sum(partial)
}

// sqDist is ‖a − b‖².
func sqDist(a, b []float64) float64 {
	s := 0.0
	for l, v := range a {
		d := v - b[l]
		s += d * d
	}
	return s
}

// Predict implements Estimator: dst (n×1) receives each row's nearest
// centre index (the first on ties).
func (m *KMeans) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	parallelFor((n+kmeansChunk-1)/kmeansChunk, func(b int) {
		for i := b * kmeansChunk; i < min((b+1)*kmeansChunk, n); i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			best, bestD := 0, math.Inf(1)
			for c, center := range m.Centers {
				if v := sqDist(row, center); v < bestD {
					best, bestD = c, v
				}
			}
			dst.Set(i, 0, float64(best))
		}
	})
}

// ClusterCenters implements centerer: a K×inputs copy of the cluster
// centres.
func (m *KMeans) ClusterCenters() *mat.Dense {
	p := 0
	if len(m.Centers) > 0 {
		p = len(m.Centers[0])
	}
	c := mat.NewDense(len(m.Centers), p, nil)
	for k, row := range m.Centers {
		c.SetRow(k, row)
	}
	return c
}

// checkShape implements shapeChecker: nClasses is the number of clusters.
func (m *KMeans) checkShape(inputs int, task Task, nClasses int) error {
	if task != Clustering {
		return fmt.Errorf("k-means cannot serve task %q", task)
	}
	if len(m.Centers) != nClasses || nClasses < 1 {
		return fmt.Errorf("k-means has %d centres for %d clusters", len(m.Centers), nClasses)
	}
	for c, row := range m.Centers {
		if len(row) != inputs {
			return fmt.Errorf("k-means centre %d has %d values for %d inputs", c, len(row), inputs)
		}
		if err := checkFinite("k-means centres", row); err != nil {
			return err
		}
	}
	return nil
}

package ml

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Clusters describes how a clustering model groups some rows, for its
// report: the size of each cluster, the silhouette of each, and a 2-D
// picture of the rows and centres.
type Clusters struct {
	// Rows is the number of rows described, and Sizes[c] how many of them
	// fall in cluster c.
	Rows  int
	Sizes []int
	// SampleRows is the number of rows the silhouettes and the projection
	// are computed over: every row, or the fixed-seed sample of 5,000 that
	// ClusteringMetrics uses for its silhouette.
	SampleRows int
	// Silhouette[c] is the mean silhouette coefficient (see
	// ClusteringMetrics) of cluster c's rows in the sample, Members[c] their
	// number (0: none sampled, and Silhouette[c] is 0). Both are nil when
	// the sample falls in fewer than 2 clusters or has a cluster per row.
	// MeanSilhouette, over the sample, is ClusteringMetrics' Silhouette.
	Silhouette     []float64
	Members        []int
	MeanSilhouette float64
	// The projection on the first two principal components of the sample,
	// in the model's design space (standardised features): Explained[j] is
	// the share of the sample's variance along component j; Points (at most
	// maxPoints of the sampled rows, evenly spaced) and Centers are
	// projected rows and cluster centres, PointClusters the cluster of
	// each point.
	Explained     [2]float64
	Points        [][2]float64
	PointClusters []int
	Centers       [][2]float64
}

// DescribeClusters describes the clusters of the rows of features (given
// as to Predict) for a clustering model, projecting at most maxPoints of
// them.
func (m *Model) DescribeClusters(features []*Column, maxPoints int) (*Clusters, error) {
	return m.describeClusters(features, maxPoints, silhouetteMaxRows)
}

// describeClusters is DescribeClusters with the silhouettes and the
// projection computed over at most maxRows rows.
func (m *Model) describeClusters(features []*Column, maxPoints, maxRows int) (*Clusters, error) {
	if m.Task != Clustering {
		return nil, fmt.Errorf("describe clusters: a %s model has none", m.Task)
	}
	if err := m.prep.CheckColumns(features); err != nil {
		return nil, err
	}
	if features[0].Len() == 0 {
		return nil, inputErrorf("no rows to describe")
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		return nil, err
	}
	cl, ok := m.est.(centerer)
	if !ok {
		return nil, fmt.Errorf("describe clusters: %s has no cluster centres", m.Algorithm)
	}
	centers := cl.ClusterCenters()
	k, _ := centers.Dims()
	n, _ := x.Dims()
	labels := m.clusters(x)
	d := &Clusters{Rows: n, Sizes: make([]int, k)}
	for _, c := range labels {
		d.Sizes[c]++
	}

	rows := silhouetteSample(n, maxRows)
	d.SampleRows = len(rows)
	if scores, ok := silhouetteSamples(x, labels, rows, k); ok {
		d.Silhouette, d.Members = make([]float64, k), make([]int, k)
		total := 0.0
		for a, i := range rows {
			d.Silhouette[labels[i]] += scores[a]
			d.Members[labels[i]]++
			total += scores[a]
		}
		for c, n := range d.Members {
			if n > 0 {
				d.Silhouette[c] /= float64(n)
			}
		}
		d.MeanSilhouette = total / float64(len(rows))
	}

	pca := principalComponents(x, rows)
	d.Explained = pca.explained
	step := max(1, (len(rows)+maxPoints-1)/max(maxPoints, 1))
	for a := 0; a < len(rows); a += step {
		d.Points = append(d.Points, pca.project(x.RawRowView(rows[a])))
		d.PointClusters = append(d.PointClusters, labels[rows[a]])
	}
	for c := range k {
		d.Centers = append(d.Centers, pca.project(centers.RawRowView(c)))
	}
	return d, nil
}

// pcaProjection is the map of a space onto its first two principal
// components.
type pcaProjection struct {
	mean       []float64
	components [2][]float64 // unit vectors; the second is zero in one dimension
	// explained is the share of the variance along each component.
	explained [2]float64
}

// project returns the coordinates of v on the components.
func (pc *pcaProjection) project(v []float64) [2]float64 {
	var out [2]float64
	for j, c := range pc.components {
		for l, x := range v {
			out[j] += (x - pc.mean[l]) * c[l]
		}
	}
	return out
}

// pcaMaxIter bounds the subspace iterations of principalComponents: when
// they have not converged by then, the second and third variances are
// nearly equal, and any mix of their directions pictures the data as well.
const pcaMaxIter = 100

// principalComponents finds the first two principal components of the
// given rows of x, as scikit-learn's PCA(n_components=2) does (up to the
// sign of each component, chosen here so that its largest coordinate is
// positive). It runs subspace iteration on the rows' covariance, never
// formed: each step costs O(rows·p), where an eigendecomposition of the
// covariance would cost O(p³) on images' thousands of pixels (at most
// pcaMaxIter steps take about 1 s on 5,000 rows of 784 pixels). The result
// is then rotated within the subspace found so that the components come
// in order of variance (Rayleigh–Ritz).
func principalComponents(x *mat.Dense, rows []int) *pcaProjection {
	_, p := x.Dims()
	m := len(rows)
	pc := &pcaProjection{mean: make([]float64, p)}
	for _, i := range rows {
		floats.Add(pc.mean, x.RawRowView(i))
	}
	floats.Scale(1/float64(m), pc.mean)
	xc := mat.NewDense(m, p, nil)
	for a, i := range rows {
		floats.SubTo(xc.RawRowView(a), x.RawRowView(i), pc.mean)
	}
	total := mat.Norm(xc, 2) // Frobenius: Σ of the squared deviations
	total *= total
	dims := min(2, p)
	pc.components[1] = make([]float64, p)
	if !(total > 0) || math.IsInf(total, 0) {
		// Every row alike: any axes will do, and nothing is explained.
		for j := range dims {
			pc.components[j] = make([]float64, p)
			pc.components[j][j] = 1
		}
		return pc
	}

	// v: p×dims orthonormal, from a fixed start; w = XcᵀXc·v.
	r := newRand(0)
	v := mat.NewDense(p, dims, nil)
	for l := range p {
		for j := range dims {
			v.Set(l, j, r.NormFloat64())
		}
	}
	orthonormalize(v)
	w := mat.NewDense(p, dims, nil)
	b := mat.NewDense(dims, dims, nil)
	resid := mat.NewDense(p, dims, nil)
	// step sets w = XcᵀXc·v, one pass over the rows per segment, in
	// parallel, the segments' sums added in order (the same result on any
	// number of cores), and b = vᵀw.
	segs := rowSegments(m, 256, maxSegments)
	partial := make([][]float64, len(segs)) // dims×p each, row-major
	vcols := make([][]float64, dims)
	step := func() {
		for j := range dims {
			vcols[j] = mat.Col(vcols[j], j, v)
		}
		forEachSegment(segs, func(s int, seg segment) {
			if partial[s] == nil {
				partial[s] = make([]float64, dims*p)
			}
			sum := partial[s]
			clear(sum)
			for a := seg.lo; a < seg.hi; a++ {
				row := xc.RawRowView(a)
				for j, vc := range vcols {
					floats.AddScaled(sum[j*p:(j+1)*p], floats.Dot(row, vc), row)
				}
			}
		})
		wcol := make([]float64, p)
		for j := range dims {
			clear(wcol)
			for _, sum := range partial {
				floats.Add(wcol, sum[j*p:(j+1)*p])
			}
			w.SetCol(j, wcol)
		}
		b.Mul(v.T(), w)
	}
	// converged reports whether w = Cv lies in the span of v: whether
	// w − v·vᵀw is tiny next to w, down to the rounding of computing w.
	converged := func() bool {
		resid.Mul(v, b)
		resid.Sub(w, resid)
		return mat.Norm(resid, 2) <= 1e-13*mat.Norm(w, 2)
	}
	step()
	for iter := 0; iter < pcaMaxIter && !converged(); iter++ {
		v.Copy(w)
		orthonormalize(v)
		step()
	}

	// Rayleigh–Ritz: the eigenvectors of the dims×dims b = vᵀCv rotate v
	// onto the components, its eigenvalues are their variances (×(m−1)).
	var eig mat.EigenSym
	sym := mat.NewSymDense(dims, nil)
	for i := range dims {
		for j := i; j < dims; j++ {
			sym.SetSym(i, j, (b.At(i, j)+b.At(j, i))/2)
		}
	}
	if !eig.Factorize(sym, true) {
		// A 2×2 symmetric eigenproblem does not fail; keep v if it does.
		for j := range dims {
			pc.components[j] = mat.Col(nil, j, v)
		}
		return pc
	}
	values := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	var rotated mat.Dense
	rotated.Mul(v, &vecs)
	for j := range dims {
		col := dims - 1 - j // eigenvalues come in ascending order
		c := mat.Col(nil, col, &rotated)
		if big := floats.MaxIdx(absAll(c)); c[big] < 0 {
			floats.Scale(-1, c)
		}
		pc.components[j] = c
		pc.explained[j] = max(0, values[col]) / total
	}
	return pc
}

// orthonormalize makes the columns of v orthonormal by Gram–Schmidt
// (twice, for accuracy). A column that depends on the previous ones, as
// when the data spans fewer dimensions than v has columns, is replaced by a
// coordinate axis orthogonal to them.
func orthonormalize(v *mat.Dense) {
	p, dims := v.Dims()
	cols := make([][]float64, dims)
	for j := range dims {
		c := mat.Col(nil, j, v)
		scale := floats.Norm(c, 2)
		for axis := 0; ; axis++ {
			for range 2 {
				for _, prev := range cols[:j] {
					floats.AddScaled(c, -floats.Dot(c, prev), prev)
				}
			}
			norm := floats.Norm(c, 2)
			if norm > 1e-10*scale && norm > 0 {
				floats.Scale(1/norm, c)
				break
			}
			if axis == p {
				panic("ml: orthonormalize: more columns than dimensions")
			}
			c = make([]float64, p)
			c[axis] = 1
			scale = 1
		}
		cols[j] = c
		v.SetCol(j, c)
	}
}

func absAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x)
	}
	return out
}

package ml

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// clustersReference is testdata/clusters_reference.json, made by
// testdata/clusters_reference.py (scikit-learn 1.2.1's silhouette_samples
// and PCA(n_components=2) on 37 rows of 3 features in 4 clusters, one of
// them a single row, and three rows put in the wrong cluster).
type clustersReference struct {
	X                      [][]float64
	Labels                 []int
	SilhouetteSamples      []float64
	ClusterSilhouette      []float64
	SilhouetteScore        float64
	Components             [][]float64
	ExplainedVarianceRatio []float64
	Projected              [][]float64
}

func readClustersReference(t *testing.T) (*clustersReference, *mat.Dense) {
	t.Helper()
	data, err := os.ReadFile("testdata/clusters_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref clustersReference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	x := mat.NewDense(len(ref.X), len(ref.X[0]), nil)
	for i, row := range ref.X {
		x.SetRow(i, row)
	}
	return &ref, x
}

// TestSilhouetteSamplesMatchSklearn: every row's coefficient, each
// cluster's mean and the overall mean are scikit-learn's, negative
// coefficients and the singleton's 0 included.
func TestSilhouetteSamplesMatchSklearn(t *testing.T) {
	ref, x := readClustersReference(t)
	n := len(ref.Labels)
	got, ok := silhouetteSamples(x, ref.Labels, silhouetteSample(n, n), 4)
	if !ok || len(got) != n {
		t.Fatalf("silhouetteSamples: %d scores, ok %v", len(got), ok)
	}
	negative := 0
	for i, want := range ref.SilhouetteSamples {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("row %d: silhouette %.15g, sklearn %.15g", i, got[i], want)
		}
		if want < 0 {
			negative++
		}
	}
	if negative == 0 || got[n-1] != 0 {
		t.Errorf("fixture should hold negative coefficients (%d) and a singleton at 0 (%v)", negative, got[n-1])
	}
	if m := ClusteringMetrics(x, ref.Labels, mat.NewDense(4, 3, nil)); math.Abs(*m.Silhouette-ref.SilhouetteScore) > 1e-12 {
		t.Errorf("silhouette score %.15g, sklearn %.15g", *m.Silhouette, ref.SilhouetteScore)
	}
}

// TestPrincipalComponentsMatchSklearn: the components (up to sign), their
// shares of the variance and the projected rows are scikit-learn's.
func TestPrincipalComponentsMatchSklearn(t *testing.T) {
	ref, x := readClustersReference(t)
	n := len(ref.Labels)
	pc := principalComponents(x, silhouetteSample(n, n))
	for j := range 2 {
		sign := 1.0
		if floats.Dot(pc.components[j], ref.Components[j]) < 0 {
			sign = -1
		}
		for l, want := range ref.Components[j] {
			if math.Abs(sign*pc.components[j][l]-want) > 1e-9 {
				t.Errorf("component %d: %v, sklearn %v", j, pc.components[j], ref.Components[j])
				break
			}
		}
		if math.Abs(pc.explained[j]-ref.ExplainedVarianceRatio[j]) > 1e-12 {
			t.Errorf("component %d explains %.15g, sklearn %.15g", j, pc.explained[j], ref.ExplainedVarianceRatio[j])
		}
		for i, row := range ref.Projected {
			if got := sign * pc.project(x.RawRowView(i))[j]; math.Abs(got-row[j]) > 1e-9 {
				t.Errorf("row %d on component %d: %.12g, sklearn %.12g", i, j, got, row[j])
				break
			}
		}
	}
}

// TestPrincipalComponentsWide: on 60 features, the components are the top
// two eigenvectors of the covariance, as an eigendecomposition finds them;
// degenerate data (one feature, identical rows, rows on a line) still gives
// unit, orthogonal axes.
func TestPrincipalComponentsWide(t *testing.T) {
	const m, p = 400, 60
	r := rand.New(rand.NewPCG(7, 8))
	x := mat.NewDense(m, p, nil)
	for i := range m {
		a, b := 5*r.NormFloat64(), 3*r.NormFloat64()
		for l := range p {
			x.Set(i, l, a*math.Sin(float64(l))+b*math.Cos(float64(3*l))+r.NormFloat64())
		}
	}
	rows := silhouetteSample(m, m)
	pc := principalComponents(x, rows)

	var cov mat.SymDense
	var centred mat.Dense
	centred.CloneFrom(x)
	for l := range p {
		col := mat.Col(nil, l, &centred)
		mean := floats.Sum(col) / m
		for i := range m {
			centred.Set(i, l, col[i]-mean)
		}
	}
	cov.SymOuterK(1, centred.T())
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		t.Fatal("eigendecomposition failed")
	}
	values := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	trace := floats.Sum(values)
	for j := range 2 {
		want := mat.Col(nil, p-1-j, &vecs)
		if cos := math.Abs(floats.Dot(want, pc.components[j])); cos < 1-1e-9 {
			t.Errorf("component %d: |cos| %.12f to the eigenvector", j, cos)
		}
		if share := values[p-1-j] / trace; math.Abs(pc.explained[j]-share) > 1e-9 {
			t.Errorf("component %d explains %v, eigenvalue share %v", j, pc.explained[j], share)
		}
	}

	line := mat.NewDense(5, 3, []float64{0, 0, 0, 1, 2, 3, 2, 4, 6, 3, 6, 9, 4, 8, 12})
	for name, tc := range map[string]struct {
		x         *mat.Dense
		explained [2]float64
	}{
		"one feature":    {mat.NewDense(3, 1, []float64{1, 2, 4}), [2]float64{1, 0}},
		"identical rows": {mat.NewDense(3, 2, []float64{1, 1, 1, 1, 1, 1}), [2]float64{0, 0}},
		"on a line":      {line, [2]float64{1, 0}},
	} {
		n, dims := tc.x.Dims()
		pc := principalComponents(tc.x, silhouetteSample(n, n))
		if math.Abs(pc.explained[0]-tc.explained[0]) > 1e-12 || math.Abs(pc.explained[1]-tc.explained[1]) > 1e-12 {
			t.Errorf("%s: explained %v, want %v", name, pc.explained, tc.explained)
		}
		c0, c1 := pc.components[0], pc.components[1]
		if math.Abs(floats.Norm(c0, 2)-1) > 1e-12 || (dims > 1 && math.Abs(floats.Norm(c1, 2)-1) > 1e-12) || math.Abs(floats.Dot(c0, c1)) > 1e-12 {
			t.Errorf("%s: components %v %v not orthonormal", name, c0, c1)
		}
		for i := range n {
			if v := pc.project(tc.x.RawRowView(i)); math.IsNaN(v[0]) || math.IsNaN(v[1]) {
				t.Errorf("%s: row %d projects to %v", name, i, v)
			}
		}
	}
}

// TestDescribeClusters: k-means on iris. The sizes count every row, the
// cluster silhouettes average to the model's silhouette metric, the points
// are bounded and two components explain most of standardised iris.
func TestDescribeClusters(t *testing.T) {
	features, _ := readCSV(t, "iris")
	m := trainOrFatal(t, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 3, "seed": 1}}, features, nil)
	d, err := m.DescribeClusters(features, 100)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := m.Evaluate(features, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, weighted := 0, 0.0
	for c, size := range d.Sizes {
		sum += size
		if d.Members[c] != size {
			t.Errorf("cluster %d: %d sampled members of %d", c, d.Members[c], size)
		}
		weighted += d.Silhouette[c] * float64(d.Members[c])
	}
	if d.Rows != 150 || sum != 150 || d.SampleRows != 150 || len(d.Sizes) != 3 {
		t.Errorf("rows %d sizes %v sample %d", d.Rows, d.Sizes, d.SampleRows)
	}
	if math.Abs(d.MeanSilhouette-*metrics.Silhouette) > 1e-12 || math.Abs(weighted/150-*metrics.Silhouette) > 1e-12 {
		t.Errorf("mean silhouette %v (weighted %v), metric %v", d.MeanSilhouette, weighted/150, *metrics.Silhouette)
	}
	if len(d.Points) != 75 || len(d.PointClusters) != 75 || len(d.Centers) != 3 {
		t.Errorf("%d points (%d clusters), %d centres; want 75 (every other row), 3", len(d.Points), len(d.PointClusters), len(d.Centers))
	}
	// PCA of standardised iris: 72.96% and 22.85% of the variance.
	if math.Abs(d.Explained[0]-0.7296) > 1e-4 || math.Abs(d.Explained[1]-0.2285) > 1e-4 {
		t.Errorf("explained %v", d.Explained)
	}

	// More rows than the silhouette's sample (here lowered to 300): the
	// sample is ClusteringMetrics'.
	const n, maxRows = 1000, 300
	many := manyRowsColumns(n)
	m = trainOrFatal(t, TrainConfig{Algorithm: "KMEANS", Params: map[string]any{"k": 4, "seed": 1, "nInit": 1}}, many, nil)
	d, err = m.describeClusters(many, 200, maxRows)
	if err != nil {
		t.Fatal(err)
	}
	x, err := m.prep.Transform(many)
	if err != nil {
		t.Fatal(err)
	}
	want := clusteringMetrics(x, m.clusters(x), m.est.(centerer).ClusterCenters(), maxRows)
	members := 0
	for _, k := range d.Members {
		members += k
	}
	if d.Rows != n || d.SampleRows != maxRows || members != maxRows || len(d.Points) != 150 || d.MeanSilhouette != *want.Silhouette {
		t.Errorf("rows %d sample %d members %d points %d silhouette %v; want %d, %d, %d, 150 (every other sampled row), %v",
			d.Rows, d.SampleRows, members, len(d.Points), d.MeanSilhouette, n, maxRows, maxRows, *want.Silhouette)
	}

	reg := trainOrFatal(t, TrainConfig{Algorithm: "RIDGE"}, features[:3], features[3])
	if _, err := reg.DescribeClusters(features[:3], 100); err == nil {
		t.Error("a regression model described clusters")
	}
}

// manyRowsColumns is n rows of two numeric features around four centres.
func manyRowsColumns(n int) []*Column {
	r := rand.New(rand.NewPCG(9, 10))
	a, b := make([]float64, n), make([]float64, n)
	for i := range n {
		c := float64(i % 4)
		a[i], b[i] = 3*c+r.NormFloat64(), c*c+r.NormFloat64()
	}
	return []*Column{NewNumeric("a", a), NewNumeric("b", b)}
}

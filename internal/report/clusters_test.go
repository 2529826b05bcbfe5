package report

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// sampleClustering is three clusters of a 2-D projection, 400 rows of
// which 300 were sampled for the silhouette.
func sampleClustering() *Clustering {
	rng := rand.New(rand.NewPCG(3, 5))
	c := &Clustering{
		Sizes:          []int{180, 150, 70},
		Silhouette:     []float64{0.612, 0.48, -0.05},
		Members:        []int{135, 112, 53},
		SilhouetteRows: 300,
		MeanSilhouette: 0.473,
		Projection: &Projection{
			CenterX: []float64{-2, 2, 0}, CenterY: []float64{0, 0, 3},
			Explained: [2]float64{0.6123, 0.2501},
		},
	}
	pr := c.Projection
	for i := range 300 {
		k := i % 3
		pr.X = append(pr.X, pr.CenterX[k]+rng.NormFloat64())
		pr.Y = append(pr.Y, pr.CenterY[k]+rng.NormFloat64())
		pr.Cluster = append(pr.Cluster, k)
	}
	return c
}

func TestSVGClustering(t *testing.T) {
	doc := mustRender(t, Data{Title: "segments", Clustering: sampleClustering()}, 0, 0)
	checkTexts(t, doc, []string{
		"segments", "Cluster sizes (400 rows)", "180", "150", "70",
		"Silhouette by cluster (300 of 400 rows)", "Mean silhouette (overall 0.473)", "0.61", "0.48", "-0.05",
		"PCA projection (300 of 400 rows)", "PC1 (61.2% of variance)", "PC2 (25.0% of variance)", "centre",
		"0", "1", "2", "Cluster",
	}, []string{"Confusion matrix", "Predicted vs actual"})
	// Three panels side by side.
	if w, h := doc.attrs["width"], doc.attrs["height"]; w != "1020pt" || h != "326pt" {
		t.Errorf("size = %s × %s, want 1020pt × 326pt", w, h)
	}

	// Without a silhouette (one cluster) or a projection: the sizes alone.
	doc = mustRender(t, Data{Clustering: &Clustering{Sizes: []int{12}}}, 0, 0)
	checkTexts(t, doc, []string{"Cluster sizes (12 rows)", "12"}, []string{"Silhouette", "PCA"})

	// A cluster without sampled rows gets no bar and no value.
	c := sampleClustering()
	c.Sizes = append(c.Sizes, 1)
	c.Silhouette = append(c.Silhouette, 0)
	c.Members = append(c.Members, 0)
	c.Projection.CenterX = append(c.Projection.CenterX, 9)
	c.Projection.CenterY = append(c.Projection.CenterY, 9)
	doc = mustRender(t, Data{Clustering: c}, 0, 0)
	checkTexts(t, doc, []string{"Cluster sizes (401 rows)", "3"}, []string{"0.00"})
}

func TestSVGManyClusters(t *testing.T) {
	const k = 60
	c := &Clustering{Projection: &Projection{}}
	for i := range k {
		c.Sizes = append(c.Sizes, 1000+i)
		c.Silhouette = append(c.Silhouette, 0.3)
		c.Members = append(c.Members, 10)
		c.Projection.CenterX = append(c.Projection.CenterX, float64(i))
		c.Projection.CenterY = append(c.Projection.CenterY, math.Sin(float64(i)))
		for range 60 {
			c.Projection.X = append(c.Projection.X, float64(i))
			c.Projection.Y = append(c.Projection.Y, math.Cos(float64(i)))
			c.Projection.Cluster = append(c.Projection.Cluster, i)
		}
	}
	c.SilhouetteRows, c.MeanSilhouette = 10*k, 0.3
	doc := mustRender(t, Data{Clustering: c}, 0, 0)
	// The bars are too narrow for their counts; only some clusters are
	// labelled and no centre is numbered; the points are thinned.
	total := 0
	for _, n := range c.Sizes {
		total += n
	}
	want := fmt.Sprintf("PCA projection (%d of %d rows)", MaxScatterPoints, total)
	checkTexts(t, doc, []string{"0", "56", want}, []string{"1030", "1059", "59", "0.30"})
}

func TestSVGRejectsBadClustering(t *testing.T) {
	for name, c := range map[string]struct {
		c   Clustering
		msg string
	}{
		"no clusters":  {Clustering{}, "no clusters"},
		"too many":     {Clustering{Sizes: make([]int, MaxClasses+1)}, "101 clusters"},
		"negative":     {Clustering{Sizes: []int{3, -1}}, "negative size"},
		"silhouettes":  {Clustering{Sizes: []int{3, 1}, Silhouette: []float64{0.5}, Members: []int{3, 1}}, "1 silhouettes"},
		"out of range": {Clustering{Sizes: []int{3, 1}, Silhouette: []float64{1.5, 0}, Members: []int{3, 1}, SilhouetteRows: 4}, "silhouette 1.5"},
		"members":      {Clustering{Sizes: []int{3, 1}, Silhouette: []float64{0.5, 0}, Members: []int{3, 1}, SilhouetteRows: 5}, "4 sampled members but 5"},
		"NaN mean":     {Clustering{Sizes: []int{3, 1}, Silhouette: []float64{0.5, 0}, Members: []int{3, 1}, SilhouetteRows: 4, MeanSilhouette: math.NaN()}, "mean silhouette NaN"},
		"points":       {Clustering{Sizes: []int{1}, Projection: &Projection{X: []float64{1}, CenterX: []float64{0}, CenterY: []float64{0}}}, "1 x, 0 y"},
		"centres":      {Clustering{Sizes: []int{1}, Projection: &Projection{}}, "0 and 0 centre coordinates for 1"},
		"cluster":      {Clustering{Sizes: []int{1}, Projection: &Projection{X: []float64{1}, Y: []float64{1}, Cluster: []int{1}, CenterX: []float64{0}, CenterY: []float64{0}}}, "point 0 is in cluster 1 of 1"},
		"infinite":     {Clustering{Sizes: []int{1}, Projection: &Projection{X: []float64{1}, Y: []float64{math.Inf(1)}, Cluster: []int{0}, CenterX: []float64{0}, CenterY: []float64{0}}}, "coordinate 0 is +Inf"},
		"explained":    {Clustering{Sizes: []int{1}, Projection: &Projection{CenterX: []float64{0}, CenterY: []float64{0}, Explained: [2]float64{0.5, 2}}}, "component 2 explains 2"},
	} {
		d := Data{Clustering: &c.c}
		_, err := SVG(d, 0, 0)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrInvalid saying %q", name, err, c.msg)
		}
	}
}

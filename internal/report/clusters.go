package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Clustering panels: cluster sizes and silhouettes as bars, one per
// cluster in its colour, and the rows and centres projected on two
// principal components, coloured by cluster the same way.

// clusterColor is cluster c's colour (tab10, cycling), with alpha.
func clusterColor(c int, alpha uint8) color.Color {
	r, g, b, _ := seriesColors[c%len(seriesColors)].RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: alpha}
}

// clusterShapes tell clusters apart once the colours have cycled.
var clusterShapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}}

// clusterTicks labels the clusters 0..k−1 along an axis of about w points,
// every step-th one when they are too many to label each.
func clusterTicks(k int, w float64) plot.ConstantTicks {
	pitch := math.Max(1, (w-80)/float64(k))
	step := 1
	if minPitch := 16.0; pitch < minPitch {
		step = int(math.Ceil(minPitch / pitch))
	}
	var ticks plot.ConstantTicks
	for c := range k {
		label := ""
		if c%step == 0 {
			label = strconv.Itoa(c)
		}
		ticks = append(ticks, plot.Tick{Value: float64(c), Label: label})
	}
	return ticks
}

// clusterSizes draws the rows of each cluster as bars with their counts.
func clusterSizes(sizes []int, w float64) *plot.Plot {
	total := 0
	values, labels := make([]float64, len(sizes)), make([]string, len(sizes))
	for c, n := range sizes {
		total += n
		values[c], labels[c] = float64(n), strconv.Itoa(n)
	}
	p := newPlot(fmt.Sprintf("Cluster sizes (%s)", rowsNote(total, total)), "Cluster", "Rows")
	addGrid(p)
	p.Add(&barPlot{values: values, labels: labels})
	p.X.Tick.Marker = clusterTicks(len(sizes), w)
	p.Y.Tick.Marker = integerTicks{}
	hi := math.Max(1, slicesMax(values))
	p.Y.Min, p.Y.Max = 0, hi*1.12
	return p
}

// silhouettePanel draws each cluster's mean silhouette as a bar with its
// value, and the overall mean as a dashed line; a cluster without sampled
// rows has no bar.
func silhouettePanel(c *Clustering, w float64) (*plot.Plot, error) {
	total := 0
	for _, n := range c.Sizes {
		total += n
	}
	p := newPlot(fmt.Sprintf("Silhouette by cluster (%s)", rowsNote(c.SilhouetteRows, total)),
		"Cluster", fmt.Sprintf("Mean silhouette (overall %.3f)", c.MeanSilhouette))
	addGrid(p)
	bars := &barPlot{values: make([]float64, len(c.Sizes)), labels: make([]string, len(c.Sizes))}
	lo, hi := math.Min(0, c.MeanSilhouette), math.Max(0, c.MeanSilhouette)
	for k, s := range c.Silhouette {
		if c.Members[k] == 0 {
			continue
		}
		bars.values[k], bars.labels[k] = s, fmt.Sprintf("%.2f", s)
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	span := math.Max(hi-lo, 0.1)
	mean, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: c.MeanSilhouette}, {X: float64(len(c.Sizes)) - 0.5, Y: c.MeanSilhouette}})
	if err != nil {
		return nil, fmt.Errorf("report: silhouette: %w", err)
	}
	mean.LineStyle = referenceLine
	p.Add(bars, mean)
	p.X.Tick.Marker = clusterTicks(len(c.Sizes), w)
	p.Y.Min, p.Y.Max = lo, hi+0.12*span
	if lo < 0 {
		p.Y.Min = lo - 0.12*span
	}
	return p, nil
}

// projectionPanel scatters the projected rows coloured by cluster, with
// each cluster's centre marked by a cross and its number.
func projectionPanel(pr *Projection, k, total int) (*plot.Plot, error) {
	p := newPlot(fmt.Sprintf("PCA projection (%s)", rowsNote(len(pr.X), total)),
		fmt.Sprintf("PC1 (%.1f%% of variance)", 100*pr.Explained[0]),
		fmt.Sprintf("PC2 (%.1f%% of variance)", 100*pr.Explained[1]))
	addGrid(p)
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	grow := func(x, y float64) {
		xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
	}
	for i := range pr.X {
		grow(pr.X[i], pr.Y[i])
	}
	centres := make(plotter.XYs, k)
	for c := range k {
		centres[c] = plotter.XY{X: pr.CenterX[c], Y: pr.CenterY[c]}
		grow(pr.CenterX[c], pr.CenterY[c])
	}
	p.Add(&pointsPlot{pr: pr})
	marks, err := plotter.NewScatter(centres)
	if err != nil {
		return nil, fmt.Errorf("report: PCA projection: %w", err)
	}
	marks.GlyphStyle = draw.GlyphStyle{Color: black, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
	p.Add(marks)
	if k <= maxCentreLabels {
		p.Add(&centreLabels{centres: centres})
	}
	p.Legend.Add("centre", marks)
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(-4), vg.Points(-2)
	p.X.Min, p.X.Max = padRange(xlo, xhi, 0.04)
	p.Y.Min, p.Y.Max = padRange(ylo, yhi, 0.04)
	// Room for the legend above the highest point.
	p.Y.Max += (p.Y.Max - p.Y.Min) * 0.08
	return p, nil
}

// maxCentreLabels bounds the clusters whose centres are numbered.
const maxCentreLabels = 20

// barPlot draws one bar per cluster, centred on whole x coordinates and
// coloured by cluster, each with its label past its end when the bars
// are wide enough.
type barPlot struct {
	values []float64
	labels []string
}

func (bp *barPlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	lo, hi := 0.0, 0.0
	for _, v := range bp.values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return -0.5, float64(len(bp.values)) - 0.5, lo, hi
}

func (bp *barPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	width := (trX(0.4) - trX(-0.4))
	sty := textStyle(bodyFont, 8)
	sty.XAlign = draw.XCenter
	widest := vg.Length(0)
	for _, l := range bp.labels {
		widest = max(widest, sty.Width(l))
	}
	showLabels := widest <= width*1.3
	zero := trY(0)
	for i, v := range bp.values {
		if bp.labels[i] == "" {
			continue
		}
		x0, x1 := trX(float64(i)-0.4), trX(float64(i)+0.4)
		y := trY(v)
		c.FillPolygon(clusterColor(i, 255), []vg.Point{{X: x0, Y: zero}, {X: x1, Y: zero}, {X: x1, Y: y}, {X: x0, Y: y}})
		if !showLabels {
			continue
		}
		at := vg.Point{X: (x0 + x1) / 2, Y: y + 2}
		sty.YAlign = draw.YBottom
		if v < 0 {
			at.Y, sty.YAlign = y-2, draw.YTop
		}
		c.FillText(sty, at, bp.labels[i])
	}
}

// pointsPlot draws the projected rows, each in its cluster's colour and
// shape.
type pointsPlot struct {
	pr *Projection
}

func (pp *pointsPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for i := range pp.pr.X {
		k := pp.pr.Cluster[i]
		sty := draw.GlyphStyle{Color: clusterColor(k, 150), Radius: vg.Points(1.8),
			Shape: clusterShapes[(k/len(seriesColors))%len(clusterShapes)]}
		c.DrawGlyph(sty, vg.Point{X: trX(pp.pr.X[i]), Y: trY(pp.pr.Y[i])})
	}
}

// centreLabels writes each centre's cluster number beside its cross.
type centreLabels struct {
	centres plotter.XYs
}

func (cl *centreLabels) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	sty := textStyle(titleFont, 8.5)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	for k, xy := range cl.centres {
		c.FillText(sty, vg.Point{X: trX(xy.X) + 4, Y: trY(xy.Y) + 2}, strconv.Itoa(k))
	}
}

func slicesMax(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func validateClustering(c *Clustering) error {
	k := len(c.Sizes)
	if k == 0 {
		return fmt.Errorf("report: clustering: %w: no clusters", ErrInvalid)
	}
	if k > MaxClasses {
		return fmt.Errorf("report: clustering: %w: %d clusters, at most %d can be drawn", ErrInvalid, k, MaxClasses)
	}
	for i, n := range c.Sizes {
		if n < 0 {
			return fmt.Errorf("report: clustering: %w: cluster %d has a negative size (%d)", ErrInvalid, i, n)
		}
	}
	if c.Silhouette != nil {
		if len(c.Silhouette) != k || len(c.Members) != k {
			return fmt.Errorf("report: clustering: %w: %d silhouettes and %d member counts for %d clusters", ErrInvalid, len(c.Silhouette), len(c.Members), k)
		}
		sampled := 0
		for i, s := range c.Silhouette {
			if !(s >= -1-unitSlack && s <= 1+unitSlack) || c.Members[i] < 0 {
				return fmt.Errorf("report: clustering: %w: cluster %d: silhouette %g of %d rows", ErrInvalid, i, s, c.Members[i])
			}
			sampled += c.Members[i]
		}
		if sampled != c.SilhouetteRows {
			return fmt.Errorf("report: clustering: %w: %d sampled members but %d silhouette rows", ErrInvalid, sampled, c.SilhouetteRows)
		}
		if m := c.MeanSilhouette; !(m >= -1-unitSlack && m <= 1+unitSlack) {
			return fmt.Errorf("report: clustering: %w: mean silhouette %g not in [-1, 1]", ErrInvalid, m)
		}
	}
	if pr := c.Projection; pr != nil {
		n := len(pr.X)
		if len(pr.Y) != n || len(pr.Cluster) != n {
			return fmt.Errorf("report: projection: %w: %d x, %d y and %d clusters", ErrInvalid, n, len(pr.Y), len(pr.Cluster))
		}
		if len(pr.CenterX) != k || len(pr.CenterY) != k {
			return fmt.Errorf("report: projection: %w: %d and %d centre coordinates for %d clusters", ErrInvalid, len(pr.CenterX), len(pr.CenterY), k)
		}
		for i, cl := range pr.Cluster {
			if cl < 0 || cl >= k {
				return fmt.Errorf("report: projection: %w: point %d is in cluster %d of %d", ErrInvalid, i, cl, k)
			}
		}
		for _, xs := range [][]float64{pr.X, pr.Y, pr.CenterX, pr.CenterY} {
			for i, v := range xs {
				if !isFinite(v) || math.Abs(v) > maxMagnitude {
					return fmt.Errorf("report: projection: %w: coordinate %d is %g", ErrInvalid, i, v)
				}
			}
		}
		for j, e := range pr.Explained {
			if !(e >= -unitSlack && e <= 1+unitSlack) {
				return fmt.Errorf("report: projection: %w: component %d explains %g of the variance", ErrInvalid, j+1, e)
			}
		}
	}
	return nil
}

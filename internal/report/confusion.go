package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// confusionMatrix draws the matrix as a heat map: actual classes are the
// rows, top to bottom in class order, predicted ones the columns, left to
// right. A cell's colour is its share of its actual class (its row), so
// that rare classes read as clearly as common ones; the cell holds its count
// and, when there is room, that share. w and h are the panel's size in
// points, used to size the class labels.
func confusionMatrix(classes []string, cm [][]int, w, h float64) (*plot.Plot, error) {
	k := len(classes)
	p := newPlot("Confusion matrix", "Predicted", "Actual")
	p.Add(&confusionPlot{cm: cm})
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Tick.Length, p.Y.Tick.Length = vg.Points(2), vg.Points(2)

	// Estimate a cell's size from the panel's: the axes, labels and title
	// take roughly 110 points of its width and 90 of its height.
	cellW := math.Max(1, (w-110)/float64(k))
	cellH := math.Max(1, (h-90)/float64(k))
	cell := math.Min(cellW, cellH)
	size := vg.Length(math.Max(5, math.Min(8.5, cell*0.6)))
	// When cells are too small for a label each, label every step-th class.
	step := 1
	if minPitch := float64(size) * 1.3; cell < minPitch {
		step = int(math.Ceil(minPitch / cell))
	}

	names := make([]string, k)
	for i, c := range classes {
		names[i] = shortLabel(c)
	}
	var xt, yt []plot.Tick
	for i, name := range names {
		if i%step != 0 {
			name = ""
		}
		xt = append(xt, plot.Tick{Value: float64(i), Label: name})
		yt = append(yt, plot.Tick{Value: float64(k - 1 - i), Label: name})
	}
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	p.X.Tick.Label.Font.Size = size
	p.Y.Tick.Label.Font.Size = size

	// Class names wider than their column are turned 45°.
	widest := vg.Length(0)
	for _, name := range names {
		widest = max(widest, p.X.Tick.Label.Width(name))
	}
	if float64(widest) > cellW*float64(step)*0.9 {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	return p, nil
}

// confusionPlot is the heat map plotter of confusionMatrix, cells centred
// on whole coordinates: column j at x = j, row i at y = k−1−i.
type confusionPlot struct {
	cm [][]int
}

func (cp *confusionPlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	k := float64(len(cp.cm))
	return -0.5, k - 0.5, -0.5, k - 0.5
}

func (cp *confusionPlot) Plot(c draw.Canvas, plt *plot.Plot) {
	k := len(cp.cm)
	trX, trY := plt.Transforms(&c)
	cellW := trX(0.5) - trX(-0.5)
	cellH := trY(0.5) - trY(-0.5)

	rowSums := make([]int, k)
	widest := "0"
	for i, row := range cp.cm {
		for _, n := range row {
			rowSums[i] += n
			if s := strconv.Itoa(n); len(s) > len(widest) {
				widest = s
			}
		}
	}

	// The count's font fits the widest count in the cell.
	countSty := textStyle(bodyFont, 10)
	countSty.XAlign, countSty.YAlign = draw.XCenter, draw.YCenter
	size := min(10, cellH*0.38, 10*cellW*0.8/max(countSty.Width(widest), 1))
	countSty.Font.Size = size
	shareSty := countSty
	shareSty.Font.Size = size * 0.78
	showCounts := size >= 4
	showShare := showCounts && cellH >= size*2.6 && cellW >= shareSty.Width("100%")*1.15

	edge := draw.LineStyle{Color: white, Width: vg.Points(0.75)}
	for i, row := range cp.cm {
		y := float64(k - 1 - i)
		y0, y1 := trY(y-0.5), trY(y+0.5)
		for j, n := range row {
			x0, x1 := trX(float64(j)-0.5), trX(float64(j)+0.5)
			share := 0.0
			if rowSums[i] > 0 {
				share = float64(n) / float64(rowSums[i])
			}
			cell := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
			c.FillPolygon(blues(share), cell)
			c.StrokeLines(edge, append(cell, cell[0]))
			if !showCounts {
				continue
			}
			ink := color.Color(black)
			if share > 0.6 {
				ink = white
			}
			countSty.Color, shareSty.Color = ink, ink
			mid := vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}
			count := strconv.Itoa(n)
			if !showShare || rowSums[i] == 0 {
				c.FillText(countSty, mid, count)
				continue
			}
			c.FillText(countSty, vg.Point{X: mid.X, Y: mid.Y + size*0.55}, count)
			c.FillText(shareSty, vg.Point{X: mid.X, Y: mid.Y - size*0.65}, percent(share))
		}
	}
}

// percent formats a share with one decimal below 10% (and above 90%),
// where whole percents would hide the difference between 0 and a few rows.
func percent(share float64) string {
	pct := share * 100
	switch {
	case pct > 0 && pct < 0.05:
		return "<0.1%"
	case pct < 100 && pct >= 99.95:
		return ">99.9%"
	}
	if pct > 0 && pct < 10 || pct > 90 && pct < 100 {
		return fmt.Sprintf("%.1f%%", pct)
	}
	return fmt.Sprintf("%.0f%%", pct)
}

// blues maps a share in [0, 1] onto a white-to-dark-blue scale (the ends
// and middle of matplotlib's "Blues").
func blues(t float64) color.Color {
	stops := [...]color.RGBA{
		{R: 247, G: 251, B: 255, A: 255},
		{R: 107, G: 174, B: 214, A: 255},
		{R: 8, G: 48, B: 107, A: 255},
	}
	t = math.Max(0, math.Min(1, t))
	a, b, f := stops[0], stops[1], t*2
	if t > 0.5 {
		a, b, f = stops[1], stops[2], (t-0.5)*2
	}
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*f)) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 255}
}

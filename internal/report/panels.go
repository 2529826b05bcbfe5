package report

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

func scatterStyle() draw.GlyphStyle {
	return draw.GlyphStyle{Color: pointBlue, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
}

// rowsNote tells how many rows a scatter shows.
func rowsNote(shown, total int) string {
	if shown < total {
		return fmt.Sprintf("%d of %d rows", shown, total)
	}
	if total == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", total)
}

// predictedVsActual scatters the predictions against the truth on one
// shared range, with the y = x line of a perfect model.
func predictedVsActual(actual, predicted []float64, total int) (*plot.Plot, error) {
	p := newPlot(fmt.Sprintf("Predicted vs actual (%s)", rowsNote(len(actual), total)), "Actual", "Predicted")
	addGrid(p)

	lo, hi := math.Inf(1), math.Inf(-1)
	xys := make(plotter.XYs, len(actual))
	for i := range actual {
		xys[i] = plotter.XY{X: actual[i], Y: predicted[i]}
		lo = math.Min(lo, math.Min(actual[i], predicted[i]))
		hi = math.Max(hi, math.Max(actual[i], predicted[i]))
	}
	lo, hi = padRange(lo, hi, 0.03)

	ideal, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, fmt.Errorf("report: predicted vs actual: %w", err)
	}
	ideal.LineStyle = referenceLine
	pts, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, fmt.Errorf("report: predicted vs actual: %w", err)
	}
	pts.GlyphStyle = scatterStyle()
	p.Add(pts, ideal)
	p.Legend.Add("y = x", ideal)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(4), vg.Points(-2)

	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	return p, nil
}

// residuals scatters actual − predicted against the prediction, on a
// range symmetric about the zero line.
func residuals(actual, predicted []float64, total int) (*plot.Plot, error) {
	p := newPlot(fmt.Sprintf("Residuals (%s)", rowsNote(len(actual), total)), "Predicted", "Actual − predicted")
	addGrid(p)

	xlo, xhi, m := math.Inf(1), math.Inf(-1), 0.0
	xys := make(plotter.XYs, len(actual))
	for i := range actual {
		r := actual[i] - predicted[i] // finite: validateRegression bounds the values
		xys[i] = plotter.XY{X: predicted[i], Y: r}
		xlo, xhi = math.Min(xlo, predicted[i]), math.Max(xhi, predicted[i])
		m = math.Max(m, math.Abs(r))
	}
	xlo, xhi = padRange(xlo, xhi, 0.03)
	if m == 0 {
		m = 1
	}
	m *= 1.08

	zero, err := plotter.NewLine(plotter.XYs{{X: xlo, Y: 0}, {X: xhi, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("report: residuals: %w", err)
	}
	zero.LineStyle = referenceLine
	pts, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, fmt.Errorf("report: residuals: %w", err)
	}
	pts.GlyphStyle = scatterStyle()
	p.Add(pts, zero)

	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xlo, xhi, -m, m
	return p, nil
}

// padRange widens [lo, hi] by frac of its width on each side, or, for a
// single value, by 5% of it (at least 1).
func padRange(lo, hi, frac float64) (float64, float64) {
	if d := hi - lo; d > 0 {
		return lo - d*frac, hi + d*frac
	}
	pad := math.Max(1, math.Abs(lo)*0.05)
	return lo - pad, hi + pad
}

// rocPanel draws each ROC curve with its AUC in the legend, and the
// diagonal of a classifier that guesses.
func rocPanel(curves []ROCCurve) (*plot.Plot, error) {
	p := newPlot("ROC curve", "False positive rate", "True positive rate")
	addGrid(p)

	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("report: ROC curve: %w", err)
	}
	chance.LineStyle = referenceLine
	p.Add(chance)

	// A long legend gets a smaller font so that it stays inside the panel.
	legendSize := vg.Length(8.5)
	if n := len(curves) + 1; n > 8 {
		legendSize = vg.Length(math.Max(5.5, 8.5*8/float64(n)))
	}
	p.Legend.TextStyle = textStyle(bodyFont, legendSize)

	for i, rc := range curves {
		xys := make(plotter.XYs, len(rc.FPR))
		for j := range rc.FPR {
			xys[j] = plotter.XY{X: rc.FPR[j], Y: rc.TPR[j]}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("report: ROC curve %q: %w", rc.Class, err)
		}
		l.LineStyle = seriesStyle(i)
		p.Add(l)
		name := fmt.Sprintf("AUC = %.3f", rc.AUC)
		if c := shortLabel(rc.Class); c != "" {
			name = fmt.Sprintf("%s (AUC = %.3f)", c, rc.AUC)
		}
		p.Legend.Add(name, l)
	}
	p.Legend.Add("chance (AUC = 0.5)", chance)
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(-4), vg.Points(4)

	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p, nil
}

// lossPanel draws the training loss per iteration, on a log scale when it
// is positive and falls (or rises) by two orders of magnitude or more.
func lossPanel(loss []float64) (*plot.Plot, error) {
	p, err := seriesPanel("Training loss", "Loss", loss, 0)
	if err != nil {
		return nil, err
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range loss {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if lo > 0 && hi/lo >= 100 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text = "Loss (log scale)"
		p.Y.Min, p.Y.Max = lo, hi
	}
	return p, nil
}

func validationPanel(scores []float64) (*plot.Plot, error) {
	return seriesPanel("Validation score", "Score", scores, 1)
}

// seriesPanel draws values against iterations 1…n, with markers when there
// are few enough to tell apart.
func seriesPanel(title, yLabel string, values []float64, colour int) (*plot.Plot, error) {
	p := newPlot(title, "Iteration", yLabel)
	addGrid(p)
	xys := make(plotter.XYs, len(values))
	for i, v := range values {
		xys[i] = plotter.XY{X: float64(i + 1), Y: v}
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", title, err)
	}
	line.LineStyle = seriesStyle(colour)
	p.Add(line)
	if len(values) <= 40 {
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", title, err)
		}
		pts.GlyphStyle = draw.GlyphStyle{Color: line.LineStyle.Color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
		p.Add(pts)
	}
	if len(values) == 1 {
		p.X.Min, p.X.Max = 0, 2
	}
	// Integer iterations only: DefaultTicks would label 1.5 on short runs.
	p.X.Tick.Marker = integerTicks{}
	return p, nil
}

// integerTicks marks whole numbers only.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
		if t.Label != "" && t.Value == math.Trunc(t.Value) {
			t.Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
			out = append(out, t)
		} else if t.Label == "" {
			out = append(out, t) // keep minor ticks as unlabelled marks
		}
	}
	return out
}

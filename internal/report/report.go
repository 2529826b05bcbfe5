// Package report renders the diagnostic plots of a trained model as one SVG
// document: predicted-vs-actual and residuals for regression, a confusion
// matrix and ROC curves for classification, cluster sizes, silhouettes and
// a 2-D projection for clustering, and the loss curve (and validation
// scores) of iterative trainers.
//
// The package depends on nothing else in the project: callers fill a Data
// value from whatever they hold. Rendering uses gonum/plot's SVG canvas and
// the Liberation fonts that gonum/plot embeds to measure text, so it needs no
// system fonts and no network. The document names the font as
// 'Liberation Sans' with Arial, Helvetica and sans-serif as fallbacks (the
// Liberation fonts are metric-compatible with Arial), rather than embedding
// the font files, which would add about 400 KB per document.
//
// Output is deterministic: the same Data and size give the same bytes, so a
// rendered report can be cached or compared.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Regression holds the test rows of a regression model: the true targets
// and the model's predictions, in the same order. Callers pass a sample of
// at most a few thousand rows; SVG keeps at most MaxScatterPoints of them
// (an evenly spaced, deterministic subset) so the document stays small.
type Regression struct {
	Actual, Predicted []float64
}

// Classification holds the test results of a classifier.
type Classification struct {
	// Classes names the classes, in the order of ConfusionMatrix's rows and
	// columns.
	Classes []string
	// ConfusionMatrix[actual][predicted] counts the test rows of class
	// Classes[actual] that the model predicted as Classes[predicted]. It may
	// be nil when only ROC curves are to be drawn.
	ConfusionMatrix [][]int
	// ROC holds one curve for the positive class of a binary classifier, or
	// one one-vs-rest curve per class of a multiclass one. Optional.
	ROC []ROCCurve
}

// ROCCurve is one receiver operating characteristic curve: the false and
// true positive rates at decreasing thresholds (see ROCPoints), and the area
// under it (see AUC).
type ROCCurve struct {
	Class    string
	FPR, TPR []float64
	AUC      float64
}

// Clustering describes a clustering model's clusters, named by their
// index 0…k−1.
type Clustering struct {
	// Sizes[c] is the number of rows in cluster c; there are len(Sizes)
	// clusters, at most MaxClasses.
	Sizes []int
	// Silhouette[c] is the mean silhouette coefficient of cluster c's rows
	// among SilhouetteRows rows (a sample, when fewer than the sizes'
	// total), Members[c] how many of those are in c (0: no bar), and
	// MeanSilhouette the mean over them all. Silhouette and Members are nil
	// when the silhouette is undefined (fewer than two clusters).
	Silhouette     []float64
	Members        []int
	SilhouetteRows int
	MeanSilhouette float64
	// Projection pictures the rows and the centres on two principal
	// components. Optional.
	Projection *Projection
}

// Projection holds some rows and the cluster centres projected on the
// first two principal components: point i at (X[i], Y[i]) in cluster
// Cluster[i], centre c at (CenterX[c], CenterY[c]); Explained[j] is the
// share of the variance along component j+1. SVG keeps at most
// MaxScatterPoints of the points (evenly spaced).
type Projection struct {
	X, Y             []float64
	Cluster          []int
	CenterX, CenterY []float64
	Explained        [2]float64
}

// Data is everything a report can show. Each non-nil/non-empty part adds
// its panels; at least one is required.
type Data struct {
	// Title is drawn above the panels when not empty.
	Title          string
	Regression     *Regression
	Classification *Classification
	Clustering     *Clustering
	// LossCurve is the training loss per iteration or epoch. Optional.
	LossCurve []float64
	// ValidationScores is the validation score per iteration or epoch (or
	// per evaluation round). Optional; drawn in its own panel because its
	// scale is unrelated to the loss.
	ValidationScores []float64
}

const (
	// MaxScatterPoints bounds the points drawn in each regression panel.
	MaxScatterPoints = 3000

	// MaxClasses bounds the classes of a confusion matrix and the number of
	// ROC curves: a 100×100 matrix is already a 1 MB document.
	MaxClasses = 100

	// DefaultPanelWidth and DefaultPanelHeight are the size of one panel,
	// in points, when SVG is given a zero width or height.
	DefaultPanelWidth  = 340
	DefaultPanelHeight = 300

	// MinPanelWidth and MinPanelHeight are the smallest panel, in points,
	// that SVG agrees to draw: below that, labels cannot fit.
	MinPanelWidth  = 160
	MinPanelHeight = 140

	// titleHeight is the band above the panels that holds Data.Title.
	titleHeight = 26
)

var (
	// ErrInvalid is wrapped by the errors SVG returns for data that cannot
	// be drawn (mismatched lengths, non-finite values, negative counts...)
	// or for an invalid size.
	ErrInvalid = errors.New("report: invalid data")
	// ErrNoPanels is returned (wrapped) by SVG when Data holds nothing to
	// plot.
	ErrNoPanels = errors.New("report: nothing to plot")
)

// panelBuilder draws one panel once the grid is laid out; w and h are the
// tile's size in points, for choices (font sizes, label thinning) that
// depend on the room available.
type panelBuilder func(w, h float64) (*plot.Plot, error)

// SVG renders every plot that d allows into one SVG document, a grid of
// panels in this order:
//
//   - Regression: "Predicted vs actual" (a scatter of the test rows with the
//     y = x line; both axes share one range) and "Residuals" (actual −
//     predicted against predicted, with the zero line).
//   - Classification: "Confusion matrix" (a heat map, actual classes as
//     rows top to bottom and predicted ones as columns, each cell holding
//     its count and, when there is room, its share of the actual class,
//     which also sets the cell's colour) and "ROC curve" (each curve with
//     the chance diagonal, its AUC in the legend).
//   - Clustering: "Cluster sizes" (a bar per cluster, with its count),
//     "Silhouette by cluster" (a bar per cluster with its mean
//     silhouette, the overall mean dashed) and "PCA projection" (the
//     points coloured by cluster, each centre a numbered cross), the
//     clusters in the same colours throughout.
//   - "Training loss" per iteration (on a log scale when the loss is
//     positive and spans two orders of magnitude or more).
//   - "Validation score" per iteration.
//
// width and height are the document's size in points; 0 picks a size from
// the number of panels (DefaultPanelWidth × DefaultPanelHeight each). Errors
// wrap ErrInvalid or ErrNoPanels.
func SVG(d Data, width, height float64) ([]byte, error) {
	panels, err := buildPanels(d)
	if err != nil {
		return nil, err
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("report: %w: no regression, classification, clustering, loss curve or validation scores", ErrNoPanels)
	}

	cols, rows := grid(len(panels))
	title := cleanLabel(d.Title)
	top := 0.0
	if title != "" {
		top = titleHeight
	}
	if width == 0 {
		width = float64(cols) * DefaultPanelWidth
	}
	if height == 0 {
		height = float64(rows)*DefaultPanelHeight + top
	}
	if err := checkSize(width, height, cols, rows, top); err != nil {
		return nil, err
	}
	tileW := width / float64(cols)
	tileH := (height - top) / float64(rows)

	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for i, build := range panels {
		p, err := build(tileW, tileH)
		if err != nil {
			return nil, err
		}
		plots[i/cols][i%cols] = p
	}
	return render(plots, title, width, height, top)
}

// grid picks the columns and rows for n panels: side by side up to three,
// two by two for four, three wide beyond.
func grid(n int) (cols, rows int) {
	switch {
	case n <= 3:
		cols = n
	case n == 4:
		cols = 2
	default:
		cols = 3
	}
	return cols, (n + cols - 1) / cols
}

func checkSize(width, height float64, cols, rows int, top float64) error {
	if !isFinite(width) || !isFinite(height) || width < 0 || height < 0 {
		return fmt.Errorf("report: size %gx%g: %w: width and height must be finite and non-negative", width, height, ErrInvalid)
	}
	minW := float64(cols) * MinPanelWidth
	minH := float64(rows)*MinPanelHeight + top
	if width < minW || height < minH {
		return fmt.Errorf("report: size %gx%g: %w: %d×%d panels need at least %gx%g points",
			width, height, ErrInvalid, cols, rows, minW, minH)
	}
	return nil
}

// render lays the plots out on one SVG canvas. gonum/plot panics on some
// degenerate layouts; that is turned into an error rather than taking the
// caller down.
func render(plots [][]*plot.Plot, title string, width, height, top float64) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("report: rendering: %v", r)
		}
	}()

	canvas := vgsvg.New(vg.Length(width), vg.Length(height))
	dc := draw.New(canvas)
	dc.SetColor(white)
	dc.Fill(dc.Rectangle.Path())

	if title != "" {
		sty := textStyle(titleFont, 14)
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YCenter
		title = fitText(sty, title, vg.Length(width)-20)
		dc.FillText(sty, vg.Point{X: vg.Length(width) / 2, Y: vg.Length(height) - vg.Length(top)/2}, title)
		dc = draw.Crop(dc, 0, 0, 0, -vg.Length(top))
	}

	tiles := draw.Tiles{
		Rows: len(plots), Cols: len(plots[0]),
		PadTop: 6, PadBottom: 6, PadLeft: 8, PadRight: 12,
		PadX: 26, PadY: 20,
	}
	canvases := plot.Align(plots, tiles, dc)
	for r, row := range plots {
		for c, p := range row {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: writing SVG: %w", err)
	}
	return withFontFallbacks(buf.Bytes()), nil
}

// withFontFallbacks gives the font families that vgsvg writes (the bare
// names of the embedded Liberation fonts) the metric-compatible system fonts
// and a generic family as fallbacks, so the text keeps its measured width on
// machines without the Liberation fonts.
func withFontFallbacks(svg []byte) []byte {
	return bytes.ReplaceAll(svg,
		[]byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}

// buildPanels validates d and returns the builders of its panels in order.
func buildPanels(d Data) ([]panelBuilder, error) {
	var panels []panelBuilder
	if r := d.Regression; r != nil {
		if err := validateRegression(r); err != nil {
			return nil, err
		}
		actual, predicted, total := thin(r.Actual, r.Predicted, MaxScatterPoints)
		panels = append(panels,
			func(w, h float64) (*plot.Plot, error) { return predictedVsActual(actual, predicted, total) },
			func(w, h float64) (*plot.Plot, error) { return residuals(actual, predicted, total) },
		)
	}
	if c := d.Classification; c != nil {
		if err := validateClassification(c); err != nil {
			return nil, err
		}
		if c.ConfusionMatrix != nil {
			panels = append(panels, func(w, h float64) (*plot.Plot, error) {
				return confusionMatrix(c.Classes, c.ConfusionMatrix, w, h)
			})
		}
		if len(c.ROC) > 0 {
			panels = append(panels, func(w, h float64) (*plot.Plot, error) { return rocPanel(c.ROC) })
		}
	}
	if c := d.Clustering; c != nil {
		if err := validateClustering(c); err != nil {
			return nil, err
		}
		total := 0
		for _, n := range c.Sizes {
			total += n
		}
		panels = append(panels, func(w, h float64) (*plot.Plot, error) { return clusterSizes(c.Sizes, w), nil })
		if c.Silhouette != nil {
			panels = append(panels, func(w, h float64) (*plot.Plot, error) { return silhouettePanel(c, w) })
		}
		if pr := c.Projection; pr != nil && len(pr.X) > 0 {
			pr = thinProjection(pr, MaxScatterPoints)
			panels = append(panels, func(w, h float64) (*plot.Plot, error) { return projectionPanel(pr, len(c.Sizes), total) })
		}
	}
	if len(d.LossCurve) > 0 {
		if i, ok := firstNonFinite(d.LossCurve); !ok {
			return nil, fmt.Errorf("report: loss curve: %w: value %d is %g", ErrInvalid, i, d.LossCurve[i])
		}
		panels = append(panels, func(w, h float64) (*plot.Plot, error) { return lossPanel(d.LossCurve) })
	}
	if len(d.ValidationScores) > 0 {
		if i, ok := firstNonFinite(d.ValidationScores); !ok {
			return nil, fmt.Errorf("report: validation scores: %w: value %d is %g", ErrInvalid, i, d.ValidationScores[i])
		}
		panels = append(panels, func(w, h float64) (*plot.Plot, error) { return validationPanel(d.ValidationScores) })
	}
	return panels, nil
}

func validateRegression(r *Regression) error {
	if len(r.Actual) != len(r.Predicted) {
		return fmt.Errorf("report: regression: %w: %d actual values but %d predicted", ErrInvalid, len(r.Actual), len(r.Predicted))
	}
	if len(r.Actual) == 0 {
		return fmt.Errorf("report: regression: %w: no rows", ErrInvalid)
	}
	if i, ok := firstNonFinite(r.Actual); !ok {
		return fmt.Errorf("report: regression: %w: actual value %d is %g", ErrInvalid, i, r.Actual[i])
	}
	if i, ok := firstNonFinite(r.Predicted); !ok {
		return fmt.Errorf("report: regression: %w: predicted value %d is %g", ErrInvalid, i, r.Predicted[i])
	}
	// Axis ranges, their padding and residuals are differences of the
	// values: they must not overflow.
	for i := range r.Actual {
		if v := max(math.Abs(r.Actual[i]), math.Abs(r.Predicted[i])); v > maxMagnitude {
			return fmt.Errorf("report: regression: %w: row %d: magnitude %g too large to plot (at most %g)", ErrInvalid, i, v, maxMagnitude)
		}
	}
	return nil
}

// maxMagnitude bounds regression values, far from any real target, so that
// no difference or padding of them overflows.
const maxMagnitude = 1e300

func validateClassification(c *Classification) error {
	if c.ConfusionMatrix == nil && len(c.ROC) == 0 {
		return fmt.Errorf("report: classification: %w: neither a confusion matrix nor ROC curves", ErrInvalid)
	}
	if c.ConfusionMatrix != nil {
		k := len(c.Classes)
		if k == 0 {
			return fmt.Errorf("report: classification: %w: a confusion matrix needs class names", ErrInvalid)
		}
		if k > MaxClasses {
			return fmt.Errorf("report: classification: %w: %d classes, at most %d can be drawn", ErrInvalid, k, MaxClasses)
		}
		if len(c.ConfusionMatrix) != k {
			return fmt.Errorf("report: classification: %w: confusion matrix has %d rows for %d classes", ErrInvalid, len(c.ConfusionMatrix), k)
		}
		for i, row := range c.ConfusionMatrix {
			if len(row) != k {
				return fmt.Errorf("report: classification: %w: confusion matrix row %d has %d columns for %d classes", ErrInvalid, i, len(row), k)
			}
			for j, n := range row {
				if n < 0 {
					return fmt.Errorf("report: classification: %w: confusion matrix cell [%d][%d] is negative (%d)", ErrInvalid, i, j, n)
				}
			}
		}
	}
	if len(c.ROC) > MaxClasses {
		return fmt.Errorf("report: classification: %w: %d ROC curves, at most %d can be drawn", ErrInvalid, len(c.ROC), MaxClasses)
	}
	for i, rc := range c.ROC {
		if len(rc.FPR) != len(rc.TPR) {
			return fmt.Errorf("report: ROC curve %d (%q): %w: %d false positive rates but %d true positive rates", i, rc.Class, ErrInvalid, len(rc.FPR), len(rc.TPR))
		}
		if len(rc.FPR) < 2 {
			return fmt.Errorf("report: ROC curve %d (%q): %w: %d points, need at least 2", i, rc.Class, ErrInvalid, len(rc.FPR))
		}
		if j, ok := firstOutsideUnit(rc.FPR); !ok {
			return fmt.Errorf("report: ROC curve %d (%q): %w: false positive rate %d is %g, not in [0, 1]", i, rc.Class, ErrInvalid, j, rc.FPR[j])
		}
		if j, ok := firstOutsideUnit(rc.TPR); !ok {
			return fmt.Errorf("report: ROC curve %d (%q): %w: true positive rate %d is %g, not in [0, 1]", i, rc.Class, ErrInvalid, j, rc.TPR[j])
		}
		if !isFinite(rc.AUC) || rc.AUC < 0 || rc.AUC > 1 {
			return fmt.Errorf("report: ROC curve %d (%q): %w: AUC %g not in [0, 1]", i, rc.Class, ErrInvalid, rc.AUC)
		}
	}
	return nil
}

// unitSlack tolerates the rounding of rates computed as ratios.
const unitSlack = 1e-9

func firstOutsideUnit(xs []float64) (int, bool) {
	for i, x := range xs {
		if !(x >= -unitSlack && x <= 1+unitSlack) { // also catches NaN
			return i, false
		}
	}
	return 0, true
}

func firstNonFinite(xs []float64) (int, bool) {
	for i, x := range xs {
		if !isFinite(x) {
			return i, false
		}
	}
	return 0, true
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// thin keeps at most max of the paired rows, evenly spaced, and reports how
// many there were.
func thin(a, b []float64, max int) (ta, tb []float64, total int) {
	n := len(a)
	if n <= max {
		return a, b, n
	}
	ta = make([]float64, max)
	tb = make([]float64, max)
	for i := range max {
		j := int(int64(i) * int64(n) / int64(max))
		ta[i], tb[i] = a[j], b[j]
	}
	return ta, tb, n
}

// thinProjection keeps at most max of the projected points, evenly spaced.
func thinProjection(pr *Projection, max int) *Projection {
	n := len(pr.X)
	if n <= max {
		return pr
	}
	out := *pr
	out.X, out.Y, out.Cluster = make([]float64, max), make([]float64, max), make([]int, max)
	for i := range max {
		j := int(int64(i) * int64(n) / int64(max))
		out.X[i], out.Y[i], out.Cluster[i] = pr.X[j], pr.Y[j], pr.Cluster[j]
	}
	return &out
}

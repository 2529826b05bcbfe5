package report

import (
	"image/color"
	"strings"
	"unicode"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The fonts are gonum/plot's embedded Liberation Sans faces; they are
// looked up in font.DefaultCache, which gonum/plot fills at init.
var (
	bodyFont  = font.Font{Typeface: "Liberation", Variant: "Sans"}
	titleFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

var (
	white     = color.RGBA{R: 255, G: 255, B: 255, A: 255}
	black     = color.RGBA{A: 255}
	refGray   = color.RGBA{R: 110, G: 110, B: 110, A: 255}
	gridGray  = color.RGBA{R: 225, G: 225, B: 225, A: 255}
	pointBlue = color.NRGBA{R: 31, G: 119, B: 180, A: 130}
)

// seriesColors is matplotlib's "tab10" cycle.
var seriesColors = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
	color.RGBA{R: 140, G: 86, B: 75, A: 255},
	color.RGBA{R: 227, G: 119, B: 194, A: 255},
	color.RGBA{R: 127, G: 127, B: 127, A: 255},
	color.RGBA{R: 188, G: 189, B: 34, A: 255},
	color.RGBA{R: 23, G: 190, B: 207, A: 255},
}

// seriesDashes varies the line pattern once the colours have cycled.
var seriesDashes = [][]vg.Length{nil, {vg.Points(5), vg.Points(2)}, {vg.Points(1.5), vg.Points(1.5)}}

func seriesStyle(i int) draw.LineStyle {
	return draw.LineStyle{
		Color:  seriesColors[i%len(seriesColors)],
		Width:  vg.Points(1.5),
		Dashes: seriesDashes[(i/len(seriesColors))%len(seriesDashes)],
	}
}

var referenceLine = draw.LineStyle{
	Color:  refGray,
	Width:  vg.Points(1),
	Dashes: []vg.Length{vg.Points(4), vg.Points(3)},
}

func textStyle(f font.Font, size vg.Length) text.Style {
	return text.Style{
		Color:   black,
		Font:    font.From(f, size),
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a panel with the report's fonts and sizes.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(titleFont, 11)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(bodyFont, 10)
		a.Label.Padding = vg.Points(3)
		a.Tick.Label.Font = font.From(bodyFont, 8.5)
		a.Tick.Length = vg.Points(4)
		a.Padding = vg.Points(3)
	}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.TextStyle.Font = font.From(bodyFont, 8.5)
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.Legend.Padding = vg.Points(1)
	return p
}

func addGrid(p *plot.Plot) {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGray, gridGray
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(g)
}

// maxLabelRunes bounds class names in tick labels and legends.
const maxLabelRunes = 20

// cleanLabel makes s safe to write into the SVG document and to lay out on
// one line: invalid UTF-8 and control characters (which XML cannot hold even
// escaped) become replacement characters and spaces.
func cleanLabel(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case r == '\uFFFE', r == '\uFFFF':
			return '\uFFFD'
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// shortLabel is cleanLabel cut to maxLabelRunes by an ellipsis in the
// middle, since class names often differ only at their ends
// ("label_2024_a", "label_2024_b").
func shortLabel(s string) string {
	s = cleanLabel(s)
	if utf8.RuneCountInString(s) <= maxLabelRunes {
		return s
	}
	r := []rune(s)
	head := (maxLabelRunes - 1) / 2
	tail := maxLabelRunes - 1 - head
	return strings.TrimSpace(string(r[:head])) + "…" + strings.TrimSpace(string(r[len(r)-tail:]))
}

// fitText cuts s, with an ellipsis, until it is at most max wide in sty.
func fitText(sty text.Style, s string, max vg.Length) string {
	if sty.Width(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) > 300 { // no title that long fits a page
		r = r[:300]
	}
	for n := len(r) - 1; n > 0; n-- {
		t := strings.TrimSpace(string(r[:n])) + "…"
		if sty.Width(t) <= max {
			return t
		}
	}
	return "…"
}

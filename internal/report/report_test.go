package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// svgDoc is what a test reads back from a rendered document.
type svgDoc struct {
	root  string
	attrs map[string]string
	texts []string // the content of every <text> element, in order
}

// parseSVG checks that b is well-formed XML with an <svg> root and returns
// its texts.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				doc.root = tok.Name.Local
				doc.attrs = map[string]string{}
				for _, a := range tok.Attr {
					doc.attrs[a.Name.Local] = a.Value
				}
			}
			depth++
			if tok.Name.Local == "text" {
				inText = true
				doc.texts = append(doc.texts, "")
			}
		case xml.EndElement:
			depth--
			if tok.Name.Local == "text" {
				inText = false
			}
		case xml.CharData:
			if inText {
				doc.texts[len(doc.texts)-1] += string(tok)
			}
		}
	}
	if doc.root != "svg" {
		t.Fatalf("root element is <%s>, want <svg>", doc.root)
	}
	return doc
}

func (d svgDoc) has(text string) bool {
	for _, s := range d.texts {
		if s == text {
			return true
		}
	}
	return false
}

func (d svgDoc) hasPrefix(prefix string) bool {
	for _, s := range d.texts {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// checkTexts fails for each of want that is not the whole text of some
// <text> element, and for each of absent that is a prefix of one.
func checkTexts(t *testing.T, doc svgDoc, want, absent []string) {
	t.Helper()
	for _, w := range want {
		if !doc.has(w) {
			t.Errorf("no text %q in the SVG; texts: %q", w, doc.texts)
		}
	}
	for _, a := range absent {
		if doc.hasPrefix(a) {
			t.Errorf("unexpected text %q in the SVG", a)
		}
	}
}

func mustRender(t *testing.T, d Data, w, h float64) svgDoc {
	t.Helper()
	b, err := SVG(d, w, h)
	if err != nil {
		t.Fatalf("SVG: %v", err)
	}
	return parseSVG(t, b)
}

// Sample data, from a fixed seed.

func sampleRegression(n int) *Regression {
	rng := rand.New(rand.NewPCG(7, 11))
	r := &Regression{Actual: make([]float64, n), Predicted: make([]float64, n)}
	for i := range n {
		x := rng.Float64() * 100
		r.Actual[i] = 3*x + 20 + rng.NormFloat64()*15
		r.Predicted[i] = 3*x + 20
	}
	return r
}

func sampleBinary() *Classification {
	rng := rand.New(rand.NewPCG(3, 5))
	positive := make([]bool, 400)
	scores := make([]float64, 400)
	cm := [][]int{{0, 0}, {0, 0}}
	for i := range positive {
		positive[i] = rng.IntN(3) == 0
		s := rng.Float64()*0.7 + 0.05
		if positive[i] {
			s += 0.25
		}
		scores[i] = math.Round(s*100) / 100
		actual, predicted := 0, 0
		if positive[i] {
			actual = 1
		}
		if scores[i] >= 0.5 {
			predicted = 1
		}
		cm[actual][predicted]++
	}
	fpr, tpr := ROCPoints(positive, scores)
	return &Classification{
		Classes:         []string{"no", "yes"},
		ConfusionMatrix: cm,
		ROC:             []ROCCurve{{Class: "yes", FPR: fpr, TPR: tpr, AUC: AUC(fpr, tpr)}},
	}
}

func sampleMulticlass(withROC bool) *Classification {
	c := &Classification{
		Classes: []string{"setosa", "versicolor", "virginica"},
		ConfusionMatrix: [][]int{
			{50, 0, 0},
			{0, 47, 3},
			{0, 4, 46},
		},
	}
	if withROC {
		for i, name := range c.Classes {
			fpr := []float64{0, 0.02 * float64(i), 0.1, 1}
			tpr := []float64{0, 0.7, 0.95 - 0.05*float64(i), 1}
			c.ROC = append(c.ROC, ROCCurve{Class: name, FPR: fpr, TPR: tpr, AUC: AUC(fpr, tpr)})
		}
	}
	return c
}

func sampleLoss(n int) []float64 {
	loss := make([]float64, n)
	for i := range loss {
		loss[i] = 2.5*math.Exp(-float64(i)/8) + 0.05
	}
	return loss
}

func sampleScores(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 0.95 - 0.4*math.Exp(-float64(i)/6)
	}
	return s
}

func TestSVGRegressionOnly(t *testing.T) {
	b, err := SVG(Data{Title: "House prices", Regression: sampleRegression(300)}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	checkTexts(t, doc,
		[]string{"House prices", "Predicted vs actual (300 rows)", "Residuals (300 rows)", "y = x",
			"Actual", "Predicted", "Actual − predicted"},
		[]string{"Confusion matrix", "ROC curve", "Training loss", "Validation score"})
	// Two panels side by side at the default size, plus the title band.
	if w, h := doc.attrs["width"], doc.attrs["height"]; w != "680pt" || h != "326pt" {
		t.Errorf("size = %s × %s, want 680pt × 326pt", w, h)
	}
	// 300 points in each scatter.
	if n := bytes.Count(b, []byte("fill-opacity:0.5098")); n != 600 {
		t.Errorf("%d scatter points, want 600", n)
	}
}

func TestSVGRegressionThinsLargeSamples(t *testing.T) {
	doc := mustRender(t, Data{Regression: sampleRegression(MaxScatterPoints*2 + 7)}, 0, 0)
	want := fmt.Sprintf("Predicted vs actual (%d of %d rows)", MaxScatterPoints, MaxScatterPoints*2+7)
	checkTexts(t, doc, []string{want}, nil)
}

func TestSVGRegressionDegenerate(t *testing.T) {
	// One row, and constant values: the axes still get a range.
	mustRender(t, Data{Regression: &Regression{Actual: []float64{3}, Predicted: []float64{3}}}, 0, 0)
	mustRender(t, Data{Regression: &Regression{Actual: []float64{1, 1, 1}, Predicted: []float64{2, 2, 2}}}, 0, 0)
}

func TestSVGBinaryClassification(t *testing.T) {
	c := sampleBinary()
	doc := mustRender(t, Data{Classification: c}, 0, 0)
	auc := fmt.Sprintf("yes (AUC = %.3f)", c.ROC[0].AUC)
	want := []string{"Confusion matrix", "ROC curve", "no", "yes", "Predicted", "Actual",
		"False positive rate", "True positive rate", auc, "chance (AUC = 0.5)"}
	for _, row := range c.ConfusionMatrix {
		for _, n := range row {
			want = append(want, fmt.Sprint(n))
		}
	}
	checkTexts(t, doc, want, []string{"Predicted vs actual", "Training loss"})
	if c.ROC[0].AUC < 0.7 || c.ROC[0].AUC > 1 {
		t.Errorf("sample AUC %v, expected a useful classifier", c.ROC[0].AUC)
	}
}

func TestSVGMulticlass(t *testing.T) {
	c := sampleMulticlass(true)
	doc := mustRender(t, Data{Classification: c}, 0, 0)
	want := []string{"Confusion matrix", "ROC curve", "setosa", "versicolor", "virginica",
		"50", "47", "46", "3", "4", "100%", "94.0%", "6.0%"}
	for _, rc := range c.ROC {
		want = append(want, fmt.Sprintf("%s (AUC = %.3f)", rc.Class, rc.AUC))
	}
	checkTexts(t, doc, want, nil)

	// Without curves: the confusion matrix alone.
	doc = mustRender(t, Data{Classification: sampleMulticlass(false)}, 0, 0)
	checkTexts(t, doc, []string{"Confusion matrix", "virginica"}, []string{"ROC curve", "setosa (AUC"})

	// ROC curves alone.
	c = sampleBinary()
	c.ConfusionMatrix, c.Classes = nil, nil
	doc = mustRender(t, Data{Classification: c}, 0, 0)
	checkTexts(t, doc, []string{"ROC curve"}, []string{"Confusion matrix"})
}

func TestSVGManyClasses(t *testing.T) {
	const k = 40
	c := &Classification{ConfusionMatrix: make([][]int, k)}
	for i := range k {
		c.Classes = append(c.Classes, fmt.Sprintf("a rather long class name %02d", i))
		c.ConfusionMatrix[i] = make([]int, k)
		c.ConfusionMatrix[i][i] = 1000 + i
		c.ConfusionMatrix[i][(i+1)%k] = 7
	}
	doc := mustRender(t, Data{Classification: c}, 0, 0)
	// Names are cut to maxLabelRunes, and only every few are written.
	checkTexts(t, doc, []string{"a rather…ss name 00"}, []string{"a rather long class name"})
}

func TestSVGLossCurve(t *testing.T) {
	doc := mustRender(t, Data{LossCurve: sampleLoss(30)}, 0, 0)
	checkTexts(t, doc, []string{"Training loss", "Iteration", "Loss"}, []string{"Validation score", "Loss (log scale)"})

	doc = mustRender(t, Data{LossCurve: sampleLoss(30), ValidationScores: sampleScores(30)}, 0, 0)
	checkTexts(t, doc, []string{"Training loss", "Validation score", "Score"}, nil)

	// Validation scores alone, a single iteration, and a loss spanning
	// decades (log scale).
	mustRender(t, Data{ValidationScores: []float64{0.8}}, 0, 0)
	mustRender(t, Data{LossCurve: []float64{0.3}}, 0, 0)
	decades := []float64{1000, 100, 10, 1, 0.1}
	doc = mustRender(t, Data{LossCurve: decades}, 0, 0)
	checkTexts(t, doc, []string{"Loss (log scale)"}, nil)
}

func fullData() Data {
	return Data{
		Title:            "Everything <at once> & more",
		Regression:       sampleRegression(500),
		Classification:   sampleMulticlass(true),
		LossCurve:        sampleLoss(60),
		ValidationScores: sampleScores(60),
	}
}

func TestSVGAllPanels(t *testing.T) {
	doc := mustRender(t, fullData(), 0, 0)
	checkTexts(t, doc, []string{"Everything <at once> & more", "Predicted vs actual (500 rows)", "Residuals (500 rows)",
		"Confusion matrix", "ROC curve", "Training loss", "Validation score"}, nil)
	// Six panels: three by two.
	if w, h := doc.attrs["width"], doc.attrs["height"]; w != "1020pt" || h != "626pt" {
		t.Errorf("size = %s × %s, want 1020pt × 626pt", w, h)
	}

	doc = mustRender(t, fullData(), 900, 700)
	if w, h := doc.attrs["width"], doc.attrs["height"]; w != "900pt" || h != "700pt" {
		t.Errorf("size = %s × %s, want 900pt × 700pt", w, h)
	}
}

func TestSVGFonts(t *testing.T) {
	b, err := SVG(fullData(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")) {
		t.Error("no Liberation Sans font with fallbacks")
	}
	if bytes.Contains(b, []byte("font-family:Liberation Sans;")) || bytes.Contains(b, []byte("Serif")) {
		t.Error("a font family without fallbacks, or a serif font")
	}
	if bytes.Contains(b, []byte("@font-face")) {
		t.Error("fonts are embedded")
	}
}

func TestSVGLabelsAreSanitized(t *testing.T) {
	c := sampleMulticlass(true)
	c.Classes = []string{"bad\x01name", "in\xffvalid", "new\nline"}
	for i := range c.ROC {
		c.ROC[i].Class = c.Classes[i]
	}
	doc := mustRender(t, Data{Title: "tab\there\x00", Classification: c}, 0, 0)
	checkTexts(t, doc, []string{"tab here", "bad name", "in\uFFFDvalid", "new line"}, nil)
}

func TestSVGLongTitleIsCut(t *testing.T) {
	doc := mustRender(t, Data{Title: strings.Repeat("word ", 200), LossCurve: sampleLoss(5)}, 0, 0)
	for _, s := range doc.texts {
		if strings.HasPrefix(s, "word") && (!strings.HasSuffix(s, "…") || len(s) > 400) {
			t.Errorf("title not cut to the page: %d bytes", len(s))
		}
	}
}

func TestSVGDeterministic(t *testing.T) {
	want, err := SVG(fullData(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Again, and concurrently: no shared state may leak between renders.
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	errs := make([]error, 4)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = SVG(fullData(), 0, 0) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i], want) {
			t.Fatalf("render %d differs from the first (%d vs %d bytes)", i, len(got[i]), len(want))
		}
	}
}

func TestSVGRejectsBadInput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	okROC := ROCCurve{Class: "a", FPR: []float64{0, 1}, TPR: []float64{0, 1}, AUC: 0.5}
	cm2 := [][]int{{1, 2}, {3, 4}}
	cases := []struct {
		name string
		d    Data
		w, h float64
		is   error
		msg  string
	}{
		{"nothing", Data{Title: "t"}, 0, 0, ErrNoPanels, "nothing to plot"},
		{"empty slices", Data{LossCurve: []float64{}, ValidationScores: nil}, 0, 0, ErrNoPanels, ""},
		{"regression lengths", Data{Regression: &Regression{Actual: []float64{1, 2}, Predicted: []float64{1}}}, 0, 0, ErrInvalid, "2 actual values but 1 predicted"},
		{"regression empty", Data{Regression: &Regression{}}, 0, 0, ErrInvalid, "no rows"},
		{"regression NaN", Data{Regression: &Regression{Actual: []float64{1, nan}, Predicted: []float64{1, 2}}}, 0, 0, ErrInvalid, "actual value 1 is NaN"},
		{"regression Inf", Data{Regression: &Regression{Actual: []float64{1, 2}, Predicted: []float64{inf, 2}}}, 0, 0, ErrInvalid, "predicted value 0 is +Inf"},
		{"residual overflow", Data{Regression: &Regression{Actual: []float64{math.MaxFloat64}, Predicted: []float64{-math.MaxFloat64}}}, 0, 0, ErrInvalid, "too large to plot"},
		{"range overflow", Data{Regression: &Regression{Actual: []float64{math.MaxFloat64, -math.MaxFloat64}, Predicted: []float64{math.MaxFloat64, -math.MaxFloat64}}}, 0, 0, ErrInvalid, "too large to plot"},
		{"too many classes", Data{Classification: &Classification{Classes: make([]string, MaxClasses+1), ConfusionMatrix: make([][]int, MaxClasses+1)}}, 0, 0, ErrInvalid, "101 classes"},
		{"too many curves", Data{Classification: &Classification{ROC: make([]ROCCurve, MaxClasses+1)}}, 0, 0, ErrInvalid, "101 ROC curves"},
		{"classification empty", Data{Classification: &Classification{Classes: []string{"a"}}}, 0, 0, ErrInvalid, "neither a confusion matrix nor ROC"},
		{"matrix without classes", Data{Classification: &Classification{ConfusionMatrix: cm2}}, 0, 0, ErrInvalid, "needs class names"},
		{"matrix rows", Data{Classification: &Classification{Classes: []string{"a", "b", "c"}, ConfusionMatrix: cm2}}, 0, 0, ErrInvalid, "2 rows for 3 classes"},
		{"matrix columns", Data{Classification: &Classification{Classes: []string{"a", "b"}, ConfusionMatrix: [][]int{{1, 2}, {3}}}}, 0, 0, ErrInvalid, "row 1 has 1 columns"},
		{"matrix negative", Data{Classification: &Classification{Classes: []string{"a", "b"}, ConfusionMatrix: [][]int{{1, 2}, {-3, 4}}}}, 0, 0, ErrInvalid, "[1][0] is negative"},
		{"ROC lengths", Data{Classification: &Classification{ROC: []ROCCurve{{Class: "a", FPR: []float64{0, 1}, TPR: []float64{0}}}}}, 0, 0, ErrInvalid, `ROC curve 0 ("a")`},
		{"ROC one point", Data{Classification: &Classification{ROC: []ROCCurve{{FPR: []float64{0}, TPR: []float64{0}}}}}, 0, 0, ErrInvalid, "need at least 2"},
		{"ROC NaN", Data{Classification: &Classification{ROC: []ROCCurve{okROC, {Class: "b", FPR: []float64{0, nan}, TPR: []float64{0, 1}}}}}, 0, 0, ErrInvalid, `ROC curve 1 ("b"): report: invalid data: false positive rate 1 is NaN`},
		{"ROC out of range", Data{Classification: &Classification{ROC: []ROCCurve{{FPR: []float64{0, 1}, TPR: []float64{0, 1.5}}}}}, 0, 0, ErrInvalid, "true positive rate 1 is 1.5"},
		{"ROC AUC", Data{Classification: &Classification{ROC: []ROCCurve{{FPR: []float64{0, 1}, TPR: []float64{0, 1}, AUC: nan}}}}, 0, 0, ErrInvalid, "AUC NaN"},
		{"loss NaN", Data{LossCurve: []float64{1, nan}}, 0, 0, ErrInvalid, "loss curve"},
		{"validation Inf", Data{ValidationScores: []float64{-inf}}, 0, 0, ErrInvalid, "validation scores"},
		{"negative width", Data{LossCurve: []float64{1}}, -1, 0, ErrInvalid, "size"},
		{"NaN height", Data{LossCurve: []float64{1}}, 0, nan, ErrInvalid, "finite"},
		{"too small", Data{Regression: sampleRegression(3)}, 200, 300, ErrInvalid, "need at least 320x140"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := SVG(c.d, c.w, c.h)
			if err == nil {
				t.Fatalf("no error, %d bytes", len(b))
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "report: ") {
				t.Errorf("error %q lacks the package's prefix", err)
			}
		})
	}
}

// TestWriteSample renders the full report to the file named by
// $REPORT_SAMPLE (for a person to look at) and logs how long it took.
func TestWriteSample(t *testing.T) {
	path := os.Getenv("REPORT_SAMPLE")
	if path == "" {
		t.Skip("set REPORT_SAMPLE=/tmp/report-sample.svg to write a sample")
	}
	d := fullData()
	d.Title = "Sample model report"
	d.Regression = sampleRegression(2000)
	d.Classification = sampleBinary()
	start := time.Now()
	b, err := SVG(d, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rendered %d bytes in %v", len(b), time.Since(start))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSVG(b *testing.B) {
	d := fullData()
	d.Regression = sampleRegression(2000)
	for b.Loop() {
		if _, err := SVG(d, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

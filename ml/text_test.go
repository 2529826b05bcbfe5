package ml

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// textReferenceCase is one case of testdata/text_tfidf.json, made by
// bench/text/tfidf_reference.py with scikit-learn's TfidfVectorizer.
type textReferenceCase struct {
	Name         string          `json:"name"`
	Options      json.RawMessage `json:"options"`
	Docs         []string        `json:"docs"`
	Vocabulary   []string        `json:"vocabulary"`
	IDF          []float64       `json:"idf"`
	Matrix       [][]float64     `json:"matrix"`
	Unseen       []string        `json:"unseen"`
	UnseenMatrix [][]float64     `json:"unseen_matrix"`
	Terms        [][]string      `json:"terms"`
}

func readTextReference(t *testing.T) []textReferenceCase {
	t.Helper()
	data, err := os.ReadFile("testdata/text_tfidf.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []textReferenceCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 8 {
		t.Fatalf("%d reference cases, want 8", len(ref.Cases))
	}
	return ref.Cases
}

// compareMatrix fails unless got (rows×len(want[0])) equals want to tol.
func compareMatrix(t *testing.T, what string, got [][]float64, want [][]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if d := math.Abs(got[i][j] - want[i][j]); !(d <= tol) {
				t.Fatalf("%s: [%d][%d] = %v, want %v (diff %g)", what, i, j, got[i][j], want[i][j], d)
			}
		}
	}
}

func tfidfRows(v *TextVectorizer, docs []string) [][]float64 {
	x := v.Transform(docs)
	out := make([][]float64, len(docs))
	for i := range docs {
		out[i] = x.RawRowView(i)
	}
	return out
}

// TestTextVectorizerMatchesSklearn compares vocabularies, IDF and TF-IDF
// matrices (training and unseen documents) and analysed terms with
// scikit-learn's, to 1e-12.
func TestTextVectorizerMatchesSklearn(t *testing.T) {
	for _, c := range readTextReference(t) {
		t.Run(c.Name, func(t *testing.T) {
			var opts TextOptions
			if err := json.Unmarshal(c.Options, &opts); err != nil {
				t.Fatal(err)
			}
			v, err := FitTextVectorizer(c.Docs, &opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Vocabulary, c.Vocabulary) {
				t.Fatalf("vocabulary (%d terms)\n got %q\nwant %q", len(v.Vocabulary), v.Vocabulary, c.Vocabulary)
			}
			compareMatrix(t, "idf", [][]float64{v.IDF}, [][]float64{c.IDF}, 1e-12)
			compareMatrix(t, "training matrix", tfidfRows(v, c.Docs), c.Matrix, 1e-12)
			compareMatrix(t, "unseen matrix", tfidfRows(v, c.Unseen), c.UnseenMatrix, 1e-12)
			for i, doc := range c.Docs {
				if got := v.Analyze(doc); !slices.Equal(got, c.Terms[i]) && !(len(got) == 0 && len(c.Terms[i]) == 0) {
					t.Errorf("Analyze(%q)\n got %q\nwant %q", doc, got, c.Terms[i])
				}
			}
		})
	}
}

func TestTextOptionsResolve(t *testing.T) {
	def := DefaultTextOptions()
	if def.Lowercase == nil || !*def.Lowercase || def.StopWords != "" || def.NgramMin != 1 || def.NgramMax != 1 ||
		def.CharNgramMin != 0 || def.CharNgramMax != 0 || def.MaxFeatures != 5000 || def.MinDf != 1 || def.MaxDf != 1 || def.SublinearTf {
		t.Errorf("defaults %+v", def)
	}
	no := false
	got, err := ResolveTextOptions(&TextOptions{Lowercase: &no, NgramMin: 2, CharNgramMax: 4})
	if err != nil || *got.Lowercase || got.NgramMax != 2 || got.CharNgramMin != 4 {
		t.Errorf("partial options resolved to %+v, %v", got, err)
	}
	if got, _ := ResolveTextOptions(&TextOptions{NgramMax: 2}); got.NgramMin != 1 {
		t.Errorf("ngramMax alone: min %d, want 1", got.NgramMin)
	}
	bad := map[string]TextOptions{
		"stopWords":    {StopWords: "french"},
		"ngramMin":     {NgramMin: -1},
		"ngramMax":     {NgramMin: 2, NgramMax: 1},
		"ngramMax ":    {NgramMax: 4},
		"charNgramMin": {CharNgramMin: -2},
		"charNgramMax": {CharNgramMin: 3, CharNgramMax: 2},
		"maxFeatures":  {MaxFeatures: MaxTextMaxFeatures + 1},
		"minDf":        {MinDf: -1},
		"maxDf":        {MaxDf: 1.5},
		"maxDf ":       {MaxDf: math.NaN()},
	}
	for option, o := range bad {
		_, err := ResolveTextOptions(&o)
		wantInputError(t, err, "text option "+strings.TrimSpace(option))
	}
	// Resolved options resolve to themselves.
	again, err := ResolveTextOptions(&got)
	if err != nil || !sameTextOptions(again, got) {
		t.Errorf("resolving %+v again: %+v, %v", got, again, err)
	}
}

func TestTextVectorizerErrors(t *testing.T) {
	_, err := FitTextVectorizer([]string{"", "a !", "?"}, nil)
	wantInputError(t, err, "no words")
	_, err = FitTextVectorizer([]string{"red fish", "blue fish", "green"}, &TextOptions{MinDf: 3})
	wantInputError(t, err, "minDf=3")
	_, err = FitTextVectorizer([]string{"red fish", "blue fish"}, &TextOptions{MinDf: 2, MaxDf: 0.5})
	wantInputError(t, err, "maxDf 0.5", "minDf 2")
	_, err = FitTextVectorizer([]string{"x"}, &TextOptions{MaxDf: 2})
	wantInputError(t, err, "maxDf")
}

func TestTextVectorizerEdgeCases(t *testing.T) {
	v, err := FitTextVectorizer([]string{"Apple apple APPLE pie", "", "pie"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Vocabulary, []string{"apple", "pie"}) {
		t.Fatalf("vocabulary %q", v.Vocabulary)
	}
	// idf = ln((1+n)/(1+df)) + 1 with n = 3 documents, the empty one
	// included.
	if want := []float64{math.Log(4.0/2) + 1, math.Log(4.0/3) + 1}; !slices.Equal(v.IDF, want) {
		t.Errorf("idf %v, want %v", v.IDF, want)
	}
	x := tfidfRows(v, []string{"", "unknown words only", "PIE"})
	if !slices.Equal(x[0], []float64{0, 0}) || !slices.Equal(x[1], []float64{0, 0}) || !slices.Equal(x[2], []float64{0, 1}) {
		t.Errorf("empty, unknown and one-term rows: %v", x)
	}
	if got := v.Transform(nil); got == nil {
		t.Error("Transform(nil) returned nil")
	}
	// Invalid UTF-8 is not a word character and does not panic.
	if got := v.Analyze("ab\xffcd \xc3"); !slices.Equal(got, []string{"ab", "cd"}) {
		t.Errorf("Analyze with invalid UTF-8: %q", got)
	}
	// Python's str.split also splits at U+001C..U+001F.
	cv, err := FitTextVectorizer([]string{"ab\x1fcd"}, &TextOptions{CharNgramMin: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := cv.Analyze("ab\x1fcd"); !slices.Equal(got, []string{"ab", "cd", "# ab ", "# cd "}) {
		t.Errorf("char grams across \\x1f: %q", got)
	}
}

// TestTextVectorizerConcurrent: a fitted vectorizer (its term index
// built lazily) serves concurrent transforms with identical results.
func TestTextVectorizerConcurrent(t *testing.T) {
	docs := []string{"the quick brown fox", "jumps over the lazy dog", "the dog sleeps"}
	v, err := FitTextVectorizer(docs, &TextOptions{NgramMax: 2, CharNgramMin: 2, CharNgramMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	loaded := reloadedVectorizer(t, v)
	want := tfidfRows(v, docs)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := tfidfRows(loaded, docs); !slices.EqualFunc(got, want, slices.Equal) {
					t.Error("concurrent Transform differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

func reloadedVectorizer(t *testing.T, v *TextVectorizer) *TextVectorizer {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out TextVectorizer
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if err := out.check(); err != nil {
		t.Fatalf("decoded vectorizer fails its check: %v\n%s", err, data)
	}
	return &out
}

func BenchmarkTextEncode(b *testing.B) {
	docs := []string{
		"Whenever you find yourself on the side of the majority, it is time to pause and reflect.",
		"Any sufficiently advanced technology is indistinguishable from magic, said Clarke; naïve café owners agree.",
	}
	var corpus []string
	for i := range 200 {
		corpus = append(corpus, docs[i%2]+strings.Repeat(" word", i%7))
	}
	v, err := FitTextVectorizer(corpus, &TextOptions{NgramMax: 2})
	if err != nil {
		b.Fatal(err)
	}
	row := make([]float64, v.Width())
	var s textScratch
	b.ReportAllocs()
	for b.Loop() {
		clear(row)
		v.encode(docs[1], row, &s)
	}
}

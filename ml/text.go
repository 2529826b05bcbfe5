package ml

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"gonum.org/v1/gonum/mat"
)

// TextOptions configure how a TEXT feature becomes design columns (see
// TextVectorizer). The zero value of every field means its default, so
// that a partial set of options (or nil) is complete once resolved by
// ResolveTextOptions; the resolved values are what a model stores.
type TextOptions struct {
	// Lowercase folds the text to lower case before tokenising (default
	// true; nil means the default).
	Lowercase *bool `json:"lowercase,omitempty"`
	// StopWords is "" (default: keep every word) or "english", which drops
	// scikit-learn's ENGLISH_STOP_WORDS (318 words such as "the", "and",
	// "of") before word n-grams are formed. The list is matched after
	// lower-casing.
	StopWords string `json:"stopWords,omitempty"`
	// NgramMin and NgramMax are the lengths of the word n-grams made from
	// the tokens (default 1 and 1: single words; 1 and 2 adds the pairs of
	// adjacent words, "new york"). 1 ≤ NgramMin ≤ NgramMax ≤ 3; if only
	// NgramMin is given, NgramMax defaults to it.
	NgramMin int `json:"ngramMin,omitempty"`
	NgramMax int `json:"ngramMax,omitempty"`
	// CharNgramMin and CharNgramMax add character n-grams to the word
	// n-grams (default 0 and 0: none; if only one is given, the other
	// takes its value; 1 ≤ CharNgramMin ≤ CharNgramMax ≤ 6). They are
	// taken within each whitespace-separated word padded with a space on
	// each side, like scikit-learn's analyzer="char_wb": "cat" gives
	// " c", "ca", "at", "t " for 2-grams, and a word shorter than n gives
	// itself, padded, once. They help with misspellings and word forms.
	// Their terms are named with a leading "#" ("#at "), which no word
	// term has.
	CharNgramMin int `json:"charNgramMin,omitempty"`
	CharNgramMax int `json:"charNgramMax,omitempty"`
	// MaxFeatures keeps at most this many terms: those most frequent over
	// the training documents (total count; ties in term order), after the
	// document-frequency limits (default 5000, at most 20000). The design
	// matrix is dense: each text feature costs 8·MaxFeatures bytes per
	// row while training.
	MaxFeatures int `json:"maxFeatures,omitempty"`
	// MinDf drops terms found in fewer training documents than this
	// (default 1: keep all).
	MinDf int `json:"minDf,omitempty"`
	// MaxDf drops terms found in more than this fraction of the training
	// documents, in (0, 1] (default 1: keep all; 0.5 drops words in most
	// documents, a corpus-specific stop list).
	MaxDf float64 `json:"maxDf,omitempty"`
	// SublinearTf uses 1 + ln(count) instead of the raw count as the term
	// frequency (default false).
	SublinearTf bool `json:"sublinearTf,omitempty"`
}

// Text option defaults and bounds.
const (
	DefaultTextMaxFeatures = 5000
	MaxTextMaxFeatures     = 20000
	MaxTextNgram           = 3
	MaxTextCharNgram       = 6
)

// charGramMark starts the name of every character n-gram term.
const charGramMark = '#'

// DefaultTextOptions returns the resolved default options.
func DefaultTextOptions() TextOptions {
	o, _ := ResolveTextOptions(nil)
	return o
}

// ResolveTextOptions returns o (nil for all defaults) with every default
// filled in, or an *InputError naming the first option out of range.
func ResolveTextOptions(o *TextOptions) (TextOptions, error) {
	var r TextOptions
	if o != nil {
		r = *o
	}
	lower := true
	if r.Lowercase != nil {
		lower = *r.Lowercase
	}
	r.Lowercase = &lower
	switch {
	case r.NgramMin == 0 && r.NgramMax == 0:
		r.NgramMin, r.NgramMax = 1, 1
	case r.NgramMin == 0:
		r.NgramMin = 1
	case r.NgramMax == 0:
		r.NgramMax = r.NgramMin
	}
	switch {
	case r.CharNgramMin == 0:
		r.CharNgramMin = r.CharNgramMax
	case r.CharNgramMax == 0:
		r.CharNgramMax = r.CharNgramMin
	}
	if r.MaxFeatures == 0 {
		r.MaxFeatures = DefaultTextMaxFeatures
	}
	if r.MinDf == 0 {
		r.MinDf = 1
	}
	if r.MaxDf == 0 {
		r.MaxDf = 1
	}
	switch {
	case r.StopWords != "" && r.StopWords != "english":
		return r, inputErrorf("text option stopWords must be \"\" (none) or \"english\", got %q", r.StopWords)
	case r.NgramMin < 1 || r.NgramMin > MaxTextNgram:
		return r, inputErrorf("text option ngramMin must be in [1, %d], got %d", MaxTextNgram, r.NgramMin)
	case r.NgramMax < r.NgramMin || r.NgramMax > MaxTextNgram:
		return r, inputErrorf("text option ngramMax must be in [ngramMin, %d] = [%d, %d], got %d", MaxTextNgram, r.NgramMin, MaxTextNgram, r.NgramMax)
	case r.CharNgramMin < 0 || r.CharNgramMin > MaxTextCharNgram:
		return r, inputErrorf("text option charNgramMin must be 0 (no character n-grams) or in [1, %d], got %d", MaxTextCharNgram, r.CharNgramMin)
	case r.CharNgramMax < r.CharNgramMin || r.CharNgramMax > MaxTextCharNgram:
		return r, inputErrorf("text option charNgramMax must be in [charNgramMin, %d] = [%d, %d], got %d", MaxTextCharNgram, r.CharNgramMin, MaxTextCharNgram, r.CharNgramMax)
	case r.MaxFeatures < 1 || r.MaxFeatures > MaxTextMaxFeatures:
		return r, inputErrorf("text option maxFeatures must be in [1, %d] (the design matrix is dense), got %d", MaxTextMaxFeatures, r.MaxFeatures)
	case r.MinDf < 1:
		return r, inputErrorf("text option minDf must be a document count ≥ 1, got %d", r.MinDf)
	case !(r.MaxDf > 0 && r.MaxDf <= 1):
		return r, inputErrorf("text option maxDf must be a fraction of the documents in (0, 1], got %v", r.MaxDf)
	}
	return r, nil
}

// TextVectorizer turns documents into TF-IDF term weights, defined as
// scikit-learn's TfidfVectorizer with the matching options (norm="l2",
// use_idf, smooth_idf).
//
// Analysis: the text is lower-cased (unless Lowercase is false), and the
// tokens are the runs of two or more word characters (Unicode letters,
// digits and "_"; the semantics of scikit-learn's token pattern
// (?u)\b\w\w+\b, without regular expressions). Stop words are dropped,
// then word n-grams are the runs of NgramMin..NgramMax adjacent tokens
// joined by a space; character n-grams, if any, are added (see
// TextOptions).
//
// Fit: the vocabulary is every term, less those found in fewer than
// MinDf or more than MaxDf·n of the n training documents, cut to the
// MaxFeatures most frequent; terms are sorted (by code point) and are the
// design columns in that order. Each term t gets the smoothed inverse
// document frequency
//
//	idf(t) = ln((1 + n) / (1 + df(t))) + 1
//
// with df(t) the number of training documents holding t.
//
// Transform: a document's weight of term t is tf(t)·idf(t), tf the
// number of occurrences (1 + ln of it with SublinearTf), and each
// document's weights are divided by their Euclidean norm (an empty
// document, or one without vocabulary terms, is all zeros). Terms outside
// the vocabulary are ignored.
//
// Departures from Python: lower-casing maps each character on its own
// (Go's unicode.ToLower), so "İ" becomes "i" rather than "i̇", and a
// final capital sigma becomes σ rather than ς; the Unicode tables are
// Go's. Neither affects ordinary text.
//
// The fitted state is in exported fields so that it serialises. A fitted
// TextVectorizer is read-only and safe for concurrent use.
type TextVectorizer struct {
	// Options are the resolved options it was fitted with.
	Options TextOptions
	// Vocabulary holds the terms, sorted: one design column each, in this
	// order. IDF holds their inverse document frequencies.
	Vocabulary []string
	IDF        []float64

	once  sync.Once
	index map[string]int32 // term → column, built on first use
}

// FitTextVectorizer learns a vocabulary and its IDF from the documents
// ("" for a missing one, which counts as an empty document). Bad options,
// or no term left to learn (every document empty, or the document
// frequency limits dropping all), are *InputErrors.
func FitTextVectorizer(docs []string, opts *TextOptions) (*TextVectorizer, error) {
	o, err := ResolveTextOptions(opts)
	if err != nil {
		return nil, err
	}
	weights := make([]int, len(docs))
	for i := range weights {
		weights[i] = 1
	}
	return fitTextDocs("text", docs, weights, len(docs), o)
}

// fitTextColumn fits a vectorizer to a text (or categorical) column: each
// distinct text is analysed once and counted as often as rows hold it;
// missing rows are empty documents.
func fitTextColumn(col *Column, o TextOptions) (*TextVectorizer, error) {
	weights := make([]int, len(col.Levels))
	for _, code := range col.Codes {
		if code >= 0 {
			weights[code]++
		}
	}
	return fitTextDocs(col.Name, col.Levels, weights, len(col.Codes), o)
}

// fitTextDocs fits a vectorizer to n documents: weights[k] of them are
// docs[k], and the rest are empty. name is the column, for errors.
func fitTextDocs(name string, docs []string, weights []int, n int, o TextOptions) (*TextVectorizer, error) {
	var (
		ids  = make(map[string]int32)
		tf   []int64 // total count of each term
		df   []int   // documents holding it
		last []int   // the last document counted in df
		s    textScratch
	)
	for k, doc := range docs {
		w := weights[k]
		if w == 0 {
			continue
		}
		o.eachTerm(doc, &s, func(term []byte) {
			id, ok := ids[string(term)]
			if !ok {
				id = int32(len(tf))
				ids[string(term)] = id
				tf, df, last = append(tf, 0), append(df, 0), append(last, -1)
			}
			tf[id] += int64(w)
			if last[id] != k {
				last[id] = k
				df[id] += w
			}
		})
	}
	maxDocs := o.MaxDf * float64(n)
	if maxDocs < float64(o.MinDf) {
		return nil, inputErrorf("text column %q: maxDf %v of %d documents allows terms in at most %v documents, fewer than minDf %d", name, o.MaxDf, n, maxDocs, o.MinDf)
	}
	terms := make([]string, 0, len(ids))
	for term, id := range ids {
		if df[id] >= o.MinDf && float64(df[id]) <= maxDocs {
			terms = append(terms, term)
		}
	}
	if len(terms) == 0 {
		if len(ids) == 0 {
			return nil, inputErrorf("text column %q has no words to learn from: no training document has a word of two or more letters or digits", name)
		}
		return nil, inputErrorf("text column %q: no term is in at least minDf=%d and at most maxDf=%v of the %d training documents", name, o.MinDf, o.MaxDf, n)
	}
	if len(terms) > o.MaxFeatures {
		slices.SortFunc(terms, func(a, b string) int {
			if c := cmp.Compare(tf[ids[b]], tf[ids[a]]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		terms = terms[:o.MaxFeatures]
	}
	slices.Sort(terms)
	v := &TextVectorizer{Options: o, Vocabulary: terms, IDF: make([]float64, len(terms))}
	for j, term := range terms {
		v.IDF[j] = math.Log(float64(n+1)/float64(df[ids[term]]+1)) + 1
	}
	return v, nil
}

// Width returns the number of design columns: the vocabulary size.
func (v *TextVectorizer) Width() int { return len(v.Vocabulary) }

// Transform returns the TF-IDF weights of docs ("" for a missing
// document), len(docs)×Width (an empty matrix for no documents).
func (v *TextVectorizer) Transform(docs []string) *mat.Dense {
	if len(docs) == 0 || v.Width() == 0 {
		return &mat.Dense{} // gonum has no matrix with a zero dimension
	}
	x := mat.NewDense(len(docs), v.Width(), nil)
	raw := x.RawMatrix()
	var s textScratch
	for i, doc := range docs {
		v.encode(doc, raw.Data[i*raw.Stride:i*raw.Stride+v.Width()], &s)
	}
	return x
}

// Analyze returns the terms of doc in the order they are produced (word
// n-grams by length, then character n-grams), repeats included, whether
// or not they are in the vocabulary: the analysis step of Transform.
func (v *TextVectorizer) Analyze(doc string) []string {
	var terms []string
	var s textScratch
	v.Options.eachTerm(doc, &s, func(term []byte) { terms = append(terms, string(term)) })
	return terms
}

// lookup returns the map from term to design column.
func (v *TextVectorizer) lookup() map[string]int32 {
	v.once.Do(func() {
		v.index = make(map[string]int32, len(v.Vocabulary))
		for j, term := range v.Vocabulary {
			v.index[term] = int32(j)
		}
	})
	return v.index
}

// encode writes the TF-IDF weights of doc into row (Width values, all
// zero on entry), using s as scratch.
func (v *TextVectorizer) encode(doc string, row []float64, s *textScratch) {
	if doc == "" {
		return
	}
	index := v.lookup()
	touched := s.touched[:0]
	v.Options.eachTerm(doc, s, func(term []byte) {
		if j, ok := index[string(term)]; ok {
			if row[j] == 0 {
				touched = append(touched, j)
			}
			row[j]++
		}
	})
	s.touched = touched
	ss := 0.0
	for _, j := range touched {
		t := row[j]
		if v.Options.SublinearTf {
			t = math.Log(t) + 1
		}
		t *= v.IDF[j]
		row[j] = t
		ss += t * t
	}
	if ss > 0 {
		norm := math.Sqrt(ss)
		for _, j := range touched {
			row[j] /= norm
		}
	}
}

// clone returns a deep copy of the fitted state.
func (v *TextVectorizer) clone() *TextVectorizer {
	if v == nil {
		return nil
	}
	o := v.Options
	if o.Lowercase != nil {
		lower := *o.Lowercase
		o.Lowercase = &lower
	}
	return &TextVectorizer{Options: o, Vocabulary: slices.Clone(v.Vocabulary), IDF: slices.Clone(v.IDF)}
}

// check validates a decoded vectorizer: resolved options, a non-empty
// sorted vocabulary of distinct terms and a finite IDF ≥ 1 for each.
func (v *TextVectorizer) check() error {
	if v == nil {
		return fmt.Errorf("text feature without a vectorizer")
	}
	o, err := ResolveTextOptions(&v.Options)
	if err != nil {
		return fmt.Errorf("text options: %v", err)
	}
	if !sameTextOptions(o, v.Options) {
		return fmt.Errorf("text options are not resolved")
	}
	if len(v.Vocabulary) == 0 || len(v.IDF) != len(v.Vocabulary) {
		return fmt.Errorf("text vectorizer has %d terms and %d IDF values", len(v.Vocabulary), len(v.IDF))
	}
	for j := 1; j < len(v.Vocabulary); j++ {
		if v.Vocabulary[j-1] >= v.Vocabulary[j] {
			return fmt.Errorf("text vocabulary is not sorted and distinct at term %d %q", j, v.Vocabulary[j])
		}
	}
	for j, idf := range v.IDF {
		if !(idf >= 1) || math.IsInf(idf, 0) {
			return fmt.Errorf("text term %q has IDF %v, want a finite value ≥ 1", v.Vocabulary[j], idf)
		}
	}
	return nil
}

// sameTextOptions compares resolved options (Lowercase by value).
func sameTextOptions(a, b TextOptions) bool {
	if a.Lowercase == nil || b.Lowercase == nil || *a.Lowercase != *b.Lowercase {
		return false
	}
	a.Lowercase, b.Lowercase = nil, nil
	return a == b
}

// ---- Analysis ----

// textScratch is the reusable memory of analysing documents; one per
// goroutine.
type textScratch struct {
	text    []byte  // the document, lower-cased
	tokens  []int   // word tokens: start and end offsets into text, in pairs
	gram    []byte  // the n-gram being built
	word    []byte  // a padded word, for character n-grams
	bounds  []int   // character offsets of the padded word
	touched []int32 // design columns a document set
}

// asciiClass tells, for each ASCII byte, whether it is a word character
// (letter, digit, "_") or whitespace as Python's str.split sees it.
var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for b := range utf8.RuneSelf {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '_':
			c[b] = classWord
		case b == ' ', '\t' <= b && b <= '\r', 0x1c <= b && b <= 0x1f:
			c[b] = classSpace
		}
	}
	return c
}()

const (
	classOther uint8 = iota
	classWord
	classSpace
)

// runeClass classifies a non-ASCII rune: a word character is a letter or
// a number (Python's str.isalnum, which \w follows), whitespace is
// Unicode White_Space.
func runeClass(r rune, size int) uint8 {
	switch {
	case r == utf8.RuneError && size <= 1: // invalid UTF-8
		return classOther
	case unicode.IsLetter(r) || unicode.IsNumber(r):
		return classWord
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// englishStopSet is englishStopWords as a set; read-only.
var englishStopSet = func() map[string]struct{} {
	set := make(map[string]struct{}, len(englishStopWords))
	for _, w := range englishStopWords {
		set[w] = struct{}{}
	}
	return set
}()

// eachTerm calls fn with every term of doc, repeats included; term is
// valid only during the call. o must be resolved.
func (o *TextOptions) eachTerm(doc string, s *textScratch, fn func(term []byte)) {
	// Lower-case into s.text (a copy either way, so that the rest reads
	// one buffer).
	text := s.text[:0]
	lower := o.Lowercase == nil || *o.Lowercase
	for i := 0; i < len(doc); {
		b := doc[i]
		if b < utf8.RuneSelf {
			if lower && 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			text = append(text, b)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(doc[i:])
		if !lower || r == utf8.RuneError && size == 1 {
			text = append(text, doc[i:i+size]...)
		} else {
			text = utf8.AppendRune(text, unicode.ToLower(r))
		}
		i += size
	}
	s.text = text

	// Tokens: runs of two or more word characters.
	tokens := s.tokens[:0]
	start, runes := -1, 0
	for i := 0; i <= len(text); {
		class, size := classOther, 1
		if i < len(text) {
			class, size = classAt(text, i)
		}
		if class == classWord {
			if start < 0 {
				start, runes = i, 0
			}
			runes++
		} else if start >= 0 {
			if runes >= 2 && !(o.StopWords == "english" && isStopWord(text[start:i])) {
				tokens = append(tokens, start, i)
			}
			start = -1
		}
		i += size
	}
	s.tokens = tokens

	// Word n-grams.
	count := len(tokens) / 2
	for n := o.NgramMin; n <= o.NgramMax; n++ {
		for t := 0; t+n <= count; t++ {
			if n == 1 {
				fn(text[tokens[2*t]:tokens[2*t+1]])
				continue
			}
			gram := s.gram[:0]
			for u := t; u < t+n; u++ {
				if u > t {
					gram = append(gram, ' ')
				}
				gram = append(gram, text[tokens[2*u]:tokens[2*u+1]]...)
			}
			s.gram = gram
			fn(gram)
		}
	}
	if o.CharNgramMin > 0 {
		o.eachCharGram(text, s, fn)
	}
}

func isStopWord(token []byte) bool {
	_, stop := englishStopSet[string(token)]
	return stop
}

// eachCharGram calls fn with the character n-grams of every
// whitespace-separated word of text, as scikit-learn's char_wb analyzer
// makes them: the word padded with a space on each side, its n-grams for
// each n, and the padded word once if it is no longer than n.
func (o *TextOptions) eachCharGram(text []byte, s *textScratch, fn func(term []byte)) {
	for i := 0; i < len(text); {
		if class, size := classAt(text, i); class == classSpace {
			i += size
			continue
		}
		// The padded word " w " and the offsets of its characters.
		word := append(s.word[:0], ' ')
		bounds := append(s.bounds[:0], 0)
		for i < len(text) {
			class, size := classAt(text, i)
			if class == classSpace {
				break
			}
			bounds = append(bounds, len(word))
			word = append(word, text[i:i+size]...)
			i += size
		}
		bounds = append(bounds, len(word))
		word = append(word, ' ')
		bounds = append(bounds, len(word))
		s.word, s.bounds = word, bounds
		chars := len(bounds) - 1
		for n := o.CharNgramMin; n <= o.CharNgramMax; n++ {
			last := max(chars-n, 0)
			for at := 0; at <= last; at++ {
				gram := append(s.gram[:0], charGramMark)
				gram = append(gram, word[bounds[at]:bounds[min(at+n, chars)]]...)
				s.gram = gram
				fn(gram)
			}
			if last == 0 {
				break // the whole padded word was the gram
			}
		}
	}
}

// classAt classifies the character at text[i] and returns its size.
func classAt(text []byte, i int) (class uint8, size int) {
	if b := text[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, size := utf8.DecodeRune(text[i:])
	return runeClass(r, size), size
}

package ml

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// FeatureInfo is what a Preprocessor learnt about one feature column from
// the training rows.
type FeatureInfo struct {
	Name string
	Type ColumnType
	// Levels are the categorical levels seen in the training rows, sorted:
	// one design-matrix column each, in this order.
	Levels []string `json:",omitempty"`
	// Median, Min and Max are over the non-missing numeric training values.
	// The median replaces missing values.
	Median, Min, Max float64
	// Mean and Std (population standard deviation) are over the numeric
	// training values after imputation; they standardise the feature when
	// the Preprocessor scales.
	Mean, Std float64
	// Missing is the number of missing training values.
	Missing int
	// Text is the fitted vectorizer of a text feature: one design column
	// per vocabulary term, in its order.
	Text *TextVectorizer `json:",omitempty"`
}

// Width returns the number of design columns of the feature.
func (f *FeatureInfo) Width() int {
	switch f.Type {
	case Categorical:
		return len(f.Levels)
	case Text:
		if f.Text == nil {
			return 0
		}
		return f.Text.Width()
	}
	return 1
}

// Preprocessor turns feature columns into a dense design matrix, applying
// at prediction time exactly what it learnt from the training rows:
//
//   - a numeric column becomes one design column: a missing value (NaN) is
//     replaced by the training median, then, if Scale, the value x becomes
//     (x − mean)/std with the training mean and population standard
//     deviation (a std of 0 is treated as 1);
//   - a categorical column becomes one 0/1 column per training level
//     (levels sorted); a missing value or a level unseen in training
//     encodes as all zeros;
//   - a text column becomes the TF-IDF weights of its vectorizer's
//     vocabulary (see TextVectorizer), fitted on the training rows: a
//     missing text is the empty document (all zeros). Its columns are
//     never imputed or standardised: they are non-negative, zero for
//     absent terms, and each row has unit norm, which suits the linear
//     models and multinomial naive Bayes as they are.
//
// Categorical values are matched by their level string, so prediction
// columns may use any dictionary; a text feature accepts a categorical
// column and a categorical feature a text one (both hold strings). All
// learnt state is in exported fields so that it serialises.
type Preprocessor struct {
	Features []FeatureInfo
	Scale    bool
}

// FitPreprocessor learns a Preprocessor from the training feature columns,
// with the default TextOptions for text columns (see
// FitPreprocessorWithText).
func FitPreprocessor(features []*Column, scale bool) (*Preprocessor, error) {
	return FitPreprocessorWithText(features, scale, nil)
}

// FitPreprocessorWithText learns a Preprocessor from the training feature
// columns, vectorizing text columns with the given options (nil for the
// defaults). It returns an *InputError for no columns, columns of unequal
// length or unknown type, duplicate names, infinite values, a numeric
// column with no values, a text column without terms to learn, bad text
// options, or no design columns at all.
func FitPreprocessorWithText(features []*Column, scale bool, text *TextOptions) (*Preprocessor, error) {
	textOptions, err := ResolveTextOptions(text)
	if err != nil {
		return nil, err
	}
	if len(features) == 0 {
		return nil, inputErrorf("no feature columns")
	}
	n := features[0].Len()
	seen := make(map[string]bool, len(features))
	p := &Preprocessor{Features: make([]FeatureInfo, len(features)), Scale: scale}
	for _, col := range features {
		if col.Len() != n {
			return nil, inputErrorf("feature column %q has %d rows; %q has %d", col.Name, col.Len(), features[0].Name, n)
		}
		if seen[col.Name] {
			return nil, inputErrorf("duplicate feature column name %q", col.Name)
		}
		seen[col.Name] = true
		if err := col.validate(); err != nil {
			return nil, err
		}
	}
	// Features are independent: learn them in parallel.
	errs := make([]error, len(features))
	parallelFor(len(features), func(j int) {
		col := features[j]
		switch col.Type {
		case Numeric:
			p.Features[j], errs[j] = fitNumeric(col)
		case Text:
			p.Features[j], errs[j] = fitText(col, textOptions)
		default:
			p.Features[j] = fitCategorical(col)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	width := p.Width()
	if width == 0 {
		return nil, inputErrorf("the feature columns have no values to learn from")
	}
	return p, nil
}

func fitNumeric(col *Column) (FeatureInfo, error) {
	info := FeatureInfo{Name: col.Name, Type: Numeric}
	// One pass for the sum, range and missing count. Plain comparisons,
	// not min and max, whose NaN and signed-zero rules cost a few
	// instructions a value: NaNs are skipped before.
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, v := range col.Num {
		if v != v { // NaN
			info.Missing++
			continue
		}
		sum += v
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if info.Missing == len(col.Num) {
		return info, inputErrorf("feature column %q has no values (all %d rows are missing)", col.Name, len(col.Num))
	}
	if !Usable(lo) || !Usable(hi) {
		for i, v := range col.Num {
			if v == v && !Usable(v) {
				return info, ValueError(RowName(i), col.Name, v)
			}
		}
	}
	info.Min, info.Max = lo, hi
	values := col.Num // Median leaves its input as it is
	if info.Missing > 0 {
		values = make([]float64, 0, len(col.Num)-info.Missing)
		for _, v := range col.Num {
			if v == v {
				values = append(values, v)
			}
		}
	}
	info.Median = Median(values)
	// Mean and variance of the imputed column: the observed values plus
	// Missing copies of the median. The second pass sums squared
	// deviations, which is accurate even when the mean is large; they are
	// scaled (see squareSafeScale), for values near ±MaxAbsValue whose
	// squares would overflow.
	n := float64(len(col.Num))
	mean := (sum + info.Median*float64(info.Missing)) / n
	s := squareSafeScale(max(-lo, hi))
	dm := (info.Median - mean) * s
	ss := float64(info.Missing) * dm * dm
	for _, v := range values {
		d := (v - mean) * s
		ss += d * d
	}
	info.Mean, info.Std = mean, math.Sqrt(ss/n)/s
	return info, nil
}

func fitText(col *Column, o TextOptions) (FeatureInfo, error) {
	info := FeatureInfo{Name: col.Name, Type: Text, Missing: col.Missing()}
	v, err := fitTextColumn(col, o)
	info.Text = v
	return info, err
}

func fitCategorical(col *Column) FeatureInfo {
	info := FeatureInfo{Name: col.Name, Type: Categorical}
	used := make([]bool, len(col.Levels))
	for _, code := range col.Codes {
		if code < 0 {
			info.Missing++
		} else {
			used[code] = true
		}
	}
	for code, u := range used {
		if u {
			info.Levels = append(info.Levels, col.Levels[code])
		}
	}
	slices.Sort(info.Levels)
	return info
}

// Width returns the number of design-matrix columns.
func (p *Preprocessor) Width() int {
	w := 0
	for j := range p.Features {
		w += p.Features[j].Width()
	}
	return w
}

// OutputNames returns the design-matrix column names: a numeric feature's
// name ("age"), "name=level" for each one-hot column ("color=red"), and
// "name:term" for each term of a text feature ("review:tasty").
func (p *Preprocessor) OutputNames() []string {
	names := make([]string, 0, p.Width())
	for _, f := range p.Features {
		switch f.Type {
		case Categorical:
			for _, l := range f.Levels {
				names = append(names, f.Name+"="+l)
			}
		case Text:
			for _, term := range f.Text.Vocabulary {
				names = append(names, f.Name+":"+term)
			}
		default:
			names = append(names, f.Name)
		}
	}
	return names
}

// HasText reports whether any feature is text.
func (p *Preprocessor) HasText() bool {
	return slices.ContainsFunc(p.Features, func(f FeatureInfo) bool { return f.Type == Text })
}

// scaleOf returns the divisor that standardises a numeric feature.
func (f *FeatureInfo) scaleOf() float64 {
	if f.Std == 0 {
		return 1
	}
	return f.Std
}

// CheckColumns reports, as an *InputError, whether features match the
// training schema: same count, names and types, equal lengths, valid codes.
// Categorical and text are interchangeable here: both hold strings, and
// the feature's type says how they are encoded (a short text in a batch
// may well have been read as categorical).
func (p *Preprocessor) CheckColumns(features []*Column) error {
	if len(features) != len(p.Features) {
		return inputErrorf("got %d feature columns; the model was trained on %d (%s)", len(features), len(p.Features), p.featureList())
	}
	for j, col := range features {
		want := &p.Features[j]
		if col.Name != want.Name {
			return inputErrorf("feature column %d is %q; the model expects %q (features in order: %s)", j, col.Name, want.Name, p.featureList())
		}
		if col.Type != want.Type && !(col.Type.hasCodes() && want.Type.hasCodes()) {
			return inputErrorf("feature column %q is %s; the model was trained on it as %s", col.Name, col.Type, want.Type)
		}
		if col.Len() != features[0].Len() {
			return inputErrorf("feature column %q has %d rows; %q has %d", col.Name, col.Len(), features[0].Name, features[0].Len())
		}
		if err := col.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Preprocessor) featureList() string {
	s := ""
	for j, f := range p.Features {
		if j > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", f.Name)
	}
	return s
}

// Transform encodes features (in training order) as the n×Width design
// matrix. It returns an *InputError if the columns do not match the
// training schema, there are no rows, or a numeric value is infinite.
func (p *Preprocessor) Transform(features []*Column) (*mat.Dense, error) {
	if err := p.CheckColumns(features); err != nil {
		return nil, err
	}
	n := features[0].Len()
	if n == 0 {
		return nil, inputErrorf("no rows to transform")
	}
	encoders := make([]featureEncoder, len(features))
	at := 0 // design column of the current feature
	for j, col := range features {
		encoders[j] = p.encoder(j, col, at)
		at += encoders[j].width
	}
	x := mat.NewDense(n, at, nil)
	raw := x.RawMatrix()
	// Rows are encoded in blocks, feature by feature, so that the block of
	// the output being written stays in cache; segments run in parallel.
	// Text takes longer a row: its segments are smaller.
	const block = 256
	minRows := 4 * block
	if p.HasText() {
		minRows = block / 4
	}
	segs := rowSegments(n, minRows, maxSegments)
	errs := make([]error, len(segs))
	forEachSegment(segs, func(s int, seg segment) {
		var scratch textScratch
		for lo := seg.lo; lo < seg.hi; lo += block {
			hi := min(lo+block, seg.hi)
			for j := range encoders {
				if err := encoders[j].encode(features[j], raw, lo, hi, &scratch); err != nil {
					errs[s] = err
					return
				}
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// featureEncoder writes one feature's design columns.
type featureEncoder struct {
	info  *FeatureInfo
	at    int // first design column
	width int
	// Numeric: design value = (x − shift)/scale, NaN → Median.
	shift, scale float64
	// Categorical: position among info.Levels of each of the column's own
	// codes, -1 for a level unseen in training.
	pos []int
	// Text: the fitted vectorizer.
	text *TextVectorizer
}

func (p *Preprocessor) encoder(j int, col *Column, at int) featureEncoder {
	info := &p.Features[j]
	e := featureEncoder{info: info, at: at}
	if info.Type == Text {
		e.width, e.text = info.Width(), info.Text
		return e
	}
	if info.Type == Numeric {
		e.width, e.scale = 1, 1
		if p.Scale {
			e.shift, e.scale = info.Mean, info.scaleOf()
		}
		return e
	}
	e.width = len(info.Levels)
	// Match by string: prediction columns have their own dictionaries.
	e.pos = make([]int, len(col.Levels))
	for code, level := range col.Levels {
		k, found := slices.BinarySearch(info.Levels, level)
		if !found {
			k = -1
		}
		e.pos[code] = k
	}
	return e
}

// encode writes rows lo..hi-1 of col into the design matrix, using
// scratch (the calling goroutine's) for text.
func (e *featureEncoder) encode(col *Column, raw blas64.General, lo, hi int, scratch *textScratch) error {
	if e.text != nil {
		for i := lo; i < hi; i++ {
			if code := col.Codes[i]; code >= 0 {
				at := i*raw.Stride + e.at
				e.text.encode(col.Levels[code], raw.Data[at:at+e.width], scratch)
			}
		}
		return nil
	}
	if e.pos == nil && e.shift == 0 && e.scale == 1 {
		// Not scaled (linear regression, trees): no division to spend
		// cycles on; (v-0)/1 is v to the bit.
		for i := lo; i < hi; i++ {
			v := col.Num[i]
			if v != v { // NaN
				v = e.info.Median
			} else if !Usable(v) {
				return ValueError(RowName(i), col.Name, v)
			}
			raw.Data[i*raw.Stride+e.at] = v
		}
		return nil
	}
	if e.pos == nil {
		for i := lo; i < hi; i++ {
			v := col.Num[i]
			if math.IsNaN(v) {
				v = e.info.Median
			} else if !Usable(v) {
				return ValueError(RowName(i), col.Name, v)
			}
			raw.Data[i*raw.Stride+e.at] = (v - e.shift) / e.scale
		}
		return nil
	}
	for i := lo; i < hi; i++ {
		if code := col.Codes[i]; code >= 0 {
			if k := e.pos[code]; k >= 0 {
				raw.Data[i*raw.Stride+e.at+k] = 1
			}
		}
	}
	return nil
}

// Median returns the median of values (the mean of the two middle values
// for an even count), leaving values as they are. It runs in linear time
// (see selectKth). It panics if values is empty or holds a NaN.
func Median(values []float64) float64 {
	n := len(values)
	if n == 0 {
		panic("ml: median of no values")
	}
	lo, hi := selectKth(values, n/2)
	if n%2 == 1 {
		return hi
	}
	if m := (lo + hi) / 2; !math.IsInf(m, 0) {
		return m
	}
	return lo/2 + hi/2 // lo+hi overflowed
}

// selectKth returns the values that would be at indices k-1 and k if v
// were sorted (the first is meaningless for k = 0), without changing v. It is a radix selection on the values' bits, mapped
// to unsigned integers that sort as the floats do: one pass counts the
// top 11 bits of every value and finds the digit the k-th value has; the
// values with that digit are kept, and the next 11 bits of those are
// counted, and so on. Each pass is a branch-free count over fewer values
// than the last, so the whole is a few linear passes, several times faster
// than quickselect's unpredictable comparisons.
func selectKth(v []float64, k int) (below, at float64) {
	const bits = 11
	var counts [1 << bits]int
	// pick finds the digit of the k-th value and k's rank among the values
	// with that digit.
	pick := func(k int) (digit uint64, rank int) {
		for d, c := range counts {
			if k < c {
				return uint64(d), k
			}
			k -= c
		}
		panic("ml: selectKth rank out of range")
	}
	shift := 64 - bits
	for _, x := range v {
		counts[sortableBits(x)>>shift]++
	}
	digit, k := pick(k)
	// The filters write every key and advance past the kept ones only:
	// no branch to mispredict (hence the one slot to spare).
	keys := make([]uint64, counts[digit]+1)
	n := 0
	for _, x := range v {
		key := sortableBits(x)
		keys[n] = key
		n += b2i(key>>shift == digit)
	}
	keys = keys[:n]
	const mask = 1<<bits - 1
	for shift > 0 && len(keys) > 64 {
		shift = max(shift-bits, 0)
		clear(counts[:])
		for _, key := range keys {
			counts[key>>shift&mask]++
		}
		digit, k = pick(k)
		n = 0
		for _, key := range keys {
			keys[n] = key // n ≤ the index read: never ahead of it
			n += b2i(key>>shift&mask == digit)
		}
		keys = keys[:n]
	}
	slices.Sort(keys)
	if k > 0 {
		return fromSortableBits(keys[k-1]), fromSortableBits(keys[k])
	}
	// The k-th is the least of the values kept: the one below it is the
	// greatest of the others.
	key, prev := keys[0], uint64(0)
	for _, x := range v {
		if b := sortableBits(x); b < key {
			prev = max(prev, b)
		}
	}
	return fromSortableBits(prev), fromSortableBits(key)
}

// sortableBits maps a float (not NaN) to an integer of the same order:
// negative floats have all bits flipped, positive ones the sign bit set.
func sortableBits(x float64) uint64 {
	b := math.Float64bits(x)
	// All ones for a negative float, the sign bit alone otherwise: no
	// branch on the sign.
	return b ^ (uint64(int64(b)>>63) | 1<<63)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fromSortableBits(key uint64) float64 {
	if key>>63 == 1 {
		return math.Float64frombits(key &^ (1 << 63))
	}
	return math.Float64frombits(^key)
}

package ml

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ColumnType is the kind of values a Column holds.
type ColumnType string

const (
	// Numeric columns hold float64 values; NaN marks a missing value.
	Numeric ColumnType = "NUMERIC"
	// Categorical columns hold codes into a dictionary of distinct strings;
	// code -1 marks a missing value.
	Categorical ColumnType = "CATEGORICAL"
	// Text columns hold free text (one document per cell), stored as
	// Categorical columns are: codes into a dictionary of distinct texts
	// (so repeated texts are kept once), code -1 for a missing text. A
	// model turns a text feature into TF-IDF term weights (see
	// TextVectorizer) rather than one-hot columns.
	Text ColumnType = "TEXT"
)

// Column is one typed column of a dataset.
//
// Only the fields of its Type are used: Num for Numeric; Codes and Levels for
// Categorical and Text. Columns are treated as immutable once built:
// functions that derive a column (Take, As) may share Levels, or the whole
// of Codes and Levels, with the original.
type Column struct {
	Name   string
	Type   ColumnType
	Num    []float64 // Numeric: values, NaN = missing
	Codes  []int32   // Categorical, Text: index into Levels, -1 = missing
	Levels []string  // Categorical, Text: distinct values, in the order they were built
}

// NewNumeric returns a numeric column holding values (not copied).
func NewNumeric(name string, values []float64) *Column {
	return &Column{Name: name, Type: Numeric, Num: values}
}

// NewCategorical returns a categorical column holding codes into levels
// (neither is copied).
func NewCategorical(name string, codes []int32, levels []string) *Column {
	return &Column{Name: name, Type: Categorical, Codes: codes, Levels: levels}
}

// NewText returns a text column holding codes into levels, the distinct
// texts (neither is copied).
func NewText(name string, codes []int32, levels []string) *Column {
	return &Column{Name: name, Type: Text, Codes: codes, Levels: levels}
}

// NewStringColumn returns a Categorical or Text column (t) holding values,
// dictionary-encoded: levels in order of first appearance, and the empty
// string as missing. It panics if t is not Categorical or Text.
func NewStringColumn(name string, t ColumnType, values []string) *Column {
	if !t.hasCodes() {
		panic(fmt.Sprintf("ml: NewStringColumn: type %q is not CATEGORICAL or TEXT", t))
	}
	codes := make([]int32, len(values))
	var levels []string
	index := make(map[string]int32)
	for i, v := range values {
		if v == "" {
			codes[i] = -1
			continue
		}
		code, ok := index[v]
		if !ok {
			code = int32(len(levels))
			index[v] = code
			levels = append(levels, v)
		}
		codes[i] = code
	}
	return &Column{Name: name, Type: t, Codes: codes, Levels: levels}
}

// hasCodes reports whether columns of type t hold codes into levels
// (Categorical and Text) rather than numbers.
func (t ColumnType) hasCodes() bool { return t == Categorical || t == Text }

// Len returns the number of cells in the column.
func (c *Column) Len() int {
	if c.Type.hasCodes() {
		return len(c.Codes)
	}
	return len(c.Num)
}

// Missing returns the number of missing cells.
func (c *Column) Missing() int {
	n := 0
	for i := range c.Len() {
		if c.IsMissing(i) {
			n++
		}
	}
	return n
}

// IsMissing reports whether cell i is missing.
func (c *Column) IsMissing(i int) bool {
	if c.Type.hasCodes() {
		return c.Codes[i] < 0
	}
	return math.IsNaN(c.Num[i])
}

// Text returns cell i as text: the level for a categorical or text column,
// the shortest exact decimal form for a numeric one, and "" when missing.
func (c *Column) Text(i int) string {
	if c.IsMissing(i) {
		return ""
	}
	if c.Type.hasCodes() {
		return c.Levels[c.Codes[i]]
	}
	return strconv.FormatFloat(c.Num[i], 'g', -1, 64)
}

// Take returns a new column holding the given rows of c, in that order, with
// the same name and type. A categorical or text result shares c's Levels.
func (c *Column) Take(rows []int) *Column {
	out := &Column{Name: c.Name, Type: c.Type}
	if c.Type.hasCodes() {
		out.Levels = c.Levels
		out.Codes = make([]int32, len(rows))
		for i, r := range rows {
			out.Codes[i] = c.Codes[r]
		}
		return out
	}
	out.Num = make([]float64, len(rows))
	for i, r := range rows {
		out.Num[i] = c.Num[r]
	}
	return out
}

// As returns c converted to type t, for a type chosen at import:
//
//   - to its own type: c itself;
//   - Categorical to Text and back: a column sharing c's codes and levels;
//   - Numeric to Categorical or Text: each value as its shortest exact
//     decimal text (see Text), levels in order of first appearance, NaN
//     missing;
//   - Categorical or Text to Numeric: each level read as a number
//     (surrounding spaces ignored; "NaN" reads as missing), missing cells
//     as NaN.
//
// A level that is not a number, or an unknown type, is an *InputError
// naming the column and, for a level, the first (0-based) row holding it.
func (c *Column) As(t ColumnType) (*Column, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	switch {
	case t == c.Type:
		return c, nil
	case t.hasCodes() && c.Type.hasCodes():
		return &Column{Name: c.Name, Type: t, Codes: c.Codes, Levels: c.Levels}, nil
	case t.hasCodes():
		out := &Column{Name: c.Name, Type: t, Codes: make([]int32, len(c.Num))}
		index := make(map[float64]int32)
		for i, v := range c.Num {
			if math.IsNaN(v) {
				out.Codes[i] = -1
				continue
			}
			code, ok := index[v]
			if !ok {
				code = int32(len(out.Levels))
				// −0 and 0 are one map key: the first one seen names it.
				index[v] = code
				out.Levels = append(out.Levels, strconv.FormatFloat(v, 'g', -1, 64))
			}
			out.Codes[i] = code
		}
		return out, nil
	case t == Numeric:
		values := make([]float64, len(c.Levels))
		parsed := make([]bool, len(c.Levels))
		num := make([]float64, len(c.Codes))
		for i, code := range c.Codes {
			if code < 0 {
				num[i] = math.NaN()
				continue
			}
			if !parsed[code] {
				v, ok := parseLevel(c.Levels[code])
				if !ok {
					return nil, inputErrorf("column %q cannot be NUMERIC: %s holds %q, which is not a finite number", c.Name, RowName(i), c.Levels[code])
				}
				if v == v && !Usable(v) { // "NaN" is missing
					return nil, ValueError(RowName(i), c.Name, c.Levels[code])
				}
				values[code], parsed[code] = v, true
			}
			num[i] = values[code]
		}
		return NewNumeric(c.Name, num), nil
	default:
		return nil, inputErrorf("column %q: unknown column type %q; valid types: %s, %s, %s", c.Name, t, Numeric, Categorical, Text)
	}
}

// parseLevel reads a level as a number, as CSV import reads cells: Go's
// own syntax beyond CSV's ("1_000", hexadecimal "0x1p3") is not a number,
// and neither is an infinity; "NaN" is a missing value.
func parseLevel(level string) (float64, bool) {
	level = strings.TrimSpace(level)
	if strings.ContainsAny(level, "_xX") {
		return 0, false
	}
	v, err := strconv.ParseFloat(level, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// validate checks that the column is internally consistent: a known type
// and codes within Levels. It returns an *InputError.
func (c *Column) validate() error {
	switch c.Type {
	case Numeric:
		return nil
	case Categorical, Text:
		for i, code := range c.Codes {
			if code < -1 || int(code) >= len(c.Levels) {
				return inputErrorf("column %q: %s has code %d outside its %d levels", c.Name, RowName(i), code, len(c.Levels))
			}
		}
		return nil
	default:
		return inputErrorf("column %q: unknown column type %q", c.Name, c.Type)
	}
}

// Binary encoding, format version 1 (all integers little-endian):
//
//	byte 0       format version (1)
//	byte 1       type tag: 1 numeric, 2 categorical, 3 text,
//	             4 numeric as bytes
//	bytes 2..9   n, the number of cells (uint64)
//	numeric:     n float64 values, 8 bytes each (IEEE 754 bits, NaN kept)
//	categorical: the number of levels (uint64); each level as a uint32 byte
//	             length and its UTF-8 bytes; then n int32 codes
//	text:        as categorical
//	bytes:       n bytes, one per cell: 0..254 is that value, 255 is NaN
//
// AppendBinary writes a numeric column as bytes (tag 4, 8× smaller) when
// every value is an integer 0..254 (not −0) or the NaN that math.NaN
// returns, as pixel intensities are, so that the decoded column is
// bit-identical; otherwise as float64s (tag 1). Readers of tag 4 came
// with it, so the format version stays 1: data written before decodes
// as it did.
//
// The column name is not encoded: callers store it as metadata.
const (
	columnFormatV1       byte = 1
	columnTagNumeric     byte = 1
	columnTagCategorical byte = 2
	columnTagText        byte = 3
	columnTagBytes       byte = 4
	columnHeaderLen           = 10
	// byteNaN is the byte of a missing value in the bytes encoding.
	byteNaN = 255
)

// canonicalNaN is the bit pattern of math.NaN(), the only NaN the bytes
// encoding stands for.
var canonicalNaN = math.Float64bits(math.NaN())

// MarshalBinary encodes the column's type and cells (not its name).
func (c *Column) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// AppendBinary appends c's encoding (see MarshalBinary) to b, so that a
// caller encoding many columns can reuse one buffer.
func (c *Column) AppendBinary(b []byte) ([]byte, error) {
	n := c.Len()
	switch c.Type {
	case Numeric:
		if fitsBytes(c.Num) {
			start := len(b)
			b = slices.Grow(b, columnHeaderLen+n)[:start+columnHeaderLen+n]
			b[start], b[start+1] = columnFormatV1, columnTagBytes
			binary.LittleEndian.PutUint64(b[start+2:], uint64(n))
			out := b[start+columnHeaderLen:]
			for i, v := range c.Num {
				if v != v { // NaN
					out[i] = byteNaN
				} else {
					out[i] = byte(v)
				}
			}
			return b, nil
		}
		start := len(b)
		b = slices.Grow(b, columnHeaderLen+8*n)[:start+columnHeaderLen+8*n]
		b[start], b[start+1] = columnFormatV1, columnTagNumeric
		binary.LittleEndian.PutUint64(b[start+2:], uint64(n))
		out := b[start+columnHeaderLen:]
		for i, v := range c.Num {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return b, nil
	case Categorical, Text:
		tag := columnTagCategorical
		if c.Type == Text {
			tag = columnTagText
		}
		size := columnHeaderLen + 8 + 4*n
		for _, l := range c.Levels {
			if len(l) > math.MaxUint32 {
				return nil, fmt.Errorf("marshal column %q: level longer than 4 GiB", c.Name)
			}
			size += 4 + len(l)
		}
		b = slices.Grow(b, size)
		b = append(b, columnFormatV1, tag)
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
		b = binary.LittleEndian.AppendUint64(b, uint64(len(c.Levels)))
		for _, l := range c.Levels {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(l)))
			b = append(b, l...)
		}
		for _, code := range c.Codes {
			b = binary.LittleEndian.AppendUint32(b, uint32(code))
		}
		return b, nil
	default:
		return nil, fmt.Errorf("marshal column %q: unknown column type %q", c.Name, c.Type)
	}
}

// fitsBytes reports whether every value is an integer 0..254 (not −0) or
// the canonical NaN, so that the bytes encoding keeps every bit.
func fitsBytes(values []float64) bool {
	for _, v := range values {
		// One comparison for the common case: a value in 0..254 whose
		// truncation is itself. −0 passes it and is excluded by its bits.
		if v >= 0 && v <= byteNaN-1 && v == float64(int(v)) {
			if v == 0 && math.Signbit(v) {
				return false
			}
			continue
		}
		if math.Float64bits(v) != canonicalNaN {
			return false
		}
	}
	return true
}

var errColumnTruncated = errors.New("unmarshal column: data truncated")

// UnmarshalBinary decodes data written by MarshalBinary into c, replacing
// its Type, Num, Codes and Levels (Name is left alone). Truncated, corrupt
// or unknown-version input returns an error and leaves c unchanged.
func (c *Column) UnmarshalBinary(data []byte) error {
	if len(data) < columnHeaderLen {
		return errColumnTruncated
	}
	if data[0] != columnFormatV1 {
		return fmt.Errorf("unmarshal column: unsupported format version %d (this build reads version %d)", data[0], columnFormatV1)
	}
	n64 := binary.LittleEndian.Uint64(data[2:])
	rest := data[columnHeaderLen:]
	switch data[1] {
	case columnTagNumeric:
		// Compare in uint64 so that a corrupt huge n cannot overflow.
		if n64 > uint64(len(rest))/8 {
			return errColumnTruncated
		}
		if uint64(len(rest)) != 8*n64 {
			return fmt.Errorf("unmarshal column: %d trailing bytes after %d numeric cells", uint64(len(rest))-8*n64, n64)
		}
		num := make([]float64, n64)
		for i := range num {
			num[i] = math.Float64frombits(binary.LittleEndian.Uint64(rest[8*i:]))
		}
		c.Type, c.Num, c.Codes, c.Levels = Numeric, num, nil, nil
		return nil
	case columnTagBytes:
		if n64 > uint64(len(rest)) {
			return errColumnTruncated
		}
		if uint64(len(rest)) != n64 {
			return fmt.Errorf("unmarshal column: %d trailing bytes after %d byte cells", uint64(len(rest))-n64, n64)
		}
		num := make([]float64, n64)
		nan := math.NaN()
		for i, v := range rest {
			if v == byteNaN {
				num[i] = nan
			} else {
				num[i] = float64(v)
			}
		}
		c.Type, c.Num, c.Codes, c.Levels = Numeric, num, nil, nil
		return nil
	case columnTagCategorical:
		return c.unmarshalCodes(Categorical, n64, rest)
	case columnTagText:
		return c.unmarshalCodes(Text, n64, rest)
	default:
		return fmt.Errorf("unmarshal column: unknown column type tag %d", data[1])
	}
}

// unmarshalCodes decodes the levels and codes of a categorical or text
// column (type t).
func (c *Column) unmarshalCodes(t ColumnType, n64 uint64, rest []byte) error {
	if len(rest) < 8 {
		return errColumnTruncated
	}
	nLevels := binary.LittleEndian.Uint64(rest)
	rest = rest[8:]
	// Every level takes at least its 4-byte length.
	if nLevels > uint64(len(rest))/4 {
		return errColumnTruncated
	}
	levels := make([]string, nLevels)
	seen := make(map[string]struct{}, nLevels)
	for i := range levels {
		if len(rest) < 4 {
			return errColumnTruncated
		}
		l := uint64(binary.LittleEndian.Uint32(rest))
		rest = rest[4:]
		if l > uint64(len(rest)) {
			return errColumnTruncated
		}
		levels[i] = string(rest[:l])
		rest = rest[l:]
		if _, dup := seen[levels[i]]; dup {
			return fmt.Errorf("unmarshal column: duplicate level %q", levels[i])
		}
		seen[levels[i]] = struct{}{}
	}
	if n64 > uint64(len(rest))/4 {
		return errColumnTruncated
	}
	if uint64(len(rest)) != 4*n64 {
		return fmt.Errorf("unmarshal column: %d trailing bytes after %d %s cells", uint64(len(rest))-4*n64, n64, strings.ToLower(string(t)))
	}
	codes := make([]int32, n64)
	for i := range codes {
		code := int32(binary.LittleEndian.Uint32(rest[4*i:]))
		if code < -1 || int64(code) >= int64(nLevels) {
			return fmt.Errorf("unmarshal column: %s has code %d outside its %d levels", RowName(i), code, nLevels)
		}
		codes[i] = code
	}
	c.Type, c.Num, c.Codes, c.Levels = t, nil, codes, levels
	return nil
}

package ml

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// ColumnType is the kind of values a Column holds.
type ColumnType string

const (
	// Numeric columns hold float64 values; NaN marks a missing value.
	Numeric ColumnType = "NUMERIC"
	// Categorical columns hold codes into a dictionary of distinct strings;
	// code -1 marks a missing value.
	Categorical ColumnType = "CATEGORICAL"
)

// Column is one typed column of a dataset.
//
// Only the fields of its Type are used: Num for Numeric; Codes and Levels for
// Categorical. Columns are treated as immutable once built: functions that
// derive a column (Take) may share Levels with the original.
type Column struct {
	Name   string
	Type   ColumnType
	Num    []float64 // Numeric: values, NaN = missing
	Codes  []int32   // Categorical: index into Levels, -1 = missing
	Levels []string  // Categorical: distinct values, in the order they were built
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

// Len returns the number of cells in the column.
func (c *Column) Len() int {
	if c.Type == Categorical {
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
	if c.Type == Categorical {
		return c.Codes[i] < 0
	}
	return math.IsNaN(c.Num[i])
}

// Text returns cell i as text: the level for a categorical column, the
// shortest exact decimal form for a numeric one, and "" when missing.
func (c *Column) Text(i int) string {
	if c.IsMissing(i) {
		return ""
	}
	if c.Type == Categorical {
		return c.Levels[c.Codes[i]]
	}
	return strconv.FormatFloat(c.Num[i], 'g', -1, 64)
}

// Take returns a new column holding the given rows of c, in that order, with
// the same name and type. A categorical result shares c's Levels.
func (c *Column) Take(rows []int) *Column {
	out := &Column{Name: c.Name, Type: c.Type}
	if c.Type == Categorical {
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

// validate checks that the column is internally consistent: a known type
// and categorical codes within Levels. It returns an *InputError.
func (c *Column) validate() error {
	switch c.Type {
	case Numeric:
		return nil
	case Categorical:
		for i, code := range c.Codes {
			if code < -1 || int(code) >= len(c.Levels) {
				return inputErrorf("column %q: row %d has code %d outside its %d levels", c.Name, i, code, len(c.Levels))
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
//	byte 1       type: 1 numeric, 2 categorical
//	bytes 2..9   n, the number of cells (uint64)
//	numeric:     n float64 values, 8 bytes each (IEEE 754 bits, NaN kept)
//	categorical: the number of levels (uint64); each level as a uint32 byte
//	             length and its UTF-8 bytes; then n int32 codes
//
// The column name is not encoded: callers store it as metadata.
const (
	columnFormatV1       byte = 1
	columnTagNumeric     byte = 1
	columnTagCategorical byte = 2
	columnHeaderLen           = 10
)

// MarshalBinary encodes the column's type and cells (not its name).
func (c *Column) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// AppendBinary appends c's encoding (see MarshalBinary) to b, so that a
// caller encoding many columns can reuse one buffer.
func (c *Column) AppendBinary(b []byte) ([]byte, error) {
	n := c.Len()
	switch c.Type {
	case Numeric:
		start := len(b)
		b = slices.Grow(b, columnHeaderLen+8*n)[:start+columnHeaderLen+8*n]
		b[start], b[start+1] = columnFormatV1, columnTagNumeric
		binary.LittleEndian.PutUint64(b[start+2:], uint64(n))
		out := b[start+columnHeaderLen:]
		for i, v := range c.Num {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
		return b, nil
	case Categorical:
		size := columnHeaderLen + 8 + 4*n
		for _, l := range c.Levels {
			if len(l) > math.MaxUint32 {
				return nil, fmt.Errorf("marshal column %q: level longer than 4 GiB", c.Name)
			}
			size += 4 + len(l)
		}
		b = slices.Grow(b, size)
		b = append(b, columnFormatV1, columnTagCategorical)
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
	case columnTagCategorical:
		return c.unmarshalCategorical(n64, rest)
	default:
		return fmt.Errorf("unmarshal column: unknown column type tag %d", data[1])
	}
}

func (c *Column) unmarshalCategorical(n64 uint64, rest []byte) error {
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
		return fmt.Errorf("unmarshal column: %d trailing bytes after %d categorical cells", uint64(len(rest))-4*n64, n64)
	}
	codes := make([]int32, n64)
	for i := range codes {
		code := int32(binary.LittleEndian.Uint32(rest[4*i:]))
		if code < -1 || int64(code) >= int64(nLevels) {
			return fmt.Errorf("unmarshal column: row %d has code %d outside its %d levels", i, code, nLevels)
		}
		codes[i] = code
	}
	c.Type, c.Num, c.Codes, c.Levels = Categorical, nil, codes, levels
	return nil
}

package ml

import (
	"math"
	"strconv"
)

// MaxAbsValue bounds the magnitude of every number the models take: feature
// values, regression targets, numeric class labels, wherever they come from
// (a CSV import, a prediction's rows, records, csv or packed floats).
// Beyond it, squares and sums of squares (variances, normal equations,
// distances) overflow float64 and every algorithm would learn infinities or
// NaN; such values are refused with ValueError instead.
const MaxAbsValue = 1e150

// Usable reports whether a present value is a number the models can take:
// finite and within ±MaxAbsValue. NaN, which columns use for a missing
// value, is not usable either: callers that allow missing values test for
// it first.
func Usable(v float64) bool { return math.Abs(v) <= MaxAbsValue }

// ValueError is the error for a value that Usable refuses, found at row
// (as RowName or RowAtLine name it) of the named column: value is what the
// client sent (a string is quoted, so that a cell's spaces show).
func ValueError(row, column string, value any) error {
	if s, ok := value.(string); ok {
		value = strconv.Quote(s)
	}
	return inputErrorf("%s, column %q: %v is not a finite number within ±%g", row, column, value, MaxAbsValue)
}

// CheckUsable returns ValueError for the first value, by row then column,
// that Usable refuses in the given rows (0-based and ascending, nil for
// all) of the numeric columns; missing values are fine.
func CheckUsable(cols []*Column, rows []int) error {
	first, at := -1, (*Column)(nil)
	for _, c := range cols {
		if c.Type != Numeric {
			continue
		}
		bad := -1
		if rows == nil {
			for i, v := range c.Num {
				if v == v && !Usable(v) { // NaN is missing
					bad = i
					break
				}
			}
		} else {
			for _, i := range rows {
				if v := c.Num[i]; v == v && !Usable(v) {
					bad = i
					break
				}
			}
		}
		if bad >= 0 && (first < 0 || bad < first) {
			first, at = bad, c
		}
	}
	if at == nil {
		return nil
	}
	return ValueError(RowName(first), at.Name, at.Num[first])
}

// RowName names the 0-based data row i as every error shows rows: counted
// from 1, so that "row 1" is the first row after a CSV header, or the first
// of a prediction's rows or records.
func RowName(i int) string { return "row " + strconv.Itoa(i+1) }

// RowAtLine is RowName for a row read from line (counted from 1) of a text
// input, naming the line too when it is not the row's number, as after a
// header, blank lines or a quoted line break: "row 3 (line 4)".
func RowAtLine(i, line int) string {
	if line == i+1 {
		return RowName(i)
	}
	return RowName(i) + " (line " + strconv.Itoa(line) + ")"
}

// squareSafeScale returns a power of two s such that values of magnitude up
// to big, times s, have squares and sums of any number of squares far
// below overflow; for big up to 2^256 it is 1, so the statistics of
// ordinary data are computed, bit for bit, as without scaling. A power of
// two changes no rounding: (x·s − m·s)² = (x − m)²·s², and a square root
// of a sum of such squares is that of the unscaled sum times s.
func squareSafeScale(big float64) float64 {
	if !(big > 0x1p256) || math.IsInf(big, 0) {
		return 1
	}
	_, exp := math.Frexp(big) // big < 2^exp
	return math.Ldexp(1, -exp)
}

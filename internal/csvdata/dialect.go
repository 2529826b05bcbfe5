package csvdata

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"mlgraph/internal/apperr"
)

// Delimiter is the character between a CSV's fields.
type Delimiter byte

// The delimiters a CSV may use. Detect, the zero Delimiter, asks the
// parser to tell which from the CSV's first lines.
const (
	Detect    Delimiter = 0
	Comma     Delimiter = ','
	Semicolon Delimiter = ';'
	Tab       Delimiter = '\t'
	Pipe      Delimiter = '|'
)

// Delimiters are the delimiters detection considers, in the order
// messages name them.
var Delimiters = []Delimiter{Comma, Semicolon, Tab, Pipe}

// String names the delimiter in messages: ',' or tab.
func (d Delimiter) String() string {
	if d == Tab {
		return "tab"
	}
	return fmt.Sprintf("'%c'", byte(d))
}

// DecimalComma reports whether numbers may be written with a decimal
// comma ("1,5") in a CSV with this delimiter: only with semicolons, which
// spreadsheets write in locales whose decimal separator is the comma. (In
// a tab-separated file "1,234" may as well be a thousand two hundred and
// thirty-four: there it is text.)
func (d Delimiter) DecimalComma() bool { return d == Semicolon }

// ParseDelimiter reads a delimiter written as its character.
func ParseDelimiter(s string) (Delimiter, bool) {
	for _, d := range Delimiters {
		if len(s) == 1 && s[0] == byte(d) {
			return d, true
		}
	}
	return Detect, false
}

// Format is how a CSV is written.
type Format struct {
	Delimiter Delimiter
	// Detected is set if the parser told the delimiter from the first
	// lines, rather than being given it.
	Detected bool
	// DecimalComma is set if numbers are written with a decimal comma
	// (see Delimiter.DecimalComma).
	DecimalComma bool
}

// DecimalSeparator is "," for numbers written with a decimal comma, "."
// otherwise.
func (f Format) DecimalSeparator() string {
	if f.DecimalComma {
		return ","
	}
	return "."
}

// What detection reads of a CSV: at most sampleRecords records (the
// header and the lines after it), in the first sampleBytes bytes.
const (
	sampleBytes   = 64 << 10
	sampleRecords = 20
)

// giveDelimiter ends the messages of a CSV whose delimiter detection
// cannot tell.
const giveDelimiter = "set the delimiter explicitly"

// considered lists Delimiters for messages.
var considered = func() string {
	names := make([]string, len(Delimiters))
	for i, d := range Delimiters {
		names[i] = d.String()
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}()

// tally is how one delimiter splits the first records of a sample.
type tally struct {
	d      Delimiter
	fields []int // fields of each record read, the first line's first
	lines  []int // the line each record starts on
	err    error // the record after the last read does not parse with d
}

// wholeRecords returns the records of text, the start of a CSV, that
// detection reads: whole records only, unless the first is longer than
// text. All is set if the CSV holds no more than text.
func wholeRecords(text []byte, all bool) []byte {
	if !all {
		if k := splitPoint(text); k > 0 {
			return text[:k]
		}
	}
	return text
}

// count splits the first records of sample with d.
func count(sample []byte, d Delimiter) tally {
	r := newReader(bytes.NewReader(sample), d)
	t := tally{d: d}
	for len(t.fields) < sampleRecords {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.err = err
			break
		}
		line, _ := r.FieldPos(0)
		t.fields = append(t.fields, len(record))
		t.lines = append(t.lines, line)
	}
	return t
}

// mismatch returns the index of the first record whose field count
// differs from want, -1 if none does.
func (t tally) mismatch(want int) int {
	for i, n := range t.fields {
		if n != want {
			return i
		}
	}
	return -1
}

// detect tells the delimiter of a CSV with a header row from its start,
// sample (see wholeRecords). A delimiter is a candidate if it splits the header
// into more than one field; if there is one candidate it is the
// delimiter, if there are several the delimiter is the one that gives
// every record of the sample as many fields as the header (and if none
// or several do, the CSV is ambiguous: an error). With no candidate the
// CSV has one column (or a header that does not parse, which the parse
// reports).
func detect(sample []byte) (Delimiter, error) {
	var candidates, consistent []tally
	for _, d := range Delimiters {
		t := count(sample, d)
		if len(t.fields) == 0 || t.fields[0] < 2 {
			continue
		}
		candidates = append(candidates, t)
		if t.err == nil && t.mismatch(t.fields[0]) < 0 {
			consistent = append(consistent, t)
		}
	}
	switch {
	case len(candidates) == 0:
		return Comma, nil
	case len(candidates) == 1:
		return candidates[0].d, nil
	case len(consistent) == 1:
		return consistent[0].d, nil
	}
	var b strings.Builder
	b.WriteString("cannot tell the CSV's delimiter: the header has ")
	listed := candidates
	if len(consistent) > 1 {
		listed = consistent
	}
	for i, t := range listed {
		if i > 0 {
			b.WriteString(" and ")
		}
		fmt.Fprintf(&b, "%d fields with %v", t.fields[0], t.d)
	}
	if len(consistent) > 1 {
		switch lines := len(consistent[0].fields) - 1; lines {
		case 0:
		case 1:
			b.WriteString(", and so has the line after it")
		default:
			fmt.Fprintf(&b, ", and so have each of the %d lines after it", lines)
		}
	} else {
		b.WriteString(", but")
		for i, t := range candidates {
			if i > 0 {
				b.WriteString(";")
			}
			if k := t.mismatch(t.fields[0]); k >= 0 {
				fmt.Fprintf(&b, " with %v line %d has %d", t.d, t.lines[k], t.fields[k])
			} else {
				line, text := parseErrorAt(t.err)
				fmt.Fprintf(&b, " with %v line %d does not parse (%s)", t.d, line, text)
			}
		}
	}
	fmt.Fprintf(&b, " (considered %s); %s", considered, giveDelimiter)
	return Detect, apperr.BadInputf("%s", b.String())
}

// DetectRows tells the delimiter of CSV rows without a header, each of
// which must have fields fields (such as the rows to predict of a model of
// that many features), from the first rows: prefer (if not Detect), or
// else Comma, if it gives every row that many fields (so that rows that
// read with commas read as they always did); otherwise the one other
// delimiter that does, and splits them. If several do, the rows are
// ambiguous: an error. If none does, Comma, so that the parse reports the
// rows at fault.
func DetectRows(text string, fields int, prefer Delimiter) (Delimiter, error) {
	s := wholeRecords([]byte(text[:min(len(text), sampleBytes)]), len(text) <= sampleBytes)
	fits := func(d Delimiter) bool {
		t := count(s, d)
		return t.err == nil && len(t.fields) > 0 && t.mismatch(fields) < 0
	}
	for _, d := range []Delimiter{prefer, Comma} {
		if d != Detect && fits(d) {
			return d, nil
		}
	}
	var fit []Delimiter
	if fields > 1 {
		for _, d := range Delimiters {
			if d != prefer && d != Comma && fits(d) {
				fit = append(fit, d)
			}
		}
	}
	switch len(fit) {
	case 0:
		return Comma, nil
	case 1:
		return fit[0], nil
	}
	names := make([]string, len(fit))
	for i, d := range fit {
		names[i] = d.String()
	}
	return Detect, apperr.BadInputf("cannot tell the CSV's delimiter: the rows have %d values each with %s (considered %s); %s",
		fields, strings.Join(names, " and with "), considered, giveDelimiter)
}

// parseErrorAt splits a csv error into the line at fault (in the sample)
// and what is wrong with it.
func parseErrorAt(err error) (int, string) {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return parseErr.Line, parseErr.Err.Error()
	}
	return 0, err.Error()
}

// ParseDecimalComma reads a trimmed cell written with a decimal comma,
// such as "1,5" or "-0,25e3": one comma and no point.
func ParseDecimalComma(cell string) (float64, bool) {
	i := strings.IndexByte(cell, ',')
	if i < 0 || strings.IndexByte(cell[i+1:], ',') >= 0 || strings.IndexByte(cell, '.') >= 0 {
		return 0, false
	}
	var buf [64]byte
	if len(cell) > len(buf) {
		return 0, false
	}
	b := append(buf[:0], cell...)
	b[i] = '.'
	s := bytesString(b)
	if v, ok := parseDecimal(s); ok {
		return v, true
	}
	return parseNumber(s)
}

// HasDecimalPoint reports whether a cell that reads as a number is written
// with a decimal point.
func HasDecimalPoint(cell string) bool { return strings.IndexByte(cell, '.') >= 0 }

// Cell names a cell in errors.
type Cell struct {
	Row    int // 1-based data row
	Column string
	Text   string
}

// MixedDecimalsError reports a CSV whose numbers are written with a
// decimal comma, at comma, and with a decimal point, at point.
func MixedDecimalsError(comma, point Cell) error {
	return apperr.BadInputf("row %d, column %q: %q has a decimal comma but row %d, column %q: %q a decimal point: "+
		"a CSV with %v between fields must write all its decimals one way", comma.Row, comma.Column, comma.Text, point.Row, point.Column, point.Text, Semicolon)
}

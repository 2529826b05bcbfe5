// Package csvdata parses CSV text into typed ml columns, inferring each
// column's type from its cells.
//
// A column whose present cells all read as numbers is NUMERIC; any other is
// TEXT if its cells read as free text (see looksLikeText) and CATEGORICAL
// otherwise. Cells that are empty or hold a missing-value marker (NA,
// null, ... as pandas reads them) are missing in every kind. A caller can
// override the inferred type with ml.Column.As. Fields are separated by
// commas, semicolons, tabs or pipes, as the caller says or as detected
// from the first lines (see detect); with semicolons numbers may have a
// decimal comma (see Delimiter.DecimalComma).
//
// The text is read once, collecting numeric columns straight into float64s
// rather than keeping every cell as a string; only a column found not to be
// numeric after some of its numbers were read is read again, for its text.
// The data rows are parsed in parallel, in chunks of whole records (see
// chunks.go), and streamed: an input read from an io.Reader is never held
// whole. Lines without quotes are split in place (see fastRecords), so
// that a numeric row allocates nothing: a cell's string shares the read
// buffer and is copied only when kept (a new level, a non-finite number's
// text). Plain decimal numbers are read by parseDecimal, exactly as
// strconv.ParseFloat reads them but faster; strconv reads the rest.
package csvdata

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unsafe"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
)

// Parse parses CSV text with a header row into one column per header
// field, with fields separated by delimiter, or by the delimiter detected
// from the first lines if it is Detect (see detect). It returns how the
// text is written. Every error is BAD_USER_INPUT, naming the line or row
// and column at fault.
func Parse(text string, delimiter Delimiter) ([]*ml.Column, Format, error) {
	return defaultOptions.parseText(text, delimiter)
}

func (o options) parseText(text string, delimiter Delimiter) ([]*ml.Column, Format, error) {
	text = strings.TrimPrefix(text, "\ufeff") // a BOM some editors write
	size := sizeHint{bytes: int64(len(text)), maxRows: strings.Count(text, "\n") + 1}
	// Read in place: the records' strings share text, which is never written.
	data := unsafe.Slice(unsafe.StringData(text), len(text))
	format, err := formatOf(delimiter, func() []byte { return wholeRecords(data[:min(len(data), sampleBytes)], len(data) <= sampleBytes) })
	if err != nil {
		return nil, format, err
	}
	again := func() records { return newDataRecords(data, format.Delimiter) }
	return o.parse(newDataRecords(data, format.Delimiter), again, size, format)
}

// ParseReader is Parse for a seekable input of size bytes (0 if unknown),
// such as an uploaded file: it streams the rows, and reads the input again
// from the start only for columns that turn out categorical after some of
// their numbers were read, so memory holds the parsed columns, never the
// text. A delimiter to detect is detected from the first bytes, read ahead
// in the read buffer.
func ParseReader(r io.ReadSeeker, size int64, delimiter Delimiter) ([]*ml.Column, Format, error) {
	return defaultOptions.parseReader(r, size, delimiter)
}

func (o options) parseReader(r io.ReadSeeker, size int64, delimiter Delimiter) ([]*ml.Column, Format, error) {
	open := func() *bufio.Reader {
		var in io.Reader = r
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			in = errReader{fmt.Errorf("rewind the CSV input: %w", err)}
		}
		br := bufio.NewReaderSize(in, bufferSize) // used as is by newFastRecords
		if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
			br.Discard(3)
		}
		return br
	}
	br := open()
	format, err := formatOf(delimiter, func() []byte {
		start, err := br.Peek(sampleBytes) // err: the input holds less, or a read failed (the parse reports it)
		return wholeRecords(start, err != nil)
	})
	if err != nil {
		return nil, format, err
	}
	again := func() records { return newFastRecords(open(), bufferSize, format.Delimiter) }
	return o.parse(newFastRecords(br, bufferSize, format.Delimiter), again, sizeHint{bytes: size}, format)
}

// formatOf is the format of a CSV with the given delimiter, detected from
// the start of the CSV that start returns if it is Detect.
func formatOf(delimiter Delimiter, start func() []byte) (Format, error) {
	if delimiter != Detect {
		return Format{Delimiter: delimiter}, nil
	}
	d, err := detect(start())
	return Format{Delimiter: d, Detected: true}, err
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// sizeHint describes the input, to size the columns once rather than grow
// them by doubling, which would need up to twice the memory.
type sizeHint struct {
	bytes   int64 // length of the input, 0 if unknown
	maxRows int   // at least the number of rows (lines), 0 if unknown
}

// sampleRows is how many rows are read before sizing the columns from the
// bytes they took.
const sampleRows = 1000

// capacity estimates the number of rows from the first rows, which took
// offset bytes, with some slack (rows vary in length); 0 if unknown.
func (h sizeHint) capacity(rows int, offset int64) int {
	if h.bytes <= 0 || offset <= 0 {
		return 0
	}
	n := int(float64(rows) * float64(h.bytes) / float64(offset) * 1.1)
	if h.maxRows > 0 {
		n = min(n, h.maxRows)
	}
	return n
}

// parse parses the CSV that r reads, written as format says but for its
// decimal separator: its header, then the data rows in parallel (see
// parseChunks), from the rest of r's input. A column found not numeric
// after some of its numbers were read is read again, with the records that
// again reads from the start of the input. It returns format with the
// decimal separator found.
func (o options) parse(r *fastRecords, again func() records, size sizeHint, format Format) ([]*ml.Column, Format, error) {
	columns, err := readHeader(r, format.Delimiter)
	if err != nil {
		return nil, format, err
	}
	var src source
	if r.in == nil {
		src = &textSource{text: r.data, size: o.chunkSize}
	} else {
		src = newReaderSource(r.in, o.chunkSize, 4*maxWorkers)
	}
	rows, err := o.parseChunks(src, columns, size, r.line, format.Delimiter)
	if err != nil {
		return nil, format, err
	}
	if rows == 0 {
		return nil, format, apperr.BadInputf("no data rows: the CSV has only a header")
	}
	if err := checkUsable(columns); err != nil {
		return nil, format, err
	}
	if format.DecimalComma, err = decimalComma(columns); err != nil {
		return nil, format, err
	}
	if err := rereadText(again, columns, rows); err != nil {
		return nil, format, err
	}
	result := make([]*ml.Column, len(columns))
	for i, c := range columns {
		result[i] = c.column()
	}
	return result, format, nil
}

func newReader(in io.Reader, comma Delimiter) *csv.Reader {
	r := csv.NewReader(in)
	r.Comma = rune(comma)
	r.FieldsPerRecord = -1 // checked by us, for a clearer message
	r.ReuseRecord = true   // we keep no field strings but for new levels
	return r
}

// csvError reports a malformed CSV (say, a stray quote).
func csvError(err error) error {
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		return apperr.BadInputf("invalid CSV: %v", parseErr)
	}
	return apperr.BadInputf("invalid CSV: %v", err)
}

// readHeader reads the header row of a CSV with the given delimiter and
// makes its columns' builders.
func readHeader(r records, delimiter Delimiter) ([]*columnBuilder, error) {
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, apperr.BadInputf("empty CSV: a header row is required")
	}
	if err != nil {
		return nil, csvError(err)
	}
	return newColumns(header, delimiter.DecimalComma())
}

// newColumns makes the builders of the columns a header names, reading
// decimal commas if decimalComma is set.
func newColumns(header []string, decimalComma bool) ([]*columnBuilder, error) {
	columns := make([]*columnBuilder, len(header))
	seen := make(map[string]int, len(header))
	for i, name := range header {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, apperr.BadInputf("header: column %d has no name", i+1)
		}
		if j, dup := seen[name]; dup {
			return nil, apperr.BadInputf("header: duplicate column name %q (columns %d and %d)", name, j+1, i+1)
		}
		seen[name] = i
		columns[i] = &columnBuilder{name: strings.Clone(name), kind: numeric, decimalComma: decimalComma}
	}
	return columns, nil
}

// checkUsable fails on the first number that ml.Usable refuses (±Inf, or
// beyond ±ml.MaxAbsValue), by row then column, in a column that stayed
// numeric: the models cannot use it, and it is a number, so it is no
// category either. (In a categorical column "inf" is just text.)
func checkUsable(columns []*columnBuilder) error {
	var first *columnBuilder
	for _, c := range columns {
		if c.kind == numeric && c.badRow > 0 && (first == nil || c.badRow < first.badRow) {
			first = c
		}
	}
	if first != nil {
		return apperr.BadInputf("%v", ml.ValueError(ml.RowName(first.badRow-1), first.name, first.badText))
	}
	return nil
}

// firstCell is the first cell of a column that is some way.
type firstCell struct {
	row  int // 1-based data row, 0 if none
	text string
}

// set sets the cell to that of 0-based data row row.
func (f *firstCell) set(row int, cell string) {
	*f = firstCell{row: row + 1, text: strings.Clone(cell)}
}

// orLater is f if set, else later, the first cell of rows that follow
// rows rows.
func (f firstCell) orLater(later firstCell, rows int) firstCell {
	if f.row > 0 || later.row == 0 {
		return f
	}
	return firstCell{row: rows + later.row, text: later.text}
}

// decimalComma reports whether the numbers of columns that stayed numeric
// are written with decimal commas, and fails if some are written with a
// comma and some with a point: "1.234" is then as likely to be 1234.
func decimalComma(columns []*columnBuilder) (bool, error) {
	var comma, point *columnBuilder
	for _, c := range columns {
		if c.kind != numeric {
			continue
		}
		if c.comma.row > 0 && (comma == nil || c.comma.row < comma.comma.row) {
			comma = c
		}
		if c.point.row > 0 && (point == nil || c.point.row < point.point.row) {
			point = c
		}
	}
	if comma != nil && point != nil {
		return false, MixedDecimalsError(Cell{comma.comma.row, comma.name, comma.comma.text}, Cell{point.point.row, point.name, point.point.text})
	}
	return comma != nil, nil
}

// rereadText reads the text of the columns that turned categorical after
// some of their numbers were read.
func rereadText(again func() records, columns []*columnBuilder, rows int) error {
	var reread []int
	for i, c := range columns {
		if c.kind == needsText {
			c.toCategorical(0)
			c.grow(rows)
			reread = append(reread, i)
		}
	}
	if len(reread) == 0 {
		return nil
	}
	r := again()
	if _, err := r.Read(); err != nil { // the header
		return csvError(err)
	}
	if err := addText(r, columns, reread); err != nil {
		return csvError(err)
	}
	return nil
}

type kind int

const (
	numeric     kind = iota // every present cell so far is a number
	categorical             // collecting codes, from the first row on
	needsText               // not numeric, but text of rows read as numbers is lost
)

// columnBuilder collects one column's cells as they are read.
type columnBuilder struct {
	name string
	kind kind

	// numeric
	num     []float64
	numbers int    // cells read as numbers, to know if any text is lost
	badRow  int    // 1-based row of the first number ml.Usable refuses, 0 if none
	badText string // that cell's text
	// decimalComma: numbers may be written with a decimal comma (see
	// Delimiter.DecimalComma); then comma and point are the first numbers
	// written with a decimal comma and with a decimal point.
	decimalComma bool
	comma, point firstCell

	// categorical
	codes  []int32
	levels []string
	index  map[string]int32 // level → code
}

// add adds the cell of 0-based data row row. cell may share a buffer that
// the next record overwrites: whatever is kept of it must be a copy.
func (c *columnBuilder) add(row int, cell string) {
	switch c.kind {
	case categorical:
		c.addLevel(cell)
	case numeric:
		if v, ok := parseDecimal(cell); ok { // most numbers, and always finite
			if !ml.Usable(v) && c.badRow == 0 {
				c.badRow, c.badText = row+1, strings.Clone(cell)
			}
			c.num = append(c.num, v)
			c.numbers++
			if c.decimalComma && c.point.row == 0 && HasDecimalPoint(cell) {
				c.point.set(row, cell)
			}
			return
		}
		cell = strings.TrimSpace(cell)
		var v float64
		var ok, comma bool
		if c.decimalComma && strings.IndexByte(cell, ',') >= 0 {
			v, ok = ParseDecimalComma(cell) // strconv reads no commas
			comma = ok
		} else {
			v, ok = parseNumber(cell)
		}
		if ok {
			if v == v && !ml.Usable(v) && c.badRow == 0 { // NaN is missing
				c.badRow, c.badText = row+1, strings.Clone(cell)
			}
			c.num = append(c.num, v)
			c.numbers++
			switch {
			case comma && c.comma.row == 0:
				c.comma.set(row, cell)
			case !comma && c.decimalComma && c.point.row == 0 && HasDecimalPoint(cell):
				c.point.set(row, cell)
			}
			return
		}
		if isMissing(cell) {
			c.num = append(c.num, math.NaN())
			return
		}
		if c.numbers > 0 {
			// The text of those numbers is gone ("01" read as 1): read
			// the column again once this pass is over.
			c.kind, c.num = needsText, nil
			return
		}
		// All missing so far: nothing is lost by switching now.
		c.toCategorical(row)
		c.addLevel(cell)
	}
}

// toCategorical switches the column to categorical, with its first rows
// missing.
func (c *columnBuilder) toCategorical(rows int) {
	c.kind = categorical
	c.codes = make([]int32, rows, max(rows, cap(c.num)))
	for i := range c.codes {
		c.codes[i] = -1
	}
	c.num = nil
	c.index = make(map[string]int32)
}

// grow makes room for n rows in all.
func (c *columnBuilder) grow(n int) {
	switch {
	case c.kind == numeric && n > len(c.num):
		c.num = slices.Grow(c.num, n-len(c.num))
	case c.kind == categorical && n > len(c.codes):
		c.codes = slices.Grow(c.codes, n-len(c.codes))
	}
}

func (c *columnBuilder) addLevel(cell string) {
	cell = strings.TrimSpace(cell)
	if isMissing(cell) {
		c.codes = append(c.codes, -1)
		return
	}
	code, ok := c.index[cell]
	if !ok {
		// A copy: cell shares its memory with the read buffer or record.
		level := strings.Clone(cell)
		code = int32(len(c.levels))
		c.levels = append(c.levels, level)
		c.index[level] = code
	}
	c.codes = append(c.codes, code)
}

func (c *columnBuilder) column() *ml.Column {
	if c.kind == categorical {
		if looksLikeText(c.codes, c.levels) {
			return ml.NewText(c.name, c.codes, c.levels)
		}
		return ml.NewCategorical(c.name, c.codes, c.levels)
	}
	return ml.NewNumeric(c.name, c.num)
}

// The thresholds of looksLikeText.
const (
	// textMinMeanBytes: a sentence or two. Labels, names, codes, dates
	// and most categories are shorter; product names and addresses may
	// pass it, and need the other two tests to stay categorical.
	textMinMeanBytes = 30
	// textMinSpacedShare: prose has words. Long identifiers, URLs, hashes
	// and paths have no spaces.
	textMinSpacedShare = 0.5
	// textMinDistinctShare: labels repeat (even long ones, such as survey
	// answers), free text rarely does.
	textMinDistinctShare = 0.5
)

// looksLikeText reports whether a string column reads as free text rather
// than labels: over its present cells, a mean length of at least
// textMinMeanBytes bytes, at least textMinSpacedShare of them holding
// whitespace between words (cells are trimmed), and at least
// textMinDistinctShare of them distinct. A TEXT column is vectorized into
// word weights by the models; a CATEGORICAL one is one-hot encoded, one
// column per distinct value, which is useless for text that never
// repeats.
func looksLikeText(codes []int32, levels []string) bool {
	if len(levels) == 0 {
		return false
	}
	counts := make([]int, len(levels))
	present := 0
	for _, code := range codes {
		if code >= 0 {
			counts[code]++
			present++
		}
	}
	if float64(len(levels)) < textMinDistinctShare*float64(present) {
		return false
	}
	bytes, spaced := 0, 0
	for k, level := range levels {
		bytes += counts[k] * len(level)
		if strings.IndexFunc(level, unicode.IsSpace) >= 0 {
			spaced += counts[k]
		}
	}
	return float64(bytes) >= textMinMeanBytes*float64(present) &&
		float64(spaced) >= textMinSpacedShare*float64(present)
}

// parseNumber reads a trimmed cell as a number. NaN (from "NaN" in any
// case) is missing either way. Go's own number syntax is not CSV's: "1_000"
// and hexadecimal "0x1p3" are text, as they would be to other CSV readers.
func parseNumber(cell string) (float64, bool) {
	for i := 0; i < len(cell); i++ {
		if b := cell[i]; b == '_' || b == 'x' || b == 'X' {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(cell, 64)
	// Out of range is a number all the same: ±Inf, reported as non-finite.
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return v, true
}

// isMissing reports whether a trimmed cell is a missing value: empty, or one
// of pandas' default missing-value markers.
func isMissing(cell string) bool {
	switch cell {
	case "", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None",
		"<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN":
		return true
	}
	return false
}

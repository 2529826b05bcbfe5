package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"unsafe"
)

// records reads CSV records, as encoding/csv does.
type records interface {
	// Read returns the next record, io.EOF at the end. Its slice and
	// strings are valid only until the next call: a string kept must be
	// copied.
	Read() ([]string, error)
	// Line is the line the record last read starts on.
	Line() int
	// InputOffset is the number of bytes of input read so far.
	InputOffset() int64
}

// csvRecords reads records with encoding/csv, which allocates each
// record's text.
type csvRecords struct{ *csv.Reader }

func newCSVRecords(in io.Reader) records { return csvRecords{newReader(in, Comma)} }

func (r csvRecords) Line() int {
	line, _ := r.FieldPos(0)
	return line
}

// bufferSize is the buffer of a fastRecords; longer lines are copied.
const bufferSize = 1 << 20

// fastRecords reads records as encoding/csv does (with FieldsPerRecord -1,
// ReuseRecord, Comma the delimiter and other options default), without
// allocating for a line that holds no quote: its fields are split in
// place, as strings sharing the read buffer. A record with quotes is
// handed to encoding/csv.
type fastRecords struct {
	comma   Delimiter
	in      *bufio.Reader // nil when reading data
	data    []byte        // the input left, if in is nil
	long    []byte        // a line longer than in's buffer
	fields  []string      // the last record, when split here
	line    int           // lines read
	offset  int64         // bytes read
	recLine int           // line the last record starts on

	// Records with quotes: their lines are copied into quoted and read by
	// csv from feed. csv numbers lines from its first; csvLines is how
	// many it was given so far.
	quoted   []byte
	feed     *bytes.Reader
	csv      *csv.Reader
	csvLines int
}

// newFastRecords reads in, with fields separated by comma, with a buffer
// of size bytes (a *bufio.Reader at least that large is used as is).
func newFastRecords(in io.Reader, size int, comma Delimiter) *fastRecords {
	return &fastRecords{comma: comma, in: bufio.NewReaderSize(in, size)}
}

// newDataRecords reads the records of data, with fields separated by
// comma; it does not copy data.
func newDataRecords(data []byte, comma Delimiter) *fastRecords {
	return &fastRecords{comma: comma, data: data}
}

// reset reads data from the start, as a new fastRecords would.
func (r *fastRecords) reset(data []byte, comma Delimiter) {
	*r = fastRecords{comma: comma, data: data, fields: r.fields[:0], quoted: r.quoted[:0]}
}

func (r *fastRecords) Line() int          { return r.recLine }
func (r *fastRecords) InputOffset() int64 { return r.offset }

// readLine returns the next line with its line ending, if any, valid until
// the next call; io.EOF at the end of the input.
func (r *fastRecords) readLine() ([]byte, error) {
	if r.in == nil {
		if len(r.data) == 0 {
			return nil, io.EOF
		}
		n := bytes.IndexByte(r.data, '\n') + 1
		if n == 0 {
			n = len(r.data)
		}
		line := r.data[:n]
		r.data = r.data[n:]
		r.line++
		r.offset += int64(n)
		return line, nil
	}
	line, err := r.in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.in.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err == io.EOF && len(line) > 0 {
		err = nil // the last line, without a newline
	}
	if err != nil {
		return nil, err
	}
	r.line++
	r.offset += int64(len(line))
	return line, nil
}

var quote = []byte{'"'}

func (r *fastRecords) Read() ([]string, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(line, '"') >= 0 {
			return r.readQuoted(line)
		}
		// Line endings as encoding/csv sees them: \n, \r\n, or a \r
		// ending the input.
		n := len(line)
		if line[n-1] == '\n' {
			n--
			if n > 0 && line[n-1] == '\r' {
				n--
			}
		} else if line[n-1] == '\r' {
			n--
		}
		if n == 0 {
			continue // a blank line
		}
		r.recLine = r.line
		text := line[:n]
		r.fields = r.fields[:0]
		for {
			i := bytes.IndexByte(text, byte(r.comma))
			if i < 0 {
				r.fields = append(r.fields, bytesString(text))
				return r.fields, nil
			}
			r.fields = append(r.fields, bytesString(text[:i]))
			text = text[i+1:]
		}
	}
}

// readQuoted reads the record that starts with line, which holds a quote,
// with encoding/csv. A quoted field may span lines: the record ends with
// the first line after which the count of quotes is even, for within a
// quoted field it is odd (an opening quote, then pairs). If the CSV is
// malformed, csv reports the same error as on the whole input.
func (r *fastRecords) readQuoted(line []byte) ([]string, error) {
	start := r.line
	r.quoted = append(r.quoted[:0], line...)
	quotes := bytes.Count(line, quote)
	for quotes%2 == 1 {
		line, err := r.readLine()
		if errors.Is(err, io.EOF) {
			break // csv reports the open quote
		}
		if err != nil {
			return nil, err
		}
		r.quoted = append(r.quoted, line...)
		quotes += bytes.Count(line, quote)
	}
	if r.csv == nil {
		r.feed = bytes.NewReader(nil)
		r.csv = newReader(r.feed, r.comma)
	}
	r.feed.Reset(r.quoted)
	shift := start - 1 - r.csvLines // csv's line numbers to ours
	r.csvLines += r.line - start + 1
	record, err := r.csv.Read()
	if err != nil {
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			parseErr.StartLine += shift
			parseErr.Line += shift
		}
		return nil, err
	}
	csvLine, _ := r.csv.FieldPos(0)
	r.recLine = csvLine + shift
	return record, nil
}

// bytesString returns b as a string without copying it: the string must
// not be kept past b's next change.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

package csvdata

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"mlgraph/internal/apperr"
)

// The data rows are parsed in parallel, in chunks: a source cuts the input
// after the header into chunks of whole records, in order; workers parse
// chunks into chunk-sized columns; and the caller's goroutine appends each
// chunk's columns, in input order, to the dataset's. Memory holds the
// parsed columns plus a few chunks in flight, never the whole text (unless
// the caller already holds it, as Parse's does).
//
// A chunk ends after a newline outside quotes. As fastRecords reads, a
// record ends with the first line after which its count of quotes is even,
// so a newline is the end of a record exactly when the count of quotes
// from the start of the data rows up to it is even: each chunk is read
// alone, by a fastRecords of its own, and gives the records that reading
// the whole input would.
//
// Type inference works per chunk as on the whole input: a column stays
// numeric while its cells are numbers or missing. A column that meets text
// in a chunk is CATEGORICAL for good; workers then read it as text in the
// chunks they start afterwards, and the merge reads it again in the few
// chunks already read as numbers. If some chunk before the one with text
// held numbers, their text is lost, and the column is read again from the
// start once all chunks are in, as the sequential parser did.

// options tune the parallel parse (tests use tiny chunks).
type options struct {
	chunkSize int // bytes of input per chunk, if a record ends within them
	workers   int // goroutines parsing chunks; 0 for GOMAXPROCS
	// isolated keeps workers from learning which columns met text in
	// other chunks (tests: then the merge reads chunks again for text).
	isolated bool
}

var defaultOptions = options{chunkSize: 1 << 20}

// maxWorkers bounds the default number of workers.
const maxWorkers = 8

// source hands out the data rows in chunks of whole records, in order.
type source interface {
	// next returns the next chunk; io.EOF after the last.
	next() ([]byte, error)
	// release hands back a chunk's memory once the chunk is no longer used.
	release([]byte)
}

var newline = []byte{'\n'}

// splitPoint returns the length of the longest prefix of b, which starts
// outside quotes, that ends with a newline outside quotes; 0 if none does.
func splitPoint(b []byte) int {
	quotes := bytes.Count(b, quote)
	end, after := len(b), 0 // quotes after end
	for {
		i := bytes.LastIndexByte(b[:end], '\n')
		if i < 0 {
			return 0
		}
		if quotes > 0 {
			after += bytes.Count(b[i+1:end], quote)
		}
		if (quotes-after)%2 == 0 {
			return i + 1
		}
		end = i
	}
}

// textSource cuts text held in memory, without copying it.
type textSource struct {
	text []byte
	size int
}

func (s *textSource) next() ([]byte, error) {
	if len(s.text) == 0 {
		return nil, io.EOF
	}
	// A record longer than size (say, a long quoted field) takes a larger
	// window, doubled until one holds it.
	for n := s.size; ; n *= 2 {
		k := len(s.text)
		if n < k {
			k = splitPoint(s.text[:n])
			if k == 0 {
				continue
			}
		}
		chunk := s.text[:k:k]
		s.text = s.text[k:]
		return chunk, nil
	}
}

func (s *textSource) release([]byte) {}

// readerSource reads chunks from a stream into buffers of size bytes,
// reused once released (a record longer than that takes a larger buffer).
type readerSource struct {
	in   io.Reader
	size int
	buf  []byte      // the start of the next chunk: what followed the last
	free chan []byte // released buffers
	eof  bool
}

func newReaderSource(in io.Reader, size, buffers int) *readerSource {
	s := &readerSource{in: in, size: size, free: make(chan []byte, buffers)}
	s.buf = s.buffer()
	return s
}

func (s *readerSource) buffer() []byte {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]byte, 0, s.size)
	}
}

func (s *readerSource) release(b []byte) {
	if cap(b) != s.size {
		return // a larger buffer, for a long record: let it go
	}
	select {
	case s.free <- b[:0]:
	default:
	}
}

func (s *readerSource) next() ([]byte, error) {
	buf := s.buf
	for !s.eof {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // no record ends within it: grow
		}
		n, err := io.ReadFull(s.in, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			s.eof = true
		case err != nil:
			s.buf = buf
			return nil, err
		default:
			if k := splitPoint(buf); k > 0 {
				s.buf = append(s.buffer(), buf[k:]...)
				return buf[:k], nil // with buf's capacity, to be released
			}
		}
	}
	s.buf = nil
	if len(buf) == 0 {
		return nil, io.EOF
	}
	return buf, nil
}

// chunk is one chunk of input on its way through the workers.
type chunk struct {
	data []byte
	err  error // reading it failed
	res  *chunkResult
	done chan struct{} // closed once res is ready
}

// chunkResult is what a worker made of a chunk.
type chunkResult struct {
	columns []*columnBuilder // rows of the chunk only
	rows    int
	lines   int   // lines the chunk holds
	err     error // first error, with lines counted from the chunk's start
	records fastRecords
	text    []int
}

// fieldCountError is a record with the wrong number of fields.
type fieldCountError struct{ line, want, got int }

func (e *fieldCountError) Error() string {
	return fmt.Sprintf("line %d: expected %d fields as in the header, found %d", e.line, e.want, e.got)
}

// panicError is a panic while parsing a chunk.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("panic while parsing CSV: %v\n%s", e.value, e.stack)
}

// chunkError turns the error of a chunk that follows the input's first
// before lines, with lines counted from the chunk's start, into the error
// reading the whole input gives.
func chunkError(err error, before int) error {
	var panicked *panicError
	if errors.As(err, &panicked) {
		return err // internal, not the input's fault
	}
	var count *fieldCountError
	if errors.As(err, &count) {
		return apperr.BadInputf("line %d: expected %d fields as in the header, found %d", count.line+before, count.want, count.got)
	}
	var parseErr *csv.ParseError
	if errors.As(err, &parseErr) {
		parseErr.StartLine += before
		parseErr.Line += before
	}
	return csvError(err)
}

// pipeline parses the chunks of one input.
type pipeline struct {
	comma  Delimiter
	header []*columnBuilder
	// text[i] is set once column i met text: later chunks read it as text
	// (unless isolated).
	text     []atomic.Bool
	isolated bool

	free chan *chunkResult
}

// parseChunks parses the data rows, with fields separated by comma, that
// src hands out into columns (fresh from newColumns), following
// headerLines lines of header, and returns the number of rows.
func (o options) parseChunks(src source, columns []*columnBuilder, size sizeHint, headerLines int, comma Delimiter) (int, error) {
	workers := o.workers
	if workers <= 0 {
		// More would only hold more chunks in memory: a few cores parse
		// faster than most inputs can be read.
		workers = min(runtime.GOMAXPROCS(0), maxWorkers)
	}
	inFlight := 2 * workers // chunks read ahead of the merge
	p := &pipeline{comma: comma, header: columns, text: make([]atomic.Bool, len(columns)), isolated: o.isolated,
		free: make(chan *chunkResult, inFlight+workers+1)}

	ordered := make(chan *chunk, inFlight)
	jobs := make(chan *chunk)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ordered)
		defer close(jobs)
		for {
			data, err := next(src)
			if errors.Is(err, io.EOF) {
				return
			}
			c := &chunk{data: data, err: err, done: make(chan struct{})}
			if err != nil {
				close(c.done)
			} else {
				c.res = p.result()
			}
			select {
			case ordered <- c:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
			select {
			case jobs <- c:
			case <-stop:
				close(c.done)
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				p.parse(c)
				close(c.done)
			}
		})
	}
	defer wg.Wait()
	defer close(stop)

	m := merge{comma: comma, columns: columns, size: size, lines: headerLines}
	for c := range ordered {
		<-c.done
		if c.err != nil {
			return 0, chunkError(c.err, m.lines)
		}
		if err := m.add(c.res, c.data); err != nil {
			return 0, err
		}
		src.release(c.data)
		p.release(c.res)
	}
	return m.rows, nil
}

// next is src.next, with a panic as an error.
func next(src source) (data []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			data, err = nil, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return src.next()
}

// result returns a chunkResult to fill.
func (p *pipeline) result() *chunkResult {
	select {
	case r := <-p.free:
		return r
	default:
	}
	r := &chunkResult{columns: make([]*columnBuilder, len(p.header))}
	for i, c := range p.header {
		r.columns[i] = &columnBuilder{name: c.name, decimalComma: c.decimalComma}
	}
	return r
}

func (p *pipeline) release(r *chunkResult) {
	select {
	case p.free <- r:
	default:
	}
}

// parse parses a chunk: it is parse's loop over records, on the chunk.
func (p *pipeline) parse(c *chunk) {
	res := c.res
	res.rows, res.lines, res.err = 0, 0, nil
	defer func() {
		// A bug must fail this parse, not the process, as it would in
		// the caller's goroutine.
		if v := recover(); v != nil {
			res.err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	lines := bytes.Count(c.data, newline) + 1 // at least the rows
	for i, col := range res.columns {
		col.reset(!p.isolated && p.text[i].Load())
		col.grow(lines)
	}
	r := &res.records
	r.reset(c.data, p.comma)
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = err
			return
		}
		if len(record) != len(res.columns) {
			res.err = &fieldCountError{line: r.Line(), want: len(res.columns), got: len(record)}
			return
		}
		for i, col := range res.columns {
			col.add(res.rows, record[i])
		}
		res.rows++
	}
	res.lines = r.line
	// Columns that met text after numbers: read the chunk again for them.
	res.text = res.text[:0]
	for i, col := range res.columns {
		if col.kind == needsText {
			col.toCategorical(0)
			col.grow(res.rows)
			res.text = append(res.text, i)
		}
		if col.kind == categorical && !p.text[i].Load() {
			p.text[i].Store(true)
		}
	}
	if len(res.text) > 0 {
		r.reset(c.data, p.comma)
		if err := addText(r, res.columns, res.text); err != nil {
			res.err = err // not expected: the chunk was read once already
		}
	}
}

// reset empties a chunk's column for the next chunk, keeping its memory,
// and makes it categorical from the start if text is set.
func (c *columnBuilder) reset(text bool) {
	if !text {
		*c = columnBuilder{name: c.name, kind: numeric, num: c.num[:0], decimalComma: c.decimalComma}
		return
	}
	index := c.index
	if index == nil {
		index = make(map[string]int32)
	}
	clear(index)
	*c = columnBuilder{name: c.name, kind: categorical, codes: c.codes[:0], levels: c.levels[:0], index: index, decimalComma: c.decimalComma}
}

// merge appends chunks' columns to the dataset's, in input order.
type merge struct {
	comma   Delimiter
	columns []*columnBuilder
	size    sizeHint
	rows    int   // rows merged so far
	lines   int   // lines before the next chunk
	bytes   int64 // bytes of data rows merged so far
	sized   bool  // the columns were sized from the rows read
	remap   []int32
	text    []int
}

func (m *merge) add(res *chunkResult, data []byte) error {
	if res.err != nil {
		return chunkError(res.err, m.lines)
	}
	m.bytes += int64(len(data))
	if rows := m.rows + res.rows; !m.sized && rows >= sampleRows {
		// Sized from rows actually read, so that memory stays in
		// proportion to the data, however many lines the input claims.
		n := m.size.capacity(rows, m.bytes)
		for _, c := range m.columns {
			c.grow(n)
		}
		m.sized = true
	}
	m.text = m.text[:0]
	for i, c := range m.columns {
		part := res.columns[i]
		switch c.kind {
		case numeric:
			if part.kind == numeric {
				c.num = append(c.num, part.num...)
				c.numbers += part.numbers
				if c.badRow == 0 && part.badRow > 0 {
					c.badRow, c.badText = m.rows+part.badRow, part.badText
				}
				c.comma = c.comma.orLater(part.comma, m.rows)
				c.point = c.point.orLater(part.point, m.rows)
				continue
			}
			if c.numbers > 0 {
				// The text of those numbers is gone: read the column
				// again once all chunks are in.
				c.kind, c.num = needsText, nil
				continue
			}
			// All missing so far: nothing is lost by switching now.
			c.toCategorical(m.rows)
			m.addLevels(c, part)
		case categorical:
			if part.kind == categorical {
				m.addLevels(c, part)
			} else {
				m.text = append(m.text, i) // read as numbers before the worker knew
			}
		}
	}
	if len(m.text) > 0 {
		if err := addText(newDataRecords(data, m.comma), m.columns, m.text); err != nil {
			return chunkError(err, m.lines)
		}
	}
	m.rows += res.rows
	m.lines += res.lines
	return nil
}

// addLevels appends a chunk's categorical column to c, a categorical
// column, renumbering its levels.
func (m *merge) addLevels(c, part *columnBuilder) {
	m.remap = m.remap[:0]
	for _, level := range part.levels { // already copies of the text
		code, ok := c.index[level]
		if !ok {
			code = int32(len(c.levels))
			c.levels = append(c.levels, level)
			c.index[level] = code
		}
		m.remap = append(m.remap, code)
	}
	for _, code := range part.codes {
		if code >= 0 {
			code = m.remap[code]
		}
		c.codes = append(c.codes, code)
	}
}

// addText adds, to each of the given columns, its cell of every record r
// reads (which were all read before, so are known to be well formed).
func addText(r records, columns []*columnBuilder, which []int) error {
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, i := range which {
			columns[i].addLevel(record[i])
		}
	}
}

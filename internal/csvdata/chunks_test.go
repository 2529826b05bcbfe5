package csvdata

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
)

func TestSplitPoint(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{"abc", 0},
		{"\n", 1},
		{"a\nb", 2},
		{"a\nb\n", 4},
		{"a\r\nb\r\n", 6},
		{"a\nb\nc", 4},
		{`"x` + "\n" + `y"` + "\n", 6},  // a newline inside quotes, then one after
		{`"x` + "\n" + `y`, 0},          // the only newline is inside quotes
		{"1\n" + `"x` + "\n" + `y`, 2},  // the last newline is inside quotes
		{`"a""b"` + "\n" + `"c`, 7},     // doubled quotes inside a field
		{`"a` + "\n" + `""b` + "\n", 0}, // still inside quotes at the end
		{`"a` + "\n" + `""b"` + "\n", 8},
	} {
		if got := splitPoint([]byte(tc.text)); got != tc.want {
			t.Errorf("splitPoint(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

// checkEveryChunkSize parses text in chunks of every size from 1 byte to
// the whole text, so that a chunk ends at every newline that can end one,
// and fails unless each gives what the sequential parser gives.
func checkEveryChunkSize(t *testing.T, text string) {
	t.Helper()
	want, wantErr := parseText(text, newCSVRecords)
	for size := 1; size <= len(text)+1; size++ {
		for _, isolated := range []bool{false, true} {
			o := options{chunkSize: size, workers: 1 + size%3, isolated: isolated}
			for _, reader := range []bool{false, true} {
				var got []*ml.Column
				var err error
				if reader {
					got, _, err = o.parseReader(strings.NewReader(text), int64(len(text)), Detect)
				} else {
					got, _, err = o.parseText(text, Detect)
				}
				how := fmt.Sprintf("chunks of %d (reader %v, isolated %v)", size, reader, isolated)
				switch {
				case (err == nil) != (wantErr == nil):
					t.Fatalf("%s: %q: error %v, want %v", how, text, err, wantErr)
				case err != nil && err.Error() != wantErr.Error():
					t.Fatalf("%s: %q: error\n\t%v\nwant\t%v", how, text, err, wantErr)
				case err == nil && !slices.EqualFunc(got, want, sameColumn):
					t.Fatalf("%s: %q =%s\nwant%s", how, text, format(got), format(want))
				}
			}
		}
	}
}

func TestParseChunkBoundaries(t *testing.T) {
	for _, text := range []string{
		// Tiny inputs.
		"a\n1",
		"a\n1\n",
		"a,b\n1,2",
		"a\r\n1\r\n",
		"\ufeffa\n1\n",
		// Every line ending; blank lines between chunks.
		"a,b\n1,2\n3,4\n5,6\n7,8\n",
		"a,b\r\n1,2\r\n3,4\r\n\r\n5,6\r\n7,8",
		"a,b\n\n\n1,2\n\n3,4\n\n",
		"a,b\n1,2\r\n3,4\n5,6\r",
		// Quoted fields with newlines, commas and quotes, where a chunk
		// would end inside them if it went by newlines only.
		"name,v\n\"a\nb\",1\n\"c,\nd\",2\n\"e\"\"\nf\"\"\",3\n\"g\r\nh\",4\n5,5\n",
		"a,b\n1,\"x\n\n\ny\"\n\"\n\",2\n3,4\n",
		"\"h\n1\",h2\n\"1\",2\n3,\"4\"\n",
		// Numbers, missing values and text across chunks.
		"x,y,z\n1,NA,a\n2,,b\nNA,3,\n4,x,c\n5,6,d\n",
		"x,y\n1,2\n3,4\n5,6\n7,8\nabc,9\n10,11\n",
		"x,y\nNA,1\n,2\nNA,3\nabc,4\n5,5\n",
		"x,y\nabc,1\n2,2\n3,3\n4,4\n\"5\",5\n",
		"x,y\n1,2\n3,inf\n5,-inf\n",
		"x,y\n1,abc\n3,inf\n5,6\n",
		// Errors, whichever chunk they fall in.
		"a,b\n1,2\n3,4\n5,6\n7\n8,9\n",
		"a,b\n\"x\ny\",2\n3,4\n5,6,7\n",
		"a,b\n1,2\n3,4\n5,x\"y\n",
		"a,b\n1,2\n\"3\n4\",5\n6,\"7\n",
		"a,b\n1,2\n3,4\n\"5\"x,6\n",
		"a,b\n1,2\n\"3\n4\n",
		"a,b\n",
		"a,b\n\n\n",
	} {
		checkEveryChunkSize(t, text)
	}
}

// TestParseChunksErrorLines: an error names its line in the whole input,
// whichever chunk holds it and however many lines the chunks before held.
func TestParseChunksErrorLines(t *testing.T) {
	var b strings.Builder
	b.WriteString("\"multi\nline\",b\n")
	for i := range 500 {
		if i%50 == 0 {
			fmt.Fprintf(&b, "\"%d\n\n%d\",%d\n", i, i, i) // a record of three lines
		} else {
			fmt.Fprintf(&b, "%d,%d\n", i, i)
		}
		if i%70 == 0 {
			b.WriteString("\n") // a blank line
		}
	}
	// 2 header lines, 500 records of which 10 take 3 lines, 8 blank lines.
	good := b.String()
	line := 2 + 500 + 10*2 + 8 + 1
	for _, tc := range []struct{ tail, want string }{
		{"1,2,3\n", fmt.Sprintf("line %d: expected 2 fields as in the header, found 3", line)},
		{"\n\n1\n3,4\n", fmt.Sprintf("line %d: expected 2 fields as in the header, found 1", line+2)},
		{"1,x\"y\n", fmt.Sprintf("invalid CSV: parse error on line %d, column 4: bare \" in non-quoted-field", line)},
		{"1,\"2\n", fmt.Sprintf("invalid CSV: parse error on line %d, column 6: extraneous or missing \" in quoted-field", line)},
		{"1,\"2\n3\"x\n", fmt.Sprintf("invalid CSV: record on line %d; parse error on line %d, column 2: extraneous or missing \" in quoted-field", line, line+1)},
		{"1,inf\n3,4\n", `row 501, column "b": "inf" is not a finite number within ±1e+150`},
		{"1,2\n3,4e200\n", `row 502, column "b": "4e200" is not a finite number within ±1e+150`},
	} {
		text := good + tc.tail
		if _, err := parseText(text, newCSVRecords); err == nil || err.Error() != tc.want {
			t.Errorf("sequential parser: %q: error %v, want %s", tc.tail, err, tc.want)
		}
		for _, o := range append(chunkOptions, options{chunkSize: 100, workers: 2, isolated: true}) {
			for _, reader := range []bool{false, true} {
				var err error
				if reader {
					_, _, err = o.parseReader(strings.NewReader(text), int64(len(text)), Detect)
				} else {
					_, _, err = o.parseText(text, Detect)
				}
				if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput || e.Message != tc.want {
					t.Errorf("chunks of %d (reader %v): %q: error %v, want %s", o.chunkSize, reader, tc.tail, err, tc.want)
				}
			}
		}
	}
}

// TestParseChunksTypes: type inference over many chunks, however the
// chunks fall, compared with the sequential parser: columns that meet text
// late, early, after only missing values, and in a chunk already read as
// numbers.
func TestParseChunksTypes(t *testing.T) {
	const rows = 2000
	var b strings.Builder
	b.WriteString("n,late,early,missing,quoted,inf\n")
	for i := range rows {
		late := fmt.Sprint(i % 10)
		if i == rows-3 {
			late = "x"
		}
		early := fmt.Sprint(i % 4)
		if i == 5 {
			early = "e"
		}
		missing := "NA"
		if i >= 1500 {
			missing = []string{"m", "", "7"}[i%3]
		}
		quoted := fmt.Sprint(i)
		if i%97 == 0 {
			quoted = fmt.Sprintf("\"%d\n\"", i)
		}
		inf := "1.5"
		if i == 1234 {
			inf = "-Infinity"
		}
		if i == 1999 {
			inf = "text"
		}
		fmt.Fprintf(&b, "%d.25,%s,%s,%s,%s,%s\n", i, late, early, missing, quoted, inf)
	}
	text := b.String()
	want, err := parseText(text, newCSVRecords)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 10, 100, 1000, 4096, 1 << 20} {
		for _, isolated := range []bool{false, true} {
			o := options{chunkSize: size, workers: 3, isolated: isolated}
			got, _, err := o.parseText(text, Detect)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, want, sameColumn) {
				t.Errorf("chunks of %d, isolated %v: columns differ from the sequential parser's", size, isolated)
			}
			got, _, err = o.parseReader(strings.NewReader(text), int64(len(text)), Detect)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, want, sameColumn) {
				t.Errorf("reader in chunks of %d, isolated %v: columns differ from the sequential parser's", size, isolated)
			}
		}
	}
	types := make([]ml.ColumnType, len(want))
	for i, c := range want {
		types[i] = c.Type
	}
	// quoted: "12\n" is the number 12 once trimmed.
	wantTypes := []ml.ColumnType{ml.Numeric, ml.Categorical, ml.Categorical, ml.Categorical, ml.Numeric, ml.Categorical}
	if !slices.Equal(types, wantTypes) {
		t.Errorf("types %v, want %v", types, wantTypes)
	}
	if want[3].Missing() != 1500+167 || want[3].Levels[0] != "m" {
		t.Errorf("missing: %d missing, levels %q", want[3].Missing(), want[3].Levels)
	}
}

// TestParseChunksNumbers: values read by the fast number parser and by
// strconv (the forms it leaves to strconv) land in the right rows.
func TestParseChunksNumbers(t *testing.T) {
	cells := []string{"1", "-2.5", " 3 ", "+4e1", "5.", ".5", "1e-400", "1_0", "0x1p3", "1e999", "NaN", "12345678901234567890", "0.1234567890123456789", "-0"}
	var b strings.Builder
	b.WriteString("v\n")
	for _, c := range cells {
		if c == "1_0" || c == "0x1p3" || c == "1e999" {
			continue // text or ±Inf: tried below
		}
		b.WriteString(c + "\n")
	}
	got, _, err := options{chunkSize: 3, workers: 2}.parseText(b.String(), Detect)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, -2.5, 3, 40, 5, 0.5, 0, math.NaN(), 12345678901234567890, 0.1234567890123456789, math.Copysign(0, -1)}
	if !sameColumn(got[0], num("v", want...)) || !math.Signbit(got[0].Num[len(want)-1]) {
		t.Errorf("got %v, want %v", got[0].Num, want)
	}
}

// TestReaderSourceReusesBuffers: a stream is read into a few buffers, each
// used again once its chunk is released.
func TestReaderSourceReusesBuffers(t *testing.T) {
	text := numericCSV(2000, 5)
	src := newReaderSource(strings.NewReader(text), 1024, 8)
	buffers := make(map[*byte]bool)
	var read strings.Builder
	for {
		chunk, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if chunk[len(chunk)-1] != '\n' && read.Len()+len(chunk) < len(text) {
			t.Fatalf("a chunk ends in the middle of a line: %q", chunk[len(chunk)-20:])
		}
		read.Write(chunk)
		buffers[unsafe.SliceData(chunk)] = true
		src.release(chunk)
	}
	if read.String() != text {
		t.Errorf("the chunks are not the text")
	}
	if len(buffers) > 2 {
		t.Errorf("%d buffers for %d bytes in chunks of about 1024", len(buffers), len(text))
	}
}

// TestParseReaderMemory: parsing a stream in many chunks allocates little
// more than the columns it returns.
func TestParseReaderMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates more (slices.Grow allocates twice)")
	}
	const rows, cols = 50_000, 10
	text := numericCSV(rows, cols)
	o := options{chunkSize: 16 << 10, workers: 2}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, _, err := o.parseReader(strings.NewReader(text), int64(len(text)), Detect); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	columns := uint64(rows * cols * 8)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > columns*3/2 {
		t.Errorf("allocated %d bytes for %d bytes of columns (%d bytes of CSV in chunks of %d)", allocated, columns, len(text), o.chunkSize)
	}
}

// failingReader fails once its first n bytes are read.
type failingReader struct {
	*strings.Reader
	n int64
}

func (r *failingReader) Read(p []byte) (int, error) {
	read := r.Size() - int64(r.Len())
	if read >= r.n {
		return 0, errors.New("disk on fire")
	}
	return r.Reader.Read(p[:min(int64(len(p)), r.n-read)])
}

func TestParseReaderReadError(t *testing.T) {
	text := numericCSV(1000, 3)
	for _, o := range chunkOptions[2:] {
		_, _, err := o.parseReader(&failingReader{strings.NewReader(text), int64(len(text) / 2)}, int64(len(text)), Detect)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput || e.Message != "invalid CSV: disk on fire" {
			t.Errorf("chunks of %d: error %v", o.chunkSize, err)
		}
	}
}

// panicSource panics on its second chunk.
type panicSource struct{ textSource }

func (s *panicSource) next() ([]byte, error) {
	if len(s.text) < 10 {
		panic("bug")
	}
	return s.textSource.next()
}

// TestParseChunksPanic: a bug while reading or parsing chunks fails the
// parse with an internal error, and leaves no goroutine behind.
func TestParseChunksPanic(t *testing.T) {
	columns, err := newColumns([]string{"a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	src := &panicSource{textSource{text: []byte("1\n2\n3\n4\n5\n6\n7\n8\n9\n"), size: 2}}
	_, err = options{workers: 2}.parseChunks(src, columns, sizeHint{}, 1, Comma)
	if err == nil || apperr.CodeOf(err) != "" || !strings.Contains(err.Error(), "panic while parsing CSV: bug") {
		t.Errorf("error %v, want an internal error", err)
	}
	// A worker's panic: a chunk with a column the pipeline does not know.
	p := &pipeline{comma: Comma, header: columns, text: make([]atomic.Bool, 0)}
	c := &chunk{data: []byte("1\n"), res: p.result(), done: make(chan struct{})}
	p.parse(c)
	if err := chunkError(c.res.err, 0); err == nil || apperr.CodeOf(err) != "" {
		t.Errorf("worker's panic: error %v, want an internal error", err)
	}
}

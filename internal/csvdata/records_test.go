package csvdata

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"mlgraph/ml"
)

// parseText parses text (less a BOM, as Parse) with the given records.
func parseText(text string, newRecords func(io.Reader) records) ([]*ml.Column, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	size := sizeHint{bytes: int64(len(text)), maxRows: strings.Count(text, "\n") + 1}
	return parseSequential(func() io.Reader { return strings.NewReader(text) }, size, newRecords)
}

// fastWith reads with a fastRecords of the given buffer size.
func fastWith(size int) func(io.Reader) records {
	return func(in io.Reader) records { return newFastRecords(in, size, Comma) }
}

// chunkOptions cut inputs into chunks of a few bytes (so that every line
// ends a chunk, or none does, or some do), parsed by one or more workers,
// told of the columns found to be text or not (isolated).
var chunkOptions = []options{
	{chunkSize: 1, workers: 1},
	{chunkSize: 2, workers: 2},
	{chunkSize: 7, workers: 3, isolated: true},
	{chunkSize: 16, workers: 2},
	{chunkSize: 64, workers: 2},
	defaultOptions,
}

// checkSameAsCSV fails unless the fast records, with small and large
// buffers, give what encoding/csv gives: the same columns or error; and so
// does the parallel parser, of text or of a reader, in chunks large and
// small.
func checkSameAsCSV(t *testing.T, text string) {
	t.Helper()
	want, wantErr := parseText(text, newCSVRecords)
	check := func(how string, got []*ml.Column, err error) {
		t.Helper()
		switch {
		case (err == nil) != (wantErr == nil):
			t.Errorf("%s: %q: error %v, want %v", how, text, err, wantErr)
		case err != nil && err.Error() != wantErr.Error():
			t.Errorf("%s: %q: error\n\t%v\nwant\t%v", how, text, err, wantErr)
		case err == nil && !slices.EqualFunc(got, want, sameColumn):
			t.Errorf("%s: %q =%s\nwant%s", how, text, format(got), format(want))
		}
	}
	for _, size := range []int{16, 64, bufferSize} {
		got, err := parseText(text, fastWith(size))
		check(fmt.Sprintf("buffer %d", size), got, err)
	}
	for _, o := range chunkOptions {
		got, _, err := o.parseText(text, Detect)
		check(fmt.Sprintf("text in chunks of %d, %d workers", o.chunkSize, o.workers), got, err)
		got, _, err = o.parseReader(strings.NewReader(text), int64(len(text)), Detect)
		check(fmt.Sprintf("reader in chunks of %d, %d workers", o.chunkSize, o.workers), got, err)
	}
}

var long = strings.Repeat("x", 100) // longer than the small buffers

var sameAsCSVInputs = []string{
	"a,b\n1,2\n3.5,-4e2\n",
	"a,b\n1,2\n3,4",
	"a,b\r\n1,2\r\n3,4\r\n",
	"a,b\r\n1,2\r\n3,4\r",
	"a,b\n1,2\r\r\n3,4\r\n",
	"a,b\n1,2\r3,4\n",
	"a\n1\n\n2\n\n",
	"a\n1\n\r\n2\r\n\r\n",
	"a\n1\n\r",
	"\ufeffa,b\n1,2\n",
	" a ,\tb \n1,2\n",
	"\"a, b\",c\n1,2\n",
	"a,\"b\"\n1,2\n",
	"name,v\n\"Smith, J\",1\n\"two\nlines\",2\n\"say \"\"hi\"\"\",3\n\"4\",\"5\"\n",
	"x\n+1\n.5\n5.\n1e-400\n-0\n 7 \n",
	"x\n1\n  \nNA\nN/A\nNaN\nnan\nnull\nNULL\nNone\nn/a\n<NA>\n#N/A\n2\n",
	"x,y\n1,\n,2\n\" \",3\n",
	"x,y\n,\n,\n",
	"x,y\n , \n1,2\n",
	"x,y\na,1\nNA,1\n,1\nb,1\nnull,1\nNone,1\na,1\n",
	"x\nb\na\nb\nc\na\n",
	"x\n a\na \nb\n",
	"zip\n02134\n10001\nK1A 0B1\n02134\n00501\n",
	"x\n1\n2.50\nNA\nabc\n1\n",
	"x\nNA\n \nabc\n1\n",
	"id,city,score\n001,Paris,1.5\n002,,2\n003,Oslo,NA\n",
	"x\nabc\ninf\n",
	"x\n1\ninf\nabc\n",
	"x,y\n1_000,0x1p3\n2,3\n",
	// Quotes mid-file, after and before unquoted lines.
	"a,b\n1,2\n3,\"4\"\n5,6\n\"7\",8\n9,10",
	"a,b\n1,x\n\"multi\nline\n\n\",2\n3,y\n",
	"a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n",
	"a,b\n1,\"\"\n2,\"\"\"\"\n",
	"a,b\n1,\"" + long + "\n" + long + "\"\n2," + long + "\n",
	// Long lines, longer than the buffer.
	"a,b\n" + long + ",1\n2," + long + "\n" + long + "," + long,
	long + ",b\n1,2\n",
	"a,b\n1,2" + strings.Repeat(" ", 50) + "\r\n3,4\r\n",
	// Errors.
	"",
	"\ufeff",
	"\n\r\n\n",
	"a,b\n",
	"a,b\n\n\n",
	"a,,c\n1,2,3\n",
	"a, a\n1,2\n",
	"a,b\n1,2\n3\n",
	"a,b\n1,2,3\n",
	"a,b\n1,2\n\n\n3,4,5\n",
	"a,b\n\"x\ny\",2\n3,4,5\n",
	"a,b\n\"x\ny\",2\n\"3\",4,5\n",
	"a,b\n\"x\ny\",2,\"z\"\n",
	"a,b\n1,x\"y\n",
	"a,b\n1,\"2\n",
	"a,b\n1,2\n\"3\"x,4\n5,6\n",
	"a,b\n1,2\n\"3\nx\"x,4\n5,6\n",
	"a,b\n1,2\n\"3,\"4\"\n5,6\n",
	"a,b\n1,2\n3,\"4\n\n5,6\n",
	"a,b\n1,2\n3,inf\n",
	"a\n1e999\n",
	"a\n1\n -Infinity \n",
	"a,b\n1,inf\ninf,2\n",
	"a,b\n1,\"inf\"\n",
	"a\nNA\ninf\n",
}

func TestFastRecordsMatchEncodingCSV(t *testing.T) {
	for _, text := range sameAsCSVInputs {
		checkSameAsCSV(t, text)
	}
	// Past sampleRows, and a column turning categorical late (re-read).
	var b strings.Builder
	b.WriteString("n,late,q\n")
	for i := range 3 * sampleRows {
		late := fmt.Sprint(i % 7)
		if i == 2*sampleRows {
			late = "x"
		}
		q := "1"
		if i%500 == 0 {
			q = "\"2\n\""
		}
		fmt.Fprintf(&b, "%d.5,%s,%s\n", i, late, q)
	}
	checkSameAsCSV(t, b.String())
}

// TestFastRecordsLineNumbers: errors name the lines of the input, after
// quoted records spanning lines.
func TestFastRecordsLineNumbers(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"a,b\n\"x\ny\",2\n\n3,4,5\n", "line 5: expected 2 fields as in the header, found 3"},
		{"a,b\n\"x\ny\",2\n\"p\nq\",1\n3\n", "line 6: expected 2 fields as in the header, found 1"},
		{"a,b\n\"x\ny\",2\n\"p\nq\",1,0\n", "line 4: expected 2 fields as in the header, found 3"},
		{"a,b\n\"x\ny\",2\n1,\"2\n", "invalid CSV: parse error on line 4, column 6: extraneous or missing \" in quoted-field"},
		{"a,b\n\"x\ny\",2\n1,\"2\n3\"x\n", "invalid CSV: record on line 4; parse error on line 5, column 2: extraneous or missing \" in quoted-field"},
		{"\"a\nb\",c\n1,x\"y\n", "invalid CSV: parse error on line 3, column 4: bare \" in non-quoted-field"},
	} {
		for _, size := range []int{16, bufferSize} {
			_, err := parseText(tc.text, fastWith(size))
			if err == nil || err.Error() != tc.want {
				t.Errorf("buffer %d: %q: error %v, want %s", size, tc.text, err, tc.want)
			}
		}
		checkSameAsCSV(t, tc.text)
	}
}

func FuzzParseMatchesEncodingCSV(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		checkSameAsCSV(t, text)
	})
}

// TestParseAllocs: numeric rows are parsed without allocating per row.
func TestParseAllocs(t *testing.T) {
	const rows = 10_000
	text := numericCSV(rows, 20)
	allocs := testing.AllocsPerRun(3, func() {
		if _, _, err := Parse(text, Detect); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= rows/10 {
		t.Errorf("Parse: %.0f allocations for %d rows", allocs, rows)
	}
	allocs = testing.AllocsPerRun(3, func() {
		if _, _, err := ParseReader(strings.NewReader(text), int64(len(text)), Detect); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= rows/10 {
		t.Errorf("ParseReader: %.0f allocations for %d rows", allocs, rows)
	}
}

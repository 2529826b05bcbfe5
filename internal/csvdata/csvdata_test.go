package csvdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
)

var nan = math.NaN()

func num(name string, values ...float64) *ml.Column { return ml.NewNumeric(name, values) }

func cat(name string, levels []string, codes ...int32) *ml.Column {
	return ml.NewCategorical(name, codes, levels)
}

// sameColumn reports whether two columns are equal, NaN equal to NaN.
func sameColumn(a, b *ml.Column) bool {
	if a.Name != b.Name || a.Type != b.Type {
		return false
	}
	if a.Type == ml.Categorical || a.Type == ml.Text {
		return slices.Equal(a.Codes, b.Codes) && slices.Equal(a.Levels, b.Levels)
	}
	return slices.EqualFunc(a.Num, b.Num, func(x, y float64) bool {
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	})
}

func format(columns []*ml.Column) string {
	var b strings.Builder
	for _, c := range columns {
		if c.Type == ml.Categorical || c.Type == ml.Text {
			fmt.Fprintf(&b, "\n\t%s %s levels %q codes %v", c.Name, c.Type, c.Levels, c.Codes)
		} else {
			fmt.Fprintf(&b, "\n\t%s %s %v", c.Name, c.Type, c.Num)
		}
	}
	return b.String()
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []*ml.Column
	}{
		{"numeric", "a,b\n1,2\n3.5,-4e2\n",
			[]*ml.Column{num("a", 1, 3.5), num("b", 2, -400)}},
		{"no final newline", "a,b\n1,2\n3,4",
			[]*ml.Column{num("a", 1, 3), num("b", 2, 4)}},
		{"CRLF", "a,b\r\n1,2\r\n3,4\r\n",
			[]*ml.Column{num("a", 1, 3), num("b", 2, 4)}},
		{"blank lines skipped", "a\n1\n\n2\n\n",
			[]*ml.Column{num("a", 1, 2)}},
		{"BOM", "\ufeffa,b\n1,2\n",
			[]*ml.Column{num("a", 1), num("b", 2)}},
		{"header trimmed", " a ,\tb \n1,2\n",
			[]*ml.Column{num("a", 1), num("b", 2)}},
		{"quoted header", "\"a, b\",c\n1,2\n",
			[]*ml.Column{num("a, b", 1), num("c", 2)}},
		{"quoting", "name,v\n\"Smith, J\",1\n\"two\nlines\",2\n\"say \"\"hi\"\"\",3\n\"4\",\"5\"\n",
			[]*ml.Column{cat("name", []string{"Smith, J", "two\nlines", `say "hi"`, "4"}, 0, 1, 2, 3), num("v", 1, 2, 3, 5)}},
		{"number syntax", "x\n+1\n.5\n5.\n1e-400\n-0\n 7 \n",
			[]*ml.Column{num("x", 1, 0.5, 5, 0, 0, 7)}},
		// In a one-column CSV an empty line is a blank line, skipped.
		{"numeric missing markers", "x\n1\n  \nNA\nN/A\nNaN\nnan\nnull\nNULL\nNone\nn/a\n<NA>\n#N/A\n2\n",
			[]*ml.Column{num("x", 1, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 2)}},
		{"empty cells", "x,y\n1,\n,2\n\" \",3\n",
			[]*ml.Column{num("x", 1, nan, nan), num("y", nan, 2, 3)}},
		{"NaN in any case is missing", "x\nNAN\n1\n",
			[]*ml.Column{num("x", nan, 1)}},
		{"categorical missing markers", "x,y\na,1\nNA,1\n,1\nb,1\nnull,1\nNone,1\na,1\n",
			[]*ml.Column{cat("x", []string{"a", "b"}, 0, -1, -1, 1, -1, -1, 0), num("y", 1, 1, 1, 1, 1, 1, 1)}},
		{"all missing is numeric", "x,y\nNA,1\n,2\n",
			[]*ml.Column{num("x", nan, nan), num("y", 1, 2)}},
		{"levels in first-seen order", "x\nb\na\nb\nc\na\n",
			[]*ml.Column{cat("x", []string{"b", "a", "c"}, 0, 1, 0, 2, 1)}},
		{"levels trimmed", "x\n a\na \nb\n",
			[]*ml.Column{cat("x", []string{"a", "b"}, 0, 0, 1)}},
		{"zip codes keep their text", "zip\n02134\n10001\nK1A 0B1\n02134\n00501\n",
			[]*ml.Column{cat("zip", []string{"02134", "10001", "K1A 0B1", "00501"}, 0, 1, 2, 0, 3)}},
		{"numbers then text", "x\n1\n2.50\nNA\nabc\n1\n",
			[]*ml.Column{cat("x", []string{"1", "2.50", "abc"}, 0, 1, -1, 2, 0)}},
		{"missing then text", "x\nNA\n \nabc\n1\n",
			[]*ml.Column{cat("x", []string{"abc", "1"}, -1, -1, 0, 1)}},
		{"mixed columns", "id,city,score\n001,Paris,1.5\n002,,2\n003,Oslo,NA\n",
			[]*ml.Column{num("id", 1, 2, 3), cat("city", []string{"Paris", "Oslo"}, 0, -1, 1), num("score", 1.5, 2, nan)}},
		{"inf in a categorical column is text", "x\nabc\ninf\n",
			[]*ml.Column{cat("x", []string{"abc", "inf"}, 0, 1)}},
		{"inf before text is text", "x\n1\ninf\nabc\n",
			[]*ml.Column{cat("x", []string{"1", "inf", "abc"}, 0, 1, 2)}},
		{"Go-only number syntax is text", "x,y\n1_000,0x1p3\n2,3\n",
			[]*ml.Column{cat("x", []string{"1_000", "2"}, 0, 1), cat("y", []string{"0x1p3", "3"}, 0, 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Parse(tc.text, Detect)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, sameColumn) {
				t.Errorf("Parse(%q) =%s\nwant%s", tc.text, format(got), format(tc.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want string
	}{
		{"empty", "", "empty CSV: a header row is required"},
		{"only a BOM", "\ufeff", "empty CSV: a header row is required"},
		{"only blank lines", "\n\r\n\n", "empty CSV: a header row is required"},
		{"header only", "a,b\n", "no data rows: the CSV has only a header"},
		{"header only, blank lines", "a,b\n\n\n", "no data rows: the CSV has only a header"},
		{"empty header name", "a,,c\n1,2,3\n", "header: column 2 has no name"},
		{"blank header name", "a,  \n1,2\n", "header: column 2 has no name"},
		{"duplicate header name", "a,b,a\n1,2,3\n", `header: duplicate column name "a" (columns 1 and 3)`},
		{"duplicate after trimming", "a, a\n1,2\n", `header: duplicate column name "a" (columns 1 and 2)`},
		{"short row", "a,b\n1,2\n3\n", "line 3: expected 2 fields as in the header, found 1"},
		{"long row", "a,b\n1,2,3\n", "line 2: expected 2 fields as in the header, found 3"},
		{"ragged row after a quoted newline", "a,b\n\"x\ny\",2\n3,4,5\n", "line 4: expected 2 fields as in the header, found 3"},
		{"bare quote", "a,b\n1,x\"y\n", `invalid CSV: parse error on line 2, column 4: bare " in non-quoted-field`},
		{"unterminated quote", "a,b\n1,\"2\n", `invalid CSV: parse error on line 2, column 6: extraneous or missing " in quoted-field`},
		{"inf", "a,b\n1,2\n3,inf\n", `row 2, column "b": "inf" is not a finite number within ±1e+150`},
		{"overflow", "a\n1e999\n", `row 1, column "a": "1e999" is not a finite number within ±1e+150`},
		{"negative infinity", "a\n1\n -Infinity \n", `row 2, column "a": "-Infinity" is not a finite number within ±1e+150`},
		{"first non-finite by row", "a,b\n1,inf\ninf,2\n", `row 1, column "b": "inf" is not a finite number within ±1e+150`},
		{"non-finite with missing", "a\nNA\ninf\n", `row 2, column "a": "inf" is not a finite number within ±1e+150`},
		{"beyond the bound", "a,b\n1,1e150\n2,-1.5e150\n", `row 2, column "b": "-1.5e150" is not a finite number within ±1e+150`},
		{"beyond the bound, slow path", "a\n1\n  2e150 \n", `row 2, column "a": "2e150" is not a finite number within ±1e+150`},
		{"beyond the bound, many digits", "a\n1.00000000000000000000001e151\n", `row 1, column "a": "1.00000000000000000000001e151" is not a finite number within ±1e+150`},
		{"beyond the bound, overflowing squares", "a\n1\n1.3e154\n", `row 2, column "a": "1.3e154" is not a finite number within ±1e+150`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			columns, _, err := Parse(tc.text, Detect)
			if err == nil {
				t.Fatalf("Parse(%q) =%s, want error %q", tc.text, format(columns), tc.want)
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadInput {
				t.Fatalf("Parse(%q) error %q is not BAD_USER_INPUT", tc.text, err)
			}
			if e.Message != tc.want {
				t.Errorf("Parse(%q) error\n\t%q\nwant\t%q", tc.text, e.Message, tc.want)
			}
		})
	}
}

// TestParseLongColumns covers what happens past the first sampleRows rows:
// sizing the columns, and a column that turns out categorical late.
func TestParseLongColumns(t *testing.T) {
	const rows = 3*sampleRows + 17
	var b strings.Builder
	b.WriteString("n,late,early\n")
	for i := range rows {
		late := strconv.Itoa(i % 10)
		if i == rows-1 {
			late = "x"
		}
		fmt.Fprintf(&b, "%d.25,%s,%s\n", i, late, []string{"a", "b", "NA"}[i%3])
	}
	columns, _, err := Parse(b.String(), Detect)
	if err != nil {
		t.Fatal(err)
	}
	n, late, early := columns[0], columns[1], columns[2]
	if n.Type != ml.Numeric || len(n.Num) != rows || n.Num[rows-1] != rows-1+0.25 {
		t.Errorf("n: %s of %d rows, last %v", n.Type, len(n.Num), n.Num[len(n.Num)-1])
	}
	// Sized once from the first rows, with little to spare.
	if c := cap(n.Num); c > rows*12/10 {
		t.Errorf("n: capacity %d for %d rows", c, rows)
	}
	wantLevels := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "x"}
	if late.Type != ml.Categorical || !slices.Equal(late.Levels, wantLevels) || len(late.Codes) != rows ||
		late.Codes[12] != 2 || late.Codes[rows-1] != 10 {
		t.Errorf("late: %s, levels %q, %d codes", late.Type, late.Levels, len(late.Codes))
	}
	if early.Type != ml.Categorical || !slices.Equal(early.Levels, []string{"a", "b"}) || len(early.Codes) != rows ||
		early.Codes[rows-1] != int32([]int{0, 1, -1}[(rows-1)%3]) {
		t.Errorf("early: %s, levels %q, %d codes", early.Type, early.Levels, len(early.Codes))
	}
}

// numericCSV returns a CSV of rows × cols random numbers.
func numericCSV(rows, cols int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for j := range cols {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "feature_%d", j)
	}
	b.WriteByte('\n')
	buf := make([]byte, 0, 32)
	for range rows {
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			buf = strconv.AppendFloat(buf[:0], rng.NormFloat64()*100, 'f', 4, 64)
			b.Write(buf)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkParse parses a 100,000 × 20 numeric CSV.
func BenchmarkParse(b *testing.B) {
	text := numericCSV(100_000, 20)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(text, Detect); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseReaderMatchesParse: the streaming parser gives the same columns
// as Parse, with a BOM and a column that turns categorical late.
func TestParseReaderMatchesParse(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufeffx,code,label\n")
	for i := 0; i < 3000; i++ {
		code := fmt.Sprint(i)
		if i == 2500 {
			code = "A-7" // turns the column categorical after many numbers
		}
		fmt.Fprintf(&b, "%d.5,%s,%s\n", i, code, []string{"a", "b", ""}[i%3])
	}
	want, _, err := Parse(b.String(), Detect)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ParseReader(strings.NewReader(b.String()), int64(b.Len()), Detect)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d columns, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Type != w.Type || g.Len() != w.Len() || g.Missing() != w.Missing() {
			t.Fatalf("column %d: %s %s %d rows %d missing; want %s %s %d %d", i, g.Name, g.Type, g.Len(), g.Missing(), w.Name, w.Type, w.Len(), w.Missing())
		}
		for r := 0; r < w.Len(); r++ {
			if g.Text(r) != w.Text(r) {
				t.Fatalf("column %s row %d: %q, want %q", w.Name, r, g.Text(r), w.Text(r))
			}
		}
	}
	if got[0].Name != "x" || got[1].Type != "CATEGORICAL" || got[1].Text(7) != "7" {
		t.Errorf("BOM or late categorical mishandled: %s %s %q", got[0].Name, got[1].Type, got[1].Text(7))
	}
	if _, _, err := ParseReader(strings.NewReader("a,b\n1\n"), 0, Detect); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ragged input: %v", err)
	}
}

// TestParseNumbersAtTheBound: ±ml.MaxAbsValue itself is a number, by the
// fast path and by strconv, and a column whose large numbers turn out to
// be text is categorical, not an error.
func TestParseNumbersAtTheBound(t *testing.T) {
	cols, _, err := Parse("a,b\n1e150,x\n-1e150, 1e151\n 1.0e150 ,y\n", Detect)
	if err != nil {
		t.Fatal(err)
	}
	if a := cols[0]; a.Type != ml.Numeric || !slices.Equal(a.Num, []float64{1e150, -1e150, 1e150}) {
		t.Errorf("a: %v %v", a.Type, a.Num)
	}
	if b := cols[1]; b.Type != ml.Categorical || !slices.Equal(b.Levels, []string{"x", "1e151", "y"}) {
		t.Errorf("b: %v %q", b.Type, b.Levels)
	}
}

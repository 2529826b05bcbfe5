package csvdata

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
)

// swapper swaps commas and d in text.
func swapper(d Delimiter) *strings.Replacer {
	return strings.NewReplacer(",", string(rune(d)), string(rune(d)), ",")
}

// swapColumn is c with commas and d swapped in its name and levels.
func swapColumn(c *ml.Column, r *strings.Replacer) *ml.Column {
	out := *c
	out.Name = r.Replace(c.Name)
	out.Levels = make([]string, len(c.Levels))
	for i, level := range c.Levels {
		out.Levels[i] = r.Replace(level)
	}
	return &out
}

// TestParseDelimiters: every input that the comma parser is checked on
// (against encoding/csv) parses the same with another delimiter in place
// of its commas, read by the fast records and the parallel parser, from
// text and from a reader, in chunks large and small.
func TestParseDelimiters(t *testing.T) {
	for _, d := range Delimiters[1:] {
		swap := swapper(d)
		for _, text := range sameAsCSVInputs {
			if strings.IndexByte(text, byte(d)) >= 0 {
				continue // its own d would turn into a comma
			}
			want, wantErr := parseText(text, newCSVRecords)
			swapped := swap.Replace(text)
			check := func(how string, got []*ml.Column, f Format, err error) {
				t.Helper()
				for i, c := range got {
					got[i] = swapColumn(c, swap)
				}
				switch {
				case (err == nil) != (wantErr == nil):
					t.Errorf("%v, %s: %q: error %v, want %v", d, how, swapped, err, wantErr)
				case err != nil && err.Error() != wantErr.Error() && swap.Replace(err.Error()) != wantErr.Error():
					t.Errorf("%v, %s: %q: error\n\t%v\nwant\t%v", d, how, swapped, err, wantErr)
				case err == nil && !slices.EqualFunc(got, want, sameColumn):
					t.Errorf("%v, %s: %q =%s\nwant%s", d, how, swapped, format(got), format(want))
				case err == nil && f != Format{Delimiter: d}:
					t.Errorf("%v, %s: %q: format %+v", d, how, swapped, f)
				}
			}
			got, err := parseSequential(func() io.Reader { return strings.NewReader(strings.TrimPrefix(swapped, "\ufeff")) },
				sizeHint{}, func(in io.Reader) records { return newFastRecords(in, 16, d) })
			check("fast records", got, Format{Delimiter: d}, err)
			for _, o := range chunkOptions {
				got, f, err := o.parseText(swapped, d)
				check(fmt.Sprintf("text in chunks of %d", o.chunkSize), got, f, err)
				got, f, err = o.parseReader(strings.NewReader(swapped), int64(len(swapped)), d)
				check(fmt.Sprintf("reader in chunks of %d", o.chunkSize), got, f, err)
			}
		}
	}
}

func TestDetectDelimiter(t *testing.T) {
	detected := func(d Delimiter) Format { return Format{Delimiter: d, Detected: true} }
	for _, tc := range []struct {
		name   string
		text   string
		format Format
		want   []*ml.Column
	}{
		{"comma", "a,b\n1,2\n3,4\n", detected(Comma), []*ml.Column{num("a", 1, 3), num("b", 2, 4)}},
		{"semicolon", "x;y\n1;2\n3;4\n", detected(Semicolon), []*ml.Column{num("x", 1, 3), num("y", 2, 4)}},
		{"tab", "x\ty\tz\n1\t2\tc\n", detected(Tab), []*ml.Column{num("x", 1), num("y", 2), cat("z", []string{"c"}, 0)}},
		{"pipe", "x|y\n1|a b\n", detected(Pipe), []*ml.Column{num("x", 1), cat("y", []string{"a b"}, 0)}},
		{"CRLF and BOM", "\ufeffx;y\r\n1;2\r\n", detected(Semicolon), []*ml.Column{num("x", 1), num("y", 2)}},
		// Quoted fields with other delimiters in them: the header does
		// not parse with those (a quote would end mid-field).
		{"semicolon, quoted commas", "\"last, first\";\"a,b\"\n\"Smith, J\";1\n\"Doe, K\";2\n", detected(Semicolon),
			[]*ml.Column{cat("last, first", []string{"Smith, J", "Doe, K"}, 0, 1), num("a,b", 1, 2)}},
		{"comma, quoted semicolons", "\"a;b\",c\n\"x;y\",1\n", detected(Comma),
			[]*ml.Column{cat("a;b", []string{"x;y"}, 0), num("c", 1)}},
		{"tab, quoted commas and pipes", "\"a,b\"\t\"c|d\"\n\"1,2\"\t\"3|4\"\n", detected(Tab),
			[]*ml.Column{cat("a,b", []string{"1,2"}, 0), cat("c|d", []string{"3|4"}, 0)}},
		// Other delimiters in data cells only: the header decides.
		{"comma, semicolons in cells", "id,tags\n1,a;b\n2,c;d;e\n", detected(Comma),
			[]*ml.Column{num("id", 1, 2), cat("tags", []string{"a;b", "c;d;e"}, 0, 1)}},
		// The header splits with both: the lines decide.
		{"commas in the header", "Preis (EUR, netto);Menge\n12;3\n7;2\n", detected(Semicolon),
			[]*ml.Column{num("Preis (EUR, netto)", 12, 7), num("Menge", 3, 2)}},
		{"single column", "full name\nAnn Lee\nBo Chen\n", detected(Comma),
			[]*ml.Column{cat("full name", []string{"Ann Lee", "Bo Chen"}, 0, 1)}},
		{"single numeric column", "x\n1\n2.5\n", detected(Comma), []*ml.Column{num("x", 1, 2.5)}},
		// Given delimiters are used as given.
		{"given comma", "x;y\n1;2\n", Format{Delimiter: Comma}, []*ml.Column{cat("x;y", []string{"1;2"}, 0)}},
		{"given semicolon", "a,b;c\n1,2;3\n", Format{Delimiter: Semicolon, DecimalComma: true},
			[]*ml.Column{num("a,b", 1.2), num("c", 3)}},
		{"given tab", "a,b\n1,2\n", Format{Delimiter: Tab}, []*ml.Column{cat("a,b", []string{"1,2"}, 0)}},
		// Decimal commas, with semicolons only.
		{"decimal comma", "a;b\n1,5;2\n-0,25;3e1\n,5;NA\n", Format{Delimiter: Semicolon, Detected: true, DecimalComma: true},
			[]*ml.Column{num("a", 1.5, -0.25, 0.5), num("b", 2, 30, nan)}},
		{"decimal point with semicolons", "a;b\n1.5;2\n", detected(Semicolon), []*ml.Column{num("a", 1.5), num("b", 2)}},
		{"decimal comma in a text column", "a;b\n1,5;2\nabc;3\n", detected(Semicolon),
			[]*ml.Column{cat("a", []string{"1,5", "abc"}, 0, 1), num("b", 2, 3)}},
		{"decimal comma in a column turned text, points elsewhere", "a;b\n1,5;2.5\nabc;3\n", detected(Semicolon),
			[]*ml.Column{cat("a", []string{"1,5", "abc"}, 0, 1), num("b", 2.5, 3)}},
		{"thousands separators are text", "a;b\n1.234,5;1\n", detected(Semicolon),
			[]*ml.Column{cat("a", []string{"1.234,5"}, 0), num("b", 1)}},
		{"no decimal comma with tabs", "a\tb\n1,5\t2\n", detected(Tab), []*ml.Column{cat("a", []string{"1,5"}, 0), num("b", 2)}},
		{"no decimal comma with commas", "a,b\n\"1,5\",2\n", detected(Comma), []*ml.Column{cat("a", []string{"1,5"}, 0), num("b", 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := Detect
			if !tc.format.Detected {
				given = tc.format.Delimiter
			}
			for _, reader := range []bool{false, true} {
				var got []*ml.Column
				var f Format
				var err error
				if reader {
					got, f, err = ParseReader(strings.NewReader(tc.text), int64(len(tc.text)), given)
				} else {
					got, f, err = Parse(tc.text, given)
				}
				if err != nil {
					t.Fatalf("reader %v: %v", reader, err)
				}
				if f != tc.format || !slices.EqualFunc(got, tc.want, sameColumn) {
					t.Errorf("reader %v: Parse(%q, %v) = %+v%s\nwant %+v%s", reader, tc.text, given, f, format(got), tc.format, format(tc.want))
				}
			}
		})
	}
}

func TestDetectDelimiterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"ambiguous", "a,b;c\n1,2;3\n4,5;6\n",
			"cannot tell the CSV's delimiter: the header has 2 fields with ',' and 2 fields with ';', and so have each of the 2 lines after it " +
				"(considered ',', ';', tab and '|'); set the delimiter explicitly"},
		{"ambiguous, one line", "a,b;c\n1,2;3\n",
			"cannot tell the CSV's delimiter: the header has 2 fields with ',' and 2 fields with ';', and so has the line after it " +
				"(considered ',', ';', tab and '|'); set the delimiter explicitly"},
		{"none consistent", "a,b;c;d\n1,2\n3;4;5\n",
			"cannot tell the CSV's delimiter: the header has 2 fields with ',' and 3 fields with ';', but with ',' line 3 has 1; with ';' line 2 has 1 " +
				"(considered ',', ';', tab and '|'); set the delimiter explicitly"},
		{"does not parse with one", "a;b,c\n1;\"2,3\"\n4\n",
			"cannot tell the CSV's delimiter: the header has 2 fields with ',' and 2 fields with ';', but with ',' line 2 does not parse (bare \" in non-quoted-field); with ';' line 3 has 1 " +
				"(considered ',', ';', tab and '|'); set the delimiter explicitly"},
		// One candidate: the parse names the line at fault.
		{"ragged semicolons", "a;b\n1;2\n3\n", "line 3: expected 2 fields as in the header, found 1"},
		{"mixed decimal separators", "a;b\n1;2.5\n1,5;2\n",
			`row 2, column "a": "1,5" has a decimal comma but row 1, column "b": "2.5" a decimal point: a CSV with ';' between fields must write all its decimals one way`},
		{"non-finite decimal comma", "a;b\n1;2\n1,5e999;3\n", `row 2, column "a": "1,5e999" is not a finite number within ±1e+150`},
		{"decimal comma past the bound", "a;b\n1;2\n1,5e151;3\n", `row 2, column "a": "1,5e151" is not a finite number within ±1e+150`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, reader := range []bool{false, true} {
				var err error
				if reader {
					_, _, err = ParseReader(strings.NewReader(tc.text), int64(len(tc.text)), Detect)
				} else {
					_, _, err = Parse(tc.text, Detect)
				}
				if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput || e.Message != tc.want {
					t.Errorf("reader %v: Parse(%q) error\n\t%v\nwant\t%s", reader, tc.text, err, tc.want)
				}
			}
		})
	}
	// A given delimiter is not detected: no error.
	if _, f, err := Parse("a,b;c\n1,2;3\n", Comma); err != nil || f != (Format{Delimiter: Comma}) {
		t.Errorf("given comma: %+v, %v", f, err)
	}
}

// TestDetectSample: detection reads the first sampleRecords records, whole,
// within the first sampleBytes: what follows does not count.
func TestDetectSample(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b;c\n")
	for range sampleRecords - 1 {
		b.WriteString("1,2;3\n")
	}
	b.WriteString("1;2\n") // with commas, one field: past the sample
	if _, _, err := Parse(b.String(), Detect); err == nil || !strings.Contains(err.Error(), "and so have each of the 19 lines after it") {
		t.Errorf("a difference past the first %d records: %v", sampleRecords, err)
	}
	// A long quoted field ends the sample before its record: the records
	// before it decide.
	text := "a;b\n1;2\n3;\"" + strings.Repeat("x,", sampleBytes) + "\"\n"
	cols, f, err := ParseReader(strings.NewReader(text), int64(len(text)), Detect)
	if err != nil || f.Delimiter != Semicolon || len(cols) != 2 || cols[1].Type != ml.Text && cols[1].Type != ml.Categorical {
		t.Errorf("long record after the header: %+v, %v", f, err)
	}
}

// TestDecimalCommaChunks: numbers with decimal commas, and the first of
// each separator, are the same however the chunks fall.
func TestDecimalCommaChunks(t *testing.T) {
	const rows = 2000
	var good, mixed strings.Builder
	good.WriteString("a;b;c\n")
	mixed.WriteString("a;b\n")
	for i := range rows {
		fmt.Fprintf(&good, "%d,25;%d;\"%d,5\"\n", i, i%7, i)
		a, b := fmt.Sprint(i), fmt.Sprint(i%3)
		if i == 1500 || i == 1700 {
			a = fmt.Sprintf("%d,5", i)
		}
		if i == 700 || i == 900 {
			b = "2.5"
		}
		fmt.Fprintf(&mixed, "%s;%s\n", a, b)
	}
	wantA := make([]float64, rows)
	for i := range wantA {
		wantA[i] = float64(i) + 0.25
	}
	const wantErr = `row 1501, column "a": "1500,5" has a decimal comma but row 701, column "b": "2.5" a decimal point`
	for _, size := range []int{1, 10, 100, 4096, 1 << 20} {
		for _, isolated := range []bool{false, true} {
			o := options{chunkSize: size, workers: 3, isolated: isolated}
			for _, reader := range []bool{false, true} {
				parse := func(text string) ([]*ml.Column, Format, error) {
					if reader {
						return o.parseReader(strings.NewReader(text), int64(len(text)), Detect)
					}
					return o.parseText(text, Detect)
				}
				how := fmt.Sprintf("chunks of %d, isolated %v, reader %v", size, isolated, reader)
				cols, f, err := parse(good.String())
				if err != nil || !f.DecimalComma || !sameColumn(cols[0], num("a", wantA...)) || cols[2].Num[rows-1] != rows-1+0.5 {
					t.Fatalf("%s: %+v, %v", how, f, err)
				}
				if _, _, err := parse(mixed.String()); err == nil || !strings.HasPrefix(err.Error(), wantErr) {
					t.Fatalf("%s: error %v, want %s", how, err, wantErr)
				}
			}
		}
	}
}

func TestDetectRows(t *testing.T) {
	for _, tc := range []struct {
		text   string
		fields int
		prefer Delimiter
		want   Delimiter
	}{
		{"1,2\n3,4", 2, Detect, Comma},
		{"1;2\n3;4", 2, Detect, Semicolon},
		{"1\t2\n3\t4", 2, Detect, Tab},
		{"1|2|3", 3, Detect, Pipe},
		{"\"a;b\",1\n", 2, Detect, Comma},
		{"\"1,5\";2\n", 2, Detect, Semicolon},
		// As well with commas: commas, as predict always read them,
		// unless the model's dataset had another delimiter.
		{"a;b,c\n", 2, Detect, Comma},
		{"1,5;2\n3;4,5\n", 2, Detect, Comma},
		{"1,5;2\n3;4,5\n", 2, Semicolon, Semicolon},
		{"1,5\n2,5\n", 1, Semicolon, Semicolon},
		{"a;b\n", 1, Semicolon, Comma},
		// One field per row: commas, the rows say nothing else.
		{"1,5\n2,5\n", 1, Detect, Comma},
		{"x\n", 1, Detect, Comma},
		// No delimiter fits: commas, for the parse to report the row.
		{"1;2\n3\n", 2, Detect, Comma},
	} {
		got, err := DetectRows(tc.text, tc.fields, tc.prefer)
		if err != nil || got != tc.want {
			t.Errorf("DetectRows(%q, %d, %v) = %v, %v; want %v", tc.text, tc.fields, tc.prefer, got, err, tc.want)
		}
	}
	_, err := DetectRows("1\t2|3\n", 2, Detect)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput ||
		e.Message != "cannot tell the CSV's delimiter: the rows have 2 values each with tab and with '|' (considered ',', ';', tab and '|'); set the delimiter explicitly" {
		t.Errorf("ambiguous rows: %v", err)
	}
}

func TestParseDecimalComma(t *testing.T) {
	for cell, want := range map[string]float64{"1,5": 1.5, "-0,25": -0.25, ",5": 0.5, "5,": 5, "1,5e3": 1500, "+2,0E-1": 0.2, "12345678901234567890,1": 12345678901234567890.1} {
		if got, ok := ParseDecimalComma(cell); !ok || got != want {
			t.Errorf("ParseDecimalComma(%q) = %v, %v; want %v", cell, got, ok, want)
		}
	}
	for _, cell := range []string{"1", "1.5", "1,5,0", "1.234,5", ",", "a,b", "1,5x", "0x1,8p1", "1_0,5", ""} {
		if got, ok := ParseDecimalComma(cell); ok {
			t.Errorf("ParseDecimalComma(%q) = %v, want not a number", cell, got)
		}
	}
	if v, ok := ParseDecimalComma("1,5e999"); !ok || !math.IsInf(v, 1) {
		t.Errorf("ParseDecimalComma(1,5e999) = %v, %v; want +Inf", v, ok)
	}
	if n := testing.AllocsPerRun(100, func() { ParseDecimalComma("1234,5678") }); n != 0 {
		t.Errorf("ParseDecimalComma allocates %v times", n)
	}
}

// BenchmarkParseDecimalComma parses BenchmarkParse's CSV written with
// semicolons and decimal commas, as a European spreadsheet exports it.
func BenchmarkParseDecimalComma(b *testing.B) {
	text := strings.NewReplacer(",", ";", ".", ",").Replace(numericCSV(100_000, 20))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, f, err := Parse(text, Detect); err != nil || !f.DecimalComma {
			b.Fatal(f, err)
		}
	}
}

package ml

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"testing"
)

func TestColumnBasics(t *testing.T) {
	num := NewNumeric("x", []float64{1.5, math.NaN(), -0.25, 1e21})
	if num.Len() != 4 || num.Missing() != 1 || !num.IsMissing(1) || num.IsMissing(0) {
		t.Errorf("numeric: len %d missing %d", num.Len(), num.Missing())
	}
	if got := []string{num.Text(0), num.Text(1), num.Text(2), num.Text(3)}; !slices.Equal(got, []string{"1.5", "", "-0.25", "1e+21"}) {
		t.Errorf("numeric text %q", got)
	}
	cat := NewCategorical("c", []int32{1, -1, 0, 1}, []string{"red", "blue"})
	if cat.Len() != 4 || cat.Missing() != 1 || !cat.IsMissing(1) {
		t.Errorf("categorical: len %d missing %d", cat.Len(), cat.Missing())
	}
	if got := []string{cat.Text(0), cat.Text(1), cat.Text(2)}; !slices.Equal(got, []string{"blue", "", "red"}) {
		t.Errorf("categorical text %q", got)
	}
	taken := cat.Take([]int{3, 2, 2})
	if taken.Name != "c" || taken.Type != Categorical || !slices.Equal(taken.Codes, []int32{1, 0, 0}) || !slices.Equal(taken.Levels, cat.Levels) {
		t.Errorf("Take: %+v", taken)
	}
	if got := num.Take([]int{1, 0}); got.Type != Numeric || !math.IsNaN(got.Num[0]) || got.Num[1] != 1.5 {
		t.Errorf("numeric Take: %v", got.Num)
	}
}

func TestColumnBinaryRoundTrip(t *testing.T) {
	nan := math.Float64frombits(0x7ff8000000000123) // a NaN with a payload
	cols := []*Column{
		NewNumeric("x", []float64{1.5, math.NaN(), nan, math.Inf(1), math.Copysign(0, -1), -1e-300}),
		NewNumeric("empty", []float64{}),
		NewCategorical("c", []int32{2, -1, 0, 1, 2}, []string{"red", "", "grün ✓"}),
		NewCategorical("no levels", []int32{-1, -1}, nil),
	}
	for _, col := range cols {
		data, err := col.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if data[0] != 1 {
			t.Errorf("%s: format version byte %d, want 1", col.Name, data[0])
		}
		got := &Column{Name: "kept"}
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("%s: %v", col.Name, err)
		}
		if got.Name != "kept" || got.Type != col.Type || got.Len() != col.Len() {
			t.Fatalf("%s: decoded %+v", col.Name, got)
		}
		for i, v := range col.Num {
			if math.Float64bits(got.Num[i]) != math.Float64bits(v) {
				t.Errorf("%s row %d: %v, want %v (bit-exact)", col.Name, i, got.Num[i], v)
			}
		}
		if col.Type == Categorical && (!slices.Equal(got.Codes, col.Codes) || len(got.Levels) != len(col.Levels) || !slices.Equal(got.Levels, col.Levels)) {
			t.Errorf("%s: decoded %v %q, want %v %q", col.Name, got.Codes, got.Levels, col.Codes, col.Levels)
		}
	}
	// Numeric cells take 8 bytes each.
	data, _ := cols[0].MarshalBinary()
	if len(data) != 10+8*6 {
		t.Errorf("numeric encoding is %d bytes, want %d", len(data), 10+8*6)
	}
}

func TestColumnUnmarshalCorrupt(t *testing.T) {
	num, _ := NewNumeric("x", []float64{1, 2, 3}).MarshalBinary()
	cat, _ := NewCategorical("c", []int32{0, 1, -1}, []string{"a", "bb"}).MarshalBinary()
	// Every proper prefix is truncated input: an error, never a panic.
	for _, valid := range [][]byte{num, cat} {
		for l := range len(valid) {
			var c Column
			if err := c.UnmarshalBinary(valid[:l]); err == nil {
				t.Errorf("prefix of %d/%d bytes decoded without error", l, len(valid))
			}
		}
	}
	mutate := func(data []byte, at int, b byte) []byte {
		out := slices.Clone(data)
		out[at] = b
		return out
	}
	cases := map[string][]byte{
		"version 2":           mutate(num, 0, 2),
		"version 0":           mutate(num, 0, 0),
		"unknown type":        mutate(num, 1, 9),
		"trailing bytes":      append(slices.Clone(num), 0),
		"huge row count":      mutate(num, 9, 0x7f),
		"code too large":      binary.LittleEndian.AppendUint32(slices.Clone(cat[:len(cat)-4]), 2), // 2 ≥ 2 levels
		"code below -1":       mutate(cat, len(cat)-4, 0xfe),                                       // -2
		"huge level count":    mutate(cat, 17, 0x7f),
		"huge level length":   mutate(cat, 21, 0x7f),
		"categorical trailer": append(slices.Clone(cat), 1, 2),
	}
	dup, _ := (&Column{Type: Categorical, Codes: []int32{0}, Levels: []string{"a", "a"}}).MarshalBinary()
	cases["duplicate level"] = dup
	for name, data := range cases {
		var c Column
		err := c.UnmarshalBinary(data)
		if err == nil {
			t.Errorf("%s: decoded without error", name)
			continue
		}
		if c.Type != "" || c.Num != nil {
			t.Errorf("%s: failed decode modified the column", name)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestTextColumn(t *testing.T) {
	col := NewStringColumn("review", Text, []string{"good food", "", "slow service", "good food"})
	if col.Type != Text || col.Len() != 4 || col.Missing() != 1 || !col.IsMissing(1) {
		t.Fatalf("text column %+v", col)
	}
	if !slices.Equal(col.Levels, []string{"good food", "slow service"}) || !slices.Equal(col.Codes, []int32{0, -1, 1, 0}) {
		t.Errorf("dictionary %q codes %v: repeated texts must share a level", col.Levels, col.Codes)
	}
	if got := []string{col.Text(0), col.Text(1), col.Text(2), col.Text(3)}; !slices.Equal(got, []string{"good food", "", "slow service", "good food"}) {
		t.Errorf("Text %q", got)
	}
	taken := col.Take([]int{2, 1})
	if taken.Type != Text || !slices.Equal(taken.Codes, []int32{1, -1}) {
		t.Errorf("Take: %+v", taken)
	}
	if err := col.validate(); err != nil {
		t.Error(err)
	}
	bad := NewText("t", []int32{2}, []string{"a", "b"})
	wantInputError(t, bad.validate(), `"t"`, "row 1", "code 2")
	cat := NewStringColumn("c", Categorical, []string{"x", "y", "x"})
	if cat.Type != Categorical || !slices.Equal(cat.Codes, []int32{0, 1, 0}) {
		t.Errorf("categorical from strings: %+v", cat)
	}
	defer func() {
		if recover() == nil {
			t.Error("NewStringColumn(Numeric) did not panic")
		}
	}()
	NewStringColumn("n", Numeric, []string{"1"})
}

func TestColumnAs(t *testing.T) {
	text := NewText("t", []int32{0, -1, 1}, []string{"a b", "c"})
	cat, err := text.As(Categorical)
	if err != nil || cat.Type != Categorical || cat.Name != "t" || &cat.Codes[0] != &text.Codes[0] || !slices.Equal(cat.Levels, text.Levels) {
		t.Fatalf("TEXT→CATEGORICAL: %+v, %v (codes must be shared)", cat, err)
	}
	if back, err := cat.As(Text); err != nil || back.Type != Text {
		t.Errorf("CATEGORICAL→TEXT: %+v, %v", back, err)
	}
	if same, err := text.As(Text); err != nil || same != text {
		t.Errorf("TEXT→TEXT: %p, %v; want the column itself", same, err)
	}

	num := NewNumeric("n", []float64{1.5, math.NaN(), 2, 1.5, 1e21})
	for _, typ := range []ColumnType{Categorical, Text} {
		got, err := num.As(typ)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != typ || !slices.Equal(got.Levels, []string{"1.5", "2", "1e+21"}) || !slices.Equal(got.Codes, []int32{0, -1, 1, 0, 2}) {
			t.Errorf("NUMERIC→%s: %q %v", typ, got.Levels, got.Codes)
		}
	}

	parsed, err := NewCategorical("p", []int32{1, 0, -1, 2, 1}, []string{" 3.25", "-7", "NaN"}).As(Numeric)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-7, 3.25, math.NaN(), math.NaN(), -7}
	if !slices.EqualFunc(parsed.Num, want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
		t.Errorf("CATEGORICAL→NUMERIC: %v, want %v", parsed.Num, want)
	}
	for _, level := range []string{"twelve", "1_000", "0x10", "inf", "1e400", "", "1.5e150", "-2e150"} {
		_, err := NewText("words", []int32{0, 0, 1}, []string{"4", level}).As(Numeric)
		wantInputError(t, err, `"words"`, "row 3", strconv.Quote(level), "finite number")
	}
	// The bound itself is a number like any other.
	if got, err := NewText("words", []int32{0, 1}, []string{"1e150", "-1e150"}).As(Numeric); err != nil || got.Num[0] != 1e150 || got.Num[1] != -1e150 {
		t.Errorf("±1e150 as NUMERIC: %v, %v", got, err)
	}
	_, err = num.As("DATE")
	wantInputError(t, err, `"n"`, "DATE")
	_, err = NewCategorical("broken", []int32{5}, nil).As(Text)
	wantInputError(t, err, `"broken"`)
}

func TestColumnBytesEncoding(t *testing.T) {
	pixels := make([]float64, 1000)
	for i := range pixels {
		pixels[i] = float64(i % 255)
	}
	pixels[3] = math.NaN()
	cases := []struct {
		name  string
		num   []float64
		bytes bool // written as one byte a cell
	}{
		{"pixels", pixels, true},
		{"empty", []float64{}, true},
		{"all missing", []float64{math.NaN(), math.NaN()}, true},
		{"255", []float64{0, 255}, false},
		{"negative", []float64{0, -1}, false},
		{"fraction", []float64{0, 1.5}, false},
		{"negative zero", []float64{0, math.Copysign(0, -1)}, false},
		{"NaN payload", []float64{0, math.Float64frombits(0x7ff8000000000123)}, false},
		{"infinity", []float64{math.Inf(1)}, false},
	}
	for _, c := range cases {
		col := NewNumeric(c.name, c.num)
		data, err := col.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		wantLen, wantTag := 10+8*len(c.num), columnTagNumeric
		if c.bytes {
			wantLen, wantTag = 10+len(c.num), columnTagBytes
		}
		if len(data) != wantLen || data[0] != 1 || data[1] != wantTag {
			t.Errorf("%s: %d bytes, version %d, tag %d; want %d bytes, version 1, tag %d", c.name, len(data), data[0], data[1], wantLen, wantTag)
		}
		var got Column
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got.Type != Numeric || !slices.EqualFunc(got.Num, c.num, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
			t.Errorf("%s: decoded %v, want %v bit for bit", c.name, got.Num, c.num)
		}
	}
	// AppendBinary appends after what the buffer holds.
	buf, err := NewNumeric("x", []float64{7, 8}).AppendBinary([]byte("head"))
	if err != nil || string(buf[:4]) != "head" || len(buf) != 4+12 || buf[4+1] != columnTagBytes || buf[4+10] != 7 || buf[4+11] != 8 {
		t.Errorf("AppendBinary: %x, %v", buf, err)
	}
	// Data in the float64 form keeps decoding (format version 1 as ever).
	old := binary.LittleEndian.AppendUint64([]byte{1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, math.Float64bits(3))
	var c Column
	if err := c.UnmarshalBinary(old); err != nil || c.Num[0] != 3 {
		t.Errorf("float64 form of small integers: %v, %v", c.Num, err)
	}
}

func TestColumnTextAndBytesCorrupt(t *testing.T) {
	text, _ := NewText("t", []int32{0, 1, -1}, []string{"hello world", "ünïcode"}).MarshalBinary()
	bytesForm, _ := NewNumeric("b", []float64{1, 2, math.NaN()}).MarshalBinary()
	if text[1] != columnTagText || bytesForm[1] != columnTagBytes {
		t.Fatalf("tags %d and %d, want %d and %d", text[1], bytesForm[1], columnTagText, columnTagBytes)
	}
	for _, valid := range [][]byte{text, bytesForm} {
		for l := range len(valid) {
			var c Column
			if err := c.UnmarshalBinary(valid[:l]); err == nil {
				t.Errorf("prefix of %d/%d bytes (tag %d) decoded without error", l, len(valid), valid[1])
			}
		}
	}
	cases := map[string][]byte{
		"text trailing bytes":  append(slices.Clone(text), 0, 0, 0, 0),
		"text code too large":  binary.LittleEndian.AppendUint32(slices.Clone(text[:len(text)-4]), 2),
		"text huge row count":  append(slices.Clone(text[:9]), append([]byte{0x7f}, text[10:]...)...),
		"bytes trailing bytes": append(slices.Clone(bytesForm), 9),
		"bytes huge row count": append(slices.Clone(bytesForm[:9]), append([]byte{0x7f}, bytesForm[10:]...)...),
	}
	dup, _ := NewText("t", []int32{0}, []string{"same", "same"}).MarshalBinary()
	cases["text duplicate level"] = dup
	for name, data := range cases {
		c := NewNumeric("keep", []float64{42})
		if err := c.UnmarshalBinary(data); err == nil {
			t.Errorf("%s: decoded without error", name)
		} else if c.Type != Numeric || len(c.Num) != 1 || c.Codes != nil {
			t.Errorf("%s: failed decode modified the column", name)
		}
	}
	var c Column
	if err := c.UnmarshalBinary(text); err != nil || c.Type != Text || c.Text(1) != "ünïcode" || !c.IsMissing(2) {
		t.Errorf("text round trip: %+v, %v", c, err)
	}
}

package ml

import (
	"encoding/binary"
	"math"
	"slices"
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

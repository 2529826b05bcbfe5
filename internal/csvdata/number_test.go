package csvdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// checkDecimal fails unless parseDecimal(s), where it reads s, gives what
// strconv.ParseFloat gives, to the bit, and reports whether it read s.
func checkDecimal(t testing.TB, s string) bool {
	t.Helper()
	got, ok := parseDecimal(s)
	if !ok {
		return false
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Errorf("parseDecimal(%q) = %v, but strconv.ParseFloat fails: %v", s, got, err)
	} else if math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("parseDecimal(%q) = %v (%#x), strconv.ParseFloat %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
	return true
}

func TestParseDecimal(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "+0", "0.0", "-0.0", "00", "000.000", ".0", "0.", "0e0", "-0e-5", "0e999999",
		"1", "-1", "+1", "1.", ".5", "-.5", "5.", "1e5", "1E5", "1e+5", "1e-5", "1.5e-05", "-1.25E+02",
		"123456789", "1234567890123456789", "0.1234567890123456789", "12345678.12345678901",
		"1234567890.123456789", "0.000000000000000000001234567890123456789",
		"9007199254740992", "9007199254740993", "4503599627370496", "4503599627370497",
		"1e22", "1e23", "1e-22", "1e-23", "123e20", "1e37", "1e38", "999999999999999e22",
		"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "2e308",
		"2.2250738585072014e-308", "2.2250738585072011e-308", "4.9e-324", "1e-400", "1e-324",
		"0.8270936461226584", "-1.2345678901234567", "12.34567890123456789",
		"3.14159265358979323846", "00000000000000000000000001.5", "1.50000000000000000000",
		"9.999999999999999999", "99999999999999999999", "18446744073709551615",
		"2.5e-1", "7.2057594037927933e16", "1.00000000000000011102230246251565404236316680908203125",
		"1.00000000000000011102230246251565404236316680908203124",
	} {
		checkDecimal(t, s)
	}
	// Not plain decimals: left to strconv (which may or may not read them).
	for _, s := range []string{
		"", "+", "-", ".", "-.", "e5", ".e5", "1e", "1e+", "1e-", "1e+-5", "1.2.3", "1..2", "--1", "+-1",
		" 1", "1 ", "1,5", "1_000", "0x10", "0x1p3", "inf", "-Inf", "infinity", "NaN", "nan", "1e5x",
		"1f", "12345678901234567890", "1.2345678901234567890", "1e1001", "1e-99999", "١",
	} {
		if checkDecimal(t, s) {
			t.Errorf("parseDecimal(%q) read it", s)
		}
	}
}

// TestParseDecimalRandom: random numbers in the forms CSV files hold them,
// from every binade and power of ten, read as strconv reads them; and
// nearly all of them are read by parseDecimal itself.
func TestParseDecimalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	read, tried := 0, 0
	try := func(s string) {
		tried++
		if checkDecimal(t, s) {
			read++
		}
	}
	for range n {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		try(strconv.FormatFloat(f, 'g', -1, 64))
		try(strconv.FormatFloat(f, 'e', rng.IntN(18), 64))
		g := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
		try(strconv.FormatFloat(g, 'g', -1, 64))
		try(strconv.FormatFloat(g, 'f', rng.IntN(12), 64))
		try(strconv.FormatFloat(g, 'g', 1+rng.IntN(17), 64))
		// Random digits, point and exponent.
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		digits := 1 + rng.IntN(19)
		point := rng.IntN(digits + 1)
		for i := range digits {
			if i == point {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "e%d", rng.IntN(700)-350)
		}
		try(b.String())
	}
	if read < tried*9/10 {
		t.Errorf("parseDecimal read %d of %d numbers", read, tried)
	}
}

// TestPow10TabMatchesStrconv compares the table with strconv's own, where
// the Go source is at hand.
func TestPow10TabMatchesStrconv(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "internal", "strconv", "pow10tab.go"))
	if err != nil {
		t.Skipf("no strconv source: %v", err)
	}
	entry := regexp.MustCompile(`\{(0x[0-9a-f]+), (0x[0-9a-f]+)\}, // 1e(-?\d+)`)
	matches := entry.FindAllStringSubmatch(string(src), -1)
	if len(matches) != len(pow10Tab) {
		t.Fatalf("strconv has %d powers of ten, we %d", len(matches), len(pow10Tab))
	}
	for _, m := range matches {
		e, _ := strconv.Atoi(m[3])
		got := fmt.Sprintf("%#016x, %#016x", pow10Tab[e-pow10Min][0], pow10Tab[e-pow10Min][1])
		if want := m[1] + ", " + m[2]; got != want {
			t.Errorf("1e%d: %s, want %s", e, got, want)
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "1e308", "0.8270936461226584", "12345678.12345678901", "4.9e-324", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkDecimal(t, s)
	})
}

// BenchmarkParseDecimal reads numbers as the import benchmark writes them.
func BenchmarkParseDecimal(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	numbers := make([]string, 1024)
	for i := range numbers {
		numbers[i] = strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64)
	}
	b.Run("parseDecimal", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, ok := parseDecimal(numbers[i%len(numbers)]); !ok {
				b.Fatal(numbers[i%len(numbers)])
			}
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := strconv.ParseFloat(numbers[i%len(numbers)], 64); err != nil {
				b.Fatal(err)
			}
		}
	})
}

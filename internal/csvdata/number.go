package csvdata

import (
	"math"
	"math/big"
	"math/bits"
)

// parseDecimal reads a plain decimal number, [+-]digits[.digits][e[+-]digits]
// with at most 19 significant digits, as strconv.ParseFloat does, to the
// same bit, but several times faster: it is strconv's own fast paths (exact
// float64 arithmetic, then the Eisel-Lemire algorithm) without the general
// syntax. It reports false for anything else, or when those algorithms
// cannot decide (a result that is not a normal float64, a halfway case):
// then strconv.ParseFloat is what reads the cell.
func parseDecimal(s string) (float64, bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	// Leading zeros are skipped: man holds the significant digits.
	var man uint64
	zeros := i
	for i < len(s) && s[i] == '0' {
		i++
	}
	seen := i > zeros // digits seen
	start := i
	for i < len(s) && s[i]-'0' <= 9 {
		man = man*10 + uint64(s[i]-'0')
		i++
	}
	digits := i - start
	exp := 0 // the value is man × 10^exp
	if i < len(s) && s[i] == '.' {
		i++
		if digits == 0 {
			zeros = i
			for i < len(s) && s[i] == '0' {
				i++
			}
			exp = zeros - i
			seen = seen || i > zeros
		}
		start = i
		// Eight digits at once, then one at a time. Past 19 digits man
		// may overflow, but then the number is left to strconv anyway.
		for len(s)-i >= 8 {
			v := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if ((v+0x4646464646464646)|(v-0x3030303030303030))&0x8080808080808080 != 0 {
				break // not eight digits
			}
			man = man*100_000_000 + eightDigits(v)
			i += 8
		}
		for i < len(s) && s[i]-'0' <= 9 {
			man = man*10 + uint64(s[i]-'0')
			i++
		}
		exp += start - i
		digits += i - start
	}
	if !seen && digits == 0 || digits > 19 {
		return 0, false // not a number, or more digits than a uint64 holds
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, false
		}
		e := 0
		for ; i < len(s); i++ {
			d := s[i] - '0'
			if d > 9 || e > 1000 {
				return 0, false // not a number, or far out of range
			}
			e = e*10 + int(d)
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return 0, false
	}
	if man == 0 {
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	}
	if f, ok := exactFloat(man, exp, neg); ok {
		return f, true
	}
	return eiselLemire64(man, exp, neg)
}

// eightDigits is the number that eight ASCII digits, read as a
// little-endian uint64, spell.
func eightDigits(v uint64) uint64 {
	const mask = 0x000000FF000000FF
	const mul1 = 100 + 1_000_000<<32
	const mul2 = 1 + 10_000<<32
	v -= 0x3030303030303030
	v = v*10 + v>>8
	return (v&mask*mul1 + v>>16&mask*mul2) >> 32
}

// float64pow10 are the powers of ten a float64 holds exactly.
var float64pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	1e20, 1e21, 1e22,
}

// exactFloat is man × 10^exp when float64 arithmetic computes it with a
// single rounding (an exact integer times or over an exact power of ten),
// as strconv's atof64exact.
func exactFloat(man uint64, exp int, neg bool) (float64, bool) {
	if man>>52 != 0 {
		return 0, false
	}
	f := float64(man)
	if neg {
		f = -f
	}
	switch {
	case exp == 0:
		return f, true
	case exp > 0 && exp <= 15+22:
		if exp > 22 {
			f *= float64pow10[exp-22]
			exp = 22
		}
		if f > 1e15 || f < -1e15 {
			return 0, false
		}
		return f * float64pow10[exp], true
	case exp < 0 && exp >= -22:
		return f / float64pow10[-exp], true
	}
	return 0, false
}

// The powers of ten the Eisel-Lemire algorithm needs, as strconv's table.
const (
	pow10Min = -348
	pow10Max = 347
)

// pow10Tab[e-pow10Min] is 10^e scaled by a power of two into [2^127,
// 2^128), rounded down, as {high, low} 64 bits (strconv's pow10Tab).
var pow10Tab = makePow10Tab()

func makePow10Tab() *[pow10Max - pow10Min + 1][2]uint64 {
	var tab [pow10Max - pow10Min + 1][2]uint64
	ten := big.NewInt(10)
	mask := new(big.Int).SetUint64(math.MaxUint64)
	p, d, lo := new(big.Int), new(big.Int), new(big.Int)
	for e := pow10Min; e <= pow10Max; e++ {
		if e >= 0 {
			p.Exp(ten, big.NewInt(int64(e)), nil)
			if n := p.BitLen(); n > 128 {
				d.Rsh(p, uint(n-128))
			} else {
				d.Lsh(p, uint(128-n))
			}
		} else {
			// ⌊2^k / 10^-e⌋ for the k that puts it in [2^127, 2^128).
			p.Exp(ten, big.NewInt(int64(-e)), nil)
			k := uint(p.BitLen() + 127)
			d.Quo(d.Lsh(big.NewInt(1), k), p)
			if d.BitLen() < 128 {
				d.Quo(d.Lsh(big.NewInt(1), k+1), p)
			}
		}
		tab[e-pow10Min] = [2]uint64{new(big.Int).Rsh(d, 64).Uint64(), lo.And(d, mask).Uint64()}
	}
	return &tab
}

// eiselLemire64 is man × 10^exp10 by the Eisel-Lemire algorithm, as
// strconv's eiselLemire64 (see
// https://nigeltao.github.io/blog/2020/eisel-lemire.html); false when it
// cannot tell the correctly rounded result, or the result is subnormal,
// infinite or zero. man is not 0.
func eiselLemire64(man uint64, exp10 int, neg bool) (float64, bool) {
	if exp10 < pow10Min || exp10 > pow10Max {
		return 0, false
	}
	pow := &pow10Tab[exp10-pow10Min]
	exp2 := 1 + (exp10*108853)>>15 // ⌊exp10 × log2(10)⌋ + 1

	// Normalization.
	clz := bits.LeadingZeros64(man)
	man <<= uint(clz)
	const float64Bias = -1023
	retExp2 := uint64(exp2+63-float64Bias) - uint64(clz)

	// Multiplication.
	xHi, xLo := bits.Mul64(man, pow[0])

	// Wider approximation.
	if xHi&0x1FF == 0x1FF && xLo+man < man {
		yHi, yLo := bits.Mul64(man, pow[1])
		mergedHi, mergedLo := xHi, xLo+yHi
		if mergedLo < xLo {
			mergedHi++
		}
		if mergedHi&0x1FF == 0x1FF && mergedLo+1 == 0 && yLo+man < man {
			return 0, false
		}
		xHi, xLo = mergedHi, mergedLo
	}

	// Shifting to 54 bits.
	msb := xHi >> 63
	retMantissa := xHi >> (msb + 9)
	retExp2 -= 1 ^ msb

	// Halfway ambiguity.
	if xLo == 0 && xHi&0x1FF == 0 && retMantissa&3 == 1 {
		return 0, false
	}

	// From 54 to 53 bits.
	retMantissa += retMantissa & 1
	retMantissa >>= 1
	if retMantissa>>53 > 0 {
		retMantissa >>= 1
		retExp2++
	}
	// Zero or underflow: subnormal; 0x7FF or above: infinite.
	if retExp2-1 >= 0x7FF-1 {
		return 0, false
	}
	retBits := retExp2<<52 | retMantissa&(1<<52-1)
	if neg {
		retBits |= 1 << 63
	}
	return math.Float64frombits(retBits), true
}

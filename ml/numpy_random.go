package ml

// numpyRandomState is numpy's legacy np.random.RandomState generator: the
// 32-bit Mersenne Twister MT19937 seeded by init_genrand, with the few
// draws the models make implemented as numpy implements them (the 53-bit
// random_sample, masked rejection for bounded integers, Fisher–Yates
// shuffle from the end).
//
// It exists for scikit-learn parity: scikit-learn turns random_state=s
// into np.random.RandomState(s) and draws from it, so reproducing the
// generator and scikit-learn's order of draws bit for bit lets Seed s give
// the same models as random_state=s — the MLP's initial weights and epoch
// shuffles, the trees' splitter seeds, the forests' per-tree seeds and
// bootstrap samples, and gradient boosting's subsamples and hold-out.
// The tests compare against numpy's outputs exactly, so any change here
// changes fitted models.
type numpyRandomState struct {
	mt  [624]uint32
	pos int
}

// newNumpyRandomState returns the generator of np.random.RandomState(seed)
// (init_genrand); seeds are taken modulo 2³².
func newNumpyRandomState(seed int) *numpyRandomState {
	r := &numpyRandomState{pos: len(numpyRandomState{}.mt)}
	r.mt[0] = uint32(seed)
	for i := 1; i < len(r.mt); i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

// uint32 returns the next 32 random bits (MT19937 genrand_int32).
func (r *numpyRandomState) uint32() uint32 {
	const n, m = 624, 397
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	if r.pos >= n {
		for i := range n {
			y := r.mt[i]&upper | r.mt[(i+1)%n]&lower
			next := r.mt[(i+m)%n] ^ y>>1
			if y&1 != 0 {
				next ^= matrixA
			}
			r.mt[i] = next
		}
		r.pos = 0
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 returns a uniform value in [0, 1) with 53 random bits
// (RandomState.random_sample).
func (r *numpyRandomState) float64() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// uniform returns a uniform value in [low, high), as RandomState.uniform.
func (r *numpyRandomState) uniform(low, high float64) float64 {
	return low + (high-low)*r.float64()
}

// interval returns a uniform integer in [0, hi] by masked rejection, as
// numpy's random_interval for hi < 2³².
func (r *numpyRandomState) interval(hi uint32) uint32 {
	if hi == 0 {
		return 0
	}
	mask := hi
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.uint32() & mask; v <= hi {
			return v
		}
	}
}

// intn returns a uniform integer in [0, n) for 0 < n ≤ 2³², as numpy's
// RandomState.randint(n): interval(n−1).
func (r *numpyRandomState) intn(n int) int {
	return int(r.interval(uint32(n - 1)))
}

// shuffle permutes s in place as RandomState.shuffle (Fisher–Yates from
// the end).
func (r *numpyRandomState) shuffle(s []int) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.interval(uint32(i))
		s[i], s[j] = s[j], s[i]
	}
}

// permutation returns a random permutation of 0..n−1
// (RandomState.permutation).
func (r *numpyRandomState) permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.shuffle(p)
	return p
}

// splitterSeed draws the seed of a tree's rand_r generator, as
// scikit-learn's Splitter does from the tree's RandomState
// (randint(0, RAND_R_MAX)).
func (r *numpyRandomState) splitterSeed() uint32 { return uint32(r.intn(randRMax)) }

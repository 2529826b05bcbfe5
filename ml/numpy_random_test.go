package ml

import (
	"slices"
	"testing"
)

// TestNumpyRandomState checks the generator against numpy 1.24's
// RandomState outputs:
//
//	np.random.RandomState(0).random_sample(3)
//	r = np.random.RandomState(123); a = np.arange(10); r.shuffle(a); r.uniform(-2, 3, 2)
//	np.random.RandomState(0).randint(0, 2**31-1, size=3)
//	np.random.RandomState(7).randint(0, 10, size=8)
//	np.random.RandomState(3).random_sample(2)
func TestNumpyRandomState(t *testing.T) {
	r := newNumpyRandomState(0)
	for _, want := range []float64{0.5488135039273248, 0.7151893663724195, 0.6027633760716439} {
		if got := r.float64(); got != want {
			t.Errorf("random_sample %.17g, numpy %.17g", got, want)
		}
	}
	if got := newNumpyRandomState(0).uint32(); got != 2357136044 {
		t.Errorf("first MT19937 output for seed 0 is %d, want 2357136044", got)
	}
	r = newNumpyRandomState(123)
	if got, want := r.permutation(10), []int{4, 0, 7, 5, 8, 3, 1, 6, 9, 2}; !slices.Equal(got, want) {
		t.Errorf("shuffle %v, numpy %v", got, want)
	}
	for _, want := range []float64{0.05462186354509457, 0.8984714851130504} {
		if got := r.uniform(-2, 3); got != want {
			t.Errorf("uniform %.17g, numpy %.17g", got, want)
		}
	}
	rs := newNumpyRandomState(0)
	for _, want := range []int{209652396, 398764591, 924231285} { // randint(0, 2**31-1)
		if got := rs.intn(randRMax); got != want {
			t.Errorf("RandomState(0).randint(0, 2**31-1) = %d, want %d", got, want)
		}
	}
	rs = newNumpyRandomState(7)
	for a, want := range []int{4, 9, 6, 3, 3, 7, 7, 9} { // randint(0, 10, size=8)
		if got := rs.intn(10); got != want {
			t.Errorf("RandomState(7).randint(0, 10)[%d] = %d, want %d", a, got, want)
		}
	}
	rs = newNumpyRandomState(3)
	for _, want := range []float64{0.5507979025745755, 0.7081478226181048} { // random_sample(2)
		if got := rs.float64(); got != want {
			t.Errorf("RandomState(3).random_sample() = %v, want %v", got, want)
		}
	}
}

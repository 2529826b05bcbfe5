package ml

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// RandomSplit returns reproducible train and test row indices for n rows:
// the rows are shuffled by a PCG generator seeded with (seed, seed) and the
// first round(n·testFraction) become the test rows, clamped so that each
// side gets at least one row. Both slices are sorted ascending. It returns
// an *InputError unless 0 < testFraction < 1 and n ≥ 2.
func RandomSplit(n int, testFraction float64, seed uint64) (train, test []int, err error) {
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, inputErrorf("test fraction must be in (0, 1), got %v", testFraction)
	}
	if n < 2 {
		return nil, nil, inputErrorf("need at least 2 rows to split into train and test, got %d", n)
	}
	nTest := int(math.Round(float64(n) * testFraction))
	nTest = min(max(nTest, 1), n-1)
	perm := rand.New(rand.NewPCG(seed, seed)).Perm(n)
	test = slices.Clone(perm[:nTest])
	train = slices.Clone(perm[nTest:])
	slices.Sort(test)
	slices.Sort(train)
	return train, test, nil
}

// CustomSplit reads a train/test assignment from a categorical (or text)
// column whose values are "train" or "test" (case-insensitive, surrounding
// spaces ignored) and returns the row indices of each, ascending. Any other
// value, a missing value, a numeric column, or a split with no train or no
// test rows is an *InputError naming the (0-based) row and value.
func CustomSplit(col *Column) (train, test []int, err error) {
	if !col.Type.hasCodes() {
		return nil, nil, inputErrorf("split column %q must hold the text \"train\" or \"test\"; it is %s", col.Name, col.Type)
	}
	if err := col.validate(); err != nil {
		return nil, nil, err
	}
	// Classify each level once, then each row by its code.
	const (
		bad = iota
		isTrain
		isTest
	)
	kind := make([]int, len(col.Levels))
	for code, level := range col.Levels {
		switch strings.ToLower(strings.TrimSpace(level)) {
		case "train":
			kind[code] = isTrain
		case "test":
			kind[code] = isTest
		}
	}
	for i, code := range col.Codes {
		if code < 0 {
			return nil, nil, inputErrorf("split column %q: %s is missing; every row must be \"train\" or \"test\"", col.Name, RowName(i))
		}
		switch kind[code] {
		case isTrain:
			train = append(train, i)
		case isTest:
			test = append(test, i)
		default:
			return nil, nil, inputErrorf("split column %q: %s has value %q; want \"train\" or \"test\"", col.Name, RowName(i), col.Levels[code])
		}
	}
	if len(train) == 0 {
		return nil, nil, inputErrorf("split column %q has no \"train\" rows", col.Name)
	}
	if len(test) == 0 {
		return nil, nil, inputErrorf("split column %q has no \"test\" rows", col.Name)
	}
	return train, test, nil
}

package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestROCPointsScikitLearnExample(t *testing.T) {
	// The example of sklearn.metrics.roc_curve's documentation.
	positive := []bool{false, false, true, true}
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	fpr, tpr := ROCPoints(positive, scores)
	wantF := []float64{0, 0, 0.5, 0.5, 1}
	wantT := []float64{0, 0.5, 0.5, 1, 1}
	if !slices.Equal(fpr, wantF) || !slices.Equal(tpr, wantT) {
		t.Fatalf("ROCPoints = %v, %v; want %v, %v", fpr, tpr, wantF, wantT)
	}
	if got := AUC(fpr, tpr); got != 0.75 {
		t.Errorf("AUC = %v, want 0.75", got)
	}
}

func TestROCPointsHandComputed(t *testing.T) {
	// Ranked by score: + + − −. Each distinct score is a threshold:
	// (fp, tp) = (0,1) (0,2) (1,2) (2,2) out of 2 and 2, after (0,0).
	positive := []bool{false, true, false, true}
	scores := []float64{0.6, 0.9, 0.7, 0.8}

	fpr, tpr := ROCPointsAll(positive, scores)
	if want := []float64{0, 0, 0, 0.5, 1}; !slices.Equal(fpr, want) {
		t.Errorf("ROCPointsAll fpr = %v, want %v", fpr, want)
	}
	if want := []float64{0, 0.5, 1, 1, 1}; !slices.Equal(tpr, want) {
		t.Errorf("ROCPointsAll tpr = %v, want %v", tpr, want)
	}

	// (1,2) is the middle of the straight run (0,2)→(1,2)→(2,2) with equal
	// steps: dropped, as scikit-learn's roc_curve does by default (its result
	// for this input is fpr [0, 0, 0, 1], tpr [0, 0.5, 1, 1]).
	fpr, tpr = ROCPoints(positive, scores)
	if want := []float64{0, 0, 0, 1}; !slices.Equal(fpr, want) {
		t.Errorf("ROCPoints fpr = %v, want %v", fpr, want)
	}
	if want := []float64{0, 0.5, 1, 1}; !slices.Equal(tpr, want) {
		t.Errorf("ROCPoints tpr = %v, want %v", tpr, want)
	}
	if got := AUC(fpr, tpr); got != 1 {
		t.Errorf("AUC = %v, want 1", got)
	}
}

func TestROCPointsTies(t *testing.T) {
	// Two rows at 0.5 (one of each class) and two at 0.2 (one of each):
	// each threshold moves both rates together, a diagonal curve.
	positive := []bool{true, false, true, false}
	scores := []float64{0.5, 0.5, 0.2, 0.2}
	fpr, tpr := ROCPointsAll(positive, scores)
	if want := []float64{0, 0.5, 1}; !slices.Equal(fpr, want) || !slices.Equal(tpr, want) {
		t.Fatalf("ROCPointsAll = %v, %v; want %v for both", fpr, tpr, want)
	}
	if got := AUC(fpr, tpr); got != 0.5 {
		t.Errorf("AUC = %v, want 0.5", got)
	}

	// Infinite scores are ordinary thresholds.
	fpr, tpr = ROCPointsAll([]bool{true, false, false}, []float64{math.Inf(1), 0, math.Inf(-1)})
	if want := []float64{0, 0, 0.5, 1}; !slices.Equal(fpr, want) {
		t.Errorf("with infinities fpr = %v, want %v", fpr, want)
	}
	if want := []float64{0, 1, 1, 1}; !slices.Equal(tpr, want) {
		t.Errorf("with infinities tpr = %v, want %v", tpr, want)
	}
}

func TestROCPointsUndefined(t *testing.T) {
	cases := map[string]struct {
		positive []bool
		scores   []float64
	}{
		"empty":          {nil, nil},
		"lengths differ": {[]bool{true, false}, []float64{0.1}},
		"NaN score":      {[]bool{true, false}, []float64{math.NaN(), 0.1}},
		"no positives":   {[]bool{false, false}, []float64{0.2, 0.1}},
		"no negatives":   {[]bool{true, true}, []float64{0.2, 0.1}},
	}
	for name, c := range cases {
		if fpr, tpr := ROCPoints(c.positive, c.scores); fpr != nil || tpr != nil {
			t.Errorf("%s: ROCPoints = %v, %v; want nil", name, fpr, tpr)
		}
	}
	if !math.IsNaN(AUC([]float64{0, 1}, []float64{0})) || !math.IsNaN(AUC([]float64{0}, []float64{0})) {
		t.Error("AUC of mismatched or single-point input is not NaN")
	}
}

// TestROCPointsMatchesMannWhitney checks the curve on random data with many
// ties: its area must be the probability that a random positive outscores a
// random negative, ties counting half, and dropping points must not change
// the area or the ends.
func TestROCPointsMatchesMannWhitney(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 2 + rng.IntN(200)
		positive := make([]bool, n)
		scores := make([]float64, n)
		for i := range n {
			positive[i] = rng.IntN(3) == 0
			scores[i] = float64(rng.IntN(10)) / 10 // few distinct values: ties
			if positive[i] {
				scores[i] += 0.2
			}
		}
		var wins, pairs float64
		for i := range n {
			for j := range n {
				if positive[i] && !positive[j] {
					pairs++
					switch {
					case scores[i] > scores[j]:
						wins++
					case scores[i] == scores[j]:
						wins += 0.5
					}
				}
			}
		}
		fpr, tpr := ROCPoints(positive, scores)
		allF, allT := ROCPointsAll(positive, scores)
		if pairs == 0 {
			if fpr != nil || allF != nil {
				t.Fatalf("trial %d: one class only, got a curve", trial)
			}
			continue
		}
		want := wins / pairs
		if got := AUC(fpr, tpr); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUC(ROCPoints) = %v, Mann–Whitney %v", trial, got, want)
		}
		if got := AUC(allF, allT); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUC(ROCPointsAll) = %v, Mann–Whitney %v", trial, got, want)
		}
		if len(fpr) > len(allF) || fpr[0] != 0 || tpr[0] != 0 || fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
			t.Fatalf("trial %d: bad ends or length: %v %v", trial, fpr, tpr)
		}
		if !slices.IsSorted(fpr) || !slices.IsSorted(tpr) {
			t.Fatalf("trial %d: rates not non-decreasing: %v %v", trial, fpr, tpr)
		}
	}
}

// TestROCPointsScikitLearnTies compares against scikit-learn 1.2's
// roc_curve on a case with ties and dropped intermediate points (20
// thresholds without dropping, 11 points with).
func TestROCPointsScikitLearnTies(t *testing.T) {
	y := []int{1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1}
	scores := []float64{0.9, 0.1, 0.3, 0.8, 0.8, 0.3, 0.7, 0.65, 0.2, 0.2, 0.95, 0.55, 0.5, 0.6, 0.45, 0.4, 0.3, 0.8, 0.99, 0.85, 0.05, 0.15, 0.35, 0.75}
	positive := make([]bool, len(y))
	for i, v := range y {
		positive[i] = v == 1
	}
	wantF := []float64{0.0, 0.0, 0.0, 0.07692307692307693, 0.07692307692307693, 0.15384615384615385, 0.15384615384615385, 0.46153846153846156, 0.6153846153846154, 0.7692307692307693, 1.0}
	wantT := []float64{0.0, 0.09090909090909091, 0.36363636363636365, 0.5454545454545454, 0.7272727272727273, 0.7272727272727273, 0.9090909090909091, 0.9090909090909091, 1.0, 1.0, 1.0}
	fpr, tpr := ROCPoints(positive, scores)
	if !slices.Equal(fpr, wantF) || !slices.Equal(tpr, wantT) {
		t.Errorf("ROCPoints =\n%v\n%v\nwant\n%v\n%v", fpr, tpr, wantF, wantT)
	}
	if all, _ := ROCPointsAll(positive, scores); len(all) != 20 {
		t.Errorf("ROCPointsAll has %d points, want 20", len(all))
	}
}

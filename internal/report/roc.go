package report

import (
	"cmp"
	"math"
	"slices"
)

// ROCPoints computes the ROC curve of scores for the positive class against
// the truth, the way scikit-learn's roc_curve does with its defaults: rows
// are sorted by decreasing score, a threshold is placed at each distinct
// score (tied rows move the curve together, so ties make a diagonal step),
// the curve starts at (0, 0), and points in the middle of a straight run of
// equal steps are dropped (drop_intermediate=True), which changes neither
// the curve's shape nor its area. fpr and tpr are non-decreasing and end at
// (1, 1).
//
// It returns nil slices when the curve is undefined: the lengths differ, the
// input is empty, a score is NaN, or there are no positive rows or no
// negative ones (scikit-learn returns NaN rates there). Infinite scores are
// allowed.
func ROCPoints(positive []bool, scores []float64) (fpr, tpr []float64) {
	return rocPoints(positive, scores, true)
}

// ROCPointsAll is ROCPoints keeping a point for every distinct score
// (scikit-learn's drop_intermediate=False).
func ROCPointsAll(positive []bool, scores []float64) (fpr, tpr []float64) {
	return rocPoints(positive, scores, false)
}

func rocPoints(positive []bool, scores []float64, dropIntermediate bool) (fpr, tpr []float64) {
	n := len(scores)
	if n == 0 || len(positive) != n {
		return nil, nil
	}
	for _, s := range scores {
		if math.IsNaN(s) {
			return nil, nil
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })

	// fps[t] and tps[t] count the negative and positive rows scoring at
	// least the t-th distinct score.
	var fps, tps []float64
	var fp, tp float64
	for k, i := range order {
		if positive[i] {
			tp++
		} else {
			fp++
		}
		if k == n-1 || scores[order[k+1]] != scores[i] {
			fps = append(fps, fp)
			tps = append(tps, tp)
		}
	}
	if tp == 0 || fp == 0 {
		return nil, nil
	}

	if dropIntermediate && len(fps) > 2 {
		// Keep the ends and every point where the curve changes direction
		// or step (a non-zero second difference), as scikit-learn does.
		keepF := append(make([]float64, 0, len(fps)), fps[0])
		keepT := append(make([]float64, 0, len(tps)), tps[0])
		for t := 1; t < len(fps)-1; t++ {
			if fps[t-1]-2*fps[t]+fps[t+1] != 0 || tps[t-1]-2*tps[t]+tps[t+1] != 0 {
				keepF, keepT = append(keepF, fps[t]), append(keepT, tps[t])
			}
		}
		fps = append(keepF, fps[len(fps)-1])
		tps = append(keepT, tps[len(tps)-1])
	}

	fpr = make([]float64, len(fps)+1)
	tpr = make([]float64, len(tps)+1)
	for t := range fps {
		fpr[t+1] = fps[t] / fp
		tpr[t+1] = tps[t] / tp
	}
	return fpr, tpr
}

// AUC is the area under a curve given by its points in order, by the
// trapezoid rule (scikit-learn's auc). For a curve from ROCPoints it is the
// ROC AUC, ties counting as half. It returns NaN when the lengths differ or
// there are fewer than two points.
func AUC(fpr, tpr []float64) float64 {
	if len(fpr) != len(tpr) || len(fpr) < 2 {
		return math.NaN()
	}
	var area float64
	for i := 1; i < len(fpr); i++ {
		area += (fpr[i] - fpr[i-1]) * (tpr[i] + tpr[i-1]) / 2
	}
	return area
}

package ml

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Metrics is an evaluation report. Pointer fields are nil when they do not
// apply to the task or cannot be computed from the rows given.
type Metrics struct {
	Rows int

	// Regression.
	R2, RMSE, MAE, MSE *float64

	// Classification. Precision, Recall and F1 are macro averages (see
	// ClassificationMetrics); RocAuc is for binary problems only.
	Accuracy, Precision, Recall, F1, LogLoss, RocAuc *float64
	Labels                                           []string // confusion matrix labels (the model's classes)
	ConfusionMatrix                                  [][]int  // [actual][predicted]
	PerClass                                         []ClassMetrics

	// Clustering: Inertia is the sum of squared distances of rows to their
	// cluster centre (in the standardised feature space); Silhouette is the
	// mean silhouette coefficient in [-1, 1].
	Inertia, Silhouette *float64
}

// ClassMetrics are the one-vs-rest scores of one class.
type ClassMetrics struct {
	Label                 string
	Precision, Recall, F1 float64
	Support               int // rows whose true label is this class
}

// RegressionMetrics scores predictions yPred against yTrue: R², MSE, RMSE
// and MAE. R² is nil for fewer than two rows, and follows scikit-learn when
// yTrue is constant (1 for a perfect fit, else 0). It panics if the slices
// differ in length.
func RegressionMetrics(yTrue, yPred []float64) *Metrics {
	if len(yTrue) != len(yPred) {
		panic("ml: RegressionMetrics: yTrue and yPred differ in length")
	}
	m := &Metrics{Rows: len(yTrue)}
	if len(yTrue) == 0 {
		return m
	}
	ms, scale := scaledMeanSquare(yTrue, yPred)
	m.MSE = ptr(ms / scale / scale)
	m.RMSE = ptr(math.Sqrt(ms) / scale)
	m.MAE = ptr(MeanAbsoluteError(yTrue, yPred))
	if len(yTrue) >= 2 {
		m.R2 = ptr(R2Score(yTrue, yPred))
	}
	return m
}

// MeanSquaredError is (1/n)·Σ(yᵢ − ŷᵢ)².
func MeanSquaredError(yTrue, yPred []float64) float64 {
	ms, scale := scaledMeanSquare(yTrue, yPred)
	return ms / scale / scale
}

// scaledMeanSquare returns (1/n)·Σ((yᵢ − ŷᵢ)·scale)² and the scale (see
// squareSafeScale) that keeps the sum from overflowing for errors near
// ±MaxAbsValue: 1 for ordinary errors.
func scaledMeanSquare(yTrue, yPred []float64) (ms, scale float64) {
	big := 0.0
	for i, y := range yTrue {
		big = max(big, math.Abs(y-yPred[i]))
	}
	scale = squareSafeScale(big)
	for i, y := range yTrue {
		d := (y - yPred[i]) * scale
		ms += d * d
	}
	return ms / float64(len(yTrue)), scale
}

// MeanAbsoluteError is (1/n)·Σ|yᵢ − ŷᵢ|.
func MeanAbsoluteError(yTrue, yPred []float64) float64 {
	s := 0.0
	for i, y := range yTrue {
		s += math.Abs(y - yPred[i])
	}
	return s / float64(len(yTrue))
}

// R2Score is the coefficient of determination 1 − Σ(yᵢ − ŷᵢ)²/Σ(yᵢ − ȳ)².
// When yTrue is constant it is 1 for a perfect prediction and 0 otherwise
// (scikit-learn's force_finite behaviour).
func R2Score(yTrue, yPred []float64) float64 {
	mean := 0.0
	for _, y := range yTrue {
		mean += y
	}
	mean /= float64(len(yTrue))
	// Sums of squares scaled (see squareSafeScale), which leaves their
	// ratio as it is.
	big := 0.0
	for i, y := range yTrue {
		big = max(big, math.Abs(y-yPred[i]), math.Abs(y-mean))
	}
	s := squareSafeScale(big)
	var ssRes, ssTot float64
	for i, y := range yTrue {
		r, d := (y-yPred[i])*s, (y-mean)*s
		ssRes += r * r
		ssTot += d * d
	}
	if ssTot == 0 {
		if ssRes == 0 {
			return 1
		}
		return 0
	}
	return 1 - ssRes/ssTot
}

// ClassificationMetrics scores class probabilities proba (n×K, columns in
// the order of classes) against the true class indices yTrue. The
// predicted class of a row is its most probable one (the first on ties).
//
// A yTrue of -1 marks a label the model never saw in training. Such a row
// counts in Rows and as a wrong prediction in Accuracy, and as a false
// positive for the class predicted; it is left out of the confusion
// matrix, of every class's support and recall, and of LogLoss and RocAuc
// (which are defined only over the model's classes).
//
// Precision, Recall and F1 are macro averages over the classes that occur
// among the true or predicted labels, with 0 for an undefined ratio
// (scikit-learn's average="macro", zero_division=0). LogLoss clips
// probabilities to [ε, 1−ε] (ε the float64 machine epsilon) and
// renormalises rows, as scikit-learn does. RocAuc is computed for K = 2
// only, with Classes[1] as the positive class, when both classes occur.
func ClassificationMetrics(yTrue []int, proba *mat.Dense, classes []string) *Metrics {
	n, k := proba.Dims()
	if n != len(yTrue) || k != len(classes) {
		panic("ml: ClassificationMetrics: proba must be len(yTrue)×len(classes)")
	}
	m := &Metrics{Rows: n, Labels: slices.Clone(classes)}
	pred := ArgmaxRows(proba)
	m.ConfusionMatrix = ConfusionMatrix(yTrue, pred, k)
	if n == 0 {
		return m
	}

	correct := 0
	predicted := make([]int, k) // every row, including unseen labels
	for i, p := range pred {
		predicted[p]++
		if yTrue[i] == p {
			correct++
		}
	}
	m.Accuracy = ptr(float64(correct) / float64(n))

	m.PerClass = make([]ClassMetrics, k)
	var sumP, sumR, sumF float64
	averaged := 0
	for c := range k {
		tp, support := m.ConfusionMatrix[c][c], 0
		for _, v := range m.ConfusionMatrix[c] {
			support += v
		}
		cm := ClassMetrics{Label: classes[c], Support: support}
		if predicted[c] > 0 {
			cm.Precision = float64(tp) / float64(predicted[c])
		}
		if support > 0 {
			cm.Recall = float64(tp) / float64(support)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		m.PerClass[c] = cm
		if support > 0 || predicted[c] > 0 {
			sumP += cm.Precision
			sumR += cm.Recall
			sumF += cm.F1
			averaged++
		}
	}
	m.Precision = ptr(sumP / float64(averaged))
	m.Recall = ptr(sumR / float64(averaged))
	m.F1 = ptr(sumF / float64(averaged))

	var known []int // rows with a label the model knows
	for i, y := range yTrue {
		if y >= 0 {
			known = append(known, i)
		}
	}
	if len(known) > 0 {
		m.LogLoss = ptr(LogLoss(yTrue, proba))
	}
	if k == 2 {
		positive := make([]bool, len(known))
		scores := make([]float64, len(known))
		for a, i := range known {
			positive[a] = yTrue[i] == 1
			scores[a] = proba.At(i, 1)
		}
		if auc, ok := RocAuc(positive, scores); ok {
			m.RocAuc = &auc
		}
	}
	return m
}

// ArgmaxRows returns, for each row of m, the index of its largest element
// (the first one on ties).
func ArgmaxRows(m mat.Matrix) []int {
	n, k := m.Dims()
	out := make([]int, n)
	for i := range n {
		best := 0
		bestV := m.At(i, 0)
		for c := 1; c < k; c++ {
			if v := m.At(i, c); v > bestV {
				best, bestV = c, v
			}
		}
		out[i] = best
	}
	return out
}

// ConfusionMatrix counts rows by [true class][predicted class] for classes
// 0..k-1. Rows whose true class is outside that range (such as -1 for an
// unseen label) are not counted.
func ConfusionMatrix(yTrue, yPred []int, k int) [][]int {
	cm := make([][]int, k)
	for c := range cm {
		cm[c] = make([]int, k)
	}
	for i, y := range yTrue {
		if y >= 0 && y < k && yPred[i] >= 0 && yPred[i] < k {
			cm[y][yPred[i]]++
		}
	}
	return cm
}

// LogLoss is the mean negative log-likelihood −(1/n)·Σ log p(yᵢ) of the
// true classes under proba (rows of class probabilities), over the rows
// with yTrue ≥ 0. Like scikit-learn, probabilities are clipped to
// [ε, 1−ε] and each row renormalised to sum to 1 before taking logs, so
// the loss stays finite. It returns NaN if no row has yTrue ≥ 0.
func LogLoss(yTrue []int, proba mat.Matrix) float64 {
	const eps = 0x1p-52 // float64 machine epsilon
	_, k := proba.Dims()
	sum, rows := 0.0, 0
	for i, y := range yTrue {
		if y < 0 {
			continue
		}
		total, py := 0.0, 0.0
		for c := range k {
			v := min(max(proba.At(i, c), eps), 1-eps)
			total += v
			if c == y {
				py = v
			}
		}
		sum -= math.Log(py / total)
		rows++
	}
	return sum / float64(rows)
}

// RocAuc is the area under the ROC curve of scores against positive
// labels: the trapezoid rule over the distinct score thresholds, so tied
// scores contribute a diagonal segment (equivalently, the Mann–Whitney U
// statistic with ties counted as ½). ok is false unless both positive and
// negative rows are present.
func RocAuc(positive []bool, scores []float64) (auc float64, ok bool) {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	var tp, fp, area float64
	for i := 0; i < len(order); {
		// Take all rows sharing this threshold as one step of the curve.
		prevTP, prevFP := tp, fp
		j := i
		// j == i guarantees progress even for NaN scores.
		for ; j < len(order) && (j == i || scores[order[j]] == scores[order[i]]); j++ {
			if positive[order[j]] {
				tp++
			} else {
				fp++
			}
		}
		area += (fp - prevFP) * (tp + prevTP) / 2
		i = j
	}
	if tp == 0 || fp == 0 {
		return 0, false
	}
	return area / (tp * fp), true
}

// silhouetteMaxRows bounds the rows the silhouette is computed over: its
// cost grows with the square of the rows.
const silhouetteMaxRows = 5000

// ClusteringMetrics scores a clustering of the rows of x (n×p), where
// labels[i] ∈ [0, k) is the cluster of row i and centers (k×p) holds the
// cluster centres:
//
//   - Inertia = Σᵢ ‖xᵢ − c_{labelsᵢ}‖², the k-means objective (lower is
//     tighter);
//   - Silhouette is scikit-learn's silhouette_score with the Euclidean
//     distance: the mean over rows of s(i) = (b(i) − a(i)) / max(a(i), b(i)),
//     where a(i) is the mean distance from row i to the other rows of its
//     cluster and b(i) the smallest mean distance from row i to the rows of
//     another cluster; s(i) = 0 for a row alone in its cluster (and where
//     a = b = 0). It lies in [−1, 1], higher meaning better separated
//     clusters. It is nil unless the rows fall into between 2 and n−1
//     distinct clusters. The cost is O(n²·p), so for more than 5,000 rows
//     it is computed, as silhouette_score(sample_size=5000) does, over a
//     sample of 5,000 rows, drawn by a fixed-seed generator so that the
//     same n gives the same sample.
//
// It panics if the dimensions disagree or a label is out of range.
func ClusteringMetrics(x *mat.Dense, labels []int, centers *mat.Dense) *Metrics {
	return clusteringMetrics(x, labels, centers, silhouetteMaxRows)
}

// clusteringMetrics is ClusteringMetrics with the silhouette computed over
// at most maxRows rows.
func clusteringMetrics(x *mat.Dense, labels []int, centers *mat.Dense, maxRows int) *Metrics {
	n, p := x.Dims()
	k, cp := centers.Dims()
	if len(labels) != n || (cp != p && n > 0) {
		panic("ml: ClusteringMetrics: x, labels and centers disagree in size")
	}
	for _, l := range labels {
		if l < 0 || l >= k {
			panic("ml: ClusteringMetrics: label out of range")
		}
	}
	m := &Metrics{Rows: n}
	if n == 0 {
		return m
	}
	raw := x.RawMatrix()
	row := func(i int) []float64 { return raw.Data[i*raw.Stride : i*raw.Stride+p] }
	segs := rowSegments(n, 4096, maxSegments)
	partial := make([]float64, len(segs))
	forEachSegment(segs, func(s int, seg segment) {
		sum := 0.0
		for i := seg.lo; i < seg.hi; i++ {
			sum += sqDist(row(i), centers.RawRowView(labels[i]))
		}
		partial[s] = sum
	})
	inertia := 0.0
	for _, v := range partial {
		inertia += v
	}
	m.Inertia = &inertia

	if s, ok := silhouette(x, labels, silhouetteSample(n, maxRows), k); ok {
		m.Silhouette = &s
	}
	return m
}

// silhouetteSample is the rows the silhouette is computed over: all n, or
// maxRows of them drawn by a fixed-seed generator (the same n gives the
// same sample), in ascending order.
func silhouetteSample(n, maxRows int) []int {
	if n > maxRows {
		rows := newRand(0).Perm(n)[:maxRows]
		slices.Sort(rows)
		return rows
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// silhouette is the mean silhouette coefficient of the given rows of x
// among themselves (see ClusteringMetrics); ok is false unless they fall
// into between 2 and len(rows)−1 clusters.
func silhouette(x *mat.Dense, labels, rows []int, k int) (float64, bool) {
	scores, ok := silhouetteSamples(x, labels, rows, k)
	if !ok {
		return 0, false
	}
	total := 0.0
	for _, s := range scores {
		total += s
	}
	return total / float64(len(scores)), true
}

// silhouetteSamples is scikit-learn's silhouette_samples with the
// Euclidean distance: the silhouette coefficient s(i) (see
// ClusteringMetrics) of each of the given rows of x among themselves, in
// the order of rows; ok is false (and the scores nil) unless they fall into
// between 2 and len(rows)−1 clusters. The cost is O(len(rows)²·p).
func silhouetteSamples(x *mat.Dense, labels, rows []int, k int) ([]float64, bool) {
	_, p := x.Dims()
	raw := x.RawMatrix()
	// Gather the rows, and number their clusters 0..used-1.
	m := len(rows)
	data := make([]float64, m*p)
	cluster := make([]int, m)
	index := make([]int, k)
	for c := range index {
		index[c] = -1
	}
	used := 0
	for a, i := range rows {
		copy(data[a*p:(a+1)*p], raw.Data[i*raw.Stride:i*raw.Stride+p])
		if index[labels[i]] < 0 {
			index[labels[i]] = used
			used++
		}
		cluster[a] = index[labels[i]]
	}
	if used < 2 || used > m-1 {
		return nil, false
	}
	size := make([]float64, used)
	for _, c := range cluster {
		size[c]++
	}
	scores := make([]float64, m)
	const block = 64
	parallelFor((m+block-1)/block, func(b int) {
		sums := make([]float64, used)
		for a := b * block; a < min((b+1)*block, m); a++ {
			clear(sums)
			xa := data[a*p : (a+1)*p]
			for j := range m {
				sums[cluster[j]] += math.Sqrt(sqDist(xa, data[j*p:(j+1)*p]))
			}
			own := cluster[a]
			if size[own] < 2 {
				continue // a singleton's coefficient is 0
			}
			intra := sums[own] / (size[own] - 1)
			inter := math.Inf(1)
			for c, s := range sums {
				if c != own {
					inter = min(inter, s/size[c])
				}
			}
			if d := max(intra, inter); d > 0 {
				scores[a] = (inter - intra) / d
			}
		}
	})
	return scores, true
}

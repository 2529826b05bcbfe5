package ml

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func near(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s is nil, want %v", name, want)
		return
	}
	if math.Abs(*got-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.17g, want %.17g", name, *got, want)
	}
}

func TestRegressionMetrics(t *testing.T) {
	// scikit-learn documentation example values.
	m := RegressionMetrics([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	if m.Rows != 4 {
		t.Errorf("rows %d", m.Rows)
	}
	near(t, "r2", m.R2, 0.9486081370449679)
	near(t, "mse", m.MSE, 0.375)
	near(t, "rmse", m.RMSE, math.Sqrt(0.375))
	near(t, "mae", m.MAE, 0.5)
	if m.Accuracy != nil || m.LogLoss != nil {
		t.Error("regression metrics carry classification fields")
	}

	// Constant truth: sklearn's force_finite gives 1 for perfect, 0 otherwise.
	near(t, "r2 constant perfect", RegressionMetrics([]float64{2, 2}, []float64{2, 2}).R2, 1)
	near(t, "r2 constant imperfect", RegressionMetrics([]float64{2, 2}, []float64{1, 2}).R2, 0)
	if m := RegressionMetrics([]float64{1}, []float64{2}); m.R2 != nil || m.MSE == nil {
		t.Errorf("one row: R2 %v (want nil), MSE %v (want set)", m.R2, m.MSE)
	}
	if m := RegressionMetrics(nil, nil); m.Rows != 0 || m.MSE != nil {
		t.Errorf("no rows: %+v", m)
	}
}

// probaFor returns a probability matrix whose row argmaxes are pred.
func probaFor(pred []int, k int) *mat.Dense {
	p := mat.NewDense(len(pred), k, nil)
	for i, c := range pred {
		for j := range k {
			p.Set(i, j, 0.2/float64(k-1))
		}
		p.Set(i, c, 0.8)
	}
	return p
}

func TestClassificationMetricsMacro(t *testing.T) {
	// sklearn precision_recall_fscore_support docs example: class 2
	// ("pig") is never predicted, so its precision is 0 (zero_division=0).
	yTrue := []int{0, 1, 2, 0, 1, 2}
	yPred := []int{0, 2, 1, 0, 0, 1}
	m := ClassificationMetrics(yTrue, probaFor(yPred, 3), []string{"cat", "dog", "pig"})
	near(t, "accuracy", m.Accuracy, 2.0/6)
	near(t, "precision", m.Precision, 0.2222222222222222)
	near(t, "recall", m.Recall, 0.3333333333333333)
	near(t, "f1", m.F1, 0.26666666666666666)
	wantCM := [][]int{{2, 0, 0}, {1, 0, 1}, {0, 2, 0}}
	for a := range wantCM {
		if !slices.Equal(m.ConfusionMatrix[a], wantCM[a]) {
			t.Fatalf("confusion matrix %v, want %v", m.ConfusionMatrix, wantCM)
		}
	}
	if !slices.Equal(m.Labels, []string{"cat", "dog", "pig"}) {
		t.Errorf("labels %q", m.Labels)
	}
	wantPer := []ClassMetrics{
		{Label: "cat", Precision: 2.0 / 3, Recall: 1, F1: 0.8, Support: 2},
		{Label: "dog", Precision: 0, Recall: 0, F1: 0, Support: 2},
		{Label: "pig", Precision: 0, Recall: 0, F1: 0, Support: 2},
	}
	for c, want := range wantPer {
		got := m.PerClass[c]
		if got.Label != want.Label || got.Support != want.Support ||
			math.Abs(got.Precision-want.Precision) > 1e-15 || math.Abs(got.Recall-want.Recall) > 1e-15 || math.Abs(got.F1-want.F1) > 1e-15 {
			t.Errorf("class %d: %+v, want %+v", c, got, want)
		}
	}
	if m.RocAuc != nil {
		t.Error("rocAuc set for a multiclass problem")
	}
	if m.R2 != nil {
		t.Error("classification metrics carry regression fields")
	}
}

// TestClassificationMetricsAbsentClass: a class absent from both truth and
// predictions is not averaged (sklearn averages over the labels present).
func TestClassificationMetricsAbsentClass(t *testing.T) {
	m := ClassificationMetrics([]int{0, 0, 1, 1}, probaFor([]int{0, 1, 1, 1}, 3), []string{"a", "b", "c"})
	// a: P=1 R=.5 F=2/3; b: P=2/3 R=1 F=.8; c absent.
	near(t, "precision", m.Precision, (1+2.0/3)/2)
	near(t, "recall", m.Recall, 0.75)
	near(t, "f1", m.F1, (2.0/3+0.8)/2)
}

func TestLogLoss(t *testing.T) {
	// sklearn log_loss docs example: labels ham < spam.
	yTrue := []int{1, 0, 0, 1} // spam, ham, ham, spam; columns are [ham, spam]
	proba := mat.NewDense(4, 2, []float64{.1, .9, .9, .1, .8, .2, .35, .65})
	m := ClassificationMetrics(yTrue, proba, []string{"ham", "spam"})
	near(t, "logLoss", m.LogLoss, 0.21616187468057912)

	// A zero probability for the true class is clipped, not infinite.
	eps := 0x1p-52
	got := LogLoss([]int{0}, mat.NewDense(1, 2, []float64{0, 1}))
	want := -math.Log(eps / (eps + 1 - eps))
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("clipped logLoss %v, want %v", got, want)
	}
}

func TestRocAuc(t *testing.T) {
	cases := []struct {
		positive []bool
		scores   []float64
		want     float64
	}{
		// sklearn roc_auc_score docs example.
		{[]bool{false, false, true, true}, []float64{0.1, 0.4, 0.35, 0.8}, 0.75},
		// Ties count half: pairs (pos, neg) = (.5,.1)=1 (.5,.5)=½ (.9,·)=2 (.2,.1)=1 (.2,.5)=0.
		{[]bool{false, false, true, true, true}, []float64{0.1, 0.5, 0.5, 0.9, 0.2}, 4.5 / 6},
		{[]bool{false, true, false, true}, []float64{0.5, 0.5, 0.5, 0.5}, 0.5},
		{[]bool{false, false, true}, []float64{0.1, 0.2, 0.3}, 1},
		{[]bool{true, false}, []float64{0.1, 0.9}, 0},
	}
	for _, c := range cases {
		got, ok := RocAuc(c.positive, c.scores)
		if !ok || math.Abs(got-c.want) > 1e-15 {
			t.Errorf("RocAuc(%v, %v) = %v, %v; want %v", c.positive, c.scores, got, ok, c.want)
		}
	}
	if _, ok := RocAuc([]bool{true, true}, []float64{0.1, 0.2}); ok {
		t.Error("RocAuc with one class reported ok")
	}
	if _, ok := RocAuc([]bool{true, false, true}, []float64{math.NaN(), math.NaN(), 0.5}); !ok {
		t.Error("RocAuc with NaN scores did not finish")
	}
	// Through ClassificationMetrics: the positive class is column 1.
	yTrue := []int{0, 0, 1, 1}
	proba := mat.NewDense(4, 2, []float64{.9, .1, .6, .4, .65, .35, .2, .8})
	near(t, "rocAuc", ClassificationMetrics(yTrue, proba, []string{"n", "p"}).RocAuc, 0.75)
}

// TestUnseenLabels: rows whose label the model never saw (-1) are misses
// in accuracy and false positives for the predicted class, and are left
// out of the confusion matrix, recall, logLoss and rocAuc.
func TestUnseenLabels(t *testing.T) {
	yTrue := []int{0, 1, -1, 1}
	proba := mat.NewDense(4, 2, []float64{.9, .1, .2, .8, .3, .7, .4, .6})
	m := ClassificationMetrics(yTrue, proba, []string{"a", "b"})
	if m.Rows != 4 {
		t.Errorf("rows %d, want 4", m.Rows)
	}
	near(t, "accuracy", m.Accuracy, 0.75)
	if m.ConfusionMatrix[0][0] != 1 || m.ConfusionMatrix[1][1] != 2 || m.ConfusionMatrix[0][1]+m.ConfusionMatrix[1][0] != 0 {
		t.Errorf("confusion matrix %v", m.ConfusionMatrix)
	}
	near(t, "precision", m.Precision, (1+2.0/3)/2) // b predicted 3 times, right twice
	near(t, "recall", m.Recall, 1)
	near(t, "logLoss", m.LogLoss, -(math.Log(.9)+math.Log(.8)+math.Log(.6))/3)
	near(t, "rocAuc", m.RocAuc, 1)
}

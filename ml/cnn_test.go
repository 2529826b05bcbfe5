package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TestCNNGradient compares the backpropagated gradient of a tiny network
// (a non-square two-channel image, odd sides so that pooling drops a row)
// with central finite differences, for weights and biases of every layer.
func TestCNNGradient(t *testing.T) {
	m := &CNN{KernelSize: 3, Filters1: 3, Filters2: 4, Hidden: 5}
	g, err := m.geometry(7, 9, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := newNumpyRandomState(1)
	net := newCNNNet(g, make([]float64, g.paramCount()))
	for i := range net.theta {
		net.theta[i] = rng.uniform(-0.5, 0.5)
	}
	// Enough rows for two parallel segments, whose gradients are summed.
	const rows = 2 * cnnMinSegmentRows
	x := mat.NewDense(rows, g.h*g.w*g.c, nil)
	y := make([]float64, rows)
	idx := make([]int, rows)
	for i := range rows {
		for j := range g.h * g.w * g.c {
			x.Set(i, j, rng.uniform(-1, 1))
		}
		y[i], idx[i] = float64(i%3), i
	}
	const alpha = 0.3
	tr := newCNNTrainer(net, rows)
	loss := func() float64 {
		l, _ := tr.gradient(x, y, idx, alpha, 0, 1)
		return l
	}
	_, grad := tr.gradient(x, y, idx, alpha, 0, 1)
	grad = append([]float64(nil), grad...)
	const h = 1e-6
	for l, layer := range net.layers {
		nw := len(layer.w)
		for _, at := range []int{layer.off, layer.off + nw/3, layer.off + nw - 1, layer.off + nw, layer.off + nw + layer.out - 1} {
			saved := net.theta[at]
			net.theta[at] = saved + h
			up := loss()
			net.theta[at] = saved - h
			down := loss()
			net.theta[at] = saved
			numeric := (up - down) / (2 * h)
			if err := math.Abs(numeric-grad[at]) / math.Max(math.Abs(numeric)+math.Abs(grad[at]), 1e-8); err > 1e-5 {
				t.Errorf("layer %d parameter %d: backprop %.10g, finite differences %.10g (rel. error %.2g)", l, at-layer.off, grad[at], numeric, err)
			}
		}
	}
}

// barImages returns n 8×8 gray images (0..255) with a bright vertical
// (class 1) or horizontal (class 0) bar at a random place, plus noise.
func barImages(n int, seed int) (x *mat.Dense, y []float64) {
	const side = 8
	rng := newNumpyRandomState(seed)
	x = mat.NewDense(n, side*side, nil)
	y = make([]float64, n)
	for i := range n {
		vertical := rng.intn(2) == 0
		at := rng.intn(side)
		for r := range side {
			for c := range side {
				v := rng.uniform(0, 60)
				if vertical && c == at || !vertical && r == at {
					v = 200 + rng.uniform(0, 55)
				}
				x.Set(i, r*side+c, v)
			}
		}
		if vertical {
			y[i] = 1
		}
	}
	return x, y
}

// barColumns is barImages as the columns of an image dataset.
func barColumns(n int, seed int) (features []*Column, target *Column) {
	x, y := barImages(n, seed)
	for j := range 64 {
		features = append(features, NewNumeric(fmt.Sprintf("pixel_%d_%d", j/8, j%8), mat.Col(nil, j, x)))
	}
	labels := make([]string, n)
	for i, v := range y {
		labels[i] = []string{"h", "v"}[int(v)]
	}
	return features, NewStringColumn("bar", Categorical, labels)
}

// cnnFastParams make a small network that learns the bars in well under a
// second.
var cnnFastParams = map[string]any{"filters1": 4, "filters2": 8, "hidden": 16, "epochs": 8, "batchSize": 16}

// newTestCNN builds a CNN from its registry entry's defaults with
// overrides (as ResolveParams would, without needing the registry).
func newTestCNN(overrides ...map[string]any) *CNN {
	params := map[string]any{}
	for _, s := range cnnAlgorithm().Params {
		params[s.Name] = s.Default
	}
	for _, o := range overrides {
		maps.Copy(params, o)
	}
	return newCNN(params).(*CNN)
}

// accuracyOf is the fraction of rows whose most probable class is y.
func accuracyOf(proba *mat.Dense, y []float64) float64 {
	correct := 0
	for i, v := range y {
		if floats.MaxIdx(proba.RawRowView(i)) == int(v) {
			correct++
		}
	}
	return float64(correct) / float64(len(y))
}

// TestCNNLearnsBars trains on 8×8 bar images (the smallest size the
// defaults are meant for) and checks held-out accuracy, the round trip of
// the fitted state through JSON (as the model encoding stores it) and
// concurrent prediction.
func TestCNNLearnsBars(t *testing.T) {
	trainX, trainY := barImages(300, 1)
	testX, testY := barImages(200, 2)
	m := newTestCNN(cnnFastParams)
	if err := m.Fit(context.Background(), trainX, trainY, Classification, 2); err != nil {
		t.Fatal(err)
	}
	want := mat.NewDense(200, 2, nil)
	m.Predict(testX, want)
	if acc := accuracyOf(want, testY); acc < 0.95 {
		t.Errorf("accuracy %.3f on bars, want > 0.95", acc)
	}
	if loss, _ := m.LearningCurves(); len(loss) != 8 || !(loss[len(loss)-1] < loss[0]) {
		t.Errorf("loss curve %v: want 8 decreasing epochs", loss)
	}

	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back := newTestCNN()
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	if err := back.checkShape(64, Classification, 2); err != nil {
		t.Fatal(err)
	}
	got := mat.NewDense(200, 2, nil)
	back.Predict(testX, got)
	if !mat.Equal(want, got) {
		t.Error("predictions differ after a JSON round trip")
	}

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			out := mat.NewDense(200, 2, nil)
			m.Predict(testX, out)
			if !mat.Equal(out, want) {
				t.Error("concurrent Predict differs")
			}
		})
	}
	wg.Wait()
}

// skipUnlessRegistered skips tests that go through Train and LoadModel
// when CNN is not in algorithmTable.
func skipUnlessRegistered(t *testing.T) {
	if _, ok := lookupAlgorithm("CNN"); !ok {
		t.Skip("CNN is not registered in algorithmTable")
	}
}

// TestCNNModelRoundTrip trains through Train on image columns and checks
// that MarshalBinary and LoadModel give identical predictions, and that
// LoadModel rejects a CNN whose layers do not fit its images.
func TestCNNModelRoundTrip(t *testing.T) {
	skipUnlessRegistered(t)
	trainX, trainY := barColumns(200, 5)
	testX, testY := barColumns(100, 6)
	m := trainOrFatal(t, TrainConfig{Algorithm: "CNN", Params: cnnFastParams}, trainX, trainY)
	metrics, err := m.Evaluate(testX, testY)
	if err != nil {
		t.Fatal(err)
	}
	if *metrics.Accuracy < 0.95 {
		t.Errorf("accuracy %.3f on bars, want > 0.95", *metrics.Accuracy)
	}
	want, err := m.Predict(testX)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reloaded(t, m).Predict(testX)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(want.Proba, got.Proba) {
		t.Error("predictions differ after MarshalBinary and LoadModel")
	}

	cnn := m.est.(*CNN)
	cnn.Conv2.W = cnn.Conv2.W[1:]
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(data); err == nil || !strings.Contains(err.Error(), "CNN layer 1") {
		t.Errorf("LoadModel of a truncated convolution: got %v", err)
	}
}

func TestCNNEarlyStopping(t *testing.T) {
	x, y := barImages(200, 3)
	m := newTestCNN(cnnFastParams, map[string]any{"earlyStopping": true, "nIterNoChange": 1, "epochs": 30})
	if err := m.Fit(context.Background(), x, y, Classification, 2); err != nil {
		t.Fatal(err)
	}
	loss, val := m.LearningCurves()
	if len(val) != len(loss) || len(val) == 0 || len(val) == 30 && val[29] < 1 {
		t.Errorf("early stopping: %d epochs, validation scores %v", len(loss), val)
	}
}

func TestCNNRefusesNonImages(t *testing.T) {
	for _, tc := range []struct {
		p      int
		params map[string]any
		want   string
	}{
		{p: 50, want: "50 columns are not a square image"},
		{p: 12, want: "at least 4×4"}, // a 2×2 RGB image
		{p: 9, want: "at least 4×4"},
		{p: 60, params: map[string]any{"height": 6, "width": 5, "channels": 3}, want: "need 90 columns"},
	} {
		x := mat.NewDense(4, tc.p, nil)
		err := newTestCNN(tc.params).Fit(context.Background(), x, []float64{0, 1, 0, 1}, Classification, 2)
		wantInputError(t, err, tc.want)
	}
	// An explicit shape accepts a non-square RGB image.
	x := mat.NewDense(4, 60, nil)
	for i := range 60 {
		x.Set(i%4, i, float64(i))
	}
	m := newTestCNN(map[string]any{"height": 5, "width": 4, "epochs": 1})
	if err := m.Fit(context.Background(), x, []float64{0, 1, 0, 1}, Classification, 2); err != nil {
		t.Fatal(err)
	}
	if m.Height != 5 || m.Width != 4 || m.Channels != 3 {
		t.Errorf("fitted shape %d×%d×%d, want 5×4×3", m.Height, m.Width, m.Channels)
	}
	if err := m.checkShape(60, Classification, 2); err != nil {
		t.Fatal(err)
	}
	for name, corrupt := range map[string]func(c *CNN){
		"truncated dense":  func(c *CNN) { c.Dense.W = c.Dense.W[1:] },
		"NaN bias":         func(c *CNN) { c.Conv1.B[0] = math.NaN() },
		"wrong image size": func(c *CNN) { c.Height = 4 },
		"zero scale":       func(c *CNN) { c.InputScale = 0 },
	} {
		c := newTestCNN()
		data, _ := json.Marshal(m)
		if err := json.Unmarshal(data, c); err != nil {
			t.Fatal(err)
		}
		corrupt(c)
		if err := c.checkShape(60, Classification, 2); err == nil {
			t.Errorf("checkShape accepted a CNN with %s", name)
		}
	}
}

func TestCNNCancel(t *testing.T) {
	x, y := barImages(64, 4)
	ctx, cancel := context.WithCancel(context.Background())
	epochs := 0
	ctx = WithProgress(ctx, func(Progress) { epochs++; cancel() })
	err := newTestCNN(cnnFastParams).Fit(ctx, x, y, Classification, 2)
	if !errors.Is(err, context.Canceled) || epochs != 1 {
		t.Errorf("cancelled after epoch 1: got %v after %d epochs", err, epochs)
	}
}

// TestCNNDigits trains the default network on scikit-learn's 8×8 digits
// (pixel values 0..16) and compares test accuracy with the MLP reference.
func TestCNNDigits(t *testing.T) {
	skipUnlessRegistered(t)
	_, metrics, fit := fitOnSplit(t, "digits", TrainConfig{Algorithm: "CNN"})
	want := sklearnMetric(t, "digits", "mlp_64", "accuracy")
	t.Logf("digits: CNN accuracy %.4f in %v (scikit-learn MLP 64: %.4f)", *metrics.Accuracy, fit, want)
	if *metrics.Accuracy < want-0.01 {
		t.Errorf("digits accuracy %.4f, scikit-learn's MLP has %.4f", *metrics.Accuracy, want)
	}
}

func TestCNNRefusesHugeBuffers(t *testing.T) {
	x := mat.NewDense(64, 3*32*32, nil)
	y := make([]float64, 64)
	y[0] = 1
	m := newTestCNN(map[string]any{"filters1": 256, "filters2": 256, "kernelSize": 7})
	wantInputError(t, m.Fit(context.Background(), x, y, Classification, 2), "smaller batchSize")
}

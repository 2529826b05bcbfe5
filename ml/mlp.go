package ml

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// MLP is a multi-layer perceptron (a fully connected feed-forward neural
// network) trained by mini-batch Adam, defined as scikit-learn's
// MLPRegressor and MLPClassifier with solver="adam".
//
// With widths n₀ = p (the inputs), n₁ … n_{L−1} (the hidden layers) and n_L
// (the outputs), layer l = 0 … L−1 maps its input aₗ (a row of width nₗ) to
//
//	zₗ₊₁ = aₗ·Wₗ + bₗ,   aₗ₊₁ = f(zₗ₊₁)
//
// where Wₗ is nₗ×nₗ₊₁ and f is the hidden activation: relu max(0, z), tanh,
// logistic 1/(1+e^−z) or identity. The output layer instead applies the
// output function of the task, with its loss ℓ for one row:
//
//	regression:  identity, one output ŷ = z,       ℓ = ½(y − ŷ)²
//	binary:      logistic, one output p = σ(z),     ℓ = −y·log p − (1−y)·log(1−p)
//	K classes:   softmax,  K outputs p = softmax(z), ℓ = −log p_y
//
// (a row's loss is capped at −log ε, ε the float64 machine epsilon, as
// scikit-learn clips probabilities to [ε, 1−ε]). Each mini-batch B of the
// training rows (reshuffled every epoch) takes one Adam step on
//
//	J_B = (1/|B|)·Σ_{i∈B} ℓᵢ + α/(2|B|)·Σₗ ‖Wₗ‖²     (biases are not penalised)
//
// whose gradient is backpropagated: every output function above is the
// canonical link of its loss, so δ_L = a_L − y (y one-hot for K classes),
// and
//
//	∂J/∂Wₗ = (aₗᵀ·δₗ₊₁ + α·Wₗ)/|B|,   ∂J/∂bₗ = mean of the rows of δₗ₊₁,
//	δₗ = (δₗ₊₁·Wₗᵀ) ⊙ f′(aₗ)
//
// with f′ written in terms of the activation a: relu [a > 0], tanh 1 − a²,
// logistic a(1 − a), identity 1. Adam with step η, moments β₁, β₂ and ε
// updates every parameter θ with gradient g as
//
//	t ← t+1,  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
//	θ ← θ − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)
//
// Weights and biases start Glorot-uniform, U(−r, r) with
// r = √(c/(nₗ + nₗ₊₁)), c = 2 for the logistic activation and 6 otherwise
// (scikit-learn's rule, the output layer included).
//
// Stopping follows scikit-learn: after each epoch the training loss (the
// mean of J_B weighted by |B|, recorded in LossCurve) counts as no
// improvement when it exceeds the best loss so far minus Tol; training
// stops when more than NIterNoChange epochs in a row did not improve, or
// after MaxIter epochs. With EarlyStopping, a ValidationFraction of the rows
// (stratified by class for classification) is held out, the criterion is
// the validation score (accuracy, or R² for regression) failing to exceed
// the best score plus Tol, and the weights of the best-scoring epoch are
// restored at the end.
//
// The random generator is numpy's legacy RandomState (MT19937) seeded with
// Seed and drawn in scikit-learn's order (each layer's weights then its
// biases, then one shuffle of the rows per epoch), so seed s reproduces
// scikit-learn's random_state=s: on the reference datasets the fitted
// networks agree with scikit-learn's to rounding. Only early stopping's
// hold-out rows are drawn differently.
//
// Like scikit-learn's MLPRegressor, the regression target is not scaled:
// with the default learning rate a target of size ~100 takes hundreds of
// epochs just to reach its mean (scikit-learn's diabetes reference has test
// R² ≈ 0 after 500 epochs). StandardizeTarget (off by default, for parity)
// fits the network to (y − ȳ)/s_y instead and maps predictions back; the
// loss curve is then in standardised units.
//
// Each mini-batch is split into row segments fixed by its size, whose
// forward and backward passes run in parallel; their partial gradients are
// summed in segment order, so the model does not depend on the number of
// cores.
type MLP struct {
	HiddenLayerSizes   string
	Activation         string
	Alpha              float64
	LearningRateInit   float64
	Beta1, Beta2       float64
	Epsilon            float64
	BatchSize          int
	MaxIter            int
	Tol                float64
	NIterNoChange      int
	EarlyStopping      bool
	ValidationFraction float64
	Shuffle            bool
	StandardizeTarget  bool
	Seed               int

	// Task is the fitted task and Classes the number of classes K
	// (classification only).
	Task    Task
	Classes int `json:",omitempty"`
	// Layers are the fitted layers, input first.
	Layers []MLPLayer
	// Regression predictions are TargetMean + TargetScale·ŷ (0 and 1 unless
	// StandardizeTarget).
	TargetMean, TargetScale float64
	// LossCurve is the training loss after each epoch and
	// ValidationScores the validation score after each epoch (only with
	// EarlyStopping).
	LossCurve        []float64
	ValidationScores []float64 `json:",omitempty"`
	// Iterations is the number of epochs run; Converged reports whether
	// training stopped on the no-improvement rule rather than at MaxIter.
	Iterations int
	Converged  bool
}

// MLPLayer is one fully connected layer: out = in·W + B.
type MLPLayer struct {
	Inputs, Outputs int
	// W holds the Inputs×Outputs weights row-major: W[i·Outputs + j]
	// connects input i to unit j (scikit-learn's coefs_ layout).
	W []float64
	B []float64
}

// Limits that keep a mistaken hiddenLayerSizes from exhausting memory.
const (
	mlpMaxLayerWidth = 100_000
	mlpMaxParams     = 50_000_000
)

// Parallel work split. A training batch is cut into at most
// mlpMaxSegments row segments of at least mlpMinSegmentWork
// multiply-adds (forward pass) each, so that a segment's work dwarfs the
// cost of starting it; prediction runs in chunks of mlpPredictChunk rows.
const (
	mlpMaxSegments    = 4
	mlpMinSegmentWork = 100_000
	mlpMinSegmentRows = 16
	mlpPredictChunk   = 256
	// mlpCtxBatches is how often (in batches) a long epoch checks ctx.
	mlpCtxBatches = 64
)

func mlpAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "MLP",
			Tasks:       []Task{Regression, Classification},
			Description: "Multi-layer perceptron: a fully connected neural network trained by mini-batch Adam on standardised features (as scikit-learn's MLPRegressor and MLPClassifier).",
			Params: []ParamSpec{
				{Name: "hiddenLayerSizes", Type: ParamString, Default: "100",
					Description: "Widths of the hidden layers, comma-separated: \"100\" is one hidden layer of 100 units, \"64,32\" two layers of 64 and 32 units."},
				{Name: "activation", Type: ParamString, Default: "relu", Choices: []string{"relu", "tanh", "logistic", "identity"},
					Description: "Activation of the hidden units: relu max(0, z), tanh, logistic 1/(1+e^-z) or identity."},
				{Name: "alpha", Type: ParamFloat, Default: 1e-4, Min: ptr(0),
					Description: "L2 penalty on the weights (not the biases): each mini-batch's loss adds alpha/(2·batch rows)·‖W‖²."},
				{Name: "learningRateInit", Type: ParamFloat, Default: 1e-3, Min: ptr(0), MinExclusive: true,
					Description: "Adam step size."},
				{Name: "beta1", Type: ParamFloat, Default: 0.9, Min: ptr(0), Max: ptr(1), MaxExclusive: true,
					Description: "Adam decay rate of the first-moment (mean) estimate of the gradient."},
				{Name: "beta2", Type: ParamFloat, Default: 0.999, Min: ptr(0), Max: ptr(1), MaxExclusive: true,
					Description: "Adam decay rate of the second-moment (uncentred variance) estimate of the gradient."},
				{Name: "epsilon", Type: ParamFloat, Default: 1e-8, Min: ptr(0), MinExclusive: true,
					Description: "Adam's constant added to the root of the second moment, for numerical stability."},
				{Name: "batchSize", Type: ParamInt, Default: 0, Min: ptr(0),
					Description: "Rows per mini-batch; 0 means min(200, training rows). Larger values are clipped to the number of training rows."},
				{Name: "maxIter", Type: ParamInt, Default: 200, Min: ptr(1),
					Description: "Maximum number of epochs (passes over the training rows)."},
				{Name: "tol", Type: ParamFloat, Default: 1e-4, Min: ptr(0),
					Description: "An epoch improves when the training loss falls by more than tol below the best so far (with earlyStopping: the validation score rises by more than tol above the best)."},
				{Name: "nIterNoChange", Type: ParamInt, Default: 10, Min: ptr(1),
					Description: "Stop when more than nIterNoChange consecutive epochs did not improve (see tol)."},
				{Name: "earlyStopping", Type: ParamBool, Default: false,
					Description: "Hold out validationFraction of the training rows (stratified for classification), stop on the validation score (accuracy or R²) and keep the weights of the best epoch."},
				{Name: "validationFraction", Type: ParamFloat, Default: 0.1, Min: ptr(0), Max: ptr(1), MinExclusive: true, MaxExclusive: true,
					Description: "Fraction of the training rows held out for earlyStopping."},
				{Name: "shuffle", Type: ParamBool, Default: true,
					Description: "Reshuffle the training rows before every epoch."},
				{Name: "standardizeTarget", Type: ParamBool, Default: false,
					Description: "REGRESSION only: fit the network to the standardised target and map predictions back. Off by default like scikit-learn's MLPRegressor; turning it on makes training converge much faster on targets far from unit scale."},
				seedParam(),
			},
			NeedsScaling: true,
		},
		newEstimator: newMLP,
	}
}

func newMLP(params map[string]any) Estimator {
	return &MLP{
		HiddenLayerSizes:   params["hiddenLayerSizes"].(string),
		Activation:         params["activation"].(string),
		Alpha:              params["alpha"].(float64),
		LearningRateInit:   params["learningRateInit"].(float64),
		Beta1:              params["beta1"].(float64),
		Beta2:              params["beta2"].(float64),
		Epsilon:            params["epsilon"].(float64),
		BatchSize:          params["batchSize"].(int),
		MaxIter:            params["maxIter"].(int),
		Tol:                params["tol"].(float64),
		NIterNoChange:      params["nIterNoChange"].(int),
		EarlyStopping:      params["earlyStopping"].(bool),
		ValidationFraction: params["validationFraction"].(float64),
		Shuffle:            params["shuffle"].(bool),
		StandardizeTarget:  params["standardizeTarget"].(bool),
		Seed:               params["seed"].(int),
	}
}

// parseHiddenLayerSizes parses a comma-separated list of layer widths such
// as "100" or "64, 32".
func parseHiddenLayerSizes(s string) ([]int, error) {
	var sizes []int
	for field := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || v < 1 || v > mlpMaxLayerWidth {
			return nil, inputErrorf("parameter hiddenLayerSizes must be a comma-separated list of layer widths in [1, %d] such as \"100\" or \"64,32\", got %q", mlpMaxLayerWidth, s)
		}
		sizes = append(sizes, v)
	}
	return sizes, nil
}

// mlpOutputs is the width of the output layer: one unit for regression and
// binary classification (P(class 1)), one per class otherwise.
func mlpOutputs(task Task, nClasses int) int {
	if task == Classification && nClasses > 2 {
		return nClasses
	}
	return 1
}

// layerWidths returns the layer widths n₀ … n_L, checking the parameter count.
func (m *MLP) layerWidths(inputs int, task Task, nClasses int) ([]int, error) {
	sizes, err := parseHiddenLayerSizes(m.HiddenLayerSizes)
	if err != nil {
		return nil, err
	}
	widths := append(append([]int{inputs}, sizes...), mlpOutputs(task, nClasses))
	if params := mlpParamCount(widths); params > mlpMaxParams {
		return nil, inputErrorf("parameter hiddenLayerSizes %q gives a network of %d weights for %d inputs; at most %d are supported", m.HiddenLayerSizes, params, inputs, mlpMaxParams)
	}
	return widths, nil
}

// mlpParamCount is the number of weights and biases of a network.
func mlpParamCount(widths []int) int {
	count := 0
	for l := range len(widths) - 1 {
		count += (widths[l] + 1) * widths[l+1]
	}
	return count
}

// Fit implements Estimator.
func (m *MLP) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	n, p := x.Dims()
	switch {
	case task != Regression && task != Classification:
		return fmt.Errorf("fit MLP: unsupported task %q", task)
	case len(y) != n:
		return fmt.Errorf("fit MLP: %d targets for %d rows", len(y), n)
	case n == 0:
		return fmt.Errorf("fit MLP: no rows")
	case task == Classification && nClasses < 2:
		return fmt.Errorf("fit MLP: need at least 2 classes, got %d", nClasses)
	}
	if task == Classification {
		for i, v := range y {
			if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
				return fmt.Errorf("fit MLP: %s has class %v outside 0..%d", RowName(i), v, nClasses-1)
			}
		}
	}
	activation, err := parseMLPActivation(m.Activation)
	if err != nil {
		return inputErrorf("parameter activation: %v", err)
	}
	widths, err := m.layerWidths(p, task, nClasses)
	if err != nil {
		return err
	}

	// The network learns targets in training units: the class index, or y
	// itself unless StandardizeTarget.
	targets, mean, scale := y, 0.0, 1.0
	if task == Regression && m.StandardizeTarget {
		mean, scale = mlpMeanAndScale(y)
		targets = make([]float64, n)
		for i, v := range y {
			targets[i] = (v - mean) / scale
		}
	}

	rng := newNumpyRandomState(m.Seed)
	kind := mlpOutputKind(task, nClasses)
	tr := newMLPTrainer(widths, activation, kind, rng)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	var val *mlpValidation
	if m.EarlyStopping {
		var valRows []int
		if rows, valRows, err = mlpValidationSplit(y, task, nClasses, m.ValidationFraction, rng); err != nil {
			return err
		}
		val = newMLPValidation(x, targets, valRows, kind)
	}
	if err := m.train(ctx, tr, x, targets, rows, val, rng); err != nil {
		return err
	}
	m.Task = task
	m.Classes = 0
	if task == Classification {
		m.Classes = nClasses
	}
	m.Layers = tr.net.export()
	m.TargetMean, m.TargetScale = mean, scale
	for l, layer := range m.Layers {
		if err := checkFinite(fmt.Sprintf("layer %d weights", l), layer.W); err != nil {
			return inputErrorf("MLP training diverged: %v; try a smaller learningRateInit", err)
		}
	}
	return nil
}

// train runs the epochs of Adam over the given training rows of x from the
// trainer's initial weights, recording LossCurve, ValidationScores,
// Iterations and Converged. With val it stops on the validation score and
// leaves the best epoch's weights in tr.
func (m *MLP) train(ctx context.Context, tr *mlpTrainer, x *mat.Dense, targets []float64, rows []int, val *mlpValidation, rng *numpyRandomState) error {
	_, p := x.Dims()
	batch := m.BatchSize
	if batch == 0 {
		batch = 200
	}
	batch = min(batch, len(rows))
	tr.allocate(batch, p)
	xRaw := x.RawMatrix()
	adam := newAdam(len(tr.theta), m.LearningRateInit, m.Beta1, m.Beta2, m.Epsilon)
	var (
		bestLoss      = math.Inf(1)
		bestScore     = math.Inf(-1)
		bestTheta     []float64
		noImprovement int
	)
	m.LossCurve, m.ValidationScores, m.Converged = nil, nil, false
	for epoch := 0; epoch < m.MaxIter; epoch++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.Shuffle {
			rng.shuffle(rows)
		}
		total := 0.0
		for b, lo := 0, 0; lo < len(rows); b, lo = b+1, lo+batch {
			if b > 0 && b%mlpCtxBatches == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			hi := min(lo+batch, len(rows))
			tr.gather(xRaw, targets, rows[lo:hi])
			total += tr.step(hi-lo, m.Alpha, adam) * float64(hi-lo)
		}
		loss := total / float64(len(rows))
		reportProgress(ctx, epoch+1, m.MaxIter, loss, true)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return inputErrorf("MLP training diverged at epoch %d (the loss is %v); try a smaller learningRateInit or standardizeTarget", epoch+1, loss)
		}
		m.LossCurve = append(m.LossCurve, loss)

		// scikit-learn's _update_no_improvement_count.
		if val != nil {
			score := val.score(tr.net)
			m.ValidationScores = append(m.ValidationScores, score)
			if score < bestScore+m.Tol {
				noImprovement++
			} else {
				noImprovement = 0
			}
			if score > bestScore {
				bestScore = score
				bestTheta = append(bestTheta[:0], tr.theta...)
			}
		} else {
			if loss > bestLoss-m.Tol {
				noImprovement++
			} else {
				noImprovement = 0
			}
			bestLoss = min(bestLoss, loss)
		}
		if noImprovement > m.NIterNoChange {
			m.Converged = true
			break
		}
	}
	if bestTheta != nil {
		copy(tr.theta, bestTheta)
	}
	m.Iterations = len(m.LossCurve)
	return nil
}

// mlpMeanAndScale returns the mean and population standard deviation of v
// (1 if v is constant).
func mlpMeanAndScale(v []float64) (mean, scale float64) {
	mean = floats.Sum(v) / float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	scale = math.Sqrt(ss / float64(len(v)))
	if scale == 0 || math.IsNaN(scale) || math.IsInf(scale, 0) {
		scale = 1
	}
	return mean, scale
}

// mlpValidationSplit holds out ⌈fraction·n⌉ rows for early stopping, as
// scikit-learn's train_test_split: for classification each class gives its
// share (largest remainders first; a class keeps at least one training row),
// for regression the rows are drawn at random. Both results are ascending.
func mlpValidationSplit(y []float64, task Task, nClasses int, fraction float64, rng *numpyRandomState) (train, val []int, err error) {
	n := len(y)
	nVal := int(math.Ceil(fraction * float64(n)))
	if nVal < 1 || n-nVal < 1 {
		return nil, nil, inputErrorf("parameter earlyStopping needs at least one training and one validation row: %d rows with validationFraction %v", n, fraction)
	}
	if task == Regression {
		perm := rng.permutation(n)
		val, train = perm[:nVal], perm[nVal:]
	} else {
		byClass := make([][]int, nClasses)
		for i, v := range y {
			byClass[int(v)] = append(byClass[int(v)], i)
		}
		take := make([]int, nClasses)
		remainder := make([]float64, nClasses)
		assigned := 0
		for k, members := range byClass {
			exact := float64(nVal) * float64(len(members)) / float64(n)
			take[k] = min(int(exact), max(len(members)-1, 0))
			remainder[k] = exact - float64(take[k])
			assigned += take[k]
		}
		order := make([]int, nClasses)
		for k := range order {
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(remainder[b], remainder[a]) })
		for assigned < nVal {
			progressed := false
			for _, k := range order {
				if assigned < nVal && take[k] < len(byClass[k])-1 {
					take[k]++
					assigned++
					progressed = true
				}
			}
			if !progressed {
				break
			}
		}
		for k, members := range byClass {
			perm := rng.permutation(len(members))
			for a, j := range perm {
				if a < take[k] {
					val = append(val, members[j])
				} else {
					train = append(train, members[j])
				}
			}
		}
		if len(val) == 0 {
			return nil, nil, inputErrorf("parameter earlyStopping: no class has enough rows to hold out a validation set (%d rows)", n)
		}
	}
	slices.Sort(train)
	slices.Sort(val)
	return train, val, nil
}

// Predict implements Estimator.
func (m *MLP) Predict(x *mat.Dense, dst *mat.Dense) {
	n, _ := x.Dims()
	if n == 0 {
		return
	}
	net := newMLPNetFromLayers(m.Layers, mustMLPActivation(m.Activation))
	out := net.layers[len(net.layers)-1].out
	z := make([]float64, n*out)
	net.outputs(x, z)
	switch mlpOutputKind(m.Task, m.Classes) {
	case mlpIdentityOutput:
		for i, v := range z {
			dst.Set(i, 0, m.TargetMean+m.TargetScale*v)
		}
	case mlpLogisticOutput:
		for i, v := range z {
			// σ(−z) rather than 1 − σ(z) keeps tiny probabilities exact.
			dst.Set(i, 0, sigmoid(-v))
			dst.Set(i, 1, sigmoid(v))
		}
	case mlpSoftmaxOutput:
		for i := range n {
			softmaxInto(dst.RawRowView(i), z[i*out:(i+1)*out])
		}
	}
}

// checkShape implements shapeChecker.
func (m *MLP) checkShape(inputs int, task Task, nClasses int) error {
	if m.Task != task {
		return fmt.Errorf("MLP fitted for task %q cannot serve task %q", m.Task, task)
	}
	if task == Classification && m.Classes != nClasses {
		return fmt.Errorf("MLP has %d classes, model %d", m.Classes, nClasses)
	}
	if _, err := parseMLPActivation(m.Activation); err != nil {
		return err
	}
	widths, err := m.layerWidths(inputs, task, nClasses)
	if err != nil {
		return fmt.Errorf("%v", err) // stored data, not the caller's input
	}
	if len(m.Layers) != len(widths)-1 {
		return fmt.Errorf("MLP has %d layers, hiddenLayerSizes %q needs %d", len(m.Layers), m.HiddenLayerSizes, len(widths)-1)
	}
	for l, layer := range m.Layers {
		if layer.Inputs != widths[l] || layer.Outputs != widths[l+1] || len(layer.W) != widths[l]*widths[l+1] || len(layer.B) != widths[l+1] {
			return fmt.Errorf("MLP layer %d is %d×%d with %d weights and %d biases, want %d×%d", l, layer.Inputs, layer.Outputs, len(layer.W), len(layer.B), widths[l], widths[l+1])
		}
		if err := checkFinite(fmt.Sprintf("MLP layer %d weights", l), layer.W); err != nil {
			return err
		}
		if err := checkFinite(fmt.Sprintf("MLP layer %d biases", l), layer.B); err != nil {
			return err
		}
	}
	if err := checkFinite("MLP target scaling", []float64{m.TargetMean, m.TargetScale}); err != nil {
		return err
	}
	if m.TargetScale <= 0 {
		return fmt.Errorf("MLP target scale %v is not positive", m.TargetScale)
	}
	return nil
}

// mlpActivation is a hidden-layer activation function.
type mlpActivation int

const (
	mlpReLU mlpActivation = iota
	mlpTanh
	mlpLogistic
	mlpIdentity
)

func parseMLPActivation(name string) (mlpActivation, error) {
	switch name {
	case "relu":
		return mlpReLU, nil
	case "tanh":
		return mlpTanh, nil
	case "logistic":
		return mlpLogistic, nil
	case "identity":
		return mlpIdentity, nil
	}
	return 0, fmt.Errorf("unknown MLP activation %q (want relu, tanh, logistic or identity)", name)
}

// mustMLPActivation is parseMLPActivation for a fitted model, whose
// activation was checked by Fit or checkShape.
func mustMLPActivation(name string) mlpActivation {
	a, err := parseMLPActivation(name)
	if err != nil {
		panic(err)
	}
	return a
}

// apply replaces z by f(z) in place.
func (a mlpActivation) apply(z []float64) {
	switch a {
	case mlpReLU:
		// Branch-free max(z, 0) (the signs are random, so a branch
		// mispredicts half the time): clear every value whose sign bit is
		// set, which also turns −0 into +0 for backprop's test.
		for i, v := range z {
			bits := math.Float64bits(v)
			z[i] = math.Float64frombits(bits &^ uint64(int64(bits)>>63))
		}
	case mlpTanh:
		for i, v := range z {
			z[i] = math.Tanh(v)
		}
	case mlpLogistic:
		for i, v := range z {
			z[i] = sigmoid(v)
		}
	}
}

// backprop multiplies δ by f′, written in terms of the activation a = f(z).
func (a mlpActivation) backprop(delta, act []float64) {
	switch a {
	case mlpReLU:
		// Branch-free δ·[a > 0]: a ≥ 0 is +0 or positive (see apply), so
		// a > 0 exactly when its bits are non-zero, and bits|−bits then
		// has its sign bit set.
		for i, v := range act {
			bits := math.Float64bits(v)
			mask := uint64(int64(bits|-bits) >> 63)
			delta[i] = math.Float64frombits(math.Float64bits(delta[i]) & mask)
		}
	case mlpTanh:
		for i, v := range act {
			delta[i] *= 1 - v*v
		}
	case mlpLogistic:
		for i, v := range act {
			delta[i] *= v * (1 - v)
		}
	}
}

// mlpOutput is the output function of the network (with its loss).
type mlpOutput int

const (
	mlpIdentityOutput mlpOutput = iota // regression, ½ squared error
	mlpLogisticOutput                  // binary classification, binary cross-entropy
	mlpSoftmaxOutput                   // K classes, cross-entropy
)

func mlpOutputKind(task Task, nClasses int) mlpOutput {
	switch {
	case task == Regression:
		return mlpIdentityOutput
	case nClasses == 2:
		return mlpLogisticOutput
	}
	return mlpSoftmaxOutput
}

// mlpMaxLoss is −log ε: the loss of a row whose probability is clipped to
// the machine epsilon, as scikit-learn clips.
var mlpMaxLoss = -math.Log(0x1p-52)

// lossAndDelta computes, for the output rows z (rows×out) and targets y
// (values or class indices), the summed loss and δ = a_L − y into delta.
func (o mlpOutput) lossAndDelta(z, delta, y []float64, out int) float64 {
	loss := 0.0
	switch o {
	case mlpIdentityOutput:
		for i, v := range z {
			d := v - y[i]
			delta[i] = d
			loss += 0.5 * d * d
		}
	case mlpLogisticOutput:
		for i, v := range z {
			// −log σ(z) = softplus(−z), −log(1 − σ(z)) = softplus(z).
			if y[i] == 1 {
				loss += min(softplus(-v), mlpMaxLoss)
			} else {
				loss += min(softplus(v), mlpMaxLoss)
			}
			delta[i] = sigmoid(v) - y[i]
		}
	case mlpSoftmaxOutput:
		for i, label := range y {
			row := z[i*out : (i+1)*out]
			d := delta[i*out : (i+1)*out]
			c := int(label)
			lse := logSumExp(row)
			loss += min(lse-row[c], mlpMaxLoss)
			for k, v := range row {
				d[k] = math.Exp(v - lse)
			}
			d[c]--
		}
	}
	return loss
}

// mlpNet is a network in the layout it is computed in.
type mlpNet struct {
	layers     []mlpNetLayer
	activation mlpActivation
}

// mlpNetLayer is one layer. Every product of the forward and backward
// passes runs its innermost loop (gonum's vectorised axpy or dot) along one
// of the layer's two widths; a layer narrowing its input (in > out, such as
// an output layer with one unit) stores Wᵀ (out×in) so that this loop runs
// along the longer one.
type mlpNetLayer struct {
	in, out    int
	transposed bool
	w, b       []float64
	// wOff and bOff locate w and b in the flat parameter vector.
	wOff, bOff int
}

// newMLPNet lays out a network of the given widths over the flat parameter
// vector theta (each layer's weights then its biases).
func newMLPNet(widths []int, activation mlpActivation, theta []float64) *mlpNet {
	net := &mlpNet{activation: activation, layers: make([]mlpNetLayer, len(widths)-1)}
	off := 0
	for l := range net.layers {
		in, out := widths[l], widths[l+1]
		net.layers[l] = mlpNetLayer{in: in, out: out, transposed: in > out,
			w: theta[off : off+in*out], b: theta[off+in*out : off+in*out+out],
			wOff: off, bOff: off + in*out}
		off += (in + 1) * out
	}
	return net
}

// newMLPNetFromLayers builds the computing layout of fitted layers.
func newMLPNetFromLayers(layers []MLPLayer, activation mlpActivation) *mlpNet {
	widths := make([]int, len(layers)+1)
	for l, layer := range layers {
		widths[l], widths[l+1] = layer.Inputs, layer.Outputs
	}
	net := newMLPNet(widths, activation, make([]float64, mlpParamCount(widths)))
	for l, layer := range layers {
		net.layers[l].setWeights(layer.W)
		copy(net.layers[l].b, layer.B)
	}
	return net
}

// setWeights stores W given in×out row-major.
func (l *mlpNetLayer) setWeights(w []float64) {
	if !l.transposed {
		copy(l.w, w)
		return
	}
	for i := range l.in {
		for j := range l.out {
			l.w[j*l.in+i] = w[i*l.out+j]
		}
	}
}

// export returns the fitted layers with W in×out row-major.
func (n *mlpNet) export() []MLPLayer {
	layers := make([]MLPLayer, len(n.layers))
	for l, nl := range n.layers {
		w := make([]float64, nl.in*nl.out)
		if nl.transposed {
			for j := range nl.out {
				for i := range nl.in {
					w[i*nl.out+j] = nl.w[j*nl.in+i]
				}
			}
		} else {
			copy(w, nl.w)
		}
		layers[l] = MLPLayer{Inputs: nl.in, Outputs: nl.out, W: w, B: slices.Clone(nl.b)}
	}
	return layers
}

// weights returns W (in×out), or Wᵀ (out×in) for a transposed layer.
func (l *mlpNetLayer) weights() blas64.General {
	if l.transposed {
		return blas64.General{Rows: l.out, Cols: l.in, Stride: l.in, Data: l.w}
	}
	return blas64.General{Rows: l.in, Cols: l.out, Stride: l.out, Data: l.w}
}

// forward sets z = a·W + b (a is rows×in, z rows×out).
func (l *mlpNetLayer) forward(a, z blas64.General) {
	for i := range z.Rows {
		copy(z.Data[i*z.Stride:i*z.Stride+l.out], l.b)
	}
	if l.transposed {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, a, l.weights(), 1, z)
	} else {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, l.weights(), 1, z)
	}
}

// backprop sets dIn = dOut·Wᵀ (dOut is rows×out, dIn rows×in).
func (l *mlpNetLayer) backprop(dOut, dIn blas64.General) {
	if l.transposed {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, dOut, l.weights(), 0, dIn)
	} else {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, dOut, l.weights(), 0, dIn)
	}
}

// weightGradient sets g = aᵀ·dOut in the layer's weight layout.
func (l *mlpNetLayer) weightGradient(a, dOut blas64.General, g []float64) {
	if l.transposed {
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, dOut, a, 0, blas64.General{Rows: l.out, Cols: l.in, Stride: l.in, Data: g})
	} else {
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, a, dOut, 0, blas64.General{Rows: l.in, Cols: l.out, Stride: l.out, Data: g})
	}
}

// mlpRowBlock returns rows [lo, lo+rows) of a row-major buffer of the given
// width as a matrix.
func mlpRowBlock(buf []float64, width, lo, rows int) blas64.General {
	return blas64.General{Rows: rows, Cols: width, Stride: width, Data: buf[lo*width : (lo+rows)*width]}
}

// forward runs the rows x through the network. acts[l+1] receives the
// output of layer l at rows [lo, lo+x.Rows): the hidden activations, and
// the output layer's linear z.
func (n *mlpNet) forward(x blas64.General, acts [][]float64, lo int) {
	a := x
	last := len(n.layers) - 1
	for l := range n.layers {
		layer := &n.layers[l]
		z := mlpRowBlock(acts[l+1], layer.out, lo, x.Rows)
		layer.forward(a, z)
		if l < last {
			n.activation.apply(z.Data)
		}
		a = z
	}
}

// activationBuffers allocates acts[1..L] for rows rows (acts[0] is left
// for the input).
func (n *mlpNet) activationBuffers(rows int) [][]float64 {
	acts := make([][]float64, len(n.layers)+1)
	for l, layer := range n.layers {
		acts[l+1] = make([]float64, rows*layer.out)
	}
	return acts
}

// outputs writes the output layer's linear z for every row of x into dst
// (rows×out, row-major), in chunks of rows run in parallel.
func (n *mlpNet) outputs(x *mat.Dense, dst []float64) {
	rows, _ := x.Dims()
	raw := x.RawMatrix()
	out := n.layers[len(n.layers)-1].out
	forEachSegment(rowSegments(rows, mlpPredictChunk, maxSegments), func(_ int, seg segment) {
		acts := n.activationBuffers(min(mlpPredictChunk, seg.hi-seg.lo))
		for lo := seg.lo; lo < seg.hi; lo += mlpPredictChunk {
			hi := min(lo+mlpPredictChunk, seg.hi)
			xs := blas64.General{Rows: hi - lo, Cols: raw.Cols, Stride: raw.Stride, Data: raw.Data[lo*raw.Stride : (hi-1)*raw.Stride+raw.Cols]}
			n.forward(xs, acts, 0)
			copy(dst[lo*out:hi*out], acts[len(acts)-1][:(hi-lo)*out])
		}
	})
}

// mlpTrainer holds the parameters, gradients and preallocated batch
// buffers of a training run.
type mlpTrainer struct {
	net    *mlpNet
	output mlpOutput
	theta  []float64
	// acts[0] is the batch input (batch×p), acts[l] the output of layer
	// l−1; deltas[l] is ∂J/∂z of the same layer (deltas[0] is unused).
	acts, deltas [][]float64
	yBatch       []float64
	// parts[s] is segment s's partial gradient; parts[0] also receives
	// the reduced gradient.
	parts   [][]float64
	segLoss []float64
	// segsFull and segsLast split a full batch and the epoch's last,
	// shorter batch.
	segsFull, segsLast []segment
	batch, minSegRows  int
	runSegment         func(s int, seg segment)
}

// newMLPTrainer initialises the parameters Glorot-uniform, layer by layer
// (weights in×out row-major, then biases), like scikit-learn.
func newMLPTrainer(widths []int, activation mlpActivation, output mlpOutput, rng *numpyRandomState) *mlpTrainer {
	theta := make([]float64, mlpParamCount(widths))
	net := newMLPNet(widths, activation, theta)
	factor := 6.0
	if activation == mlpLogistic {
		factor = 2
	}
	for l := range net.layers {
		layer := &net.layers[l]
		bound := math.Sqrt(factor / float64(layer.in+layer.out))
		w := make([]float64, layer.in*layer.out)
		for i := range w {
			w[i] = rng.uniform(-bound, bound)
		}
		layer.setWeights(w)
		for j := range layer.b {
			layer.b[j] = rng.uniform(-bound, bound)
		}
	}
	t := &mlpTrainer{net: net, output: output, theta: theta}
	t.runSegment = t.segment
	return t
}

// allocate sizes the batch buffers for batches of up to batch rows of p
// inputs, and fixes the row segments.
func (t *mlpTrainer) allocate(batch, p int) {
	t.batch = batch
	t.acts = make([][]float64, len(t.net.layers)+1)
	t.deltas = make([][]float64, len(t.net.layers)+1)
	t.acts[0] = make([]float64, batch*p)
	work := 0 // multiply-adds per row of the forward pass
	for l, layer := range t.net.layers {
		t.acts[l+1] = make([]float64, batch*layer.out)
		t.deltas[l+1] = make([]float64, batch*layer.out)
		work += layer.in * layer.out
	}
	t.yBatch = make([]float64, batch)
	t.setSegments(max(mlpMinSegmentRows, mlpMinSegmentWork/max(work, 1)))
}

// setSegments splits batches into segments of at least minRows rows.
func (t *mlpTrainer) setSegments(minRows int) {
	t.minSegRows = minRows
	t.segsFull = rowSegments(t.batch, minRows, mlpMaxSegments)
	t.segsLast = nil
	t.parts = make([][]float64, len(t.segsFull))
	for s := range t.parts {
		t.parts[s] = make([]float64, len(t.theta))
	}
	t.segLoss = make([]float64, len(t.segsFull))
}

// gather copies the rows of a batch into the batch buffers.
func (t *mlpTrainer) gather(x blas64.General, targets []float64, rows []int) {
	p := x.Cols
	for r, i := range rows {
		copy(t.acts[0][r*p:(r+1)*p], x.Data[i*x.Stride:i*x.Stride+p])
		t.yBatch[r] = targets[i]
	}
}

// segmentsFor returns the row segments of a batch of the given size.
func (t *mlpTrainer) segmentsFor(rows int) []segment {
	if rows == t.batch {
		return t.segsFull
	}
	if len(t.segsLast) == 0 || t.segsLast[len(t.segsLast)-1].hi != rows {
		// The same rule as segsFull, so it never has more segments.
		t.segsLast = rowSegments(rows, t.minSegRows, mlpMaxSegments)
	}
	return t.segsLast
}

// step takes one Adam step on the gathered batch of the given size and
// returns the batch loss J_B.
func (t *mlpTrainer) step(rows int, alpha float64, adam *adamOptimizer) float64 {
	loss, grad := t.gradient(rows, alpha)
	adam.update(t.theta, grad)
	return loss
}

// gradient returns the loss J_B of the gathered batch of the given size
// and its gradient (in the layout of theta, valid until the next call).
func (t *mlpTrainer) gradient(rows int, alpha float64) (loss float64, grad []float64) {
	segs := t.segmentsFor(rows)
	if len(segs) == 1 {
		t.runSegment(0, segs[0])
	} else {
		forEachSegment(segs, t.runSegment)
	}
	grad = t.parts[0]
	loss = t.segLoss[0]
	for s := 1; s < len(segs); s++ {
		floats.Add(grad, t.parts[s])
		loss += t.segLoss[s]
	}
	inv := 1 / float64(rows)
	penalty := 0.0
	for _, layer := range t.net.layers {
		gw := grad[layer.wOff : layer.wOff+len(layer.w)]
		penalty += floats.Dot(layer.w, layer.w)
		for i, w := range layer.w {
			gw[i] = (gw[i] + alpha*w) * inv
		}
		floats.Scale(inv, grad[layer.bOff:layer.bOff+layer.out])
	}
	return loss*inv + 0.5*alpha*penalty*inv, grad
}

// segment runs the forward and backward passes of batch rows seg, leaving
// the summed (unscaled, unpenalised) gradient in parts[s] and the summed
// loss in segLoss[s].
func (t *mlpTrainer) segment(s int, seg segment) {
	net := t.net
	rows := seg.hi - seg.lo
	last := len(net.layers) - 1
	p := net.layers[0].in
	net.forward(mlpRowBlock(t.acts[0], p, seg.lo, rows), t.acts, seg.lo)

	out := net.layers[last].out
	z := t.acts[last+1][seg.lo*out : seg.hi*out]
	delta := t.deltas[last+1][seg.lo*out : seg.hi*out]
	t.segLoss[s] = t.output.lossAndDelta(z, delta, t.yBatch[seg.lo:seg.hi], out)

	g := t.parts[s]
	for l := last; l >= 0; l-- {
		layer := &net.layers[l]
		a := mlpRowBlock(t.acts[l], layer.in, seg.lo, rows)
		dOut := mlpRowBlock(t.deltas[l+1], layer.out, seg.lo, rows)
		layer.weightGradient(a, dOut, g[layer.wOff:layer.wOff+len(layer.w)])
		gb := g[layer.bOff : layer.bOff+layer.out]
		clear(gb)
		for i := range rows {
			floats.Add(gb, dOut.Data[i*layer.out:(i+1)*layer.out])
		}
		if l > 0 {
			dIn := mlpRowBlock(t.deltas[l], layer.in, seg.lo, rows)
			layer.backprop(dOut, dIn)
			net.activation.backprop(dIn.Data, a.Data)
		}
	}
}

// adamOptimizer is Adam (Kingma & Ba) as in scikit-learn.
type adamOptimizer struct {
	m, v                    []float64
	step                    int
	rate, beta1, beta2, eps float64
}

func newAdam(params int, rate, beta1, beta2, eps float64) *adamOptimizer {
	return &adamOptimizer{m: make([]float64, params), v: make([]float64, params),
		rate: rate, beta1: beta1, beta2: beta2, eps: eps}
}

// update moves theta one step against grad.
func (a *adamOptimizer) update(theta, grad []float64) {
	a.step++
	t := float64(a.step)
	rate := a.rate * math.Sqrt(1-math.Pow(a.beta2, t)) / (1 - math.Pow(a.beta1, t))
	b1, b2 := a.beta1, a.beta2
	m, v := a.m[:len(theta)], a.v[:len(theta)]
	for i, g := range grad[:len(theta)] {
		m[i] = b1*m[i] + (1-b1)*g
		v[i] = b2*v[i] + (1-b2)*g*g
		theta[i] -= rate * m[i] / (math.Sqrt(v[i]) + a.eps)
	}
}

// mlpValidation is the held-out set of early stopping.
type mlpValidation struct {
	x       *mat.Dense
	targets []float64
	output  mlpOutput
	z       []float64
}

func newMLPValidation(x *mat.Dense, targets []float64, rows []int, output mlpOutput) *mlpValidation {
	_, p := x.Dims()
	v := &mlpValidation{x: mat.NewDense(len(rows), p, nil), targets: make([]float64, len(rows)), output: output}
	for a, i := range rows {
		v.x.SetRow(a, x.RawRowView(i))
		v.targets[a] = targets[i]
	}
	return v
}

// score is the validation accuracy (classification) or R² (regression).
func (v *mlpValidation) score(net *mlpNet) float64 {
	out := net.layers[len(net.layers)-1].out
	n := len(v.targets)
	if v.z == nil {
		v.z = make([]float64, n*out)
	}
	net.outputs(v.x, v.z)
	switch v.output {
	case mlpIdentityOutput:
		return R2Score(v.targets, v.z)
	case mlpLogisticOutput:
		correct := 0
		for i, z := range v.z {
			if (z > 0) == (v.targets[i] == 1) {
				correct++
			}
		}
		return float64(correct) / float64(n)
	}
	correct := 0
	for i, y := range v.targets {
		if floats.MaxIdx(v.z[i*out:(i+1)*out]) == int(y) {
			correct++
		}
	}
	return float64(correct) / float64(n)
}

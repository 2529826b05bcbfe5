package ml

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// GradientBoosting is gradient tree boosting, defined as scikit-learn's
// GradientBoostingRegressor (loss squared_error) and
// GradientBoostingClassifier (loss log_loss).
//
// The model is a raw score F(x) = F₀ + ν·Σₘ hₘ(x) (one score per class
// for K > 2 classes), with learning rate ν and regression trees hₘ of
// depth MaxDepth. Each stage fits a tree to the negative gradient of the
// loss at the current scores, on all training rows or a random fraction
// Subsample of them drawn without replacement:
//
//   - regression: F₀ = mean(y), residual rᵢ = yᵢ − F(xᵢ), and each leaf
//     predicts its mean residual;
//   - binary classification: F is the log-odds of class 1, F₀ = log(p/(1−p))
//     with p the training fraction of class 1, rᵢ = yᵢ − σ(F(xᵢ)), and
//     each leaf is set by one Newton step, Σ rᵢ / Σ pᵢ(1−pᵢ) over its rows;
//   - K > 2 classes: one tree per class and stage on the softmax scores,
//     F₀ₖ = log pₖ, rᵢₖ = [yᵢ = k] − softmaxₖ(F(xᵢ)), leaf values
//     (K−1)/K · Σ rᵢₖ / Σ pᵢₖ(1−pᵢₖ).
//
// The trees are CART regression trees (see DecisionTree) with all features
// and scikit-learn's friedman_mse criterion: a split maximises
// (W_R·S_L − W_L·S_R)²/(W_L·W_R), with S the sums of residuals and W the
// row counts on each side, which is W times the decrease in squared
// error, so the splits minimise squared error.
//
// Random draws follow scikit-learn's: seed s starts a numpy RandomState
// that draws each stage's subsample (as _random_sample_mask) and each
// tree's feature-draw seed, so the model is scikit-learn's for
// random_state=s up to rounding (splits tied in exact arithmetic may go
// either way, as the residuals are summed in another order).
//
// Early stopping (NIterNoChange > 0) holds out ValidationFraction of the
// training rows (stratified by class for classification; drawn
// differently from scikit-learn's train_test_split) and stops when the
// validation loss has not improved by 1e-4 on the best of the last
// NIterNoChange stages; the stages fitted so far are kept.
//
// FeatureImportances is the mean decrease in squared error of all trees,
// normalised.
type GradientBoosting struct {
	NEstimators        int
	LearningRate       float64
	MaxDepth           int
	Subsample          float64
	MinSamplesLeaf     int
	ValidationFraction float64
	NIterNoChange      int
	Seed               int

	// Classes is the number of classes K (0 for regression).
	Classes int
	// Init is F₀: one score for regression and binary classification, K
	// for multiclass.
	Init []float64
	// Trees are stage-major: stage s's tree for score k is
	// Trees[s·len(Init)+k]. Their leaf values are already multiplied by
	// the learning rate.
	Trees []Tree
	// Importances is the normalised mean decrease in impurity per input.
	Importances []float64
}

// earlyStoppingTol is the improvement of the validation loss that counts
// as progress for early stopping (scikit-learn's tol).
const earlyStoppingTol = 1e-4

func gradientBoostingAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "GRADIENT_BOOSTING",
			Tasks:       []Task{Classification, Regression},
			Description: "Gradient tree boosting: a sum of shallow regression trees, each fitted to the errors of the ones before (squared error for regression, log-loss with Newton leaf steps for classification).",
			Params: []ParamSpec{
				{Name: "nEstimators", Type: ParamInt, Default: 100, Min: ptr(1), Max: ptr(100000),
					Description: "Number of boosting stages (one tree each, or one per class for more than two classes)."},
				{Name: "learningRate", Type: ParamFloat, Default: 0.1, Min: ptr(0), MinExclusive: true,
					Description: "Shrinkage ν applied to every tree's contribution; smaller values need more stages."},
				{Name: "maxDepth", Type: ParamInt, Default: 3, Min: ptr(1),
					Description: "Maximum depth of each tree."},
				{Name: "subsample", Type: ParamFloat, Default: 1.0, Min: ptr(0), MinExclusive: true, Max: ptr(1),
					Description: "Fraction of the training rows, drawn without replacement, that each stage's tree is fitted on; below 1 gives stochastic gradient boosting."},
				minSamplesLeafParam(),
				{Name: "validationFraction", Type: ParamFloat, Default: 0.1, Min: ptr(0), Max: ptr(1), MinExclusive: true, MaxExclusive: true,
					Description: "Fraction of the training rows held out to decide early stopping (used only when nIterNoChange > 0)."},
				{Name: "nIterNoChange", Type: ParamInt, Default: 0, Min: ptr(0),
					Description: "Stop when the held-out loss has not improved by 1e-4 for this many stages; 0 disables early stopping."},
				seedParam(),
			},
		},
		newEstimator: newGradientBoosting,
	}
}

func newGradientBoosting(params map[string]any) Estimator {
	return &GradientBoosting{
		NEstimators:        params["nEstimators"].(int),
		LearningRate:       params["learningRate"].(float64),
		MaxDepth:           params["maxDepth"].(int),
		Subsample:          params["subsample"].(float64),
		MinSamplesLeaf:     params["minSamplesLeaf"].(int),
		ValidationFraction: params["validationFraction"].(float64),
		NIterNoChange:      params["nIterNoChange"].(int),
		Seed:               params["seed"].(int),
	}
}

// boostingScores returns the number of raw scores: K for K > 2 classes,
// else 1.
func boostingScores(classes int) int {
	if classes > 2 {
		return classes
	}
	return 1
}

// Fit implements Estimator.
func (m *GradientBoosting) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	n, p := x.Dims()
	target, err := newTreeTarget(y, n, task, nClasses)
	if err != nil {
		return fmt.Errorf("fit gradient boosting: %w", err)
	}
	switch {
	case m.NEstimators < 1:
		return inputErrorf("parameter nEstimators must be >= 1, got %d", m.NEstimators)
	case !(m.LearningRate > 0):
		return inputErrorf("parameter learningRate must be > 0, got %v", m.LearningRate)
	case !(m.Subsample > 0 && m.Subsample <= 1):
		return inputErrorf("parameter subsample must be in (0, 1], got %v", m.Subsample)
	case m.MaxDepth < 1:
		return inputErrorf("parameter maxDepth must be >= 1, got %d", m.MaxDepth)
	case m.NIterNoChange > 0 && !(m.ValidationFraction > 0 && m.ValidationFraction < 1):
		return inputErrorf("parameter validationFraction must be in (0, 1), got %v", m.ValidationFraction)
	}
	classes := 0
	if task == Classification {
		classes = nClasses
	}
	scores := boostingScores(classes)
	// Two numpy RandomStates from the seed, as scikit-learn: one holds out
	// the validation rows, the other draws subsamples and tree seeds.
	rng := newNumpyRandomState(m.Seed)

	// Rows used for training; the others (if any) decide early stopping.
	validation := make([]bool, n)
	if m.NIterNoChange > 0 {
		validation = boostingHoldOut(target.labels, classes, n, m.ValidationFraction, newNumpyRandomState(m.Seed))
	}
	var trainRows, valRows []int
	for i, v := range validation {
		if v {
			valRows = append(valRows, i)
		} else {
			trainRows = append(trainRows, i)
		}
	}
	if len(trainRows) == 0 {
		return inputErrorf("gradient boosting: no training rows left after holding out validationFraction %v of %d", m.ValidationFraction, n)
	}

	init := boostingInit(target, classes, trainRows)
	raw := make([]float64, n*scores) // F(xᵢ), row-major
	for i := range n {
		copy(raw[i*scores:(i+1)*scores], init)
	}
	cfg := treeConfig{maxDepth: m.MaxDepth, minSamplesSplit: 2, minSamplesLeaf: m.MinSamplesLeaf,
		maxFeatures: p, criterion: criterionFriedmanMSE}
	// One tree per stage splits its large nodes on all cores; the K trees
	// of a multiclass stage are independent and are grown in parallel
	// instead.
	cfg.parallel = scores == 1
	data := newTreeData(x)
	pool := make(chan *treeWorkspace, min(scores, runtime.GOMAXPROCS(0)))
	xraw := x.RawMatrix()
	rowOf := func(i int) []float64 { return xraw.Data[i*xraw.Stride : i*xraw.Stride+p] }

	residuals := make([][]float64, scores)
	for k := range residuals {
		residuals[k] = make([]float64, n)
	}
	weight := make([]float64, n)
	for _, i := range trainRows {
		weight[i] = 1
	}
	inBag := trainRows // rows the stage's trees are fitted on
	nInBag := max(1, int(m.Subsample*float64(len(trainRows))))
	var bag []int
	proba := make([]float64, scores)

	var trees []Tree
	var importances [][]float64
	lossHistory := make([]float64, m.NIterNoChange)
	for k := range lossHistory {
		lossHistory[k] = math.Inf(1)
	}
	var stageProba []float64 // softmax(F) at the start of the stage
	if scores > 1 {
		stageProba = make([]float64, n*scores)
	}
	seeds := make([]uint32, scores)
	stageTrees := make([]Tree, scores)
	stageImportances := make([][]float64, scores)
	errs := make([]error, scores)
	// growStage grows the stage's tree for score k and adds it to the
	// scores F[·, k]; the trees of one stage touch disjoint data.
	growStage := func(k int) {
		var ws *treeWorkspace
		select {
		case ws = <-pool:
		default:
			ws = &treeWorkspace{}
		}
		defer func() {
			select {
			case pool <- ws:
			default:
			}
		}()
		// Negative gradient of the loss at the stage's start scores.
		residual := residuals[k]
		for _, i := range trainRows {
			switch {
			case classes == 0:
				residual[i] = target.y[i] - raw[i]
			case classes == 2:
				residual[i] = float64(target.labels[i]) - sigmoid(raw[i])
			default:
				residual[i] = boostingIndicator(int(target.labels[i]) == k) - stageProba[i*scores+k]
			}
		}
		tree, imp, err := growTree(ctx, data, treeTarget{y: residual, weight: weight, unitWeights: true}, cfg, seeds[k], ws)
		if err != nil {
			errs[k] = err
			return
		}
		if classes > 0 {
			newtonLeaves(&tree, inBag, rowOf, residual, classes)
		}
		for v := range tree.Value {
			tree.Value[v] *= m.LearningRate
		}
		for i := range n {
			raw[i*scores+k] += tree.Value[tree.leafOffset(rowOf(i))]
		}
		stageTrees[k], stageImportances[k] = tree, imp
	}
	for stage := range m.NEstimators {
		if err := ctx.Err(); err != nil {
			return err
		}
		reportProgress(ctx, stage, m.NEstimators, 0, false)
		if nInBag < len(trainRows) {
			bag = subsampleRows(trainRows, nInBag, rng, bag[:0])
			inBag = bag
			clear(weight)
			for _, i := range inBag {
				weight[i] = 1
			}
		}
		if scores > 1 {
			// Every class's gradient is taken at the stage's start
			// scores: their softmax probabilities.
			// exp(f − logΣexp f), as scikit-learn computes them: the
			// trees' splits follow these values to the last bit.
			for _, i := range trainRows {
				f, p := raw[i*scores:(i+1)*scores], stageProba[i*scores:(i+1)*scores]
				lse := logSumExp(f)
				for k, v := range f {
					p[k] = math.Exp(v - lse)
				}
			}
		}
		// scikit-learn draws the trees' seeds in class order.
		for k := range seeds {
			seeds[k] = rng.splitterSeed()
		}
		parallelFor(scores, growStage)
		for k, err := range errs {
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return ctxErr
				}
				return fmt.Errorf("fit gradient boosting: stage %d: %w", stage, err)
			}
			trees = append(trees, stageTrees[k])
			importances = append(importances, stageImportances[k])
		}
		if m.NIterNoChange > 0 && len(valRows) > 0 {
			loss := boostingLoss(target, classes, valRows, raw, proba)
			// Go on while the loss beats one of the last NIterNoChange.
			improved := false
			for _, h := range lossHistory {
				if loss+earlyStoppingTol < h {
					improved = true
					break
				}
			}
			if !improved {
				break
			}
			lossHistory[stage%len(lossHistory)] = loss
		}
	}
	m.Classes = classes
	m.Init = init
	m.Trees = trees
	m.Importances = meanImportances(trees, importances, false)
	return nil
}

// boostingIndicator is 1 if b holds, else 0.
func boostingIndicator(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// boostingHoldOut marks the rows held out for early stopping: a random fraction
// of them, per class for classification (so every class keeps its share).
func boostingHoldOut(labels []int32, classes, n int, fraction float64, rng *numpyRandomState) []bool {
	groups := [][]int{make([]int, 0, n)}
	if classes > 0 {
		groups = make([][]int, classes)
	}
	for i := range n {
		g := 0
		if classes > 0 {
			g = int(labels[i])
		}
		groups[g] = append(groups[g], i)
	}
	held := make([]bool, n)
	for _, rows := range groups {
		take := int(math.Round(fraction * float64(len(rows))))
		if classes == 0 {
			take = int(math.Ceil(fraction * float64(len(rows))))
		}
		for a := range take {
			b := a + rng.intn(len(rows)-a)
			rows[a], rows[b] = rows[b], rows[a]
			held[rows[a]] = true
		}
	}
	return held
}

// subsampleRows appends to dst a uniform sample of k of rows without
// replacement, in order, as scikit-learn's _random_sample_mask: row a of
// the remaining m is taken with probability (k − taken)/m.
func subsampleRows(rows []int, k int, rng *numpyRandomState, dst []int) []int {
	u := make([]float64, len(rows))
	for a := range u {
		u[a] = rng.float64()
	}
	for a, i := range rows {
		if u[a]*float64(len(rows)-a) < float64(k-len(dst)) {
			dst = append(dst, i)
		}
	}
	return dst
}

// boostingInit returns F₀ over the training rows: the mean target, the
// log-odds of class 1, or the log prior of each class (probabilities
// clipped to [ε, 1−ε] with ε the float32 epsilon, as scikit-learn).
func boostingInit(target treeTarget, classes int, rows []int) []float64 {
	if classes == 0 {
		s := 0.0
		for _, i := range rows {
			s += target.y[i]
		}
		return []float64{s / float64(len(rows))}
	}
	counts := make([]float64, classes)
	for _, i := range rows {
		counts[target.labels[i]]++
	}
	const eps = 0x1p-23
	prior := func(k int) float64 { return math.Min(math.Max(counts[k]/float64(len(rows)), eps), 1-eps) }
	if classes == 2 {
		p := prior(1)
		return []float64{math.Log(p / (1 - p))}
	}
	init := make([]float64, classes)
	for k := range init {
		init[k] = math.Log(prior(k))
	}
	return init
}

// newtonLeaves replaces each leaf value of a tree fitted to log-loss
// residuals r = y − p by one Newton step, Σ r / Σ p(1−p) over the leaf's
// in-bag rows (times (K−1)/K for K > 2 classes); a leaf whose denominator
// vanishes gets 0.
func newtonLeaves(tree *Tree, rows []int, rowOf func(int) []float64, residual []float64, classes int) {
	num := make([]float64, len(tree.Value))
	den := make([]float64, len(tree.Value))
	for _, i := range rows {
		leaf := tree.leafOffset(rowOf(i))
		// With y ∈ {0, 1} and r = y − p ∈ (−1, 1): p(1 − p) = |r|(1 − |r|).
		r := residual[i]
		num[leaf] += r
		den[leaf] += math.Abs(r) * (1 - math.Abs(r))
	}
	scale := 1.0
	if classes > 2 {
		scale = float64(classes-1) / float64(classes)
	}
	for v := range tree.Value {
		if math.Abs(den[v]) < 1e-150 {
			tree.Value[v] = 0
		} else {
			tree.Value[v] = scale * num[v] / den[v]
		}
	}
}

// boostingLoss is the mean loss on rows, as scikit-learn reports it:
// squared error, binomial deviance 2·(log(1+e^F) − yF), or multinomial
// deviance logΣₖe^{Fₖ} − F_y. buf has room for one row of scores.
func boostingLoss(target treeTarget, classes int, rows []int, raw, buf []float64) float64 {
	scores := len(buf)
	s := 0.0
	for _, i := range rows {
		f := raw[i*scores : (i+1)*scores]
		switch {
		case classes == 0:
			d := target.y[i] - f[0]
			s += d * d
		case classes == 2:
			s += 2 * (softplus(f[0]) - float64(target.labels[i])*f[0])
		default:
			s += logSumExp(f) - f[target.labels[i]]
		}
	}
	return s / float64(len(rows))
}

// Predict implements Estimator.
func (m *GradientBoosting) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	scores := len(m.Init)
	forEachSegment(rowSegments(n, 256, maxSegments), func(_ int, seg segment) {
		f := make([]float64, scores)
		for i := seg.lo; i < seg.hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			copy(f, m.Init)
			for t := range m.Trees {
				f[t%scores] += m.Trees[t].Value[m.Trees[t].leafOffset(row)]
			}
			out := dst.RawRowView(i)
			switch {
			case m.Classes == 0:
				out[0] = f[0]
			case m.Classes == 2:
				out[0], out[1] = sigmoid(-f[0]), sigmoid(f[0])
			default:
				softmaxInto(out, f)
			}
		}
	})
}

// FeatureImportances implements Importancer.
func (m *GradientBoosting) FeatureImportances() []float64 { return slices.Clone(m.Importances) }

// Stages returns the number of boosting stages fitted (fewer than
// NEstimators if early stopping ended the fit).
func (m *GradientBoosting) Stages() int { return len(m.Trees) / max(len(m.Init), 1) }

// checkShape implements shapeChecker.
func (m *GradientBoosting) checkShape(inputs int, task Task, nClasses int) error {
	if err := checkTreeTask("gradient boosting", m.Classes, task, nClasses); err != nil {
		return err
	}
	scores := boostingScores(m.Classes)
	if len(m.Init) != scores {
		return fmt.Errorf("gradient boosting has %d initial scores, want %d", len(m.Init), scores)
	}
	if err := checkFinite("gradient boosting initial scores", m.Init); err != nil {
		return err
	}
	if len(m.Trees) == 0 || len(m.Trees)%scores != 0 {
		return fmt.Errorf("gradient boosting has %d trees, want a positive multiple of %d", len(m.Trees), scores)
	}
	for t := range m.Trees {
		if err := m.Trees[t].check(inputs, 1, false); err != nil {
			return fmt.Errorf("gradient boosting tree %d: %w", t, err)
		}
	}
	return checkImportances("gradient boosting", m.Importances, inputs)
}

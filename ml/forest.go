package ml

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// RandomForest is a random forest, defined as scikit-learn's
// RandomForestClassifier and RandomForestRegressor: NEstimators CART trees
// (see DecisionTree), each grown fully by default on a bootstrap sample
// (n rows drawn with replacement, entered as row weights = draw counts)
// and examining a random subset of MaxFeatures features at every split
// (√p for classification, all p for regression by default). The forest
// predicts the mean of the trees' class probabilities (classification) or
// values (regression).
//
// Random draws follow scikit-learn's exactly: the forest's seed starts a
// numpy RandomState that draws one seed per tree; tree t's bootstrap
// sample and its feature draws come from generators started at that seed
// (see DecisionTree). So seed s gives scikit-learn's forest for
// random_state=s up to rounding, and since every tree has its own
// generators, the trees are grown in parallel without the result
// depending on the number of cores.
//
// FeatureImportances is the mean over trees of each tree's normalised mean
// decrease in impurity, normalised again.
type RandomForest struct {
	NEstimators     int
	MaxDepth        int
	MinSamplesSplit int
	MinSamplesLeaf  int
	MaxFeatures     string
	Criterion       string
	Bootstrap       bool
	Seed            int

	// Classes is the number of classes K (0 for regression).
	Classes int
	// Trees are the fitted trees; leaves hold K probabilities
	// (classification) or one value (regression).
	Trees []Tree
	// Importances is the normalised mean decrease in impurity per input.
	Importances []float64
}

func randomForestAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "RANDOM_FOREST",
			Tasks:       []Task{Classification, Regression},
			Description: "Random forest: many decision trees, each grown on a bootstrap sample of the rows with a random subset of features tried at each split; predicts the trees' mean probability or value.",
			Params: []ParamSpec{
				{Name: "nEstimators", Type: ParamInt, Default: 100, Min: ptr(1), Max: ptr(10000),
					Description: "Number of trees."},
				maxDepthParam(),
				minSamplesSplitParam(),
				minSamplesLeafParam(),
				{Name: "maxFeatures", Type: ParamString, Default: "auto",
					Description: `Features examined per split: "auto" (the default: "sqrt" for classification, "all" for regression, as scikit-learn), or as for DECISION_TREE: ` + maxFeaturesParamDescription},
				{Name: "criterion", Type: ParamString, Default: "gini", Choices: []string{"gini", "entropy"}, Description: criterionParamDescription},
				{Name: "bootstrap", Type: ParamBool, Default: true,
					Description: "Grow each tree on a bootstrap sample (n rows drawn with replacement); if false every tree sees all rows and differs only by its feature draws."},
				seedParam(),
			},
		},
		newEstimator: newRandomForest,
	}
}

func newRandomForest(params map[string]any) Estimator {
	return &RandomForest{
		NEstimators:     params["nEstimators"].(int),
		MaxDepth:        params["maxDepth"].(int),
		MinSamplesSplit: params["minSamplesSplit"].(int),
		MinSamplesLeaf:  params["minSamplesLeaf"].(int),
		MaxFeatures:     params["maxFeatures"].(string),
		Criterion:       params["criterion"].(string),
		Bootstrap:       params["bootstrap"].(bool),
		Seed:            params["seed"].(int),
	}
}

// Fit implements Estimator.
func (m *RandomForest) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	n, p := x.Dims()
	target, err := newTreeTarget(y, n, task, nClasses)
	if err != nil {
		return fmt.Errorf("fit random forest: %w", err)
	}
	if m.NEstimators < 1 {
		return inputErrorf("parameter nEstimators must be >= 1, got %d", m.NEstimators)
	}
	cfg, err := newTreeConfig(m.MaxDepth, m.MinSamplesSplit, m.MinSamplesLeaf, m.MaxFeatures, m.Criterion, task, nClasses, p)
	if err != nil {
		return err
	}
	// With fewer trees than cores, each tree spreads its large nodes over
	// the cores instead (the trees are the same either way).
	cfg.parallel = m.NEstimators < runtime.GOMAXPROCS(0)
	data := newTreeData(x)

	// Seeds are drawn up front, so tree t's generators do not depend on
	// which worker grows it or when.
	seeds := make([]int, m.NEstimators)
	master := newNumpyRandomState(m.Seed)
	for t := range seeds {
		seeds[t] = master.intn(randRMax)
	}
	trees := make([]Tree, m.NEstimators)
	importances := make([][]float64, m.NEstimators)
	errs := make([]error, m.NEstimators)
	// Workspaces are reused by the trees grown after each other.
	pool := make(chan *treeWorkspace, runtime.GOMAXPROCS(0))
	var grown atomic.Int64
	parallelFor(m.NEstimators, func(t int) {
		if err := ctx.Err(); err != nil {
			errs[t] = err
			return
		}
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
		tt := target
		if m.Bootstrap {
			// The row weights are the draw counts of n rows drawn with
			// replacement.
			draws := newNumpyRandomState(seeds[t])
			tt.weight = make([]float64, n)
			for range n {
				tt.weight[draws.intn(n)]++
			}
		} else {
			tt.weight, tt.unitWeights = treeUnitWeights(n), true
		}
		seed := newNumpyRandomState(seeds[t]).splitterSeed()
		trees[t], importances[t], errs[t] = growTree(ctx, data, tt, cfg, seed, ws)
		reportProgress(ctx, int(grown.Add(1)), m.NEstimators, 0, false)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	for t, err := range errs {
		if err != nil {
			return fmt.Errorf("fit random forest: tree %d: %w", t, err)
		}
	}
	m.Classes = cfg.classes
	m.Trees = trees
	m.Importances = meanImportances(trees, importances, true)
	return nil
}

// meanImportances averages the importances of the trees that have a split
// (each normalised first if normalise), then normalises the mean, as
// scikit-learn's forests and gradient boosting do.
func meanImportances(trees []Tree, importances [][]float64, normalise bool) []float64 {
	var sum []float64
	for t, imp := range importances {
		if trees[t].nodeCount() <= 1 {
			continue
		}
		if normalise {
			imp = normalisedImportances(imp)
		}
		if sum == nil {
			sum = make([]float64, len(imp))
		}
		for j, v := range imp {
			sum[j] += v
		}
	}
	if sum == nil && len(importances) > 0 {
		return make([]float64, len(importances[0]))
	}
	return normalisedImportances(sum)
}

// Predict implements Estimator: the mean of the trees' predictions. Rows
// are predicted in parallel.
func (m *RandomForest) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	width := max(m.Classes, 1)
	inv := 1 / float64(len(m.Trees))
	forEachSegment(rowSegments(n, 256, maxSegments), func(_ int, seg segment) {
		for i := seg.lo; i < seg.hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+p]
			out := dst.RawRowView(i)[:width]
			clear(out)
			for t := range m.Trees {
				for k, v := range m.Trees[t].leafValues(row, width) {
					out[k] += v
				}
			}
			for k := range out {
				out[k] *= inv
			}
		}
	})
}

// FeatureImportances implements Importancer.
func (m *RandomForest) FeatureImportances() []float64 { return slices.Clone(m.Importances) }

// checkShape implements shapeChecker.
func (m *RandomForest) checkShape(inputs int, task Task, nClasses int) error {
	if err := checkTreeTask("random forest", m.Classes, task, nClasses); err != nil {
		return err
	}
	if len(m.Trees) == 0 {
		return fmt.Errorf("random forest has no trees")
	}
	for t := range m.Trees {
		if err := m.Trees[t].check(inputs, max(m.Classes, 1), m.Classes > 0); err != nil {
			return fmt.Errorf("random forest tree %d: %w", t, err)
		}
	}
	return checkImportances("random forest", m.Importances, inputs)
}

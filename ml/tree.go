package ml

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// DecisionTree is a CART decision tree, defined as scikit-learn's
// DecisionTreeClassifier and DecisionTreeRegressor (best splitter).
//
// Growing starts from one node holding every training row. A node becomes
// a leaf when it is at MaxDepth, has fewer than MinSamplesSplit or
// 2·MinSamplesLeaf rows, or is pure (zero impurity). Otherwise every
// threshold of the features examined (all of them, or a random subset of
// MaxFeatures, drawn without replacement in random order) is tried: the
// candidate thresholds of feature j are the midpoints between consecutive
// distinct values of x_j in the node, and a split must leave at least
// MinSamplesLeaf rows on each side. The split chosen maximises the impurity
// decrease
//
//	Δ = W·I(node) − W_L·I(left) − W_R·I(right)
//
// where W are total row weights and I is the impurity: for classification
// gini 1 − Σₖ pₖ² or entropy −Σₖ pₖ·log₂ pₖ (pₖ the weighted fraction of
// class k), for regression the weighted variance of y (squared error).
// Ties go to the feature examined first. Features are drawn with
// scikit-learn's own generators (numpy's MT19937 RandomState for the
// tree's seed, then its xorshift rand_r for the draws at each node, with
// the same bookkeeping of constant features), so seed s breaks ties as
// random_state=s does and gives the same tree as scikit-learn up to
// rounding. As in scikit-learn, sorted values less than 1e-7 apart count
// as equal (no threshold between them), which keeps rounding noise in the
// data from defining splits; unlike scikit-learn, values are otherwise
// compared in float64, not float32, so large-magnitude features keep
// their precision. A split is made even if Δ = 0.
//
// Leaves predict the weighted class fractions (classification) or the
// weighted mean of y (regression). Rows with x_j ≤ threshold go left.
//
// FeatureImportances is the mean decrease in impurity: Σ Δ over the nodes
// split on each feature, normalised to sum to one.
type DecisionTree struct {
	MaxDepth        int
	MinSamplesSplit int
	MinSamplesLeaf  int
	MaxFeatures     string
	Criterion       string
	Seed            int

	// Classes is the number of classes K (0 for regression).
	Classes int
	// Tree holds the fitted nodes; leaves hold K probabilities
	// (classification) or one value (regression).
	Tree Tree
	// Importances is the normalised mean decrease in impurity per input.
	Importances []float64
}

// Tree is a fitted binary tree in flat arrays. Nodes are stored in
// depth-first preorder, so an internal node's left child is the next node
// and only the right child needs an index. Node i is a leaf if
// Feature[i] < 0.
type Tree struct {
	// Feature[i] is the input column split on at node i, or −1 for a leaf.
	Feature []int32
	// Threshold[i] is the split value: rows with x[Feature[i]] ≤
	// Threshold[i] go to the left child (0 for leaves). It lies between
	// the training values on either side (see splitThreshold).
	Threshold []float64
	// Next[i] is, for an internal node, the index of its right child and,
	// for a leaf, the offset of its values in Value.
	Next []int32
	// Value holds the leaves' predictions, a fixed number per leaf (K
	// class probabilities, or one value).
	Value []float64
}

const (
	// maxFeaturesParamDescription documents the accepted forms once for
	// the tree and the forest.
	maxFeaturesParamDescription = `Number of features examined per split: "all", "sqrt" (√p), "log2" (log₂ p), a fraction of the p features written with a decimal point ("0.5", "1.0"), or a whole number of features ("3"); fewer than p makes the choice random.`
	criterionParamDescription   = `Split quality for classification: "gini" (Gini impurity) or "entropy" (information gain). Regression always minimises squared error.`
)

func decisionTreeAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:        "DECISION_TREE",
			Tasks:       []Task{Classification, Regression},
			Description: "CART decision tree: recursive binary splits on feature thresholds chosen to reduce Gini impurity or entropy (classification) or squared error (regression); leaves predict class fractions or the mean.",
			Params: []ParamSpec{
				maxDepthParam(),
				minSamplesSplitParam(),
				minSamplesLeafParam(),
				{Name: "maxFeatures", Type: ParamString, Default: "all", Description: maxFeaturesParamDescription},
				{Name: "criterion", Type: ParamString, Default: "gini", Choices: []string{"gini", "entropy"}, Description: criterionParamDescription},
				seedParam(),
			},
		},
		newEstimator: newDecisionTree,
	}
}

func maxDepthParam() ParamSpec {
	return ParamSpec{Name: "maxDepth", Type: ParamInt, Default: 0, Min: ptr(0),
		Description: "Maximum depth of the tree (the root has depth 0); 0 means unlimited: nodes are split until pure or too small."}
}

func minSamplesSplitParam() ParamSpec {
	return ParamSpec{Name: "minSamplesSplit", Type: ParamInt, Default: 2, Min: ptr(2),
		Description: "Minimum number of training rows a node needs to be split."}
}

func minSamplesLeafParam() ParamSpec {
	return ParamSpec{Name: "minSamplesLeaf", Type: ParamInt, Default: 1, Min: ptr(1),
		Description: "Minimum number of training rows in each leaf: a split leaving fewer on either side is not considered."}
}

func newDecisionTree(params map[string]any) Estimator {
	return &DecisionTree{
		MaxDepth:        params["maxDepth"].(int),
		MinSamplesSplit: params["minSamplesSplit"].(int),
		MinSamplesLeaf:  params["minSamplesLeaf"].(int),
		MaxFeatures:     params["maxFeatures"].(string),
		Criterion:       params["criterion"].(string),
		Seed:            params["seed"].(int),
	}
}

// Fit implements Estimator.
func (m *DecisionTree) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	n, p := x.Dims()
	target, err := newTreeTarget(y, n, task, nClasses)
	if err != nil {
		return fmt.Errorf("fit decision tree: %w", err)
	}
	cfg, err := newTreeConfig(m.MaxDepth, m.MinSamplesSplit, m.MinSamplesLeaf, m.MaxFeatures, m.Criterion, task, nClasses, p)
	if err != nil {
		return err
	}
	cfg.parallel = true
	target.weight, target.unitWeights = treeUnitWeights(n), true
	data := newTreeData(x)
	tree, importance, err := growTree(ctx, data, target, cfg, newNumpyRandomState(m.Seed).splitterSeed(), &treeWorkspace{})
	if err != nil {
		return err
	}
	m.Classes = cfg.classes
	m.Tree = tree
	m.Importances = normalisedImportances(importance)
	return nil
}

// Predict implements Estimator: each row gets its leaf's class fractions
// or value. Rows are predicted in parallel.
func (m *DecisionTree) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	raw := x.RawMatrix()
	width := max(m.Classes, 1)
	forEachSegment(rowSegments(n, 4096, maxSegments), func(_ int, seg segment) {
		for i := seg.lo; i < seg.hi; i++ {
			copy(dst.RawRowView(i), m.Tree.leafValues(raw.Data[i*raw.Stride:i*raw.Stride+p], width))
		}
	})
}

// FeatureImportances implements Importancer.
func (m *DecisionTree) FeatureImportances() []float64 { return slices.Clone(m.Importances) }

// checkShape implements shapeChecker.
func (m *DecisionTree) checkShape(inputs int, task Task, nClasses int) error {
	if err := checkTreeTask("decision tree", m.Classes, task, nClasses); err != nil {
		return err
	}
	if err := m.Tree.check(inputs, max(m.Classes, 1), m.Classes > 0); err != nil {
		return fmt.Errorf("decision tree: %w", err)
	}
	return checkImportances("decision tree", m.Importances, inputs)
}

// checkTreeTask checks the stored class count of a tree model against the
// model around it.
func checkTreeTask(what string, classes int, task Task, nClasses int) error {
	switch task {
	case Classification:
		if classes != nClasses || classes < 2 {
			return fmt.Errorf("%s has %d classes, model has %d", what, classes, nClasses)
		}
	case Regression:
		if classes != 0 {
			return fmt.Errorf("%s regression model with %d classes", what, classes)
		}
	default:
		return fmt.Errorf("%s cannot serve task %q", what, task)
	}
	return nil
}

func checkImportances(what string, importances []float64, inputs int) error {
	if len(importances) != inputs {
		return fmt.Errorf("%s has %d feature importances for %d inputs", what, len(importances), inputs)
	}
	return checkFinite(what+" feature importances", importances)
}

// leafOffset returns the offset in Value of the leaf that row x falls
// into.
func (t *Tree) leafOffset(x []float64) int {
	i := 0
	for f := t.Feature[0]; f >= 0; f = t.Feature[i] {
		if x[f] <= t.Threshold[i] {
			i++
		} else {
			i = int(t.Next[i])
		}
	}
	return int(t.Next[i])
}

// leafValues returns the values of the leaf that row x falls into.
func (t *Tree) leafValues(x []float64, width int) []float64 {
	off := t.leafOffset(x)
	return t.Value[off : off+width]
}

// check verifies a decoded tree so that leafValues cannot go out of range
// or loop: every internal node's children come after it in the arrays.
func (t *Tree) check(inputs, width int, probabilities bool) error {
	nodes := len(t.Feature)
	if nodes == 0 || len(t.Threshold) != nodes || len(t.Next) != nodes {
		return fmt.Errorf("tree has %d features, %d thresholds and %d links; want the same non-zero number", nodes, len(t.Threshold), len(t.Next))
	}
	for i, f := range t.Feature {
		next := int(t.Next[i])
		if f >= 0 {
			if int(f) >= inputs {
				return fmt.Errorf("node %d splits on input %d of %d", i, f, inputs)
			}
			if next <= i+1 || next >= nodes {
				return fmt.Errorf("node %d has right child %d outside (%d, %d)", i, next, i+1, nodes)
			}
			if math.IsNaN(t.Threshold[i]) {
				return fmt.Errorf("node %d has threshold NaN", i)
			}
			continue
		}
		if next < 0 || next+width > len(t.Value) {
			return fmt.Errorf("leaf %d has values at %d, beyond the %d stored", i, next, len(t.Value))
		}
		if probabilities {
			for _, v := range t.Value[next : next+width] {
				if !(v >= 0 && v <= 1) {
					return fmt.Errorf("leaf %d has probability %v", i, v)
				}
			}
		}
	}
	return checkFinite("tree leaf values", t.Value)
}

// nodeCount returns the number of nodes of the tree.
func (t *Tree) nodeCount() int { return len(t.Feature) }

// normalisedImportances returns v divided by its sum (all zeros if the sum is zero).
func normalisedImportances(v []float64) []float64 {
	out := make([]float64, len(v))
	s := 0.0
	for _, x := range v {
		s += x
	}
	if s > 0 {
		for j, x := range v {
			out[j] = x / s
		}
	}
	return out
}

// ---- Parameters shared by the tree algorithms ----

type criterion int

const (
	criterionGini criterion = iota
	criterionEntropy
	criterionSquaredError
	// criterionFriedmanMSE is squared error with Friedman's improvement formula,
	// scikit-learn's criterion for gradient boosting trees.
	criterionFriedmanMSE
)

// treeConfig are the growing rules of one tree.
type treeConfig struct {
	maxDepth        int // 0: unlimited
	minSamplesSplit int
	minSamplesLeaf  int
	maxFeatures     int // features examined per split, 1..p
	criterion       criterion
	classes         int // K ≥ 2 for classification, 0 for regression
	// parallel lets the split search and the partitioning of large nodes
	// use every core (off when trees are already grown in parallel).
	parallel bool
}

func newTreeConfig(maxDepth, minSamplesSplit, minSamplesLeaf int, maxFeatures, crit string, task Task, nClasses, p int) (treeConfig, error) {
	cfg := treeConfig{maxDepth: maxDepth, minSamplesSplit: minSamplesSplit, minSamplesLeaf: minSamplesLeaf}
	var err error
	if cfg.maxFeatures, err = resolveMaxFeatures(maxFeatures, p, task); err != nil {
		return cfg, err
	}
	switch {
	case task == Regression:
		cfg.criterion = criterionSquaredError
	case crit == "entropy":
		cfg.criterion, cfg.classes = criterionEntropy, nClasses
	case crit == "gini":
		cfg.criterion, cfg.classes = criterionGini, nClasses
	default:
		return cfg, inputErrorf("parameter criterion must be gini or entropy, got %q", crit)
	}
	return cfg, nil
}

// resolveMaxFeatures returns the number of features examined per split for
// a maxFeatures parameter value and p features (see
// maxFeaturesParamDescription). "auto" is scikit-learn's forest default:
// √p for classification, all for regression.
func resolveMaxFeatures(spec string, p int, task Task) (int, error) {
	s := strings.TrimSpace(spec)
	if s == "auto" {
		s = "all"
		if task == Classification {
			s = "sqrt"
		}
	}
	var k int
	switch s {
	case "all":
		k = p
	case "sqrt":
		k = int(math.Sqrt(float64(p)))
	case "log2":
		k = int(math.Log2(float64(p)))
	default:
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || !(f > 0 && f <= 1) {
				return 0, inputErrorf("parameter maxFeatures: fraction %q must be a number in (0, 1]", spec)
			}
			k = int(f * float64(p))
		} else {
			c, err := strconv.Atoi(s)
			if err != nil || c < 1 {
				return 0, inputErrorf(`parameter maxFeatures must be "all", "sqrt", "log2", a fraction in (0, 1] such as "0.5", or a whole number of features ≥ 1; got %q`, spec)
			}
			if c > p {
				return 0, inputErrorf("parameter maxFeatures is %d but the design has only %d features", c, p)
			}
			k = c
		}
	}
	return max(k, 1), nil
}

// ---- Data shared by every tree grown on one design matrix ----

// treeData is the design matrix prepared for growing trees: per feature,
// the rows sorted by value and the values in that order. It is read-only
// once built and shared by all the trees of a forest or boosting run, so
// the sorting is done once.
type treeData struct {
	n, p   int
	sorted [][]int32   // sorted[j] lists the rows by ascending x_j
	values [][]float64 // values[j][k] is x_j of row sorted[j][k]
}

func newTreeData(x *mat.Dense) *treeData {
	n, p := x.Dims()
	d := &treeData{n: n, p: p, sorted: make([][]int32, p), values: make([][]float64, p)}
	raw := x.RawMatrix()
	sortedBacking := make([]int32, n*p)
	valuesBacking := make([]float64, n*p)
	parallelFor(p, func(j int) {
		col := make([]float64, n)
		for i := range col {
			col[i] = raw.Data[i*raw.Stride+j]
		}
		rows := sortedBacking[j*n : (j+1)*n : (j+1)*n]
		radixSortRows(col, rows)
		values := valuesBacking[j*n : (j+1)*n : (j+1)*n]
		for k, r := range rows {
			values[k] = col[r]
		}
		d.sorted[j], d.values[j] = rows, values
	})
	return d
}

// radixSortRows writes to rows the indices of values in ascending order
// of value, equal values in index order. It is a least-significant-digit
// radix sort, one byte at a time, on the bit patterns of the values mapped
// so that unsigned order is numeric order (NaNs sort to the ends); byte
// positions where all values agree are skipped.
func radixSortRows(values []float64, rows []int32) {
	n := len(values)
	if n == 0 {
		return
	}
	keys := make([]uint64, n)
	var counts [8][256]int
	for i, v := range values {
		k := math.Float64bits(v + 0) // +0: −0 sorts as 0
		if k>>63 != 0 {
			k = ^k // negative: larger magnitudes sort first
		} else {
			k |= 1 << 63
		}
		keys[i] = k
		rows[i] = int32(i)
		for b := range 8 {
			counts[b][byte(k>>(8*b))]++
		}
	}
	cur, tmp := rows, make([]int32, n)
	tmpKeys := make([]uint64, n)
	for b := range 8 {
		c := &counts[b]
		if c[byte(keys[0]>>(8*b))] == n {
			continue // every key has this byte
		}
		start := 0
		for v, cnt := range c {
			c[v] = start
			start += cnt
		}
		for i, k := range keys {
			at := &c[byte(k>>(8*b))]
			tmpKeys[*at], tmp[*at] = k, cur[i]
			*at++
		}
		keys, tmpKeys = tmpKeys, keys
		cur, tmp = tmp, cur
	}
	if &cur[0] != &rows[0] {
		copy(rows, cur)
	}
}

// treeTarget is what one tree is grown to predict.
type treeTarget struct {
	labels []int32   // classification: class index per row
	y      []float64 // regression: target per row
	// weight per row (bootstrap counts, subsample masks); rows of weight 0
	// take no part in the tree.
	weight []float64
	// unitWeights promises that every weight is 0 or 1, which lets the
	// scans count rows instead of adding weights.
	unitWeights bool
}

// newTreeTarget validates y for the task and converts class indices.
func newTreeTarget(y []float64, n int, task Task, nClasses int) (treeTarget, error) {
	if len(y) != n {
		return treeTarget{}, fmt.Errorf("%d targets for %d rows", len(y), n)
	}
	if n == 0 {
		return treeTarget{}, fmt.Errorf("no rows")
	}
	switch task {
	case Regression:
		return treeTarget{y: y}, nil
	case Classification:
		if nClasses < 2 {
			return treeTarget{}, fmt.Errorf("need at least 2 classes, got %d", nClasses)
		}
		labels := make([]int32, n)
		for i, v := range y {
			if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
				return treeTarget{}, fmt.Errorf("%s has class %v outside 0..%d", RowName(i), v, nClasses-1)
			}
			labels[i] = int32(v)
		}
		return treeTarget{labels: labels}, nil
	}
	return treeTarget{}, fmt.Errorf("unsupported task %q", task)
}

// treeUnitWeights returns n weights of 1.
func treeUnitWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// ---- Growing one tree ----

// treeWorkspace holds the buffers of one tree being grown, reused from
// tree to tree by the same worker.
type treeWorkspace struct {
	// order[j][start:end] lists the rows of the node [start, end) sorted
	// by x_j. Every node covers the same range in all features, and a
	// split partitions each range stably, so children stay sorted without
	// sorting again.
	order   [][]int32
	backing []int32
	// values[j][start:end] are the x_j of the rows order[j][start:end],
	// kept alongside so that scans read memory in order.
	values        [][]float64
	valuesBacking []float64
	// goesLeft is 1 for the rows going left at the split being
	// partitioned, 0 otherwise (by row); as a number it lets the
	// partition loop run without branches.
	goesLeft []uint8
	inTree   []uint8           // by row: 1 if the row has positive weight
	bufs     []partitionBuffer // one per parallel group
	// features is scikit-learn's feature permutation, whose prefix holds
	// the features known to be constant in the node being split, and
	// constantFeatures its record of those prefixes (see drawFeatures).
	features         []int
	constantFeatures []int
	scratch          []float64 // class counts, 2K per candidate feature
	cands            []splitCandidate
	eval             []int // features to evaluate at the current node
}

// partitionBuffer holds the right side of a feature's rows while it is
// partitioned.
type partitionBuffer struct {
	rows   []int32
	values []float64
}

// splitCandidate is the best split found on one feature.
type splitCandidate struct {
	proxy float64 // impurity decrease up to a per-node constant
	left  int     // rows going left; 0 if no valid split
}

// nodeStats summarise the rows of a node.
type nodeStats struct {
	rows   int
	weight float64
	// regression: Σ w·y and Σ w·y²
	sum, sumSquares float64
	counts          []float64 // classification: weighted class counts
	impurity        float64
}

// growEntry is a node waiting to be grown.
type growEntry struct {
	start, end int
	depth      int
	constants  int // features[:constants] are constant in this node
	parent     int // node whose Next is this node's index, −1 for none
	stats      nodeStats
}

// treeGrower grows one tree.
type treeGrower struct {
	data   *treeData
	target treeTarget
	cfg    treeConfig
	rand   randR
	ws     *treeWorkspace

	rootWeight float64
	tree       Tree
	importance []float64
}

// minParallelWork is the node size (rows × features) from which the split
// search and the partitioning are spread over the cores.
const minParallelWork = 1 << 16

// impurityEpsilon is the impurity at or below which a node counts as pure
// (float64 machine epsilon, as scikit-learn).
const impurityEpsilon = 0x1p-52

// growTree grows a tree on the rows of positive weight, drawing features
// from scikit-learn's rand_r generator started at seed (see
// numpyRandomState.splitterSeed). importance holds the impurity decrease per
// feature divided by the root's weight (not normalised).
func growTree(ctx context.Context, data *treeData, target treeTarget, cfg treeConfig, seed uint32, ws *treeWorkspace) (tree Tree, importance []float64, err error) {
	g := &treeGrower{data: data, target: target, cfg: cfg, rand: randR(seed), ws: ws, importance: make([]float64, data.p)}
	rows := g.prepare()
	if rows == 0 {
		return Tree{}, nil, fmt.Errorf("grow tree: no rows of positive weight")
	}
	root := g.stats(g.ws.order[0][:rows])
	g.rootWeight = root.weight
	stack := []growEntry{{start: 0, end: rows, parent: -1, stats: root}}
	for grown := 0; len(stack) > 0; grown++ {
		if grown%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Tree{}, nil, err
			}
		}
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		node := len(g.tree.Feature)
		if e.parent >= 0 {
			g.tree.Next[e.parent] = int32(node)
		}
		left, right, ok := g.split(&e)
		if !ok {
			g.addLeaf(&e.stats)
			continue
		}
		// The right child is pushed first so that the left one is grown
		// next, giving preorder (and scikit-learn's order of draws).
		stack = append(stack, right, left)
	}
	for j := range g.importance {
		g.importance[j] /= root.weight
	}
	return g.tree, g.importance, nil
}

// prepare fills the workspace with the tree's rows (those of positive
// weight) in every feature's sorted order and returns their number.
func (g *treeGrower) prepare() int {
	d, ws := g.data, g.ws
	rows := 0
	for _, w := range g.target.weight {
		if w > 0 {
			rows++
		}
	}
	if cap(ws.backing) < rows*d.p {
		ws.backing = make([]int32, rows*d.p)
		ws.valuesBacking = make([]float64, rows*d.p)
	}
	ws.order = slices.Grow(ws.order[:0], d.p)[:d.p]
	ws.values = slices.Grow(ws.values[:0], d.p)[:d.p]
	if len(ws.inTree) < d.n {
		ws.inTree = make([]uint8, d.n)
	}
	for i, w := range g.target.weight {
		ws.inTree[i] = 0
		if w > 0 {
			ws.inTree[i] = 1
		}
	}
	fill := func(j int) {
		dst := ws.backing[j*rows : (j+1)*rows : (j+1)*rows]
		dstValues := ws.valuesBacking[j*rows : (j+1)*rows : (j+1)*rows]
		if rows == d.n {
			copy(dst, d.sorted[j])
			copy(dstValues, d.values[j])
		} else {
			// Branch-free filter: every row is written at the cursor,
			// which advances past the rows in the tree only (the bound
			// check fails only after the last of them).
			values := d.values[j]
			k := 0
			for a, r := range d.sorted[j] {
				if k < rows {
					dst[k], dstValues[k] = r, values[a]
				}
				k += int(ws.inTree[r])
			}
		}
		ws.order[j], ws.values[j] = dst, dstValues
	}
	if g.cfg.parallel && rows*d.p >= minParallelWork {
		parallelFor(d.p, fill)
	} else {
		for j := range d.p {
			fill(j)
		}
	}
	if len(ws.goesLeft) < d.n {
		ws.goesLeft = make([]uint8, d.n)
	}
	ws.features = slices.Grow(ws.features[:0], d.p)[:d.p]
	ws.constantFeatures = slices.Grow(ws.constantFeatures[:0], d.p)[:d.p]
	for j := range ws.features {
		ws.features[j], ws.constantFeatures[j] = j, j
	}
	if k := 2 * g.cfg.classes * d.p; len(ws.scratch) < k {
		ws.scratch = make([]float64, k)
	}
	return rows
}

// stats summarises the given rows. Impurities are computed by
// scikit-learn's formulas (gini 1 − Σ n_k²/W², entropy with log₂,
// variance Σwy²/W − (Σwy/W)²), so that the same nodes count as pure.
func (g *treeGrower) stats(rows []int32) nodeStats {
	s := nodeStats{rows: len(rows)}
	w := g.target.weight
	if k := g.cfg.classes; k > 0 {
		s.counts = make([]float64, k)
		for _, r := range rows {
			s.counts[g.target.labels[r]] += w[r]
		}
		for _, c := range s.counts {
			s.weight += c
		}
		s.impurity = classImpurity(s.counts, s.weight, g.cfg.criterion)
		return s
	}
	y := g.target.y
	for _, r := range rows {
		wy := w[r] * y[r]
		s.weight += w[r]
		s.sum += wy
		s.sumSquares += wy * y[r]
	}
	mean := s.sum / s.weight
	s.impurity = s.sumSquares/s.weight - mean*mean
	return s
}

// classImpurity is the gini or entropy (in bits) of weighted class counts.
func classImpurity(counts []float64, total float64, c criterion) float64 {
	if c == criterionEntropy {
		imp := 0.0
		for _, n := range counts {
			if n > 0 {
				p := n / total
				imp -= p * (math.Log(p) / math.Ln2)
			}
		}
		return imp
	}
	sq := 0.0
	for _, n := range counts {
		sq += n * n
	}
	return 1 - sq/(total*total)
}

// addLeaf appends a leaf predicting the node's class fractions or mean.
func (g *treeGrower) addLeaf(s *nodeStats) {
	t := &g.tree
	t.Feature = append(t.Feature, -1)
	t.Threshold = append(t.Threshold, 0)
	t.Next = append(t.Next, int32(len(t.Value)))
	if s.counts != nil {
		for _, c := range s.counts {
			t.Value = append(t.Value, c/s.weight)
		}
		return
	}
	t.Value = append(t.Value, s.sum/s.weight)
}

// isLeaf reports whether a node is a leaf by the stopping rules.
func (g *treeGrower) isLeaf(depth int, s *nodeStats) bool {
	return (g.cfg.maxDepth > 0 && depth >= g.cfg.maxDepth) ||
		s.rows < g.cfg.minSamplesSplit || s.rows < 2*g.cfg.minSamplesLeaf ||
		s.impurity <= impurityEpsilon
}

// featureThreshold is the gap below which sorted feature values count as
// equal (scikit-learn's FEATURE_THRESHOLD).
const featureThreshold = 1e-7

// isConstant reports whether feature f has one value over the node
// [start, end), whose rows are sorted by f.
func (g *treeGrower) isConstant(f, start, end int) bool {
	values := g.ws.values[f]
	return values[end-1] <= values[start]+featureThreshold
}

// split finds the best split of node e and, if there is one, appends the
// internal node, partitions the rows and returns the children.
func (g *treeGrower) split(e *growEntry) (left, right growEntry, ok bool) {
	if g.isLeaf(e.depth, &e.stats) {
		return left, right, false
	}
	ws := g.ws
	constants := g.drawFeatures(e)
	bestFeature, best := -1, splitCandidate{proxy: math.Inf(-1)}
	if len(ws.eval) > 0 {
		ws.cands = slices.Grow(ws.cands[:0], len(ws.eval))[:len(ws.eval)]
		if g.cfg.parallel && (e.end-e.start)*len(ws.eval) >= minParallelWork {
			node := *e // the closure gets its own copy: e stays on the stack
			parallelFor(len(ws.eval), func(a int) { ws.cands[a] = g.bestSplitOn(ws.eval[a], a, &node) })
		} else {
			for a, f := range ws.eval {
				ws.cands[a] = g.bestSplitOn(f, a, e)
			}
		}
		// Reduce in the order drawn: the first of equal splits wins.
		for a, c := range ws.cands {
			if c.left > 0 && c.proxy > best.proxy {
				bestFeature, best = ws.eval[a], c
			}
		}
	}
	if bestFeature < 0 {
		return left, right, false
	}

	ord := ws.order[bestFeature][e.start:e.end]
	ls, rs := g.stats(ord[:best.left]), g.stats(ord[best.left:])
	wn := e.stats.weight
	if g.cfg.criterion != criterionFriedmanMSE {
		// scikit-learn's weighted impurity decrease; rounding can make it
		// slightly negative for a split that gains nothing, and then the
		// node is a leaf.
		improvement := wn / g.rootWeight * (e.stats.impurity - rs.weight/wn*rs.impurity - ls.weight/wn*ls.impurity)
		if improvement+impurityEpsilon < 0 {
			return left, right, false
		}
	}
	values := ws.values[bestFeature][e.start:e.end]
	threshold := splitThreshold(values[best.left-1], values[best.left])

	node := len(g.tree.Feature)
	g.tree.Feature = append(g.tree.Feature, int32(bestFeature))
	g.tree.Threshold = append(g.tree.Threshold, threshold)
	g.tree.Next = append(g.tree.Next, 0) // set when the right child is grown
	g.importance[bestFeature] += wn*e.stats.impurity - ls.weight*ls.impurity - rs.weight*rs.impurity

	mid := e.start + best.left
	left = growEntry{start: e.start, end: mid, depth: e.depth + 1, constants: constants, parent: -1, stats: ls}
	right = growEntry{start: mid, end: e.end, depth: e.depth + 1, constants: constants, parent: node, stats: rs}
	// Children that are leaves anyway need no sorted rows.
	if !g.isLeaf(left.depth, &ls) || !g.isLeaf(right.depth, &rs) {
		g.partition(e, bestFeature, best.left, constants)
	}
	return left, right, true
}

// splitThreshold returns the threshold between consecutive distinct
// values lo < hi of a feature. scikit-learn compares features in float32:
// its threshold is the midpoint of lo and hi rounded to float32, and rows
// go left if their value rounded to float32 is at most that. Rounding is
// monotonic, so that rule is x ≤ b for one float64 boundary b
// (float32Boundary), which is returned, so that values are compared in
// float64 and yet fall on the side they fall on in scikit-learn. This
// matters when a midpoint is itself a data value, as with features that
// are affine maps of integers: rounding then decides the side. Where
// float32 is too coarse for the gap (b more than a thousandth of the gap
// from the exact midpoint, at large magnitudes) the float64 midpoint is
// returned instead, so that no precision is lost.
func splitThreshold(lo, hi float64) float64 {
	midpoint := func(lo, hi float64) float64 {
		t := lo/2 + hi/2 // sum of halves: no overflow
		if t >= hi || math.IsInf(t, 0) {
			t = lo
		}
		return t
	}
	exact := midpoint(lo, hi)
	lo32, hi32 := float32(lo), float32(hi)
	if lo32 < hi32 && !math.IsInf(float64(lo32), 0) && !math.IsInf(float64(hi32), 0) {
		b := float32Boundary(midpoint(float64(lo32), float64(hi32)))
		if lo <= b && b < hi && math.Abs(b-exact) <= (hi-lo)/1000 {
			return b
		}
	}
	return exact
}

// float32Boundary returns the float64 b such that float64(float32(x)) ≤ t
// exactly when x ≤ b, for t within the float32 range: the midpoint between
// the largest float32 f ≤ t and the next float32, which rounds (half to
// even) to f if f is even, and otherwise the float64 just below it.
func float32Boundary(t float64) float64 {
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	m := float64(f)/2 + float64(math.Nextafter32(f, float32(math.Inf(1))))/2 // exact: 25 bits
	if math.Float32bits(f)&1 == 0 {
		return m
	}
	return math.Nextafter(m, math.Inf(-1))
}

// drawFeatures chooses the features to evaluate at node e, into ws.eval
// in the order drawn, exactly as scikit-learn's BestSplitter: features
// are drawn at random without replacement until maxFeatures have been
// drawn and at least one of them is not constant in the node (constant
// ones count as drawn but do not end the search on their own), or no
// unknown feature is left. features[:e.constants] are the features known
// to be constant (found so at an ancestor); those found constant here are
// appended to that prefix, whose new length is returned for the children.
// The identities drawn depend on the permutation ws.features as left by
// the previous node, which is why its bookkeeping follows scikit-learn's
// step by step.
func (g *treeGrower) drawFeatures(e *growEntry) (constants int) {
	ws := g.ws
	features := ws.features
	ws.eval = ws.eval[:0]
	known := e.constants
	total := known // known + found constants
	found, drawnConstants, visited := 0, 0, 0
	undrawnEnd := len(features) // features[undrawnEnd:] are drawn and not constant
	for undrawnEnd > total && (visited < g.cfg.maxFeatures || visited <= found+drawnConstants) {
		visited++
		j := drawnConstants + g.rand.intn(undrawnEnd-found-drawnConstants)
		if j < known {
			// A known constant: set aside without looking at the data.
			features[drawnConstants], features[j] = features[j], features[drawnConstants]
			drawnConstants++
			continue
		}
		j += found
		f := features[j]
		if g.isConstant(f, e.start, e.end) {
			features[j], features[total] = features[total], f
			found++
			total++
			continue
		}
		undrawnEnd--
		features[undrawnEnd], features[j] = f, features[undrawnEnd]
		ws.eval = append(ws.eval, f)
	}
	// Restore the known constants' order for the siblings and record the
	// new ones, as scikit-learn does.
	copy(features[:known], ws.constantFeatures[:known])
	copy(ws.constantFeatures[known:total], features[known:total])
	return total
}

// bestSplitOn returns the best split of node e on feature f; slot indexes
// the scratch space of this evaluation.
func (g *treeGrower) bestSplitOn(f, slot int, e *growEntry) splitCandidate {
	ord := g.ws.order[f][e.start:e.end]
	values := g.ws.values[f][e.start:e.end]
	w := g.target.weight
	minLeaf := g.cfg.minSamplesLeaf
	last := len(ord) - minLeaf // the last candidate sends last rows left
	best := splitCandidate{proxy: math.Inf(-1)}
	wl, wr := 0.0, e.stats.weight
	// value is x_f of row i, carried on from the previous step; a
	// candidate split lies between distinct consecutive values.
	value := values[0]

	switch g.cfg.criterion {
	case criterionSquaredError, criterionFriedmanMSE:
		// Squared error: maximise S_L²/W_L + S_R²/W_R, which differs from
		// Δ by a constant of the node. Friedman's improvement,
		// (W_R·S_L − W_L·S_R)²/(W_L·W_R), is that times W: the same
		// split, evaluated as scikit-learn does for each criterion.
		y := g.target.y
		sl, total := 0.0, e.stats.sum
		friedman := g.cfg.criterion == criterionFriedmanMSE
		unit := g.target.unitWeights
		for i := 0; i < last; i++ {
			r := ord[i]
			if unit {
				// Weights 1: W_L counts the rows (exactly, as the sum).
				wl = float64(i + 1)
				wr = e.stats.weight - wl
				sl += y[r]
			} else {
				wl += w[r]
				wr -= w[r]
				sl += w[r] * y[r]
			}
			next := values[i+1]
			tied := next <= value+featureThreshold
			value = next
			if i+1 < minLeaf || tied {
				continue
			}
			sr := total - sl
			var proxy float64
			if friedman {
				diff := wr*sl - wl*sr
				proxy = diff * diff / (wl * wr)
			} else {
				proxy = sl*sl/wl + sr*sr/wr
			}
			if proxy > best.proxy {
				best = splitCandidate{proxy: proxy, left: i + 1}
			}
		}
	case criterionGini:
		// Maximise −W_L·gini_L − W_R·gini_R with gini = 1 − Σₖ n_k²/W²,
		// updating the sums of squares in O(1) per row.
		k := g.cfg.classes
		leftCounts := g.ws.scratch[2*k*slot : 2*k*slot+k]
		rightCounts := g.ws.scratch[2*k*slot+k : 2*k*(slot+1)]
		clear(leftCounts)
		copy(rightCounts, e.stats.counts)
		sqL, sqR := 0.0, 0.0
		for _, c := range rightCounts {
			sqR += c * c
		}
		labels := g.target.labels
		for i := 0; i < last; i++ {
			r := ord[i]
			wi, c := w[r], labels[r]
			cl, cr := leftCounts[c], rightCounts[c]
			sqL += wi * (2*cl + wi)
			sqR += wi * (wi - 2*cr)
			leftCounts[c], rightCounts[c] = cl+wi, cr-wi
			wl += wi
			wr -= wi
			next := values[i+1]
			tied := next <= value+featureThreshold
			value = next
			if i+1 < minLeaf || tied {
				continue
			}
			if proxy := -wr*(1-sqR/(wr*wr)) - wl*(1-sqL/(wl*wl)); proxy > best.proxy {
				best = splitCandidate{proxy: proxy, left: i + 1}
			}
		}
	case criterionEntropy:
		// Maximise −(W_L·H_L + W_R·H_R) in nats, where
		// W·H = W·ln W − Σₖ n_k·ln n_k, keeping Σₖ n_k·ln n_k per side.
		k := g.cfg.classes
		leftCounts := g.ws.scratch[2*k*slot : 2*k*slot+k]
		rightCounts := g.ws.scratch[2*k*slot+k : 2*k*(slot+1)]
		clear(leftCounts)
		copy(rightCounts, e.stats.counts)
		entL, entR := 0.0, 0.0
		for _, c := range rightCounts {
			entR += xlogx(c)
		}
		labels := g.target.labels
		for i := 0; i < last; i++ {
			r := ord[i]
			wi, c := w[r], labels[r]
			cl, cr := leftCounts[c], rightCounts[c]
			entL += xlogx(cl+wi) - xlogx(cl)
			entR += xlogx(cr-wi) - xlogx(cr)
			leftCounts[c], rightCounts[c] = cl+wi, cr-wi
			wl += wi
			wr -= wi
			next := values[i+1]
			tied := next <= value+featureThreshold
			value = next
			if i+1 < minLeaf || tied {
				continue
			}
			if proxy := entL - xlogx(wl) + entR - xlogx(wr); proxy > best.proxy {
				best = splitCandidate{proxy: proxy, left: i + 1}
			}
		}
	}
	return best
}

func xlogx(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return x * math.Log(x)
}

// partition reorders every feature's rows of node e so that the first
// nLeft rows of feature split (the left child) come first, keeping each
// side sorted. Features known to be constant (features[:constants]) are
// skipped: their rows are never looked at again below this node.
func (g *treeGrower) partition(e *growEntry, split, nLeft, constants int) {
	ws := g.ws
	for i, r := range ws.order[split][e.start:e.end] {
		ws.goesLeft[r] = 0
		if i < nLeft {
			ws.goesLeft[r] = 1
		}
	}
	todo := ws.features[constants:]
	groups := 1
	if g.cfg.parallel && (e.end-e.start)*len(todo) >= minParallelWork {
		groups = min(runtime.GOMAXPROCS(0), len(todo))
	}
	for len(ws.bufs) < groups {
		ws.bufs = append(ws.bufs, partitionBuffer{})
	}
	if groups == 1 {
		g.partitionFeatures(todo, 0, e.start, e.end, split)
		return
	}
	// Each group partitions a fixed slice of the features with its own
	// buffer; the result does not depend on the grouping.
	start, end := e.start, e.end
	parallelFor(groups, func(gi int) {
		g.partitionFeatures(todo[gi*len(todo)/groups:(gi+1)*len(todo)/groups], gi, start, end, split)
	})
}

// partitionFeatures stably partitions the rows [start, end) of the given
// features by ws.goesLeft, with partition buffer number buf; split's rows
// are already in order.
func (g *treeGrower) partitionFeatures(features []int, buf, start, end, split int) {
	ws := g.ws
	size := end - start
	b := &ws.bufs[buf]
	if cap(b.rows) < size {
		b.rows, b.values = make([]int32, size), make([]float64, size)
	}
	right, rightValues := b.rows[:size], b.values[:size]
	for _, f := range features {
		if f == split {
			continue
		}
		// Branch-free stable partition: each row is written to both
		// sides and only the cursor of its side advances (the left
		// cursor never passes the row being read).
		rows, values := ws.order[f][start:end], ws.values[f][start:end]
		l, r := 0, 0
		for a, row := range rows {
			left := int(ws.goesLeft[row])
			v := values[a]
			rows[l], values[l] = row, v
			right[r], rightValues[r] = row, v
			l += left
			r += 1 - left
		}
		copy(rows[l:], right[:r])
		copy(values[l:], rightValues[:r])
	}
}

// ---- scikit-learn's random number generators ----

// randRMax is scikit-learn's RAND_R_MAX, also the bound of the seeds it
// draws for trees (np.iinfo(np.int32).max).
const randRMax = 0x7fffffff

// randR is scikit-learn's rand_r: a 32-bit xorshift generator whose state
// is the value.
type randR uint32

// intn returns a integer in [0, n) as scikit-learn's rand_int.
func (r *randR) intn(n int) int {
	if *r == 0 {
		*r = 1 // DEFAULT_SEED: the state must not be 0
	}
	s := uint32(*r)
	s ^= s << 13
	s ^= s >> 17
	s ^= s << 5
	*r = randR(s)
	return int(s%(randRMax+1)) % n
}

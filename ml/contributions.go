package ml

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Explanation methods (Explanation.Method).
const (
	// ExplainExactLinear: a linear regression model's contributions
	// w·(x − mean background x), exact.
	ExplainExactLinear = "EXACT_LINEAR"
	// ExplainTreeSHAP: interventional TreeSHAP over the trees of a
	// decision tree, random forest or gradient-boosting regressor, exact.
	ExplainTreeSHAP = "TREE_SHAP"
	// ExplainSamplingSHAP: Shapley values estimated from sampled feature
	// permutations, then adjusted so that they add up exactly.
	ExplainSamplingSHAP = "SAMPLING_SHAP"
	// ExplainLinearScore: a model with text features whose class scores
	// are linear in the design row (linear and logistic regression, linear
	// SVM, multinomial naive Bayes): the score split exactly into one
	// contribution per term present in each text and one per other
	// feature. See Explain.
	ExplainLinearScore = "LINEAR_SCORE"
)

// Contribution is how much one input feature (or one term of a text
// feature) moved one prediction away from the baseline.
type Contribution struct {
	Feature string
	// Term is, for an ExplainLinearScore explanation, the word or n-gram
	// of the text feature this entry is about; "" for other features and
	// methods (where a text feature is one entry).
	Term string
	// Value is the row's numeric value of the feature, or the term's
	// TF-IDF weight in the row; NaN when it is missing (the model used the
	// training median) and for categorical and whole-text entries.
	Value float64
	// Text is the row's value as text: the level of a categorical feature,
	// the document of a text feature, the shortest exact decimal form of a
	// numeric one, "" when missing and for term entries (Term names them).
	Text         string
	Contribution float64
}

// Explanation splits one prediction into per-feature contributions:
// Baseline + Σ Contributions[j].Contribution = Prediction.
type Explanation struct {
	// Baseline is the model's mean prediction (of the explained quantity)
	// over the background rows; for ExplainLinearScore, the explained
	// score of a row with empty texts and the background means of the
	// other design columns.
	Baseline float64
	// Prediction is the explained quantity for the row: the predicted value
	// for regression, the predicted probability of Class for
	// classification; for ExplainLinearScore, Class's score minus the mean
	// score of all classes (see Explain).
	Prediction float64
	// Class is, for classification, the explained class: the predicted
	// one (m.Classes[k] for the most probable k). It is "" for regression.
	Class string
	// Method is ExplainExactLinear, ExplainTreeSHAP, ExplainSamplingSHAP
	// or ExplainLinearScore.
	Method string
	// Contributions has one entry per input feature, in m.Features order,
	// except that with ExplainLinearScore a text feature has one entry per
	// vocabulary term present in the row's text (in vocabulary order;
	// none for an empty text).
	Contributions []Contribution
}

// The cost of SAMPLING_SHAP. Permutations come in antithetic pairs (a
// permutation and its reverse, both starting from the same background
// row). About shapleyPairsPerFeature·p pairs (2·p·k permutations for p
// features) are drawn per explained row, but at least shapleyMinPairs
// (cheap: few features cost few predictions) and at most shapleyMaxPairs;
// each permutation costs p − 1 predictions. Up to shapleyBatchRows hybrid
// rows (and shapleyBatchCells design cells) are predicted in one call.
const (
	shapleyPairsPerFeature = 8
	shapleyMinPairs        = 128
	shapleyMaxPairs        = 1024
	shapleyBatchRows       = 4096
	shapleyBatchCells      = 1 << 20
)

// maxSampledFeatures is the most features SAMPLING_SHAP explains: past it
// (an image's pixels) a row costs millions of predictions. Such models are
// explained when their scores are linear (ExplainLinearScore) or by
// TreeSHAP, else not at all.
const maxSampledFeatures = 256

// exactTolerance bounds the relative rounding by which an exact method's
// contributions may miss local accuracy; beyond it the exact method is
// deemed not to apply to the estimator and sampling is used instead.
const exactTolerance = 1e-9

// Explain explains each row of features (columns in m.Features order, as
// for Predict) against a background sample: training-like rows (e.g. up
// to 100 rows of the training data) given as columns in m.Features order.
//
// What is explained is the model's output on one scale for all
// algorithms: the predicted value for regression, and for classification
// the predicted probability of the row's predicted class (not a logit, so
// that contributions of linear and non-linear classifiers are comparable
// and read as "percentage points of probability").
//
// The contributions are the interventional Shapley values of the input
// features (a categorical feature, with all its one-hot columns, is one
// player) in the game
//
//	v(S) = mean over background rows z of f(x_S, z_S̄),
//
// f evaluated on the row x with the features outside S taken from z.
// v(∅) is the Baseline (the mean prediction over the background) and v(all)
// the Prediction, and Shapley values satisfy local accuracy:
//
//	Baseline + Σⱼ φⱼ = Prediction.
//
// The method depends on the estimator:
//
//   - EXACT_LINEAR, linear regression models (f = w·x + b on the design
//     matrix): φⱼ = Σ_c w_c·(x_c − mean_z z_c) over feature j's design
//     columns (its one-hot columns together), which is the Shapley value
//     above in closed form. Linear classifiers are explained on the
//     probability scale, which is not linear, so they use sampling.
//   - TREE_SHAP, decision trees, random forests (regression and
//     classification) and gradient-boosting regressors, whose output is an
//     average or sum of tree leaf values: exact interventional TreeSHAP.
//     For each background row z and tree, the paths that a hybrid of x and
//     z can take are walked once; a leaf reached when the features in A
//     follow x and those in B follow z (A, B disjoint, the others agreeing)
//     adds value·(|A|−1)!·|B|!/(|A|+|B|)! to each feature of A and
//     subtracts value·|A|!·(|B|−1)!/(|A|+|B|)! from each feature of B
//     (Laberge & Pequignot 2022). The cost is linear in the background
//     size and the number of trees. Gradient-boosting classifiers pass
//     their summed trees through a sigmoid or softmax, so they use
//     sampling.
//   - SAMPLING_SHAP, every other estimator: Monte Carlo Shapley values by
//     permutation sampling (Štrumbelj & Kononenko 2014). A permutation π
//     and a background row z define a walk from z to x that switches the
//     features to x's values one at a time in π's order; the change in
//     f at each step is the marginal contribution of the feature switched.
//     Permutations are drawn in antithetic pairs (π and its reverse from
//     the same z), which cancels much of the variance; the background rows
//     are used in turn, each the same number of times, so that the
//     contributions of every walk add up to f(x) − f(z) and their mean to
//     Prediction − Baseline. About max(8·p, 128) pairs are drawn (at least
//     one per background row, at most 1024), each costing 2·(p − 1)
//     predictions.
//     When there are more than 1024 background rows, a seeded subsample
//     of 1024 is walked from (one pair each) and the
//     remaining gap is shared out in proportion to each feature's
//     estimated variance (the least-squares adjustment onto the efficiency
//     constraint), so local accuracy holds in every case. An additive
//     model's contributions come out exactly; interactions make them
//     estimates, reproducible for a seed.
//
// "Exact" means up to floating-point rounding; an exact method is checked
// against local accuracy and falls back to sampling if it does not hold
// (an estimator that is not what its type promises). Sampling works on the
// design matrix directly (each feature's design columns depend on that
// feature alone, so hybrid rows of design columns are exactly the encoded
// hybrid rows) and predicts each batch of hybrid rows with one call.
// Row i's explanation uses its own generator derived from seed and i, so
// it does not depend on the other rows explained with it.
//
// Models with text features, or more than maxSampledFeatures features,
// whose scores are linear in the design row x use ExplainLinearScore
// instead, so that contributions name the words
// that pushed the decision: with class scores s_c = w_c·x + b_c (linear
// and logistic regression, linear SVM: the decision function, a binary
// model's single row w being the score of class 1 against 0 for class 0;
// multinomial naive Bayes: the joint log-likelihood, w_cj = log θ_cj and
// b_c = log prior), the explained quantity for the predicted class k is
//
//	S(x) = s_k(x) − mean_c s_c(x) = Σ_j (w_kj − w̄_j)·x_j + (b_k − b̄),
//
// which ranks the classes as the probabilities do (for regression, the
// prediction w·x + b itself). It splits exactly: each term present in a
// text contributes (w_kj − w̄_j)·x_j, x_j its TF-IDF weight; every other
// feature Σ (w_kj − w̄_j)·(x_j − z̄_j) over its design columns, z̄ the
// background mean; and the Baseline is S at empty texts and z̄ elsewhere.
// Baseline + Σ = Prediction then holds up to rounding.
//
// A missing numeric value is explained as the training median the model
// used for it. Clustering models cannot be explained: there is no
// quantity that contributions could add up to. Schema mismatches, an
// empty background and non-finite values are *InputErrors. Explain checks
// ctx between batches and returns ctx.Err() when it is done.
func (m *Model) Explain(ctx context.Context, features []*Column, background []*Column, seed uint64) ([]Explanation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.Task == Clustering {
		return nil, inputErrorf("a %s clustering model assigns clusters; only regression and classification predictions can be explained", m.Algorithm)
	}
	if err := m.prep.CheckColumns(features); err != nil {
		return nil, err
	}
	if err := m.prep.CheckColumns(background); err != nil {
		return nil, backgroundError(err)
	}
	if background[0].Len() == 0 {
		return nil, inputErrorf("the background sample has no rows; pass training-like rows, e.g. up to 100 rows of the training data")
	}
	n := features[0].Len()
	if n == 0 {
		return []Explanation{}, nil
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		return nil, err
	}
	z, err := m.prep.Transform(background)
	if err != nil {
		return nil, backgroundError(err)
	}
	if w, b, ok := m.linearScores(); ok && (m.prep.HasText() || len(m.Features) > maxSampledFeatures) {
		return m.explainLinearScore(ctx, features, x, z, w, b)
	}
	e := m.newExplainer(z)
	if len(m.Features) > maxSampledFeatures && e.linear == nil && e.trees == nil {
		return nil, inputErrorf("a %s model of %d features cannot be explained: sampling Shapley values over more than %d features "+
			"would take millions of predictions a row (linear models and tree regressors are explained exactly)", m.Algorithm, len(m.Features), maxSampledFeatures)
	}
	fx := mat.NewDense(n, e.width, nil)
	m.est.Predict(x, fx)

	out := make([]Explanation, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := 0
		if m.Task == Classification {
			k = mostProbable(fx.RawRowView(i))
			out[i].Class = m.Classes[k]
		}
		rng := rand.New(rand.NewPCG(seed, explainStream^uint64(i)))
		phi, method, err := e.explain(ctx, x.RawRowView(i), fx.At(i, k), k, rng)
		if err != nil {
			return nil, err
		}
		out[i].Baseline = e.baseline(k)
		out[i].Prediction = fx.At(i, k)
		out[i].Method = method
		out[i].Contributions = m.labelContributions(features, i, phi)
	}
	return out, nil
}

// linearScores returns the class scores s = W·x + b of the estimator, in
// design space, one row per class (one row for regression; a binary
// Linear model's single row becomes (0, w) and (0, b)), if they are
// linear and finite; ok is false otherwise.
func (m *Model) linearScores() (w *mat.Dense, b []float64, ok bool) {
	switch est := m.est.(type) {
	case Linear:
		w, b = est.Weights()
	case *NaiveBayes:
		w, b, ok = est.linearScores()
		if !ok {
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	if w == nil || len(b) == 0 {
		return nil, nil, false
	}
	rows, cols := w.Dims()
	if cols != m.prep.Width() || rows != len(b) {
		return nil, nil, false
	}
	if m.Task == Classification && rows != len(m.Classes) {
		if rows != 1 || len(m.Classes) != 2 {
			return nil, nil, false
		}
		two := mat.NewDense(2, cols, nil)
		two.SetRow(1, w.RawRowView(0))
		w, b = two, []float64{0, b[0]}
	}
	if m.Task == Regression && rows != 1 {
		return nil, nil, false
	}
	for k := range b {
		if checkFinite("weights", w.RawRowView(k)) != nil || checkFinite("intercepts", b) != nil {
			return nil, nil, false
		}
	}
	return w, b, true
}

// explainLinearScore explains the rows x (design rows of features) by
// ExplainLinearScore against the background design rows z.
func (m *Model) explainLinearScore(ctx context.Context, features []*Column, x, z *mat.Dense, w *mat.Dense, b []float64) ([]Explanation, error) {
	n, d := x.Dims()
	classes, _ := w.Dims()
	zMean := make([]float64, d)
	nz, _ := z.Dims()
	for i := range nz {
		floats.Add(zMean, z.RawRowView(i))
	}
	floats.Scale(1/float64(nz), zMean)
	var proba *mat.Dense
	if m.Task == Classification {
		proba = mat.NewDense(n, len(m.Classes), nil)
		m.est.Predict(x, proba)
	}
	// Weights and intercept of the explained score of each class: w_k − w̄.
	wMean := make([]float64, d)
	bMean := 0.0
	if m.Task == Classification {
		for k := range classes {
			floats.Add(wMean, w.RawRowView(k))
			bMean += b[k]
		}
		floats.Scale(1/float64(classes), wMean)
		bMean /= float64(classes)
	}
	isText := make([]bool, d)
	at := 0
	for j := range m.prep.Features {
		f := &m.prep.Features[j]
		if f.Type == Text {
			for c := at; c < at+f.Width(); c++ {
				isText[c] = true
			}
		}
		at += f.Width()
	}
	out := make([]Explanation, n)
	wk := make([]float64, d)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := 0
		if m.Task == Classification {
			k = mostProbable(proba.RawRowView(i))
			out[i].Class = m.Classes[k]
		}
		floats.SubTo(wk, w.RawRowView(k), wMean)
		xi := x.RawRowView(i)
		base, pred := b[k]-bMean, b[k]-bMean
		for c, v := range wk {
			pred += v * xi[c]
			if !isText[c] {
				base += v * zMean[c]
			}
		}
		out[i].Baseline, out[i].Prediction, out[i].Method = base, pred, ExplainLinearScore
		at := 0
		for j := range m.prep.Features {
			f := &m.prep.Features[j]
			col := features[j]
			width := f.Width()
			if f.Type != Text {
				phi := 0.0
				for c := at; c < at+width; c++ {
					phi += wk[c] * (xi[c] - zMean[c])
				}
				contrib := Contribution{Feature: f.Name, Value: math.NaN(), Text: col.Text(i), Contribution: phi}
				if col.Type == Numeric {
					contrib.Value = col.Num[i]
				}
				out[i].Contributions = append(out[i].Contributions, contrib)
			} else {
				for t, v := range xi[at : at+width] {
					if v != 0 {
						out[i].Contributions = append(out[i].Contributions, Contribution{
							Feature: f.Name, Term: f.Text.Vocabulary[t], Value: v, Contribution: wk[at+t] * v})
					}
				}
			}
			at += width
		}
	}
	return out, nil
}

// explainStream separates the generators of Explain from those of other
// users of the same seed.
const explainStream = 0x6578706c61696e

// backgroundError prefixes the message of an *InputError about the
// background columns, so that it is not mistaken for one about the rows
// explained.
func backgroundError(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return inputErrorf("background sample: %s", ie.Msg)
	}
	return err
}

// mostProbable returns the index of the largest value (the first on ties).
func mostProbable(v []float64) int {
	best := 0
	for k := range v {
		if v[k] > v[best] {
			best = k
		}
	}
	return best
}

// labelContributions pairs row i's contributions with its feature values.
func (m *Model) labelContributions(features []*Column, i int, phi []float64) []Contribution {
	out := make([]Contribution, len(m.Features))
	for j, f := range m.Features {
		col := features[j]
		out[j] = Contribution{Feature: f.Name, Value: math.NaN(), Text: col.Text(i), Contribution: phi[j]}
		if col.Type == Numeric {
			out[j].Value = col.Num[i]
		}
	}
	return out
}

// explainer holds what explaining rows against one background needs.
type explainer struct {
	est   Estimator
	width int // outputs per prediction: the classes, or 1
	// groups are the design columns of each input feature; owner is the
	// input feature of each design column.
	groups []segment
	owner  []int
	z      *mat.Dense // background design rows
	fz     *mat.Dense // their predictions
	zMean  []float64  // column means of z

	// linear is the weight row of a linear regression model, nil if the
	// model is not one.
	linear []float64
	// trees is set for models that TreeSHAP explains exactly, with the
	// Shapley weights their paths need (see shapleyWeights).
	trees       *treeEnsemble
	treeWeights [][]float64
}

func (m *Model) newExplainer(z *mat.Dense) *explainer {
	b, d := z.Dims()
	e := &explainer{est: m.est, width: 1, z: z, owner: make([]int, 0, d)}
	if m.Task == Classification {
		e.width = len(m.Classes)
	}
	at := 0
	for j := range m.prep.Features {
		w := m.prep.Features[j].Width()
		e.groups = append(e.groups, segment{lo: at, hi: at + w})
		for range w {
			e.owner = append(e.owner, j)
		}
		at += w
	}
	e.fz = mat.NewDense(b, e.width, nil)
	m.est.Predict(z, e.fz)
	e.zMean = make([]float64, d)
	for i := range b {
		for c, v := range z.RawRowView(i) {
			e.zMean[c] += v
		}
	}
	for c := range e.zMean {
		e.zMean[c] /= float64(b)
	}

	if lin, ok := m.est.(Linear); ok && m.Task == Regression {
		if w, _ := lin.Weights(); w != nil {
			if rows, cols := w.Dims(); rows == 1 && cols == d {
				e.linear = mat.Row(nil, 0, w)
			}
		}
	}
	if ens, ok := treeEnsembleOf(m.est); ok {
		e.trees = &ens
		// A path decides at most min(p, depth) features.
		maxDepth := 0
		var buf []int32
		for t := range ens.trees {
			var d int
			d, buf = treeDepth(&ens.trees[t], buf)
			maxDepth = max(maxDepth, d)
		}
		e.treeWeights = shapleyWeights(min(len(e.groups), maxDepth))
	}
	return e
}

// baseline returns the mean background prediction of output k.
func (e *explainer) baseline(k int) float64 {
	b, _ := e.fz.Dims()
	s := 0.0
	for i := range b {
		s += e.fz.At(i, k)
	}
	return s / float64(b)
}

// explain returns the contributions to output k of the design row x,
// whose prediction is fx, and the method used.
func (e *explainer) explain(ctx context.Context, x []float64, fx float64, k int, rng *rand.Rand) ([]float64, string, error) {
	target := fx - e.baseline(k)
	if e.linear != nil {
		if phi := e.exactLinear(x); locallyAccurate(phi, target, fx) {
			return phi, ExplainExactLinear, nil
		}
	}
	if e.trees != nil {
		phi, err := e.treeSHAP(ctx, x, k)
		if err != nil {
			return nil, "", err
		}
		if locallyAccurate(phi, target, fx) {
			return phi, ExplainTreeSHAP, nil
		}
	}
	phi, variance, err := e.sampling(ctx, x, fx, k, rng)
	if err != nil {
		return nil, "", err
	}
	shareGap(phi, variance, target-floats.Sum(phi))
	return phi, ExplainSamplingSHAP, nil
}

// locallyAccurate reports whether phi adds up to target up to rounding.
func locallyAccurate(phi []float64, target, fx float64) bool {
	scale := math.Abs(target) + math.Abs(fx)
	for _, v := range phi {
		scale += math.Abs(v)
	}
	return math.Abs(floats.Sum(phi)-target) <= exactTolerance*scale
}

// exactLinear returns φⱼ = Σ_c w_c·(x_c − mean z_c) over feature j's design
// columns.
func (e *explainer) exactLinear(x []float64) []float64 {
	phi := make([]float64, len(e.groups))
	for c, w := range e.linear {
		phi[e.owner[c]] += w * (x[c] - e.zMean[c])
	}
	return phi
}

// ---- SAMPLING_SHAP ----

// sampling estimates the Shapley values of output k at the design row x
// (prediction fx) by antithetic permutation sampling, and the variance of
// each estimate, up to a factor common to all (which shareGap's shares do
// not see): the squares are summed scaled (see squareSafeScale), lest
// predictions near ±MaxAbsValue overflow them. See Explain.
func (e *explainer) sampling(ctx context.Context, x []float64, fx float64, k int, rng *rand.Rand) (phi, variance []float64, err error) {
	p := len(e.groups)
	nz, d := e.z.Dims()
	big := math.Abs(fx)
	for b := range nz {
		big = max(big, math.Abs(e.fz.At(b, k)))
	}
	scale := squareSafeScale(big)
	refs := shapleyReferences(p, nz, rng)
	// A walk visits p+1 rows: z, p−1 hybrids and x; z's and x's
	// predictions are known.
	steps := p - 1
	pairsPerBatch := len(refs)
	if steps > 0 {
		pairsPerBatch = max(1, min(pairsPerBatch, shapleyBatchRows/(2*steps), shapleyBatchCells/(2*steps*d)))
	}
	rows := pairsPerBatch * 2 * steps
	design := make([]float64, rows*d)
	pred := make([]float64, rows*e.width)
	orders := make([]int, pairsPerBatch*p)
	total, totalSq := make([]float64, p), make([]float64, p)
	delta := make([]float64, p)

	// order returns the feature switched at step s of walk dir of a pair.
	order := func(perm []int, dir, s int) int {
		if dir == 1 {
			return perm[p-1-s]
		}
		return perm[s]
	}
	for lo := 0; lo < len(refs); lo += pairsPerBatch {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		hi := min(lo+pairsPerBatch, len(refs))
		n := (hi - lo) * 2 * steps
		for q := lo; q < hi; q++ {
			perm := orders[(q-lo)*p : (q-lo+1)*p]
			for f := range perm {
				perm[f] = f
			}
			rng.Shuffle(p, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			for dir := range 2 {
				row := ((q-lo)*2 + dir) * steps
				prev := e.z.RawRowView(refs[q])
				for s := range steps {
					cur := design[(row+s)*d : (row+s+1)*d]
					copy(cur, prev)
					g := e.groups[order(perm, dir, s)]
					copy(cur[g.lo:g.hi], x[g.lo:g.hi])
					prev = cur
				}
			}
		}
		if n > 0 {
			e.est.Predict(mat.NewDense(n, d, design[:n*d]), mat.NewDense(n, e.width, pred[:n*e.width]))
		}
		for q := lo; q < hi; q++ {
			perm := orders[(q-lo)*p : (q-lo+1)*p]
			clear(delta)
			for dir := range 2 {
				row := ((q-lo)*2 + dir) * steps
				prev := e.fz.At(refs[q], k)
				for s := range p {
					cur := fx
					if s < steps {
						cur = pred[(row+s)*e.width+k]
					}
					delta[order(perm, dir, s)] += cur - prev
					prev = cur
				}
			}
			for f, v := range delta {
				u := v / 2 // the pair's estimate
				total[f] += u
				u *= scale
				totalSq[f] += u * u
			}
		}
	}
	pairs := float64(len(refs))
	phi, variance = make([]float64, p), make([]float64, p)
	for f := range p {
		phi[f] = total[f] / pairs
		scaled := phi[f] * scale
		variance[f] = max(0, totalSq[f]/pairs-scaled*scaled) / pairs
	}
	return phi, variance, nil
}

// shapleyReferences returns the background row that each antithetic pair
// of walks starts from: every one of the nz rows equally often (so that
// the walks' mean start is the baseline exactly), about
// max(shapleyPairsPerFeature·p, shapleyMinPairs) pairs in all, or a
// seeded subsample of
// shapleyMaxPairs rows, once each, when there are more.
func shapleyReferences(p, nz int, rng *rand.Rand) []int {
	if nz > shapleyMaxPairs {
		return rng.Perm(nz)[:shapleyMaxPairs]
	}
	pairs := max(shapleyPairsPerFeature*p, shapleyMinPairs)
	repeats := (pairs + nz - 1) / nz
	repeats = max(1, min(repeats, shapleyMaxPairs/nz))
	refs := make([]int, 0, repeats*nz)
	for range repeats {
		for b := range nz {
			refs = append(refs, b)
		}
	}
	return refs
}

// shareGap adds gap to the estimates phi so that their sum changes by gap,
// sharing it in proportion to the estimates' variances: the change of
// least weighted squares (weights 1/variance) that meets the constraint.
// Estimates with no variance, which are exact, keep their value unless
// all have none, in which case gap is shared equally.
func shareGap(phi, variance []float64, gap float64) {
	if gap == 0 {
		return
	}
	total := floats.Sum(variance)
	for f := range phi {
		if total > 0 {
			phi[f] += gap * variance[f] / total
		} else {
			phi[f] += gap / float64(len(phi))
		}
	}
}

// ---- TREE_SHAP ----

// treeEnsemble is a model whose output k is scale · Σ_trees leaf value k
// plus a constant.
type treeEnsemble struct {
	trees []Tree
	width int // values per leaf
	scale float64
}

// treeEnsembleOf returns the trees of estimators whose explained output is
// linear in their trees' leaf values.
func treeEnsembleOf(est Estimator) (treeEnsemble, bool) {
	switch t := est.(type) {
	case *DecisionTree:
		return treeEnsemble{trees: []Tree{t.Tree}, width: max(t.Classes, 1), scale: 1}, true
	case *RandomForest:
		return treeEnsemble{trees: t.Trees, width: max(t.Classes, 1), scale: 1 / float64(len(t.Trees))}, true
	case *GradientBoosting:
		if t.Classes == 0 { // F₀ + Σ trees; classifiers apply a link
			return treeEnsemble{trees: t.Trees, width: 1, scale: 1}, true
		}
	}
	return treeEnsemble{}, false
}

// treeDepth returns the length of the longest path from the root to a
// leaf (0 for a single leaf), using buf as scratch; it returns buf for
// reuse. Children come after their parents in the arrays (Tree.check), so
// a node's depth is final when the loop reaches it, even in a corrupt tree
// whose nodes have several parents.
func treeDepth(t *Tree, buf []int32) (int, []int32) {
	n := t.nodeCount()
	if cap(buf) < n {
		buf = make([]int32, n)
	}
	depth := buf[:n]
	clear(depth)
	deepest := int32(0)
	for i, f := range t.Feature {
		if f < 0 {
			deepest = max(deepest, depth[i])
			continue
		}
		for _, c := range [2]int32{int32(i + 1), t.Next[i]} {
			depth[c] = max(depth[c], depth[i]+1)
		}
	}
	return int(deepest), buf
}

// treeSHAP returns the interventional Shapley values of output k at the
// design row x against the background rows (see Explain). Background rows
// are walked in parallel, in segments fixed by their number and summed in
// order, so the result does not depend on the number of cores.
func (e *explainer) treeSHAP(ctx context.Context, x []float64, k int) ([]float64, error) {
	ens := e.trees
	p := len(e.groups)
	nz, _ := e.z.Dims()
	segs := rowSegments(nz, 8, maxSegments)
	partial := make([][]float64, len(segs))
	errs := make([]error, len(segs))
	forEachSegment(segs, func(s int, seg segment) {
		w := &treeSHAPWalker{x: x, owner: e.owner, out: k, weight: e.treeWeights,
			side: make([]int8, p), phi: make([]float64, p)}
		for b := seg.lo; b < seg.hi; b++ {
			if err := ctx.Err(); err != nil {
				errs[s] = err
				return
			}
			w.z = e.z.RawRowView(b)
			for t := range ens.trees {
				w.tree = &ens.trees[t]
				w.walk(0)
			}
		}
		partial[s] = w.phi
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	phi := make([]float64, p)
	for _, part := range partial {
		for f, v := range part {
			phi[f] += v
		}
	}
	for f := range phi {
		phi[f] *= ens.scale / float64(nz)
	}
	return phi, nil
}

// shapleyWeights returns w[a][b] = (a−1)!·b!/(a+b)! for a ≥ 1 and a+b ≤ n:
// the Shapley weight of a leaf's value for a feature among the a that must
// follow x when b must follow the background row.
func shapleyWeights(n int) [][]float64 {
	w := make([][]float64, n+1)
	for a := 1; a <= n; a++ {
		w[a] = make([]float64, n+1-a)
		w[a][0] = 1 / float64(a)
		for b := 1; a+b <= n; b++ {
			w[a][b] = w[a][b-1] * float64(b) / float64(a+b)
		}
	}
	return w
}

// treeSHAPWalker walks the paths of one tree that hybrids of x and z can
// take, accumulating the leaves' Shapley contributions into phi.
type treeSHAPWalker struct {
	tree  *Tree
	x, z  []float64
	owner []int // input feature of each design column
	out   int   // the explained value of each leaf
	// side is, per input feature, +1 if the current path has it follow x,
	// −1 if it follows z, 0 if undecided; fromX and fromZ list them.
	side         []int8
	fromX, fromZ []int
	weight       [][]float64
	phi          []float64
}

func (w *treeSHAPWalker) walk(node int) {
	t := w.tree
	for t.Feature[node] >= 0 {
		c := t.Feature[node]
		byX, byZ := node+1, int(t.Next[node])
		if !(w.x[c] <= t.Threshold[node]) {
			byX = int(t.Next[node])
		}
		if w.z[c] <= t.Threshold[node] {
			byZ = node + 1
		}
		f := w.owner[c]
		switch {
		case byX == byZ || w.side[f] > 0:
			node = byX
			continue
		case w.side[f] < 0:
			node = byZ
			continue
		}
		// x and z part here and the feature is free: both ways.
		w.side[f] = 1
		w.fromX = append(w.fromX, f)
		w.walk(byX)
		w.fromX = w.fromX[:len(w.fromX)-1]
		w.side[f] = -1
		w.fromZ = append(w.fromZ, f)
		w.walk(byZ)
		w.fromZ = w.fromZ[:len(w.fromZ)-1]
		w.side[f] = 0
		return
	}
	// The leaf is reached by f(x_S, z_S̄) iff fromX ⊆ S and fromZ ∩ S = ∅:
	// the Shapley values of that game (value · indicator).
	v := t.Value[int(t.Next[node])+w.out]
	a, b := len(w.fromX), len(w.fromZ)
	if v == 0 || a+b == 0 {
		return
	}
	if a > 0 {
		share := v * w.weight[a][b]
		for _, f := range w.fromX {
			w.phi[f] += share
		}
	}
	if b > 0 {
		share := v * w.weight[b][a]
		for _, f := range w.fromZ {
			w.phi[f] -= share
		}
	}
}

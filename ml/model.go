package ml

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"
)

// TrainConfig selects what Train fits.
type TrainConfig struct {
	Algorithm string
	// Task may be empty, in which case it is inferred (see InferTask).
	Task Task
	// Params are raw parameter values, resolved by ResolveParams.
	Params map[string]any
	// Text configures how text features become design columns (nil: the
	// defaults; see TextOptions). It is validated whether or not there
	// are text features, and saved with the model if there are.
	Text *TextOptions
	// MaxDesignCells bounds the design matrix, rows × design columns
	// (0: DefaultMaxDesignCells), so that a request cannot make the
	// process allocate more than the machine has.
	MaxDesignCells int
}

// DefaultMaxDesignCells is 4 GiB of float64s: Fashion-MNIST's 60,000 ×
// 784 pixels take 1% of it, 100,000 texts of 5,000 terms 93%.
const DefaultMaxDesignCells = 1 << 29

// Model is a trained model: the Preprocessor that encodes feature columns,
// the fitted Estimator, and the target's classes (or the clusters).
type Model struct {
	Algorithm string
	Task      Task
	Params    map[string]any // resolved (see ResolveParams)
	Features  []FeatureInfo  // input schema, in feature order
	Target    string         // "" for clustering
	// Classes are the classification labels, sorted: as strings for a
	// categorical target, numerically for a numeric one (formatted with
	// strconv 'g', -1: "0", "1", "10"). Probability column k is Classes[k].
	// For clustering they name the clusters: "0", "1", ..., "k-1".
	Classes []string
	// Text is the resolved TextOptions the text features were vectorized
	// with; nil if the model has no text feature.
	Text *TextOptions

	prep *Preprocessor
	est  Estimator
}

// shapeChecker is implemented by estimators that can verify decoded state
// against the model around them, so a corrupt encoding fails at load
// rather than panicking at prediction.
type shapeChecker interface {
	checkShape(inputs int, task Task, nClasses int) error
}

// centerer is implemented by clustering estimators: their cluster centres
// (k×inputs, in the space of the design matrix), which also give the
// number of clusters k.
type centerer interface {
	ClusterCenters() *mat.Dense
}

// maxClasses bounds the number of classes, which guards against training a
// classifier on a continuous target by mistake.
const maxClasses = 1000

// Train fits a Preprocessor and the configured estimator on features and
// target. Rows whose target is missing are dropped. Clustering takes no
// target (target must be nil) and uses every row. It returns an
// *InputError for: an unknown algorithm or bad parameters, an algorithm that
// does not support the task, no features or no rows, columns of unequal
// length, regression on a categorical target, fewer than two classes, a
// target for clustering, non-finite values. If ctx is cancelled it returns
// ctx.Err().
func Train(ctx context.Context, cfg TrainConfig, features []*Column, target *Column) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	alg, err := findAlgorithm(cfg.Algorithm)
	if err != nil {
		return nil, err
	}
	task := cfg.Task
	if task == "" {
		if task, err = InferTask(cfg.Algorithm, target); err != nil {
			return nil, err
		}
	} else if err := CheckTask(cfg.Algorithm, task); err != nil {
		return nil, err
	}
	params, err := ResolveParams(cfg.Algorithm, cfg.Params)
	if err != nil {
		return nil, err
	}
	if _, err := ResolveTextOptions(cfg.Text); err != nil {
		return nil, err
	}
	if len(features) == 0 {
		return nil, inputErrorf("no feature columns to train on")
	}
	var (
		rows    []int
		y       []float64
		classes []string
	)
	if task == Clustering {
		if rows, err = clusteringRows(alg.Name, features, target); err != nil {
			return nil, err
		}
	} else {
		if rows, err = targetRows(features, target); err != nil {
			return nil, err
		}
		if y, classes, err = encodeTarget(target, rows, task); err != nil {
			return nil, err
		}
	}
	n := features[0].Len()
	if len(rows) < n {
		// Check features here, where row numbers still refer to the
		// caller's rows. With every row kept, the Preprocessor's own
		// check (fitNumeric) names the same rows, for no extra pass.
		if err := CheckUsable(features, rows); err != nil {
			return nil, err
		}
		taken := make([]*Column, len(features))
		for j, col := range features {
			taken[j] = col.Take(rows)
		}
		features = taken
	}

	prep, err := FitPreprocessorWithText(features, alg.NeedsScaling, cfg.Text)
	if err != nil {
		return nil, err
	}
	limit := cfg.MaxDesignCells
	if limit <= 0 {
		limit = DefaultMaxDesignCells
	}
	if rows, width := features[0].Len(), prep.Width(); rows > limit/width {
		return nil, inputErrorf("the design matrix would be %d rows × %d columns (%.1f GB), over the limit of %d cells (%.1f GB): "+
			"train on fewer rows or features, or fewer text terms (text maxFeatures) or categories", rows, width,
			float64(rows)*float64(width)*8/1e9, limit, float64(limit)*8/1e9)
	}
	x, err := prep.Transform(features)
	if err != nil {
		return nil, err
	}
	if alg.fitParams != nil {
		alg.fitParams(params, prep)
	}
	est := alg.newEstimator(params)
	if err := est.Fit(ctx, x, y, task, len(classes)); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("train %s: %w", alg.Name, err)
	}
	targetName := ""
	if task == Clustering {
		cl, ok := est.(centerer)
		if !ok {
			return nil, fmt.Errorf("train %s: clustering estimator has no cluster centres", alg.Name)
		}
		k, _ := cl.ClusterCenters().Dims()
		classes = clusterNames(k)
	} else {
		targetName = target.Name
	}
	return &Model{
		Algorithm: alg.Name,
		Task:      task,
		Params:    params,
		Features:  cloneFeatures(prep.Features),
		Target:    targetName,
		Classes:   classes,
		Text:      prep.textOptions(),
		prep:      prep,
		est:       est,
	}, nil
}

// targetRows checks the target against the features and returns the rows
// whose target is present.
func targetRows(features []*Column, target *Column) ([]int, error) {
	if target == nil {
		return nil, inputErrorf("no target column")
	}
	if err := target.validate(); err != nil {
		return nil, err
	}
	n := target.Len()
	for _, col := range features {
		if col.Len() != n {
			return nil, inputErrorf("feature column %q has %d rows; target %q has %d", col.Name, col.Len(), target.Name, n)
		}
		if col.Name == target.Name {
			return nil, inputErrorf("column %q is both a feature and the target", col.Name)
		}
	}
	rows := make([]int, 0, n)
	for i := range n {
		if !target.IsMissing(i) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		if n == 0 {
			return nil, inputErrorf("no rows to train on")
		}
		return nil, inputErrorf("no rows to train on: target %q is missing in all %d rows", target.Name, n)
	}
	return rows, nil
}

// clusteringRows checks that clustering got no target and features of
// equal length, and returns all rows.
func clusteringRows(algorithm string, features []*Column, target *Column) ([]int, error) {
	if target != nil {
		return nil, inputErrorf("%s clusters rows without a target: omit the target column %q", algorithm, target.Name)
	}
	n := features[0].Len()
	for _, col := range features[1:] {
		if col.Len() != n {
			return nil, inputErrorf("feature column %q has %d rows; %q has %d", col.Name, col.Len(), features[0].Name, n)
		}
	}
	if n == 0 {
		return nil, inputErrorf("no rows to train on")
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows, nil
}

// clusterNames returns the names of k clusters: "0", "1", ..., "k-1".
func clusterNames(k int) []string {
	names := make([]string, k)
	for c := range names {
		names[c] = strconv.Itoa(c)
	}
	return names
}

// encodeTarget returns the target values of rows as the estimator's y:
// the values for regression, class indices into the sorted classes for
// classification.
func encodeTarget(target *Column, rows []int, task Task) (y []float64, classes []string, err error) {
	y = make([]float64, len(rows))
	if task == Regression {
		if target.Type != Numeric {
			return nil, nil, inputErrorf("regression needs a numeric target; column %q is %s (train for CLASSIFICATION, or choose a numeric target)", target.Name, target.Type)
		}
		for a, i := range rows {
			v := target.Num[i]
			if !Usable(v) {
				return nil, nil, ValueError(RowName(i), target.Name, v)
			}
			y[a] = v
		}
		return y, nil, nil
	}

	// A text target is a set of labels like a categorical one.
	if target.Type.hasCodes() {
		used := make([]bool, len(target.Levels))
		for _, i := range rows {
			used[target.Codes[i]] = true
		}
		for code, u := range used {
			if u {
				classes = append(classes, target.Levels[code])
			}
		}
		slices.Sort(classes)
		if err := checkClassCount(target.Name, classes); err != nil {
			return nil, nil, err
		}
		index := make([]int, len(target.Levels))
		for code, level := range target.Levels {
			index[code], _ = slices.BinarySearch(classes, level)
		}
		for a, i := range rows {
			y[a] = float64(index[target.Codes[i]])
		}
		return y, classes, nil
	}

	if err := CheckClassLabels(target, rows); err != nil {
		return nil, nil, err
	}
	values := make([]float64, len(rows))
	for a, i := range rows {
		values[a] = target.Num[i] + 0 // +0 turns −0 into 0
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(values)))
	classes = make([]string, len(distinct))
	for k, v := range distinct {
		classes[k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if err := checkClassCount(target.Name, classes); err != nil {
		return nil, nil, err
	}
	for a, v := range values {
		k, _ := slices.BinarySearch(distinct, v)
		y[a] = float64(k)
	}
	return y, classes, nil
}

// CheckClassLabels returns an *InputError unless the numeric target's
// values in rows (0-based, ascending; nil for all), missing ones aside, can
// be class labels: usable integers, such as 0/1 or 1..10. A fractional
// value means a continuous target, which classification would turn into as
// many classes as values (scikit-learn refuses it too: "Unknown label
// type: continuous").
func CheckClassLabels(target *Column, rows []int) error {
	if rows == nil {
		rows = make([]int, target.Len())
		for i := range rows {
			rows[i] = i
		}
	}
	for _, i := range rows {
		v := target.Num[i]
		if math.IsNaN(v) {
			continue
		}
		if !Usable(v) {
			return ValueError(RowName(i), target.Name, v)
		}
		if v != math.Trunc(v) {
			return inputErrorf("classification needs class labels, but target column %q holds fractional numbers (%s is %v): "+
				"it is a continuous target, for task REGRESSION or a regression algorithm such as LINEAR_REGRESSION", target.Name, RowName(i), v)
		}
	}
	return nil
}

func checkClassCount(target string, classes []string) error {
	switch {
	case len(classes) < 2:
		return inputErrorf("classification needs at least two classes; target %q has only %q in the training rows", target, classes[0])
	case len(classes) > maxClasses:
		return inputErrorf("target %q has %d distinct values; classification supports at most %d classes (is it a continuous target? use REGRESSION)", target, len(classes), maxClasses)
	}
	return nil
}

// Output holds predictions.
type Output struct {
	Values []float64  // regression: one prediction per row
	Proba  *mat.Dense // classification: n×len(Classes) class probabilities (nil for no rows)
	// Labels is, for classification, the index into Classes of each row's
	// most probable class; for clustering, each row's cluster (also an
	// index into Classes).
	Labels []int
}

// Predict predicts from columns given in m.Features order (same names and
// types; categorical columns may use any dictionary). Missing numeric
// values are imputed and unseen categories encode as all-zero one-hot
// columns. Schema mismatches and infinite values are *InputErrors.
func (m *Model) Predict(features []*Column) (*Output, error) {
	if err := m.prep.CheckColumns(features); err != nil {
		return nil, err
	}
	if features[0].Len() == 0 {
		if m.Task == Classification || m.Task == Clustering {
			return &Output{Labels: []int{}}, nil
		}
		return &Output{Values: []float64{}}, nil
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	if m.Task == Clustering {
		return &Output{Labels: m.clusters(x)}, nil
	}
	if m.Task == Classification {
		proba := mat.NewDense(n, len(m.Classes), nil)
		m.est.Predict(x, proba)
		return &Output{Proba: proba, Labels: ArgmaxRows(proba)}, nil
	}
	values := make([]float64, n)
	m.est.Predict(x, mat.NewDense(n, 1, values))
	return &Output{Values: values}, nil
}

// clusters returns the cluster of each row of the design matrix x.
func (m *Model) clusters(x *mat.Dense) []int {
	n, _ := x.Dims()
	values := make([]float64, n)
	m.est.Predict(x, mat.NewDense(n, 1, values))
	labels := make([]int, n)
	for i, v := range values {
		labels[i] = int(v)
	}
	return labels
}

// Evaluate predicts from features and scores the predictions against
// target (see RegressionMetrics and ClassificationMetrics). Rows whose
// target is missing are dropped. Classification labels are matched to
// m.Classes by their text; a label the model never saw counts as a miss.
//
// A clustering model is evaluated without a target (target must be nil):
// the inertia and silhouette of its clusters of the given rows, measured
// in the model's design space (standardised features, see
// ClusteringMetrics).
func (m *Model) Evaluate(features []*Column, target *Column) (*Metrics, error) {
	return m.EvaluateOutput(features, target, nil)
}

// EvaluateOutput is Evaluate for predictions already made: out must be
// m.Predict(features) (nil: predict now). It saves predicting twice when
// the caller needs the predictions too.
func (m *Model) EvaluateOutput(features []*Column, target *Column, out *Output) (*Metrics, error) {
	if m.Task == Clustering {
		return m.evaluateClusters(features, target)
	}
	if target == nil {
		return nil, inputErrorf("no target column to evaluate against")
	}
	if err := m.prep.CheckColumns(features); err != nil {
		return nil, err
	}
	if err := target.validate(); err != nil {
		return nil, err
	}
	if features[0].Len() != target.Len() {
		return nil, inputErrorf("target column %q has %d rows; the feature columns have %d", target.Name, target.Len(), features[0].Len())
	}
	if m.Task == Regression && target.Type != Numeric {
		return nil, inputErrorf("regression model needs a numeric target; column %q is %s", target.Name, target.Type)
	}
	var rows []int
	for i := range target.Len() {
		if !target.IsMissing(i) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, inputErrorf("no rows to evaluate: target %q is missing in every row", target.Name)
	}
	// Predict every row so that errors name the caller's row numbers, then
	// keep the rows that have a target.
	if out == nil {
		var err error
		if out, err = m.Predict(features); err != nil {
			return nil, err
		}
	}
	if m.Task == Regression {
		yTrue, yPred := make([]float64, len(rows)), make([]float64, len(rows))
		for a, i := range rows {
			if v := target.Num[i]; !Usable(v) {
				return nil, ValueError(RowName(i), target.Name, v)
			}
			yTrue[a], yPred[a] = target.Num[i], out.Values[i]
		}
		return RegressionMetrics(yTrue, yPred), nil
	}
	index := make(map[string]int, len(m.Classes))
	for k, c := range m.Classes {
		index[c] = k
	}
	yTrue := make([]int, len(rows))
	proba := mat.NewDense(len(rows), len(m.Classes), nil)
	for a, i := range rows {
		label := target.Text(i)
		if target.Type == Numeric {
			label = strconv.FormatFloat(target.Num[i]+0, 'g', -1, 64) // +0: −0 is class "0"
		}
		k, known := index[label]
		if !known {
			k = -1
		}
		yTrue[a] = k
		proba.SetRow(a, out.Proba.RawRowView(i))
	}
	return ClassificationMetrics(yTrue, proba, m.Classes), nil
}

func (m *Model) evaluateClusters(features []*Column, target *Column) (*Metrics, error) {
	if target != nil {
		return nil, inputErrorf("a clustering model is evaluated without a target column; got %q", target.Name)
	}
	if err := m.prep.CheckColumns(features); err != nil {
		return nil, err
	}
	if features[0].Len() == 0 {
		return nil, inputErrorf("no rows to evaluate")
	}
	x, err := m.prep.Transform(features)
	if err != nil {
		return nil, err
	}
	cl, ok := m.est.(centerer)
	if !ok {
		return nil, fmt.Errorf("evaluate %s: clustering estimator has no cluster centres", m.Algorithm)
	}
	return ClusteringMetrics(x, m.clusters(x), cl.ClusterCenters()), nil
}

// OutputNames returns the names of the design-matrix columns the estimator
// sees (see Preprocessor.OutputNames).
func (m *Model) OutputNames() []string { return m.prep.OutputNames() }

// Coefficient is one weight of a linear model.
type Coefficient struct {
	Feature string // design column name: "age", or "color=red" for one-hot
	// Class is "" for regression, the positive class (Classes[1]) for
	// binary classification, and the row's class for multinomial.
	Class  string
	Weight float64
}

// Intercept is the intercept of one weight row (see Coefficient.Class).
type Intercept struct {
	Class string
	Value float64
}

// Coefficients returns the weights of a linear model on the original
// feature scale: for every row, prediction (the logit or softmax score for
// classification) = Σ Weight·x + Intercept, with x the raw numeric value,
// the 0/1 one-hot indicator or a text term's TF-IDF weight (features
// "name:term"; a model with text has one weight per term and class). ok
// is false for non-linear estimators.
func (m *Model) Coefficients() (coefs []Coefficient, intercepts []Intercept, ok bool) {
	lin, isLinear := m.est.(Linear)
	if !isLinear {
		return nil, nil, false
	}
	w, b := lin.Weights()
	if m.prep.Scale {
		// z = (x − mean)/s, so w·z = (w/s)·x − w·mean/s.
		m.forNumericColumns(func(col int, f *FeatureInfo) {
			s := f.scaleOf()
			for k := range b {
				wk := w.At(k, col)
				w.Set(k, col, wk/s)
				b[k] -= wk * f.Mean / s
			}
		})
	}
	coefs, intercepts = m.labelWeights(w, b)
	return coefs, intercepts, true
}

// StandardizedCoefficients returns the weights of a linear model on the
// standardised numeric features z = (x − mean)/std (training mean and
// population std; one-hot and text columns unchanged). For algorithms that
// train on standardised features these are the fitted weights themselves
// (what scikit-learn's StandardScaler + estimator report); for others they
// are converted from the raw weights (w·std, intercept + w·mean), which
// makes their sizes comparable across features. ok is false for non-linear
// estimators.
func (m *Model) StandardizedCoefficients() (coefs []Coefficient, intercepts []Intercept, ok bool) {
	lin, isLinear := m.est.(Linear)
	if !isLinear {
		return nil, nil, false
	}
	w, b := lin.Weights()
	if !m.prep.Scale {
		m.forNumericColumns(func(col int, f *FeatureInfo) {
			s := f.scaleOf()
			for k := range b {
				wk := w.At(k, col)
				w.Set(k, col, wk*s)
				b[k] += wk * f.Mean
			}
		})
	}
	coefs, intercepts = m.labelWeights(w, b)
	return coefs, intercepts, true
}

// forNumericColumns calls fn with the design column of each numeric feature.
func (m *Model) forNumericColumns(fn func(col int, f *FeatureInfo)) {
	col := 0
	for j := range m.prep.Features {
		f := &m.prep.Features[j]
		if f.Type == Numeric {
			fn(col, f)
		}
		col += f.Width()
	}
}

func (m *Model) labelWeights(w *mat.Dense, b []float64) ([]Coefficient, []Intercept) {
	names := m.prep.OutputNames()
	rows, cols := w.Dims()
	coefs := make([]Coefficient, 0, rows*cols)
	intercepts := make([]Intercept, rows)
	for k := range rows {
		class := ""
		if m.Task == Classification {
			if rows == 1 {
				class = m.Classes[len(m.Classes)-1]
			} else {
				class = m.Classes[k]
			}
		}
		for j := range cols {
			coefs = append(coefs, Coefficient{Feature: names[j], Class: class, Weight: w.At(k, j)})
		}
		intercepts[k] = Intercept{Class: class, Value: b[k]}
	}
	return coefs, intercepts
}

// Model encoding, format 1: a JSON object
//
//	{"format": 1, "algorithm": ..., "task": ..., "params": {...},
//	 "target": ..., "classes": [...], "preprocessor": {...},
//	 "estimator": {...}}
//
// where "estimator" is the JSON of the algorithm's Estimator struct.
// encoding/json writes floats in the shortest form that parses back to the
// same bits, so a loaded model predicts bit-identically. A change that old
// readers would misread must bump the format number; LoadModel rejects
// numbers it does not know. (Text features, with their fitted vectorizer
// in the preprocessor's "Text", needed no new number: a build without them
// rejects the unknown feature type rather than misreading it.)
const modelFormatV1 = 1

type modelEnvelope struct {
	Format       int             `json:"format"`
	Algorithm    string          `json:"algorithm"`
	Task         Task            `json:"task"`
	Params       map[string]any  `json:"params"`
	Target       string          `json:"target"`
	Classes      []string        `json:"classes,omitempty"`
	Preprocessor *Preprocessor   `json:"preprocessor"`
	Estimator    json.RawMessage `json:"estimator"`
}

// MarshalBinary encodes the fitted model (format 1, see LoadModel).
func (m *Model) MarshalBinary() ([]byte, error) {
	est, err := json.Marshal(m.est)
	if err != nil {
		return nil, fmt.Errorf("marshal model: estimator: %w", err)
	}
	data, err := json.Marshal(modelEnvelope{
		Format:       modelFormatV1,
		Algorithm:    m.Algorithm,
		Task:         m.Task,
		Params:       m.Params,
		Target:       m.Target,
		Classes:      m.Classes,
		Preprocessor: m.prep,
		Estimator:    est,
	})
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	return data, nil
}

// LoadModel decodes a model written by MarshalBinary, restoring the
// estimator of its algorithm from the registry. It rejects unknown format
// versions and encodings that are inconsistent (so that a loaded model
// never panics when predicting).
func LoadModel(data []byte) (*Model, error) {
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("load model: not a model encoding: %w", err)
	}
	if head.Format == nil {
		return nil, fmt.Errorf("load model: no format version")
	}
	if *head.Format != modelFormatV1 {
		return nil, fmt.Errorf("load model: unsupported format version %d (this build reads version %d)", *head.Format, modelFormatV1)
	}
	var env modelEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep parameter values exact for ResolveParams
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	alg, ok := lookupAlgorithm(env.Algorithm)
	if !ok {
		return nil, fmt.Errorf("load model: unknown algorithm %q", env.Algorithm)
	}
	if !alg.Supports(env.Task) {
		return nil, fmt.Errorf("load model: algorithm %s does not support task %q", env.Algorithm, env.Task)
	}
	// Errors below are about stored data, not the caller's input, so they
	// are formatted with %v to drop any *InputError type.
	params, err := ResolveParams(env.Algorithm, env.Params)
	if err != nil {
		return nil, fmt.Errorf("load model: %v", err)
	}
	if err := env.Preprocessor.check(); err != nil {
		return nil, fmt.Errorf("load model: preprocessor: %v", err)
	}
	switch {
	case env.Task == Classification && len(env.Classes) < 2:
		return nil, fmt.Errorf("load model: classification model with %d classes", len(env.Classes))
	case env.Task == Regression && len(env.Classes) > 0:
		return nil, fmt.Errorf("load model: regression model with classes")
	case env.Task == Clustering && !slices.Equal(env.Classes, clusterNames(len(env.Classes))):
		return nil, fmt.Errorf("load model: clustering model with clusters %q, want \"0\"..\"k-1\"", env.Classes)
	case env.Task == Clustering && len(env.Classes) == 0:
		return nil, fmt.Errorf("load model: clustering model with no clusters")
	}
	est := alg.newEstimator(params)
	if err := json.Unmarshal(env.Estimator, est); err != nil {
		return nil, fmt.Errorf("load model: estimator: %w", err)
	}
	if _, ok := est.(centerer); env.Task == Clustering && !ok {
		return nil, fmt.Errorf("load model: %s has no cluster centres", env.Algorithm)
	}
	if sc, ok := est.(shapeChecker); ok {
		if err := sc.checkShape(env.Preprocessor.Width(), env.Task, len(env.Classes)); err != nil {
			return nil, fmt.Errorf("load model: estimator: %v", err)
		}
	}
	return &Model{
		Algorithm: alg.Name,
		Task:      env.Task,
		Params:    params,
		Features:  cloneFeatures(env.Preprocessor.Features),
		Target:    env.Target,
		Classes:   env.Classes,
		Text:      env.Preprocessor.textOptions(),
		prep:      env.Preprocessor,
		est:       est,
	}, nil
}

// check validates a decoded Preprocessor.
func (p *Preprocessor) check() error {
	if p == nil || len(p.Features) == 0 {
		return fmt.Errorf("no features")
	}
	for _, f := range p.Features {
		switch f.Type {
		case Numeric:
			if err := checkFinite(fmt.Sprintf("feature %q statistics", f.Name), []float64{f.Median, f.Min, f.Max, f.Mean, f.Std}); err != nil {
				return err
			}
		case Categorical:
			if !slices.IsSorted(f.Levels) || len(slices.Compact(slices.Clone(f.Levels))) != len(f.Levels) {
				return fmt.Errorf("feature %q levels are not sorted and distinct", f.Name)
			}
		case Text:
			if err := f.Text.check(); err != nil {
				return fmt.Errorf("feature %q: %v", f.Name, err)
			}
		default:
			return fmt.Errorf("feature %q has unknown type %q", f.Name, f.Type)
		}
	}
	if p.Width() == 0 {
		return fmt.Errorf("no design columns")
	}
	return nil
}

// cloneFeatures deep-copies feature infos, so that Model.Features can be
// changed without affecting the preprocessor.
func cloneFeatures(features []FeatureInfo) []FeatureInfo {
	out := slices.Clone(features)
	for j := range out {
		out[j].Levels = slices.Clone(out[j].Levels)
		out[j].Text = out[j].Text.clone()
	}
	return out
}

// textOptions returns a copy of the options of the first text feature
// (all text features share them), nil if there is none.
func (p *Preprocessor) textOptions() *TextOptions {
	for _, f := range p.Features {
		if f.Type == Text && f.Text != nil {
			return &f.Text.clone().Options
		}
	}
	return nil
}

// checkFinite returns an error if any value is NaN or infinite.
func checkFinite(what string, values []float64) error {
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: value %d is %v", what, i, v)
		}
	}
	return nil
}

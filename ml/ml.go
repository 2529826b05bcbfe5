// Package ml is mlgraph's machine-learning library: typed columns in,
// fitted models out.
//
// The pieces, each reusable on its own:
//
//   - Column: one typed column of a dataset (numeric with NaN for missing,
//     or dictionary-encoded categorical or free text), with a compact
//     versioned binary form.
//   - TextVectorizer: turns free text into TF-IDF term weights, as
//     scikit-learn's TfidfVectorizer (text.go).
//   - Preprocessor: turns columns into a dense design matrix (median
//     imputation, one-hot encoding, TF-IDF for text, optional
//     standardisation) and remembers what it learnt so that prediction
//     applies exactly the same steps.
//   - Estimator: one learning algorithm on a dense matrix (one file each:
//     linear.go, logistic.go, ...), registered in algorithms.go with its
//     tasks and parameters.
//   - Model: a Preprocessor plus a fitted Estimator plus the target's
//     classes; it trains from columns, predicts from columns, and saves to
//     and loads from a versioned byte form.
//   - metrics.go and split.go: evaluation metrics and train/test splits.
//
// Errors caused by the caller's data or parameters are *InputError, with a
// message naming the column, row or parameter at fault; any other error is
// an internal failure.
//
// Adding an algorithm means one file with its Estimator (fitted state in
// exported fields, optionally Linear) and one entry in algorithmTable.
//
// Heavy loops (normal equations, logistic loss, design-matrix encoding)
// run on all cores over row segments fixed by the data size alone and are
// reduced in a fixed order, so results do not depend on the machine. A
// trained Model is read-only and safe for concurrent use.
//
// The package does no I/O and keeps no mutable global state.
package ml

import (
	"context"

	"gonum.org/v1/gonum/mat"
)

// Task is what a model predicts.
type Task string

const (
	Regression     Task = "REGRESSION"
	Classification Task = "CLASSIFICATION"
	// Clustering has no target: Fit gets y == nil and Predict writes each
	// row's cluster index (n×1).
	Clustering Task = "CLUSTERING"
)

// Estimator is a learning algorithm working on a dense numeric design
// matrix. Implementations keep their fitted state in exported fields so
// that the Model's versioned encoding can save and restore them.
type Estimator interface {
	// Fit learns from x (n×p). For regression y holds the target values;
	// for classification y holds class indices 0..nClasses-1 (as float64)
	// and nClasses ≥ 2. Fit stops early with ctx.Err() when ctx is done.
	Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error
	// Predict writes, for each row of x, the predicted value (regression:
	// dst is n×1) or the class probabilities (classification: dst is
	// n×nClasses, each row summing to one).
	Predict(x *mat.Dense, dst *mat.Dense)
}

// Linear is implemented by estimators whose decision function is
// x·Wᵀ + b, so their weights can be shown to people.
type Linear interface {
	// Weights returns W (k×p: one row for regression and binary
	// classification, one row per class for multinomial) and b (length k),
	// in the space of the estimator's input matrix.
	Weights() (w *mat.Dense, b []float64)
}

// Importancer is implemented by estimators that measure how much each
// input column of their design matrix contributes, such as the impurity
// decrease of trees (mean decrease in impurity). The result has one
// non-negative entry per design column and sums to one (all zeros if the
// model uses no column).
type Importancer interface {
	FeatureImportances() []float64
}

package ml

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// NaiveBayes is a naive Bayes classifier: features are taken to be
// independent given the class, so for classes c with prior πc
//
//	log P(c | x) = log πc + Σⱼ log P(xⱼ | c) − log Z(x)
//
// where Z normalises the probabilities (computed stably as a log-sum-exp).
// The priors are the class frequencies of the training rows. Two kinds of
// feature likelihood are offered, defined as in scikit-learn:
//
// "gaussian" (GaussianNB): xⱼ | c ~ N(θcⱼ, σ²cⱼ) with θ and σ² the mean
// and population variance of feature j over the class's rows, plus
// ε = varSmoothing·maxⱼ Var(xⱼ) (the largest variance over all training
// rows; 1 if every feature is constant, where the prediction is the
// prior whatever ε; varSmoothing must be > 0, where scikit-learn also
// allows 0) so that
// constant features do not give zero variances:
//
//	log P(xⱼ | c) = −½·log(2π·σ²cⱼ) − (xⱼ − θcⱼ)²/(2σ²cⱼ)
//
// "multinomial" (MultinomialNB, for counts such as word counts or one-hot
// indicators; feature values must be ≥ 0): with Ncⱼ the sum of feature j
// over the class's rows and smoothing α (Laplace for α = 1),
//
//	log P(x | c) = Σⱼ xⱼ·log θcⱼ,  θcⱼ = (Ncⱼ + α) / Σₗ (Ncₗ + α)
//
// (up to the multinomial coefficient, which is the same for every class).
// Like scikit-learn, α below 1e-10 is raised to 1e-10 to keep every log
// finite.
//
// For text features (TF-IDF weights, non-negative) "multinomial" is the
// kind to use, as with scikit-learn's MultinomialNB on TfidfVectorizer
// output; "gaussian" stays the default for numeric features, and is not
// changed behind the caller's back when there is text. The multinomial
// joint log-likelihood is linear in x, which lets Explain name the words
// behind a prediction (see ExplainLinearScore).
type NaiveBayes struct {
	Kind         string // "gaussian" or "multinomial"
	VarSmoothing float64
	Alpha        float64

	// ClassCount is the number of training rows of each class.
	ClassCount []float64
	// Gaussian: Theta and Var (smoothed) are the per-class feature means
	// and variances (classes×inputs) and Epsilon the variance added.
	Theta   [][]float64 `json:",omitempty"`
	Var     [][]float64 `json:",omitempty"`
	Epsilon float64     `json:",omitempty"`
	// Multinomial: FeatureLogProb holds log θcⱼ (classes×inputs).
	FeatureLogProb [][]float64 `json:",omitempty"`
}

// minMultinomialAlpha is scikit-learn's floor on the smoothing α.
const minMultinomialAlpha = 1e-10

func naiveBayesAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "NAIVE_BAYES",
			Tasks: []Task{Classification},
			Description: "Naive Bayes classifier: features independent given the class, with Gaussian likelihoods " +
				"(numeric features) or multinomial ones (non-negative counts).",
			Params: []ParamSpec{
				{Name: "kind", Type: ParamString, Default: "auto", Choices: []string{"auto", "gaussian", "multinomial"},
					Description: "Feature likelihood: \"gaussian\" (normal per class and feature) or \"multinomial\" (non-negative counts or TF-IDF weights, such as those of TEXT features); \"auto\" picks multinomial when the model has a TEXT feature, else gaussian."},
				{Name: "varSmoothing", Type: ParamFloat, Default: 1e-9, Min: ptr(0), MinExclusive: true,
					Description: "Gaussian only: fraction of the largest feature variance added to every variance, for numerical stability."},
				{Name: "alpha", Type: ParamFloat, Default: 1.0, Min: ptr(0),
					Description: "Multinomial only: additive (Laplace/Lidstone) smoothing of the feature counts; 1 is Laplace smoothing."},
			},
			NeedsScaling: false,
		},
		newEstimator: newNaiveBayes,
		fitParams: func(params map[string]any, prep *Preprocessor) {
			if params["kind"] == "auto" {
				// TF-IDF weights are what the multinomial likelihood models;
				// a Gaussian per word is a poor fit for them.
				params["kind"] = "gaussian"
				if prep.HasText() {
					params["kind"] = "multinomial"
				}
			}
		},
	}
}

func newNaiveBayes(params map[string]any) Estimator {
	kind := params["kind"].(string)
	if kind == "auto" {
		kind = "gaussian" // a bare design matrix: Train settles auto first
	}
	return &NaiveBayes{
		Kind:         kind,
		VarSmoothing: params["varSmoothing"].(float64),
		Alpha:        params["alpha"].(float64),
	}
}

// Fit implements Estimator. Only the Classification task is supported.
func (m *NaiveBayes) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if task != Classification {
		return fmt.Errorf("fit naive bayes: unsupported task %q", task)
	}
	n, p := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit naive bayes: %d targets for %d rows", len(y), n)
	}
	if nClasses < 2 {
		return fmt.Errorf("fit naive bayes: need at least 2 classes, got %d", nClasses)
	}
	labels := make([]int, n)
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
			return fmt.Errorf("fit naive bayes: %s has class %v outside 0..%d", RowName(i), v, nClasses-1)
		}
		labels[i] = int(v)
	}
	counts := make([]float64, nClasses)
	for _, c := range labels {
		counts[c]++
	}
	raw := x.RawMatrix()
	row := func(i int) []float64 { return raw.Data[i*raw.Stride : i*raw.Stride+p] }
	// Per-class feature sums, the sufficient statistic of both kinds.
	sums := newTable(nClasses, p)
	for i, c := range labels {
		for j, v := range row(i) {
			sums[c][j] += v
		}
	}

	switch m.Kind {
	case "gaussian":
		m.Theta, m.Var = newTable(nClasses, p), newTable(nClasses, p)
		for c := range nClasses {
			for j := range p {
				if counts[c] > 0 {
					m.Theta[c][j] = sums[c][j] / counts[c]
				}
			}
		}
		// Variances about the class means (two-pass, accurate for large
		// means), and the overall variance for the smoothing term.
		mean := make([]float64, p)
		for c := range nClasses {
			for j := range p {
				mean[j] += sums[c][j] / float64(n)
			}
		}
		total := make([]float64, p)
		for i, c := range labels {
			for j, v := range row(i) {
				d := v - m.Theta[c][j]
				m.Var[c][j] += d * d
				e := v - mean[j]
				total[j] += e * e
			}
		}
		maxVar := 0.0
		for j := range p {
			maxVar = max(maxVar, total[j]/float64(n))
		}
		m.Epsilon = m.VarSmoothing * maxVar
		if m.Epsilon == 0 {
			// Every feature is constant, so every class has the same means
			// and any positive variance gives the same, prior-only,
			// prediction; 1 keeps the log-likelihoods small and precise.
			m.Epsilon = 1
		}
		for c := range nClasses {
			for j := range p {
				if counts[c] > 0 {
					m.Var[c][j] /= counts[c]
				}
				m.Var[c][j] += m.Epsilon
			}
		}
		m.FeatureLogProb = nil
	case "multinomial":
		for i := range n {
			for j, v := range row(i) {
				if v < 0 {
					return inputErrorf("multinomial naive bayes needs non-negative feature values (counts); %s, design column %d is %v (use kind \"gaussian\" for real-valued features)", RowName(i), j, v)
				}
			}
		}
		alpha := max(m.Alpha, minMultinomialAlpha)
		m.FeatureLogProb = newTable(nClasses, p)
		for c := range nClasses {
			total := 0.0
			for j := range p {
				total += sums[c][j] + alpha
			}
			logTotal := math.Log(total)
			for j := range p {
				m.FeatureLogProb[c][j] = math.Log(sums[c][j]+alpha) - logTotal
			}
		}
		m.Theta, m.Var, m.Epsilon = nil, nil, 0
	default:
		return fmt.Errorf("fit naive bayes: unknown kind %q", m.Kind)
	}
	m.ClassCount = counts
	return nil
}

// Predict implements Estimator: dst (n×K) receives class probabilities.
func (m *NaiveBayes) Predict(x *mat.Dense, dst *mat.Dense) {
	n, p := x.Dims()
	k := len(m.ClassCount)
	// Class log priors; a class without training rows has prior 0.
	logPrior := make([]float64, k)
	total := 0.0
	for _, c := range m.ClassCount {
		total += c
	}
	for c, count := range m.ClassCount {
		logPrior[c] = math.Log(count / total)
	}
	// The Gaussian normalising terms −½·Σⱼ log(2π·σ²cⱼ) do not depend on x.
	var logNorm []float64
	if m.Kind == "gaussian" {
		logNorm = make([]float64, k)
		for c := range k {
			for _, v := range m.Var[c] {
				logNorm[c] -= 0.5 * math.Log(2*math.Pi*v)
			}
		}
	}
	raw, out := x.RawMatrix(), dst.RawMatrix()
	parallelFor((n+255)/256, func(b int) {
		jll := make([]float64, k)
		var nz []int32
		for i := b * 256; i < min((b+1)*256, n); i++ {
			xi := raw.Data[i*raw.Stride : i*raw.Stride+p]
			// Text rows are mostly zeros, which add nothing to the
			// multinomial sums: visit the others only.
			sparse := false
			if m.Kind != "gaussian" {
				nz, sparse = nonZeros(nz, xi)
			}
			for c := range k {
				s := logPrior[c]
				if m.Kind == "gaussian" {
					s += logNorm[c]
					theta, variance := m.Theta[c], m.Var[c]
					q := 0.0
					for j, v := range xi {
						d := v - theta[j]
						q += d * d / variance[j]
					}
					s -= 0.5 * q
				} else if sparse {
					logProb := m.FeatureLogProb[c]
					for _, j := range nz {
						s += xi[j] * logProb[j]
					}
				} else {
					for j, v := range m.FeatureLogProb[c] {
						s += xi[j] * v
					}
				}
				jll[c] = s
			}
			softmaxInto(out.Data[i*out.Stride:i*out.Stride+k], jll)
		}
	})
}

// linearScores returns, for the multinomial kind, the joint
// log-likelihood log πc + Σⱼ xⱼ·log θcⱼ as W·x + b (W = FeatureLogProb, b
// the log priors); ok is false for the Gaussian kind and for a class
// without training rows (whose log prior is −∞).
func (m *NaiveBayes) linearScores() (w *mat.Dense, b []float64, ok bool) {
	if m.Kind != "multinomial" || len(m.FeatureLogProb) == 0 {
		return nil, nil, false
	}
	total := 0.0
	for _, c := range m.ClassCount {
		total += c
	}
	p := len(m.FeatureLogProb[0])
	w = mat.NewDense(len(m.FeatureLogProb), max(p, 1), nil)
	b = make([]float64, len(m.ClassCount))
	for c, row := range m.FeatureLogProb {
		if m.ClassCount[c] <= 0 || len(row) != p {
			return nil, nil, false
		}
		copy(w.RawRowView(c), row)
		b[c] = math.Log(m.ClassCount[c] / total)
	}
	return w, b, p > 0
}

// checkShape implements shapeChecker.
func (m *NaiveBayes) checkShape(inputs int, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("naive bayes cannot serve task %q", task)
	}
	if len(m.ClassCount) != nClasses {
		return fmt.Errorf("naive bayes has %d class counts for %d classes", len(m.ClassCount), nClasses)
	}
	if err := checkFinite("naive bayes class counts", m.ClassCount); err != nil {
		return err
	}
	total := 0.0
	for _, c := range m.ClassCount {
		if c < 0 {
			return fmt.Errorf("naive bayes has a negative class count %v", c)
		}
		total += c
	}
	if total == 0 {
		return fmt.Errorf("naive bayes has no training rows")
	}
	check := func(name string, table [][]float64, positive bool) error {
		if len(table) != nClasses {
			return fmt.Errorf("naive bayes %s has %d rows for %d classes", name, len(table), nClasses)
		}
		for c, row := range table {
			if len(row) != inputs {
				return fmt.Errorf("naive bayes %s row %d has %d values for %d inputs", name, c, len(row), inputs)
			}
			if err := checkFinite("naive bayes "+name, row); err != nil {
				return err
			}
			for _, v := range row {
				if positive && v <= 0 {
					return fmt.Errorf("naive bayes %s has a non-positive value %v", name, v)
				}
			}
		}
		return nil
	}
	switch m.Kind {
	case "gaussian":
		if err := check("means", m.Theta, false); err != nil {
			return err
		}
		return check("variances", m.Var, true)
	case "multinomial":
		return check("feature log-probabilities", m.FeatureLogProb, false)
	}
	return fmt.Errorf("naive bayes has unknown kind %q", m.Kind)
}

// newTable returns a rows×cols table of zeros.
func newTable(rows, cols int) [][]float64 {
	flat := make([]float64, rows*cols)
	t := make([][]float64, rows)
	for r := range t {
		t[r] = flat[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return t
}

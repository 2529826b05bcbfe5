package ml

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// SVM is a kernel support vector classifier, defined as scikit-learn's SVC
// (libsvm's C-SVC). For two classes with labels yᵢ = ±1 it solves the dual
// problem
//
//	min_α ½·αᵀQα − Σᵢ αᵢ   subject to Σᵢ yᵢαᵢ = 0, 0 ≤ αᵢ ≤ C,
//
// with Qᵢⱼ = yᵢyⱼ·K(xᵢ, xⱼ), and classifies by the sign of the decision
// value f(x) = Σᵢ yᵢαᵢ·K(xᵢ, x) − ρ. The rows with αᵢ > 0 are the support
// vectors. The kernels are
//
//	rbf:      K(x, z) = exp(−γ‖x − z‖²)
//	poly:     K(x, z) = (γ·xᵀz + coef0)^degree
//	linear:   K(x, z) = xᵀz
//	sigmoid:  K(x, z) = tanh(γ·xᵀz + coef0)
//
// where γ = 1/(p·Var(X)) (the variance of all entries of the training
// design, scikit-learn's gamma="scale") unless Gamma is positive.
//
// The dual is solved by sequential minimal optimisation as in libsvm (Fan,
// Chen & Lin 2005): each step picks the pair (i, j) by second-order
// working-set selection (WSS3: i maximal violator, j maximising the
// decrease of the objective) and solves the two-variable problem
// analytically, until the maximal KKT violation m(α) − M(α) is below Tol.
// There is no shrinking. Kernel rows are computed on demand and kept in a
// least-recently-used cache bounded by CacheSize megabytes, shared by all
// the subproblems of one fit.
//
// K > 2 classes are handled one-vs-one, as libsvm: one binary machine per
// pair of classes (class a as +1, class b as −1, for a < b), whose decision
// values vote.
//
// Probabilities are Platt-scaled as libsvm does with probability=true: for
// each pair, a sigmoid P(a | f) = 1/(1 + e^{A·f+B}) is fitted (see
// fitPlattSigmoid) to decision values from a 5-fold cross-validation of
// that pair's machine on the pair's training rows (the folds drawn from
// Seed), and for K > 2 classes the pairwise probabilities are coupled into
// one distribution (see couplePairwise). The reported class, the argmax of
// these probabilities, is scikit-learn's predict_proba argmax; it can
// differ from the one-vs-one vote (SVC.predict) for rows near a boundary.
type SVM struct {
	Kernel string
	C      float64
	// Gamma is the kernel coefficient γ; 0 means "scale" (see SVM).
	Gamma     float64
	Degree    int
	Coef0     float64
	Tol       float64
	MaxIter   int // per binary machine; ≤ 0 means libsvm's bound max(10⁷, 100·rows)
	CacheSize float64
	Seed      int

	// Classes is the number of classes K.
	Classes int
	// KernelGamma is the γ used (Gamma, or the "scale" value).
	KernelGamma float64
	// SupportVectors are the support vectors of all the machines, grouped
	// by class: SupportCounts[k] of class k, in class order.
	SupportVectors [][]float64
	SupportCounts  []int
	// DualCoef holds yᵢαᵢ in libsvm's layout ((K−1) rows, one entry per
	// support vector): the machine for classes a < b uses row b−1 for the
	// support vectors of class a and row a for those of class b.
	DualCoef [][]float64
	// Intercept holds −ρ of each machine, and ProbA, ProbB its Platt
	// sigmoid, in the pair order (0,1), (0,2), …, (0,K−1), (1,2), ….
	Intercept    []float64
	ProbA, ProbB []float64
	// Iterations is the number of SMO steps of the final machines;
	// Converged reports whether all of them reached Tol within MaxIter.
	Iterations int
	Converged  bool
}

// Kernel names of SVM.Kernel.
const (
	kernelRBF     = "rbf"
	kernelPoly    = "poly"
	kernelLinear  = "linear"
	kernelSigmoid = "sigmoid"
)

func svmAlgorithm() algorithm {
	return algorithm{
		AlgorithmInfo: AlgorithmInfo{
			Name:  "SVM",
			Tasks: []Task{Classification},
			Description: "Kernel support vector machine (libsvm's C-SVC, solved by SMO), one-vs-one for more than two classes, " +
				"with Platt-scaled probabilities; on standardised features.",
			Params: []ParamSpec{
				{Name: "C", Type: ParamFloat, Default: 1.0, Min: ptr(0), MinExclusive: true,
					Description: "Penalty on margin violations (the box 0 ≤ α ≤ C); smaller means stronger regularisation."},
				{Name: "kernel", Type: ParamString, Default: kernelRBF, Choices: []string{kernelRBF, kernelPoly, kernelLinear, kernelSigmoid},
					Description: "Kernel: rbf exp(−γ‖x−z‖²), poly (γ·x·z + coef0)^degree, linear x·z, sigmoid tanh(γ·x·z + coef0)."},
				{Name: "gamma", Type: ParamFloat, Default: 0.0, Min: ptr(0),
					Description: "Kernel coefficient γ of rbf, poly and sigmoid; 0 means \"scale\": 1/(features × variance of the standardised design)."},
				{Name: "degree", Type: ParamInt, Default: 3, Min: ptr(1), Max: ptr(20),
					Description: "Degree of the poly kernel."},
				{Name: "coef0", Type: ParamFloat, Default: 0.0,
					Description: "Constant term of the poly and sigmoid kernels."},
				{Name: "tol", Type: ParamFloat, Default: 1e-3, Min: ptr(0), MinExclusive: true,
					Description: "Stop when the maximal violation of the optimality conditions is below tol."},
				{Name: "maxIter", Type: ParamInt, Default: -1, Min: ptr(-1),
					Description: "Maximum SMO steps per binary machine; -1 or 0 means no limit beyond libsvm's max(10⁷, 100 × rows)."},
				{Name: "cacheSize", Type: ParamFloat, Default: 200.0, Min: ptr(1),
					Description: "Memory for cached kernel rows, in megabytes."},
				seedParam(),
			},
			NeedsScaling: true,
		},
		newEstimator: newSVM,
	}
}

func newSVM(params map[string]any) Estimator {
	return &SVM{
		Kernel:    params["kernel"].(string),
		C:         params["C"].(float64),
		Gamma:     params["gamma"].(float64),
		Degree:    params["degree"].(int),
		Coef0:     params["coef0"].(float64),
		Tol:       params["tol"].(float64),
		MaxIter:   params["maxIter"].(int),
		CacheSize: params["cacheSize"].(float64),
		Seed:      params["seed"].(int),
	}
}

// plattFolds is the number of cross-validation folds whose decision values
// the Platt sigmoids are fitted to (libsvm's choice).
const plattFolds = 5

// svmTask is one binary SMO problem of a fit: fold f of pair's Platt
// cross-validation, or (fold == plattFolds) the pair's final machine.
type svmTask struct {
	pair, fold int
}

// svmPair is the binary problem of classes a (+1) and b (−1): its rows (in
// the class-sorted order of the fit) and its cross-validation permutation.
type svmPair struct {
	a, b int
	rows []int
	y    []float64
	perm []int // rows[perm[…]] in fold order
	// Filled in by the tasks: the cross-validated decision value of each
	// row, and the final machine.
	dec    []float64
	result smoResult
}

// Fit implements Estimator. Only the Classification task is supported.
func (m *SVM) Fit(ctx context.Context, x *mat.Dense, y []float64, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("fit svm: unsupported task %q", task)
	}
	n, p := x.Dims()
	if len(y) != n {
		return fmt.Errorf("fit svm: %d targets for %d rows", len(y), n)
	}
	if nClasses < 2 {
		return fmt.Errorf("fit svm: need at least 2 classes, got %d", nClasses)
	}
	kern, err := m.kernelSpec()
	if err != nil {
		return err
	}
	// Sort rows by class (stably) as libsvm does, so that a pair's rows are
	// two contiguous ranges.
	counts := make([]int, nClasses)
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= nClasses {
			return fmt.Errorf("fit svm: row %d has class %v outside 0..%d", i, v, nClasses-1)
		}
		counts[int(v)]++
	}
	start := make([]int, nClasses+1)
	for k, c := range counts {
		if c == 0 {
			return fmt.Errorf("fit svm: class %d has no rows", k)
		}
		start[k+1] = start[k] + c
	}
	order := make([]int, n) // order[sorted position] = original row
	next := append([]int(nil), start[:nClasses]...)
	for i, v := range y {
		order[next[int(v)]] = i
		next[int(v)]++
	}
	xs := mat.NewDense(n, p, nil)
	for s, i := range order {
		copy(xs.RawRowView(s), x.RawRowView(i))
	}

	kern.gamma = m.Gamma
	if kern.gamma == 0 {
		kern.gamma = scaleGamma(xs)
	}
	cache := newKernelCache(xs, kern, int64(m.CacheSize*(1<<20)))

	// One pair per couple of classes, in libsvm's order, each with its
	// own cross-validation permutation drawn from a generator seeded from
	// Seed, so the fit does not depend on scheduling.
	rng := newRand(m.Seed)
	var pairs []*svmPair
	for a := range nClasses {
		for b := a + 1; b < nClasses; b++ {
			pr := &svmPair{a: a, b: b}
			for s := start[a]; s < start[a+1]; s++ {
				pr.rows = append(pr.rows, s)
				pr.y = append(pr.y, 1)
			}
			for s := start[b]; s < start[b+1]; s++ {
				pr.rows = append(pr.rows, s)
				pr.y = append(pr.y, -1)
			}
			pr.perm = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())).Perm(len(pr.rows))
			pr.dec = make([]float64, len(pr.rows))
			pairs = append(pairs, pr)
		}
	}
	tasks := make([]svmTask, 0, len(pairs)*(plattFolds+1))
	for pi := range pairs {
		for f := 0; f <= plattFolds; f++ {
			tasks = append(tasks, svmTask{pair: pi, fold: f})
		}
	}
	errs := make([]error, len(tasks))
	parallelFor(len(tasks), func(t int) {
		if ctx.Err() != nil {
			errs[t] = ctx.Err()
			return
		}
		errs[t] = m.runTask(ctx, cache, pairs[tasks[t].pair], tasks[t].fold)
	})
	for _, err := range errs {
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("fit svm: %w", err)
		}
	}

	m.Classes = nClasses
	m.KernelGamma = kern.gamma
	m.assemble(xs, start, pairs)
	m.ProbA = make([]float64, len(pairs))
	m.ProbB = make([]float64, len(pairs))
	m.Iterations, m.Converged = 0, true
	for k, pr := range pairs {
		positive := make([]bool, len(pr.y))
		for i, v := range pr.y {
			positive[i] = v > 0
		}
		sig := fitPlattSigmoid(pr.dec, positive)
		m.ProbA[k], m.ProbB[k] = sig.A, sig.B
		m.Iterations += pr.result.iterations
		m.Converged = m.Converged && pr.result.converged
	}
	return nil
}

// kernelSpec returns the kernel of m's parameters (γ still to be set).
func (m *SVM) kernelSpec() (svmKernel, error) {
	switch m.Kernel {
	case kernelRBF, kernelPoly, kernelLinear, kernelSigmoid:
	default:
		return svmKernel{}, inputErrorf("unknown SVM kernel %q; valid kernels: rbf, poly, linear, sigmoid", m.Kernel)
	}
	if m.Degree < 1 {
		return svmKernel{}, inputErrorf("SVM degree must be at least 1, got %d", m.Degree)
	}
	if !(m.C > 0) || !(m.Tol > 0) || !(m.Gamma >= 0) {
		return svmKernel{}, inputErrorf("SVM needs C > 0, tol > 0 and gamma ≥ 0; got C=%v, tol=%v, gamma=%v", m.C, m.Tol, m.Gamma)
	}
	return svmKernel{kind: m.Kernel, gamma: m.KernelGamma, coef0: m.Coef0, degree: m.Degree}, nil
}

// scaleGamma is scikit-learn's gamma="scale": 1/(p·Var(X)) over all the
// entries of x, or 1 if they are all equal.
func scaleGamma(x *mat.Dense) float64 {
	n, p := x.Dims()
	var sum, sumSq float64
	for i := range n {
		for _, v := range x.RawRowView(i) {
			sum += v
		}
	}
	mean := sum / float64(n*p)
	for i := range n {
		for _, v := range x.RawRowView(i) {
			sumSq += (v - mean) * (v - mean)
		}
	}
	variance := sumSq / float64(n*p)
	if variance == 0 {
		return 1
	}
	return 1 / (float64(p) * variance)
}

// runTask solves one SMO problem of pair: a cross-validation fold, whose
// machine then scores the fold's held-out rows into pair.dec, or the final
// machine. Tasks of one pair write disjoint parts of it.
func (m *SVM) runTask(ctx context.Context, cache *kernelCache, pair *svmPair, fold int) error {
	l := len(pair.rows)
	if fold == plattFolds {
		res, err := solveSMO(ctx, cache, pair.rows, pair.y, m.C, m.Tol, m.MaxIter)
		pair.result = res
		return err
	}
	lo, hi := fold*l/plattFolds, (fold+1)*l/plattFolds
	trainIdx := make([]int, 0, l-(hi-lo))
	trainIdx = append(trainIdx, pair.perm[:lo]...)
	trainIdx = append(trainIdx, pair.perm[hi:]...)
	rows := make([]int, len(trainIdx))
	y := make([]float64, len(trainIdx))
	var nPos, nNeg int
	for k, i := range trainIdx {
		rows[k], y[k] = pair.rows[i], pair.y[i]
		if y[k] > 0 {
			nPos++
		} else {
			nNeg++
		}
	}
	heldOut := pair.perm[lo:hi]
	// A fold whose training part has one class predicts it with
	// decision value ±1 (libsvm's convention).
	if nPos == 0 || nNeg == 0 {
		v := 0.0
		switch {
		case nPos > 0:
			v = 1
		case nNeg > 0:
			v = -1
		}
		for _, i := range heldOut {
			pair.dec[i] = v
		}
		return nil
	}
	res, err := solveSMO(ctx, cache, rows, y, m.C, m.Tol, m.MaxIter)
	if err != nil {
		return err
	}
	// f(x) = Σ yₖαₖK(xₖ, x) − ρ, read from the (cached) rows of the
	// support vectors: K is symmetric.
	for _, i := range heldOut {
		pair.dec[i] = -res.rho
	}
	for k, a := range res.alpha {
		if a == 0 {
			continue
		}
		kr := cache.row(rows[k])
		coef := y[k] * a
		for _, i := range heldOut {
			pair.dec[i] += coef * kr[pair.rows[i]]
		}
	}
	return nil
}

// assemble stores the support vectors and coefficients of the final
// machines in libsvm's layout (see SVM.DualCoef).
func (m *SVM) assemble(xs *mat.Dense, start []int, pairs []*svmPair) {
	n, _ := xs.Dims()
	k := m.Classes
	// A row is a support vector if it has α > 0 in any machine.
	isSV := make([]bool, n)
	for _, pr := range pairs {
		for t, a := range pr.result.alpha {
			if a > 0 {
				isSV[pr.rows[t]] = true
			}
		}
	}
	svIndex := make([]int, n) // sorted row → position among support vectors
	m.SupportCounts = make([]int, k)
	m.SupportVectors = nil
	for c := range k {
		for s := start[c]; s < start[c+1]; s++ {
			if isSV[s] {
				svIndex[s] = len(m.SupportVectors)
				m.SupportVectors = append(m.SupportVectors, append([]float64(nil), xs.RawRowView(s)...))
				m.SupportCounts[c]++
			}
		}
	}
	m.DualCoef = make([][]float64, k-1)
	for r := range m.DualCoef {
		m.DualCoef[r] = make([]float64, len(m.SupportVectors))
	}
	m.Intercept = make([]float64, len(pairs))
	for q, pr := range pairs {
		for t, a := range pr.result.alpha {
			if a == 0 {
				continue
			}
			row := pr.b - 1 // coefficient of a class-a support vector
			if pr.y[t] < 0 {
				row = pr.a
			}
			m.DualCoef[row][svIndex[pr.rows[t]]] = pr.y[t] * a
		}
		m.Intercept[q] = -pr.result.rho
	}
}

// Predict implements Estimator: dst (n×K) receives the Platt-scaled class
// probabilities.
func (m *SVM) Predict(x *mat.Dense, dst *mat.Dense) {
	n, _ := x.Dims()
	segs := rowSegments(n, 256, 4*maxSegments)
	forEachSegment(segs, func(_ int, seg segment) {
		dec := m.decisionValues(x.Slice(seg.lo, seg.hi, 0, m.inputs()).(*mat.Dense))
		k := m.Classes
		r := make([][]float64, k)
		q := make([][]float64, k)
		for c := range k {
			r[c] = make([]float64, k)
			q[c] = make([]float64, k)
		}
		qp := make([]float64, k)
		for i := range seg.hi - seg.lo {
			m.probabilities(dec.RawRowView(i), r, q, qp, dst.RawRowView(seg.lo+i))
		}
	})
}

// inputs is the number of input columns the model was fitted on.
func (m *SVM) inputs() int {
	if len(m.SupportVectors) == 0 {
		return 0
	}
	return len(m.SupportVectors[0])
}

// decisionValues returns the n×(K(K−1)/2) decision values of the
// one-vs-one machines for the rows of x.
func (m *SVM) decisionValues(x *mat.Dense) *mat.Dense {
	n, p := x.Dims()
	nSV := len(m.SupportVectors)
	pairs := m.Classes * (m.Classes - 1) / 2
	dec := mat.NewDense(n, pairs, nil)
	kern := svmKernel{kind: m.Kernel, gamma: m.KernelGamma, coef0: m.Coef0, degree: m.Degree}
	sv := mat.NewDense(nSV, p, nil)
	svNorm := make([]float64, nSV)
	for t, v := range m.SupportVectors {
		sv.SetRow(t, v)
		svNorm[t] = dot(v, v)
	}
	start := make([]int, m.Classes+1)
	for c, cnt := range m.SupportCounts {
		start[c+1] = start[c] + cnt
	}
	// K(x, sv) for all rows and support vectors at once: x·svᵀ, then the
	// kernel applied entrywise.
	kx := mat.NewDense(n, nSV, nil)
	kx.Mul(x, sv.T())
	for i := range n {
		xi := x.RawRowView(i)
		kern.transform(kx.RawRowView(i), dot(xi, xi), svNorm)
		ki := kx.RawRowView(i)
		d := dec.RawRowView(i)
		q := 0
		for a := range m.Classes {
			for b := a + 1; b < m.Classes; b++ {
				s := m.Intercept[q]
				ca, cb := m.DualCoef[b-1], m.DualCoef[a]
				for t := start[a]; t < start[a+1]; t++ {
					s += ca[t] * ki[t]
				}
				for t := start[b]; t < start[b+1]; t++ {
					s += cb[t] * ki[t]
				}
				d[q] = s
				q++
			}
		}
	}
	return dec
}

// probabilities turns one row's pairwise decision values into class
// probabilities (libsvm's svm_predict_probability), using r, q and qp as
// scratch space.
func (m *SVM) probabilities(dec []float64, r, q [][]float64, qp, dst []float64) {
	const minProb = 1e-7
	k := m.Classes
	pq := 0
	for a := range k {
		for b := a + 1; b < k; b++ {
			pa := plattSigmoid{A: m.ProbA[pq], B: m.ProbB[pq]}.prob(dec[pq])
			pa = min(max(pa, minProb), 1-minProb)
			r[a][b], r[b][a] = pa, 1-pa
			pq++
		}
	}
	if k == 2 {
		dst[0], dst[1] = r[0][1], r[1][0]
		return
	}
	couplePairwise(r, dst, q, qp)
}

// votes returns, for each row of dec (from decisionValues), the class with
// most one-vs-one votes (the first one on ties), as SVC.predict.
func (m *SVM) votes(dec *mat.Dense) []int {
	n, _ := dec.Dims()
	out := make([]int, n)
	count := make([]int, m.Classes)
	for i := range n {
		clear(count)
		q := 0
		for a := range m.Classes {
			for b := a + 1; b < m.Classes; b++ {
				if dec.At(i, q) > 0 {
					count[a]++
				} else {
					count[b]++
				}
				q++
			}
		}
		best := 0
		for c := range count {
			if count[c] > count[best] {
				best = c
			}
		}
		out[i] = best
	}
	return out
}

// checkShape implements shapeChecker.
func (m *SVM) checkShape(inputs int, task Task, nClasses int) error {
	if task != Classification {
		return fmt.Errorf("svm cannot serve task %q", task)
	}
	if _, err := m.kernelSpec(); err != nil {
		return err
	}
	pairs := nClasses * (nClasses - 1) / 2
	if m.Classes != nClasses || len(m.SupportCounts) != nClasses || len(m.DualCoef) != nClasses-1 ||
		len(m.Intercept) != pairs || len(m.ProbA) != pairs || len(m.ProbB) != pairs {
		return fmt.Errorf("svm state does not fit %d classes", nClasses)
	}
	total := 0
	for _, c := range m.SupportCounts {
		if c < 0 {
			return fmt.Errorf("svm has a negative support vector count")
		}
		total += c
	}
	if total != len(m.SupportVectors) || total == 0 {
		return fmt.Errorf("svm has %d support vectors, counts say %d", len(m.SupportVectors), total)
	}
	for t, v := range m.SupportVectors {
		if len(v) != inputs {
			return fmt.Errorf("svm support vector %d has %d values for %d inputs", t, len(v), inputs)
		}
		if err := checkFinite("svm support vectors", v); err != nil {
			return err
		}
	}
	for _, row := range m.DualCoef {
		if len(row) != total {
			return fmt.Errorf("svm dual coefficient row has %d entries for %d support vectors", len(row), total)
		}
		if err := checkFinite("svm dual coefficients", row); err != nil {
			return err
		}
	}
	for _, v := range [][]float64{m.Intercept, m.ProbA, m.ProbB, {m.KernelGamma}} {
		if err := checkFinite("svm intercepts and sigmoids", v); err != nil {
			return err
		}
	}
	return nil
}

// svmKernel is a kernel function K(x, z) evaluated from xᵀz and the
// squared norms ‖x‖², ‖z‖².
type svmKernel struct {
	kind   string
	gamma  float64
	coef0  float64
	degree int
}

// transform turns row, holding xᵀzⱼ, into K(x, zⱼ) in place, given ‖x‖²
// and ‖zⱼ‖² (used by rbf only).
func (k svmKernel) transform(row []float64, xNorm float64, zNorm []float64) {
	switch k.kind {
	case kernelRBF:
		for j, d := range row {
			// ‖x−z‖² = ‖x‖² + ‖z‖² − 2xᵀz, as libsvm; rounding can make
			// it slightly negative for near-identical rows.
			row[j] = math.Exp(-k.gamma * max(xNorm+zNorm[j]-2*d, 0))
		}
	case kernelPoly:
		for j, d := range row {
			row[j] = powInt(k.gamma*d+k.coef0, k.degree)
		}
	case kernelSigmoid:
		for j, d := range row {
			row[j] = math.Tanh(k.gamma*d + k.coef0)
		}
	}
}

// powInt returns b^e for e ≥ 0 by repeated squaring.
func powInt(b float64, e int) float64 {
	r := 1.0
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
	}
	return r
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// kernelCache computes rows K(xᵢ, ·) of the kernel matrix of the training
// rows x on demand and keeps the most recently used ones, within a memory
// budget. It is safe for concurrent use: rows are never modified once
// computed, so a row handed out stays valid after eviction (it is then
// merely no longer shared).
type kernelCache struct {
	x      *mat.Dense
	kern   svmKernel
	norm   []float64 // ‖xᵢ‖²
	diag   []float64 // K(xᵢ, xᵢ)
	budget int       // maximum number of cached rows

	mu   sync.Mutex
	rows [][]float64
	// LRU list over the cached rows: a doubly linked list through prev
	// and next (−1 = none), most recently used at head.
	prev, next []int
	head, tail int
	cached     int
}

func newKernelCache(x *mat.Dense, kern svmKernel, budgetBytes int64) *kernelCache {
	n, _ := x.Dims()
	c := &kernelCache{
		x: x, kern: kern,
		norm: make([]float64, n), diag: make([]float64, n),
		rows: make([][]float64, n), prev: make([]int, n), next: make([]int, n),
		head: -1, tail: -1,
	}
	// Room for at least the two rows of one step of every worker.
	c.budget = int(max(budgetBytes/int64(8*max(n, 1)), 4*maxSegments))
	for i := range n {
		xi := x.RawRowView(i)
		c.norm[i] = dot(xi, xi)
		d := []float64{c.norm[i]}
		kern.transform(d, c.norm[i], c.norm[i:i+1])
		c.diag[i] = d[0]
	}
	return c
}

// row returns K(xᵢ, xⱼ) for all training rows j. The caller must not
// modify it.
func (c *kernelCache) row(i int) []float64 {
	c.mu.Lock()
	if r := c.rows[i]; r != nil {
		c.unlink(i)
		c.pushFront(i)
		c.mu.Unlock()
		return r
	}
	c.mu.Unlock()

	n, p := c.x.Dims()
	r := make([]float64, n)
	raw := c.x.RawMatrix()
	blas64.Gemv(blas.NoTrans, 1, raw, blas64.Vector{N: p, Inc: 1, Data: c.x.RawRowView(i)}, 0, blas64.Vector{N: n, Inc: 1, Data: r})
	c.kern.transform(r, c.norm[i], c.norm)

	c.mu.Lock()
	defer c.mu.Unlock()
	if prior := c.rows[i]; prior != nil { // computed concurrently by another caller
		return prior
	}
	if c.cached >= c.budget {
		lru := c.tail
		c.unlink(lru)
		c.rows[lru] = nil
		c.cached--
	}
	c.rows[i] = r
	c.pushFront(i)
	c.cached++
	return r
}

func (c *kernelCache) unlink(i int) {
	if c.prev[i] >= 0 {
		c.next[c.prev[i]] = c.next[i]
	} else {
		c.head = c.next[i]
	}
	if c.next[i] >= 0 {
		c.prev[c.next[i]] = c.prev[i]
	} else {
		c.tail = c.prev[i]
	}
}

func (c *kernelCache) pushFront(i int) {
	c.prev[i], c.next[i] = -1, c.head
	if c.head >= 0 {
		c.prev[c.head] = i
	}
	c.head = i
	if c.tail < 0 {
		c.tail = i
	}
}

// smoResult is the solution of one binary C-SVC dual problem.
type smoResult struct {
	alpha      []float64
	rho        float64
	iterations int
	converged  bool
}

// smoTau replaces a non-positive curvature K(i,i) + K(j,j) − 2K(i,j) (a
// kernel that is not positive definite), as libsvm's TAU.
const smoTau = 1e-12

// solveSMO solves the C-SVC dual (see SVM) on the training rows rows with
// labels y (±1) by SMO with libsvm's second-order working-set selection,
// from α = 0, until the maximal violation m(α) − M(α) < tol or maxIter
// steps (≤ 0: libsvm's bound max(10⁷, 100·l)).
func solveSMO(ctx context.Context, cache *kernelCache, rows []int, y []float64, c, tol float64, maxIter int) (smoResult, error) {
	l := len(rows)
	if maxIter <= 0 {
		maxIter = max(10_000_000, 100*l)
	}
	alpha := make([]float64, l)
	// grad is ∇ of the dual objective: Qα − e.
	grad := make([]float64, l)
	qd := make([]float64, l)
	for t, r := range rows {
		grad[t] = -1
		qd[t] = cache.diag[r]
	}
	res := smoResult{alpha: alpha}
	for {
		if res.iterations >= maxIter {
			break
		}
		if res.iterations%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		// i: the maximal violator, maximising −yₜ∇ₜ over the rows that can
		// move up (yₜ = +1, αₜ < C) or down (yₜ = −1, αₜ > 0).
		gmax, i := math.Inf(-1), -1
		for t := range l {
			if y[t] > 0 {
				if alpha[t] < c && -grad[t] >= gmax {
					gmax, i = -grad[t], t
				}
			} else if alpha[t] > 0 && grad[t] >= gmax {
				gmax, i = grad[t], t
			}
		}
		if i < 0 {
			res.converged = true
			break
		}
		ki := cache.row(rows[i])
		// j: among the rows violating with i, the one whose two-variable
		// step decreases the objective most, −(gmax + yⱼ∇ⱼ... )²/curvature;
		// gmax2 tracks M(α) for the stopping test.
		gmax2, j, objMin := math.Inf(-1), -1, math.Inf(1)
		for t := range l {
			var gradDiff float64
			if y[t] > 0 {
				if alpha[t] <= 0 {
					continue
				}
				gmax2 = max(gmax2, grad[t])
				gradDiff = gmax + grad[t]
			} else {
				if alpha[t] >= c {
					continue
				}
				gmax2 = max(gmax2, -grad[t])
				gradDiff = gmax - grad[t]
			}
			if gradDiff <= 0 {
				continue
			}
			quad := qd[i] + qd[t] - 2*ki[rows[t]]
			if quad <= 0 {
				quad = smoTau
			}
			if obj := -gradDiff * gradDiff / quad; obj <= objMin {
				j, objMin = t, obj
			}
		}
		if gmax+gmax2 < tol || j < 0 {
			res.converged = true
			break
		}
		kj := cache.row(rows[j])
		res.iterations++

		// Solve the two-variable subproblem analytically and clip to the box.
		oldI, oldJ := alpha[i], alpha[j]
		quad := qd[i] + qd[j] - 2*ki[rows[j]]
		if quad <= 0 {
			quad = smoTau
		}
		if y[i] != y[j] {
			delta := (-grad[i] - grad[j]) / quad
			diff := alpha[i] - alpha[j]
			alpha[i] += delta
			alpha[j] += delta
			if diff > 0 {
				if alpha[j] < 0 {
					alpha[j], alpha[i] = 0, diff
				}
			} else if alpha[i] < 0 {
				alpha[i], alpha[j] = 0, -diff
			}
			if diff > 0 { // C_i − C_j = 0
				if alpha[i] > c {
					alpha[i], alpha[j] = c, c-diff
				}
			} else if alpha[j] > c {
				alpha[j], alpha[i] = c, c+diff
			}
		} else {
			delta := (grad[i] - grad[j]) / quad
			sum := alpha[i] + alpha[j]
			alpha[i] -= delta
			alpha[j] += delta
			if sum > c {
				if alpha[i] > c {
					alpha[i], alpha[j] = c, sum-c
				}
			} else if alpha[j] < 0 {
				alpha[j], alpha[i] = 0, sum
			}
			if sum > c {
				if alpha[j] > c {
					alpha[j], alpha[i] = c, sum-c
				}
			} else if alpha[i] < 0 {
				alpha[i], alpha[j] = 0, sum
			}
		}

		// ∇ₜ += Qₜᵢ·Δαᵢ + Qₜⱼ·Δαⱼ, with Qₜᵢ = yₜyᵢK(t, i).
		di := y[i] * (alpha[i] - oldI)
		dj := y[j] * (alpha[j] - oldJ)
		for t, r := range rows {
			grad[t] += y[t] * (di*ki[r] + dj*kj[r])
		}
	}
	res.rho = smoRho(alpha, grad, y, c)
	return res, nil
}

// smoRho returns ρ (the decision function's offset) as libsvm: the mean of
// yₜ∇ₜ over the free rows (0 < αₜ < C), or if there are none the midpoint
// of the interval that the KKT conditions allow.
func smoRho(alpha, grad, y []float64, c float64) float64 {
	ub, lb := math.Inf(1), math.Inf(-1)
	sumFree, nFree := 0.0, 0
	for t, a := range alpha {
		yg := y[t] * grad[t]
		switch {
		case a >= c:
			if y[t] < 0 {
				ub = min(ub, yg)
			} else {
				lb = max(lb, yg)
			}
		case a <= 0:
			if y[t] > 0 {
				ub = min(ub, yg)
			} else {
				lb = max(lb, yg)
			}
		default:
			nFree++
			sumFree += yg
		}
	}
	if nFree > 0 {
		return sumFree / float64(nFree)
	}
	return (ub + lb) / 2
}

package ml

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
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
// analytically, until the maximal KKT violation m(α) − M(α) is below Tol,
// with libsvm's shrinking (rows stuck at a bound leave the active set).
// Kernel rows are computed on demand: if the whole n×n kernel matrix fits
// in half of CacheSize megabytes its rows are computed once and shared by
// all the problems of the fit; otherwise each problem keeps a
// least-recently-used cache of its rows over its active set (see
// qMatrix), the budget divided between the problems running at once.
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
// one distribution (see couplePairwise). The predicted class is the
// one-vs-one vote, as SVC.predict (libsvm: the class with most votes, the
// first on ties): the Platt probabilities are fitted separately and their
// argmax can disagree with the vote for rows near a boundary (it does for
// one iris test row, costing 3% accuracy), so when it does the
// probabilities are shifted minimally towards the voted class to make it
// the most probable (see favourVote).
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
			return fmt.Errorf("fit svm: %s has class %v outside 0..%d", RowName(i), v, nClasses-1)
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
	// The budget, in float64 entries, goes to the whole kernel matrix,
	// shared by all problems, if it fits in half of it, and otherwise
	// (or what remains) to the row caches of the problems that run at
	// the same time.
	budget := int(m.CacheSize * (1 << 20) / 8)
	share := n*n <= budget/2
	data := newKernelData(xs, kern, share)
	if share {
		budget -= n * n
	}

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
	taskBudget := budget / max(min(runtime.GOMAXPROCS(0), len(tasks)), 1)
	errs := make([]error, len(tasks))
	parallelFor(len(tasks), func(t int) {
		if ctx.Err() != nil {
			errs[t] = ctx.Err()
			return
		}
		errs[t] = m.runTask(ctx, data, taskBudget, pairs[tasks[t].pair], tasks[t].fold)
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
func (m *SVM) runTask(ctx context.Context, data *kernelData, budget int, pair *svmPair, fold int) error {
	l := len(pair.rows)
	if fold == plattFolds {
		res, err := solveSMO(ctx, newQMatrix(data, pair.rows, budget), pair.y, m.C, m.Tol, m.MaxIter)
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
	res, err := solveSMO(ctx, newQMatrix(data, rows, budget), y, m.C, m.Tol, m.MaxIter)
	if err != nil {
		return err
	}
	// f(x) = Σ yₖαₖK(xₖ, x) − ρ on the held-out rows.
	heldRows := make([]int, len(heldOut))
	for h, i := range heldOut {
		heldRows[h] = pair.rows[i]
		pair.dec[i] = -res.rho
	}
	kv := make([]float64, len(heldOut))
	for k, a := range res.alpha {
		if a == 0 {
			continue
		}
		data.entries(rows[k], heldRows, kv)
		coef := y[k] * a
		for h, i := range heldOut {
			pair.dec[i] += coef * kv[h]
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
	m.forEachBlock(x, func(lo int, dec *mat.Dense) {
		k := m.Classes
		r := make([][]float64, k)
		q := make([][]float64, k)
		for c := range k {
			r[c] = make([]float64, k)
			q[c] = make([]float64, k)
		}
		qp := make([]float64, k)
		votes := m.votes(dec)
		n, _ := dec.Dims()
		for i := range n {
			p := dst.RawRowView(lo + i)
			m.probabilities(dec.RawRowView(i), r, q, qp, p)
			favourVote(p, votes[i])
		}
	})
}

// favourVote makes class v the single most probable one in the
// distribution p, if it is not already, by the smallest shift of mass
// towards it: p ← (1−λ)·p + λ·e_v, which keeps the order of the other
// classes and the sum. With d = max_{c≠v} p_c − p_v ≥ 0, λ = d′/(1+d′) for
// d′ = d + 1e-9 leaves p_v ahead by about 1e-9.
func favourVote(p []float64, v int) {
	top := 0.0
	for c, pc := range p {
		if c != v {
			top = max(top, pc)
		}
	}
	if p[v] > top {
		return
	}
	d := top - p[v] + 1e-9
	lambda := d / (1 + d)
	for c := range p {
		p[c] *= 1 - lambda
	}
	p[v] += lambda
}

// svmPredictBlock is the number of rows whose kernel values against all
// support vectors are computed at once (bounding the memory of Predict).
const svmPredictBlock = 256

// forEachBlock calls fn with the decision values (see decisionValues) of
// consecutive blocks of rows of x, starting at row lo, in parallel.
func (m *SVM) forEachBlock(x *mat.Dense, fn func(lo int, dec *mat.Dense)) {
	n, p := x.Dims()
	if n == 0 {
		return
	}
	sup := m.support(p)
	blocks := (n + svmPredictBlock - 1) / svmPredictBlock
	parallelFor(blocks, func(b int) {
		lo, hi := b*svmPredictBlock, min((b+1)*svmPredictBlock, n)
		fn(lo, sup.decisionValues(x.Slice(lo, hi, 0, p).(*mat.Dense)))
	})
}

// svmSupport is the support-vector state of a fitted SVM arranged for
// computing decision values.
type svmSupport struct {
	m     *SVM
	kern  svmKernel
	sv    *mat.Dense // support vectors, one per row
	norm  []float64  // their squared norms
	start []int      // class c's support vectors are rows start[c]..start[c+1]−1
}

func (m *SVM) support(p int) *svmSupport {
	nSV := len(m.SupportVectors)
	s := &svmSupport{
		m:     m,
		kern:  svmKernel{kind: m.Kernel, gamma: m.KernelGamma, coef0: m.Coef0, degree: m.Degree},
		sv:    mat.NewDense(nSV, p, nil),
		norm:  make([]float64, nSV),
		start: make([]int, m.Classes+1),
	}
	for t, v := range m.SupportVectors {
		s.sv.SetRow(t, v)
		s.norm[t] = floats.Dot(v, v)
	}
	for c, cnt := range m.SupportCounts {
		s.start[c+1] = s.start[c] + cnt
	}
	return s
}

// decisionValues returns the n×(K(K−1)/2) decision values of the
// one-vs-one machines for the rows of x.
func (s *svmSupport) decisionValues(x *mat.Dense) *mat.Dense {
	m := s.m
	n, _ := x.Dims()
	nSV, _ := s.sv.Dims()
	dec := mat.NewDense(n, m.Classes*(m.Classes-1)/2, nil)
	// K(x, sv) for all rows and support vectors at once: x·svᵀ, then the
	// kernel applied entrywise.
	kx := mat.NewDense(n, nSV, nil)
	kx.Mul(x, s.sv.T())
	for i := range n {
		xi := x.RawRowView(i)
		ki := kx.RawRowView(i)
		s.kern.transform(ki, floats.Dot(xi, xi), s.norm)
		d := dec.RawRowView(i)
		q := 0
		for a := range m.Classes {
			for b := a + 1; b < m.Classes; b++ {
				v := m.Intercept[q]
				ca, cb := m.DualCoef[b-1], m.DualCoef[a]
				for t := s.start[a]; t < s.start[a+1]; t++ {
					v += ca[t] * ki[t]
				}
				for t := s.start[b]; t < s.start[b+1]; t++ {
					v += cb[t] * ki[t]
				}
				d[q] = v
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
			row[j] = intPower(k.gamma*d+k.coef0, k.degree)
		}
	case kernelSigmoid:
		for j, d := range row {
			row[j] = math.Tanh(k.gamma*d + k.coef0)
		}
	}
}

// intPower returns b^e for e ≥ 0 by repeated squaring.
func intPower(b float64, e int) float64 {
	r := 1.0
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
	}
	return r
}

// value returns K(x, z) from xᵀz and the squared norms.
func (k svmKernel) value(xz, xNorm, zNorm float64) float64 {
	switch k.kind {
	case kernelRBF:
		return math.Exp(-k.gamma * max(xNorm+zNorm-2*xz, 0))
	case kernelPoly:
		return intPower(k.gamma*xz+k.coef0, k.degree)
	case kernelSigmoid:
		return math.Tanh(k.gamma*xz + k.coef0)
	}
	return xz
}

// kernelData is the class-sorted training design of a fit with its
// kernel. When the whole kernel matrix fits in the cache budget, its rows
// are computed once on first use and shared by all the SMO problems of the
// fit (which overlap: the machines of classes (a, b) and (a, c), and a
// machine and its cross-validation folds); it is safe for concurrent use.
type kernelData struct {
	x    *mat.Dense
	kern svmKernel
	norm []float64 // ‖xᵢ‖²
	diag []float64 // K(xᵢ, xᵢ)

	sharedMu sync.Mutex
	shared   [][]float64 // nil if the matrix does not fit; else rows, nil until computed
}

func newKernelData(x *mat.Dense, kern svmKernel, share bool) *kernelData {
	n, _ := x.Dims()
	d := &kernelData{x: x, kern: kern, norm: make([]float64, n), diag: make([]float64, n)}
	for i := range n {
		xi := x.RawRowView(i)
		d.norm[i] = floats.Dot(xi, xi)
		d.diag[i] = kern.value(d.norm[i], d.norm[i], d.norm[i])
	}
	if share {
		d.shared = make([][]float64, n)
	}
	return d
}

// sharedRow returns the whole kernel row K(xᵢ, ·), computing it on first
// use. Rows are never modified once stored.
func (d *kernelData) sharedRow(i int) []float64 {
	d.sharedMu.Lock()
	r := d.shared[i]
	d.sharedMu.Unlock()
	if r != nil {
		return r
	}
	n, p := d.x.Dims()
	r = make([]float64, n)
	blas64.Gemv(blas.NoTrans, 1, d.x.RawMatrix(), blas64.Vector{N: p, Inc: 1, Data: d.x.RawRowView(i)}, 0, blas64.Vector{N: n, Inc: 1, Data: r})
	d.kern.transform(r, d.norm[i], d.norm)
	d.sharedMu.Lock()
	defer d.sharedMu.Unlock()
	if prior := d.shared[i]; prior != nil { // computed concurrently by another caller
		return prior
	}
	d.shared[i] = r
	return r
}

// entries sets dst[a] = K(x_r, x_{cols[a]}).
func (d *kernelData) entries(r int, cols []int, dst []float64) {
	if d.shared != nil {
		row := d.sharedRow(r)
		for a, c := range cols {
			dst[a] = row[c]
		}
		return
	}
	xr, nr := d.x.RawRowView(r), d.norm[r]
	for a, c := range cols {
		dst[a] = d.kern.value(floats.Dot(xr, d.x.RawRowView(c)), nr, d.norm[c])
	}
}

// qMatrix holds the kernel rows of one SMO problem, over its positions
// 0..l−1 (training rows rows[·]), and the problem's active set (the
// positions not shrunk, ascending), as libsvm's Q matrix and Cache.
//
// If the fit shares the whole kernel matrix, rows are read from it.
// Otherwise rows are computed on demand over the active positions only,
// stored compactly (entry a is for active[a]) or in full (entry t for
// position t), and the least recently used ones are evicted to keep at
// most budget entries; when the active set shrinks, the cached compact
// rows are compacted further, so that more of them fit.
//
// Rows are handed out with an index: the value for active position
// active[a] (compactRow) or position t (fullRow) is row[index[a or t]].
type qMatrix struct {
	data       *kernelData
	rows       []int
	active     []int
	isActive   []bool
	activeRows []int // rows[active[a]]
	iota       []int // 0, 1, …, l−1

	budget, used int
	vals         [][]float64 // by position: nil if not cached
	full         []bool
	// LRU list through prev and next (−1 = none), most recent at head.
	prev, next []int
	head, tail int
}

func newQMatrix(data *kernelData, rows []int, budget int) *qMatrix {
	l := len(rows)
	q := &qMatrix{data: data, rows: rows, active: make([]int, l), isActive: make([]bool, l),
		activeRows: append([]int(nil), rows...), iota: make([]int, l),
		budget: max(budget, 4*l), // room for the rows of a step
		vals:   make([][]float64, l), full: make([]bool, l),
		prev: make([]int, l), next: make([]int, l), head: -1, tail: -1}
	for t := range l {
		q.active[t] = t
		q.isActive[t] = true
		q.iota[t] = t
	}
	return q
}

// compactRow returns K(x_t, x_u) for the active positions u = active[a]
// as row[index[a]].
func (q *qMatrix) compactRow(t int) (row []float64, index []int) {
	if q.data.shared != nil {
		return q.data.sharedRow(q.rows[t]), q.activeRows
	}
	if v := q.vals[t]; v != nil {
		q.touch(t)
		if q.full[t] {
			return v, q.active
		}
		return v, q.iota
	}
	v := make([]float64, len(q.active))
	q.data.entries(q.rows[t], q.activeRows, v)
	q.store(t, v, len(q.active) == len(q.rows))
	return v, q.iota
}

// fullRow returns K(x_t, x_u) for all positions u as row[index[u]].
func (q *qMatrix) fullRow(t int) (row []float64, index []int) {
	if q.data.shared != nil {
		return q.data.sharedRow(q.rows[t]), q.rows
	}
	if v := q.vals[t]; v != nil && q.full[t] {
		q.touch(t)
		return v, q.iota
	}
	v := make([]float64, len(q.rows))
	if c := q.vals[t]; c != nil {
		// Extend the cached compact row: compute the inactive positions only.
		var missing, missingRows []int
		for u, r := range q.rows {
			if !q.isActive[u] {
				missing = append(missing, u)
				missingRows = append(missingRows, r)
			}
		}
		for a, u := range q.active {
			v[u] = c[a]
		}
		w := make([]float64, len(missing))
		q.data.entries(q.rows[t], missingRows, w)
		for b, u := range missing {
			v[u] = w[b]
		}
	} else {
		q.data.entries(q.rows[t], q.rows, v)
	}
	q.store(t, v, true)
	return v, q.iota
}

func (q *qMatrix) store(t int, v []float64, full bool) {
	if q.vals[t] != nil {
		q.drop(t)
	}
	for q.used+len(v) > q.budget && q.tail >= 0 {
		q.drop(q.tail)
	}
	q.vals[t], q.full[t] = v, full
	q.used += len(v)
	q.pushFront(t)
}

func (q *qMatrix) drop(t int) {
	q.unlink(t)
	q.used -= len(q.vals[t])
	q.vals[t] = nil
}

func (q *qMatrix) touch(t int) {
	if q.head != t {
		q.unlink(t)
		q.pushFront(t)
	}
}

func (q *qMatrix) unlink(t int) {
	if q.prev[t] >= 0 {
		q.next[q.prev[t]] = q.next[t]
	} else {
		q.head = q.next[t]
	}
	if q.next[t] >= 0 {
		q.prev[q.next[t]] = q.prev[t]
	} else {
		q.tail = q.prev[t]
	}
}

func (q *qMatrix) pushFront(t int) {
	q.prev[t], q.next[t] = -1, q.head
	if q.head >= 0 {
		q.prev[q.head] = t
	}
	q.head = t
	if q.tail < 0 {
		q.tail = t
	}
}

// shrink removes the positions for which remove is true from the active
// set and compacts the cached compact rows accordingly.
func (q *qMatrix) shrink(remove func(t int) bool) {
	old := q.active
	var kept []int
	for _, t := range old {
		if remove(t) {
			q.isActive[t] = false
		} else {
			kept = append(kept, t)
		}
	}
	if len(kept) == len(old) {
		return
	}
	for t := q.head; t >= 0; t = q.next[t] {
		if q.full[t] {
			continue
		}
		v := q.vals[t]
		w := make([]float64, 0, len(kept))
		for a, u := range old {
			if q.isActive[u] {
				w = append(w, v[a])
			}
		}
		q.used += len(w) - len(v)
		q.vals[t] = w
	}
	q.active = kept
	q.activeRows = q.activeRows[:0]
	for _, t := range kept {
		q.activeRows = append(q.activeRows, q.rows[t])
	}
}

// unshrink makes every position active again, dropping the compact rows
// (which lack the returning positions).
func (q *qMatrix) unshrink() {
	for t := q.head; t >= 0; {
		next := q.next[t]
		if !q.full[t] {
			q.drop(t)
		}
		t = next
	}
	q.active = q.active[:0]
	for t := range q.rows {
		q.active = append(q.active, t)
		q.isActive[t] = true
	}
	q.activeRows = append(q.activeRows[:0], q.rows...)
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

// smoSolver solves one C-SVC dual problem (see SVM) by SMO as libsvm's
// Solver: second-order working-set selection and shrinking, on the
// positions of q with labels y (±1).
type smoSolver struct {
	q   *qMatrix
	y   []float64
	c   float64
	tol float64

	alpha []float64
	// grad is the gradient Qα − e of the dual objective (kept up to date
	// on the active positions only) and gradBar its part due to the
	// positions at the upper bound, C·Σ_{αⱼ=C} Q·ⱼ, from which the
	// gradient of shrunk positions is reconstructed.
	grad, gradBar []float64
	qd            []float64 // K(xₜ, xₜ)
	unshrunk      bool      // whether the one-time unshrinking near the optimum happened
}

// solveSMO solves the C-SVC dual on the positions of q with labels y from
// α = 0 until the maximal violation m(α) − M(α) < tol or maxIter steps
// (≤ 0: libsvm's bound max(10⁷, 100·l)).
func solveSMO(ctx context.Context, q *qMatrix, y []float64, c, tol float64, maxIter int) (smoResult, error) {
	l := len(q.rows)
	if maxIter <= 0 {
		maxIter = max(10_000_000, 100*l)
	}
	s := &smoSolver{q: q, y: y, c: c, tol: tol,
		alpha: make([]float64, l), grad: make([]float64, l), gradBar: make([]float64, l),
		qd: make([]float64, l)}
	for t, r := range q.rows {
		s.grad[t] = -1
		s.qd[t] = q.data.diag[r]
	}
	res := smoResult{alpha: s.alpha}
	// Shrink every min(l, 1000) steps, as libsvm.
	counter := min(l, 1000) + 1
	for res.iterations < maxIter {
		if res.iterations%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		if counter--; counter == 0 {
			counter = min(l, 1000)
			s.shrink()
		}
		i, j, kij, ok := s.selectWorkingSet()
		if !ok {
			// Optimal on the active positions: check all of them.
			s.reconstructGradient()
			if i, j, kij, ok = s.selectWorkingSet(); !ok {
				res.converged = true
				break
			}
			counter = 1 // shrink again at the next step
		}
		res.iterations++
		s.step(i, j, kij)
	}
	s.reconstructGradient()
	res.rho = smoRho(s.alpha, s.grad, y, c)
	return res, nil
}

// selectWorkingSet returns the pair (i, j) to optimise, by libsvm's WSS3
// over the active positions, and K(xᵢ, xⱼ); ok is false
// if the active positions satisfy the optimality conditions to within tol.
func (s *smoSolver) selectWorkingSet() (i, j int, kij float64, ok bool) {
	alpha, grad, y, c := s.alpha, s.grad, s.y, s.c
	active := s.q.active
	// i: the maximal violator, maximising −yₜ∇ₜ over the positions that
	// can move up (yₜ = +1, αₜ < C) or down (yₜ = −1, αₜ > 0).
	gmax := math.Inf(-1)
	i = -1
	for _, t := range active {
		if y[t] > 0 {
			if alpha[t] < c && -grad[t] >= gmax {
				gmax, i = -grad[t], t
			}
		} else if alpha[t] > 0 && grad[t] >= gmax {
			gmax, i = grad[t], t
		}
	}
	if i < 0 {
		return 0, 0, 0, false
	}
	ki, idx := s.q.compactRow(i)
	// j: among the positions violating together with i, the one whose
	// two-variable step decreases the objective most, by −b²/a with b the
	// violation and a = K(i,i) + K(j,j) − 2K(i,j) the curvature; gmax2
	// tracks −M(α) for the stopping test.
	gmax2, objMin := math.Inf(-1), math.Inf(1)
	j = -1
	for a, t := range active {
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
		kit := ki[idx[a]]
		quad := s.qd[i] + s.qd[t] - 2*kit
		if quad <= 0 {
			quad = smoTau
		}
		if obj := -gradDiff * gradDiff / quad; obj <= objMin {
			j, kij, objMin = t, kit, obj
		}
	}
	if gmax+gmax2 < s.tol || j < 0 {
		return 0, 0, 0, false
	}
	return i, j, kij, true
}

// step solves the two-variable subproblem in (αᵢ, αⱼ) analytically, clips
// it to the box and updates the gradients. kij = K(xᵢ, xⱼ).
func (s *smoSolver) step(i, j int, kij float64) {
	alpha, grad, y, c := s.alpha, s.grad, s.y, s.c
	oldI, oldJ := alpha[i], alpha[j]
	quad := s.qd[i] + s.qd[j] - 2*kij
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
		if diff > 0 { // libsvm's diff > C_i − C_j, with equal bounds
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

	// ∇ₜ += Qₜᵢ·Δαᵢ + Qₜⱼ·Δαⱼ on the active positions, Qₜᵢ = yₜyᵢK(t, i).
	di := y[i] * (alpha[i] - oldI)
	dj := y[j] * (alpha[j] - oldJ)
	// Fetch j's row first: fetching i's (cached by the selection) cannot
	// then evict it.
	kj, idxJ := s.q.compactRow(j)
	ki, idxI := s.q.compactRow(i)
	for a, t := range s.q.active {
		grad[t] += y[t] * (di*ki[idxI[a]] + dj*kj[idxJ[a]])
	}
	// Keep gradBar = C·Σ_{αₜ=C} Q·ₜ when i or j reach or leave the bound.
	for _, u := range [2]struct {
		t              int
		wasUp, isUpper bool
	}{{i, oldI >= c, alpha[i] >= c}, {j, oldJ >= c, alpha[j] >= c}} {
		if u.wasUp == u.isUpper {
			continue
		}
		f := c * y[u.t]
		if u.wasUp {
			f = -f
		}
		k, idx := s.q.fullRow(u.t)
		for t, v := range idx {
			s.gradBar[t] += f * y[t] * k[v]
		}
	}
}

// shrink removes from the active set the positions at a bound whose
// gradient says they will stay there (libsvm's do_shrinking); the first
// time the violation falls below 10·tol, it first restores all positions
// with their exact gradients.
func (s *smoSolver) shrink() {
	alpha, grad, y, c := s.alpha, s.grad, s.y, s.c
	// gmax1 = m(α) = max −yₜ∇ₜ over I_up, gmax2 = −M(α) = max yₜ∇ₜ over I_low.
	gmax1, gmax2 := math.Inf(-1), math.Inf(-1)
	for _, t := range s.q.active {
		up, low := alpha[t] < c, alpha[t] > 0 // αₜ can increase, decrease
		if y[t] < 0 {
			up, low = low, up
		}
		if up {
			gmax1 = max(gmax1, -y[t]*grad[t])
		}
		if low {
			gmax2 = max(gmax2, y[t]*grad[t])
		}
	}
	if !s.unshrunk && gmax1+gmax2 <= 10*s.tol {
		s.unshrunk = true
		s.reconstructGradient()
	}
	s.q.shrink(func(t int) bool {
		switch {
		case alpha[t] >= c:
			if y[t] > 0 {
				return -grad[t] > gmax1
			}
			return -grad[t] > gmax2
		case alpha[t] <= 0:
			if y[t] > 0 {
				return grad[t] > gmax2
			}
			return grad[t] > gmax1
		}
		return false
	})
}

// reconstructGradient recomputes the gradient of the shrunk positions,
// ∇ₜ = gradBarₜ − 1 + Σ_{free j} αⱼQₜⱼ, and makes all positions active
// again.
func (s *smoSolver) reconstructGradient() {
	q := s.q
	l := len(q.rows)
	if len(q.active) == l {
		return
	}
	var inactive []int
	for t := range l {
		if !q.isActive[t] {
			inactive = append(inactive, t)
			s.grad[t] = s.gradBar[t] - 1
		}
	}
	// Free positions are never shrunk, so they are all active.
	var free []int
	for _, j := range q.active {
		if a := s.alpha[j]; a > 0 && a < s.c {
			free = append(free, j)
		}
	}
	q.unshrink()
	for _, j := range free {
		kj, idx := q.fullRow(j)
		f := s.alpha[j] * s.y[j]
		for _, t := range inactive {
			s.grad[t] += f * s.y[t] * kj[idx[t]]
		}
	}
}

// smoRho returns ρ (the decision function's offset) as libsvm: the mean of
// yₜ∇ₜ over the free positions (0 < αₜ < C), or if there are none the
// midpoint of the interval that the KKT conditions allow.
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

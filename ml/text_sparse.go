package ml

import "gonum.org/v1/gonum/mat"

// sparseRows holds the non-zero entries of a design matrix row by row
// (compressed sparse rows): row i's entries are idx[ptr[i]:ptr[i+1]] (the
// columns, ascending) and val[ptr[i]:ptr[i+1]]. TF-IDF columns are mostly
// zeros (a document holds a few dozen of thousands of terms), and the
// linear estimators' loops over rows run on these entries when they are
// few. Visiting the non-zeros in column order adds the same terms in the
// same order as the dense loop (the zeros add nothing), so results are
// bit-identical to it.
type sparseRows struct {
	ptr []int
	idx []int32
	val []float64
}

// maxSparseDensity is the largest share of non-zero cells at which
// sparseRowsOf builds the sparse form: beyond it the dense loops, which
// need no indirection, are as fast.
const maxSparseDensity = 0.25

// sparseRowsOf returns the non-zero entries of x, or nil if more than
// maxSparseDensity of its cells are non-zero (or x has no cells).
func sparseRowsOf(x *mat.Dense) *sparseRows {
	n, p := x.Dims()
	if n == 0 || p == 0 {
		return nil
	}
	raw := x.RawMatrix()
	limit := int(maxSparseDensity * float64(n) * float64(p))
	nnz := 0
	for i := range n {
		for _, v := range raw.Data[i*raw.Stride : i*raw.Stride+p] {
			if v != 0 {
				nnz++
			}
		}
		if nnz > limit {
			return nil
		}
	}
	s := &sparseRows{ptr: make([]int, n+1), idx: make([]int32, 0, nnz), val: make([]float64, 0, nnz)}
	for i := range n {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+p] {
			if v != 0 {
				s.idx = append(s.idx, int32(j))
				s.val = append(s.val, v)
			}
		}
		s.ptr[i+1] = len(s.idx)
	}
	return s
}

// row returns the columns and values of row i's non-zero entries.
func (s *sparseRows) row(i int) ([]int32, []float64) {
	lo, hi := s.ptr[i], s.ptr[i+1]
	return s.idx[lo:hi], s.val[lo:hi]
}

// nonZeros appends to idx the columns of the non-zero entries of row and
// returns it, or nil with ok false if more than maxSparseDensity of them
// are non-zero, in which case a dense loop is as fast.
func nonZeros(idx []int32, row []float64) (_ []int32, ok bool) {
	idx = idx[:0]
	limit := int(maxSparseDensity * float64(len(row)))
	for j, v := range row {
		if v != 0 {
			if len(idx) == limit {
				return idx, false
			}
			idx = append(idx, int32(j))
		}
	}
	return idx, true
}

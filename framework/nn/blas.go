package nn

import (
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Backend names the matrix-multiply implementation in use: "go-avx512" or
// "go-avx2" (this package's packed kernel, the default where the CPU has AVX2
// and FMA),
// "gonum" (pure Go fallback) or "openblas" (cgo, with the openblas build
// tag).
func Backend() string {
	switch {
	case usePacked && gemmNR == 32:
		return "go-avx512"
	case usePacked:
		return "go-avx2"
	}
	return backend
}

// usePacked selects sgemmPacked over the blas32 implementation.
var usePacked = packedGemm && backend != "openblas"

// Mat is a row-major matrix view: element (i, j) is Data[i*Cols+j].
type Mat struct {
	Rows, Cols int
	Data       []float32
}

// NewMat allocates a zero rows×cols matrix.
func NewMat(rows, cols int) Mat { return Mat{rows, cols, make([]float32, rows*cols)} }

// View returns a rows×cols matrix over the first rows*cols elements of data.
func View(data []float32, rows, cols int) Mat { return Mat{rows, cols, data[:rows*cols]} }

// Row returns row i.
func (m Mat) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// productFLOPs counts the FLOPs of every matrix product (see ProductFLOPs).
var productFLOPs atomic.Int64

// ProductFLOPs returns the floating-point operations of all the matrix
// products this package has computed in this process, 2·m·n·k for an
// m×k by k×n product (../shared/bench/flops.py's convention; element-wise
// work is not counted). Its difference across a training step is the
// step's matrix work, whatever the backend: benchmarks divide it by time
// for GFLOP/s.
func ProductFLOPs() int64 { return productFLOPs.Load() }

func countProduct(m, n, k int) { productFLOPs.Add(2 * int64(m) * int64(n) * int64(k)) }

// Gemm computes c = alpha·op(a)·op(b) + beta·c, where op transposes when the
// corresponding flag is set. Shapes are checked and a mismatch panics, since
// it is a programming error, never a data error.
func Gemm(transA, transB bool, alpha float32, a, b Mat, beta float32, c Mat) {
	gemm(transA, transB, alpha, a, b, beta, c, nil)
}

// gemm is Gemm with op(B) optionally prepacked (see sgemmFused; pre is only
// ever set when usePacked).
func gemm(transA, transB bool, alpha float32, a, b Mat, beta float32, c Mat, pre []float32) {
	m, n, k, kb := opDims(transA, transB, a, b)
	if k != kb || c.Rows != m || c.Cols != n {
		panic("nn: Gemm shape mismatch")
	}
	countProduct(m, n, k)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(beta, c.Data[:m*n])
		return
	}
	if usePacked {
		sgemmFused(transA, transB, m, n, k, alpha, a.Data, max(a.Cols, 1), b.Data, max(b.Cols, 1), beta, c.Data, max(c.Cols, 1), nil, false, nil, pre)
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	lda, ldb, ldc := max(a.Cols, 1), max(b.Cols, 1), max(c.Cols, 1)
	if backend != "gonum" {
		impl.Sgemm(ta, tb, m, n, k, alpha, a.Data, lda, b.Data, ldb, beta, c.Data, ldc)
		return
	}
	// gonum's Sgemm starts goroutines, and allocates, for every product of
	// at least 4 of its 64×64 blocks; pieces of C of 3 blocks take its serial
	// path, so a training step allocates nothing. Products are then
	// single-threaded, like the packed kernels' (experiments run cells in
	// parallel instead): measured with GOMAXPROCS=1, bc_discrete steps went
	// from 102 to 112 a second and from 200 allocations to none.
	const rows, cols = 192, 64
	for i0 := 0; i0 < m; i0 += rows {
		ai := i0 * lda // op(A)'s row i0
		if transA {
			ai = i0
		}
		for j0 := 0; j0 < n; j0 += cols {
			bj := j0 // op(B)'s column j0
			if transB {
				bj = j0 * ldb
			}
			impl.Sgemm(ta, tb, min(rows, m-i0), min(cols, n-j0), k, alpha, a.Data[ai:], lda, b.Data[bj:], ldb, beta, c.Data[i0*ldc+j0:], ldc)
		}
	}
}

// GemmBias computes c = act(alpha·op(a)·op(b) + bias) with bias (one value
// per column of c) added to every row and act = ReLU when relu is set: a
// Linear layer's forward pass in one call. The packed backend applies bias
// and ReLU in the micro-kernel's epilogue; the BLAS backends copy the bias
// into c first and apply ReLU afterwards.
func GemmBias(transA, transB bool, alpha float32, a, b Mat, bias []float32, relu bool, c Mat) {
	gemmBias(transA, transB, alpha, a, b, bias, relu, c, nil)
}

// gemmBias is GemmBias with op(B) optionally prepacked (see sgemmFused; pre
// is only ever set when usePacked).
func gemmBias(transA, transB bool, alpha float32, a, b Mat, bias []float32, relu bool, c Mat, pre []float32) {
	m, n, k, kb := opDims(transA, transB, a, b)
	if k != kb || c.Rows != m || c.Cols != n || len(bias) != n {
		panic("nn: GemmBias shape mismatch")
	}
	if usePacked && m > 0 && n > 0 && k > 0 {
		countProduct(m, n, k)
		sgemmFused(transA, transB, m, n, k, alpha, a.Data, max(a.Cols, 1), b.Data, max(b.Cols, 1), 0, c.Data, max(c.Cols, 1), bias, relu, nil, pre)
		return
	}
	for i := range m {
		copy(c.Data[i*n:(i+1)*n], bias)
	}
	Gemm(transA, transB, alpha, a, b, 1, c)
	if relu {
		reluKernel(c.Data[:m*n])
	}
}

// gemmMasked computes c = (op(a)·op(b)) ⊙ [mask > 0] with mask shaped as
// c: an input gradient through a Linear layer whose input is a ReLU output,
// with ReLU′ applied in the AVX-512 kernel's epilogue, or by a pass over c
// on the other backends. A non-nil pre is op(B) prepacked (usePacked only).
func gemmMasked(transA, transB bool, a, b, mask, c Mat, pre []float32) {
	m, n, k, kb := opDims(transA, transB, a, b)
	if k != kb || c.Rows != m || c.Cols != n || mask.Rows != m || mask.Cols != n {
		panic("nn: gemmMasked shape mismatch")
	}
	if usePacked && gemmNR == 32 && m > 0 && n > 0 && k > 0 {
		countProduct(m, n, k)
		sgemmFused(transA, transB, m, n, k, 1, a.Data, max(a.Cols, 1), b.Data, max(b.Cols, 1), 0, c.Data, max(c.Cols, 1), nil, false, mask.Data, pre)
		return
	}
	gemm(transA, transB, 1, a, b, 0, c, pre)
	reluBackKernel(c.Data[:m*n], mask.Data[:m*n])
}

// opDims returns op(a)'s rows m and columns k and op(b)'s rows kb and
// columns n.
func opDims(transA, transB bool, a, b Mat) (m, n, k, kb int) {
	m, k = a.Rows, a.Cols
	if transA {
		m, k = a.Cols, a.Rows
	}
	kb, n = b.Rows, b.Cols
	if transB {
		kb, n = b.Cols, b.Rows
	}
	return m, n, k, kb
}

func scale(s float32, x []float32) {
	if s == 0 {
		clear(x)
		return
	}
	for i := range x {
		x[i] *= s
	}
}

var impl blas.Float32 = blas32.Implementation()

// Grow returns buf resized to n elements, reallocating only when its capacity
// is too small (so steady-state calls do not allocate).
func Grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

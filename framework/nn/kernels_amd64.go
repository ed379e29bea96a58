//go:build !purego

package nn

import (
	"math"
	"os"

	"golang.org/x/sys/cpu"
)

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func adamAVX2(w, gr, m, v *float32, n int, k *adamConsts)

//go:noescape
func reluAVX2(y *float32, n int)

//go:noescape
func reluBackAVX2(dy, y *float32, n int)

//go:noescape
func addToAVX2(dst, src *float32, n int)

func adamKernel(w, g, m, v []float32, k *adamConsts) {
	n := len(w)
	if !useAVX2 || n < 8 {
		adamGo(w, g, m, v, k)
		return
	}
	_, _, _ = g[n-1], m[n-1], v[n-1]
	b := n &^ 7
	adamAVX2(&w[0], &g[0], &m[0], &v[0], b, k)
	adamGo(w[b:], g[b:n], m[b:n], v[b:n], k)
}

func reluKernel(y []float32) {
	n := len(y)
	if !useAVX2 || n < 8 {
		reluGo(y)
		return
	}
	b := n &^ 7
	reluAVX2(&y[0], b)
	reluGo(y[b:])
}

func reluBackKernel(dy, y []float32) {
	n := len(dy)
	if !useAVX2 || n < 8 {
		reluBackGo(dy, y)
		return
	}
	_ = y[n-1]
	b := n &^ 7
	reluBackAVX2(&dy[0], &y[0], b)
	reluBackGo(dy[b:], y[b:n])
}

func addToKernel(dst, src []float32) {
	n := len(dst)
	if !useAVX2 || n < 8 {
		addToGo(dst, src)
		return
	}
	_ = src[n-1]
	b := n &^ 7
	addToAVX2(&dst[0], &src[0], b)
	addToGo(dst[b:], src[b:n])
}

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

func dotKernel(x, y []float32) float32 {
	n := len(x)
	b := 0
	var s float32
	if useAVX2 && n >= 32 {
		_ = y[n-1]
		b = n &^ 31
		s = dotAVX2(&x[0], &y[0], b)
	}
	return s + dotGo(x[b:], y[b:n])
}

func axpyKernel(a float32, x, y []float32) {
	n := len(y)
	b := 0
	if useAVX2 && n >= 8 {
		_ = x[n-1]
		b = n &^ 7
		axpyAVX2(a, &x[0], &y[0], b)
	}
	axpyGo(a, x[b:n], y[b:])
}

//go:noescape
func scaleMaskAVX2(dst, x *float32, n int, s float32, mask *float32)

//go:noescape
func gemvTAVX2(c, a *float32, lda int, b *float32, ldb, k, n int, alpha float32)

// scaleMaskKernel sets dst = s·x where mask > 0 and 0 elsewhere (mask nil:
// dst = s·x).
func scaleMaskKernel(dst, x []float32, s float32, mask []float32) {
	n := len(dst)
	b := 0
	if useAVX2 && n >= 8 {
		_ = x[n-1]
		var mp *float32
		if mask != nil {
			_ = mask[n-1]
			mp = &mask[0]
		}
		b = n &^ 7
		scaleMaskAVX2(&dst[0], &x[0], b, s, mp)
	}
	if mask != nil {
		mask = mask[b:n]
	}
	scaleMaskGo(dst[b:], x[b:n], s, mask)
}

// gemvTKernel adds (alpha·a[r·lda])·b[r·ldb+j] to c[j] for rows r < k in
// order, one FMA each: c += alpha·aᵀ·B for a column a of length k.
func gemvTKernel(c, a []float32, lda int, b []float32, ldb, k int, alpha float32) {
	n := len(c)
	if k == 0 {
		return
	}
	_, _ = a[(k-1)*lda], b[(k-1)*ldb+n-1]
	j := 0
	if useAVX2 && n >= 8 {
		j = n &^ 7
		gemvTAVX2(&c[0], &a[0], lda, &b[0], ldb, k, j, alpha)
	}
	if j < n {
		for kk := range k {
			axpyGo(alpha*a[kk*lda], b[kk*ldb+j:kk*ldb+n], c[j:])
		}
	}
}

//go:noescape
func dotsAVX2(dst, a, x *float32, n, k int, scale float32)

// dotsKernel sets dst[j] = scale·(a[j·k : j·k+k]·x) for j < len(dst),
// k = len(x): one query's scores against rows of cached keys.
func dotsKernel(dst, a, x []float32, scale float32) {
	n, k := len(dst), len(x)
	if !useAVX2 || k < 8 || k%8 != 0 || n == 0 {
		dotsGo(dst, a, x, scale)
		return
	}
	_ = a[n*k-1]
	dotsAVX2(&dst[0], &a[0], &x[0], n, k, scale)
}

//go:noescape
func maxAVX2(x *float32, n int) (m float32, nan bool)

// Max returns the largest element of x (len ≥ 1), NaN if any is NaN.
func Max(x []float32) float32 {
	n := len(x)
	if !useAVX2 || n < 8 {
		return maxGo(x)
	}
	b := n &^ 7
	m, nan := maxAVX2(&x[0], b)
	if nan {
		return float32(math.NaN())
	}
	if b < n {
		m = max(m, maxGo(x[b:]))
	}
	return m
}

//go:noescape
func tanhAVX2(dst, src *float32, n int)

// tanhKernel sets dst[i] = tanh(src[i]) (Tanh32's method; dst may alias src).
func tanhKernel(dst, src []float32) { unaryKernel(dst, src, tanhAVX2, Tanh32) }

// unaryKernel sets dst[i] = f(src[i]), with vec (an AVX2 kernel for a
// multiple of 8 elements) on all but the tail and scalar on the tail.
func unaryKernel(dst, src []float32, vec func(dst, src *float32, n int), scalar func(float32) float32) {
	n := len(src)
	dst = dst[:n]
	b := 0
	if useAVX2 && n >= 8 {
		b = n &^ 7
		vec(&dst[0], &src[0], b)
	}
	for i := b; i < n; i++ {
		dst[i] = scalar(src[i])
	}
}

//go:noescape
func geluAVX2(y, t, x *float32, n int)

//go:noescape
func geluBackAVX2(d, x, t *float32, n int)

// geluKernel is GELU's forward pass: t = tanh(√(2/π)·(x + 0.044715·x³)) and
// y = ½·x·(1 + t).
func geluKernel(y, t, x []float32) {
	n := len(x)
	y, t = y[:n], t[:n]
	b := 0
	if useAVX512 && n >= 16 {
		b = n &^ 15
		geluAVX512(&y[0], &t[0], &x[0], b)
	}
	if useAVX2 && n-b >= 8 {
		e := b + (n-b)&^7
		geluAVX2(&y[b], &t[b], &x[b], e-b)
		b = e
	}
	geluGo(y[b:], t[b:], x[b:])
}

//go:noescape
func geluAVX512(y, t, x *float32, n int)

// useAVX512 selects the GEMM's 12×32 AVX-512 micro-kernels and the 16-lane
// forms of kernels that give the same bits as their AVX2 forms
// (KALM_NO_AVX512 turns them all off).
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F && os.Getenv("KALM_NO_AVX512") == ""

// geluBackKernel multiplies d by GELU's derivative at x (t = tanh(u) from
// the forward pass).
func geluBackKernel(d, x, t []float32) {
	n := len(d)
	x, t = x[:n], t[:n]
	b := 0
	if useAVX2 && n >= 8 {
		b = n &^ 7
		geluBackAVX2(&d[0], &x[0], &t[0], b)
	}
	geluBackGo(d[b:], x[b:], t[b:])
}

//go:noescape
func lnRowAVX2(y, xh, x, gain, b *float32, d int, eps float32) (rstd float32)

//go:noescape
func lnBackRowAVX2(dx, dy, xh, gain, gg, bg *float32, d int, rstd float32)

// lnRow normalises one row of LayerNorm and returns its 1/√(var + eps).
func lnRow(y, xh, x, g, b []float32, eps float32) float32 {
	d := len(x)
	if useAVX2 && d >= 8 && d%8 == 0 {
		_, _, _, _ = y[d-1], xh[d-1], g[d-1], b[d-1]
		return lnRowAVX2(&y[0], &xh[0], &x[0], &g[0], &b[0], d, eps)
	}
	return lnRowGo(y, xh, x, g, b, eps)
}

// lnBackRow is LayerNorm's backward pass for one row: gain and bias
// gradients accumulate into gg and bg, dL/dx goes to dx.
func lnBackRow(dx, dy, xh, g, gg, bg []float32, rstd float32) {
	d := len(dy)
	if useAVX2 && d >= 8 && d%8 == 0 {
		_, _, _, _, _ = dx[d-1], xh[d-1], g[d-1], gg[d-1], bg[d-1]
		lnBackRowAVX2(&dx[0], &dy[0], &xh[0], &g[0], &gg[0], &bg[0], d, rstd)
		return
	}
	lnBackRowGo(dx, dy, xh, g, gg, bg, rstd)
}

//go:noescape
func expSumAVX2(dst, src *float32, n int, shift float32) float32

// expSum sets dst[i] = e^(src[i]−shift) (exp32's polynomial) and returns
// the sum of dst.
func expSum(dst, src []float32, shift float32) float32 {
	n := len(src)
	dst = dst[:n]
	b := 0
	var s float32
	if useAVX2 && n >= 8 {
		b = n &^ 7
		s = expSumAVX2(&dst[0], &src[0], b, shift)
	}
	for i := b; i < n; i++ {
		dst[i] = Exp32(src[i] - shift)
		s += dst[i]
	}
	return s
}

//go:noescape
func polyakAVX2(dst, src *float32, n int, tau float32)

func polyakKernel(d, s []float32, tau float32) {
	n := len(d)
	b := 0
	if useAVX2 && n >= 8 {
		_ = s[n-1]
		b = n &^ 7
		polyakAVX2(&d[0], &s[0], b, tau)
	}
	polyakGo(d[b:], s[b:n], tau)
}

//go:noescape
func sumRowsAVX2(dst, src *float32, rows, ld, chunks int)

// sumRows adds every row of m into dst (len(dst) = m.Cols), row by row in
// order: a bias gradient.
func sumRows(dst []float32, m Mat) {
	c := 0
	if useAVX2 && m.Rows > 0 && m.Cols >= 64 {
		_ = m.Data[(m.Rows-1)*m.Cols+m.Cols-1]
		_ = dst[m.Cols-1]
		c = m.Cols &^ 63
		sumRowsAVX2(&dst[0], &m.Data[0], m.Rows, m.Cols, c/64)
	}
	if c < m.Cols {
		for i := range m.Rows {
			addToKernel(dst[c:m.Cols], m.Data[i*m.Cols+c:(i+1)*m.Cols])
		}
	}
}

//go:noescape
func log1pAVX2(dst, src *float32, n int)

func log1pKernel(dst, src []float32) { unaryKernel(dst, src, log1pAVX2, Log1p32) }

//go:noescape
func exp32AVX2(dst, src *float32, n int)

func exp32Kernel(dst, src []float32) { unaryKernel(dst, src, exp32AVX2, Exp32) }

//go:noescape
func tanh32AVX2(dst, src *float32, n int)

func tanh32Kernel(dst, src []float32) { unaryKernel(dst, src, tanh32AVX2, Tanh32) }

//go:build !amd64 || purego

package nn

func adamKernel(w, g, m, v []float32, k *adamConsts) { adamGo(w, g, m, v, k) }
func reluKernel(y []float32)                         { reluGo(y) }
func reluBackKernel(dy, y []float32)                 { reluBackGo(dy, y) }
func addToKernel(dst, src []float32)                 { addToGo(dst, src) }
func dotKernel(x, y []float32) float32               { return dotGo(x, y) }
func axpyKernel(a float32, x, y []float32)           { axpyGo(a, x, y) }

func dotsKernel(dst, a, x []float32, scale float32) { dotsGo(dst, a, x, scale) }

func expSum(dst, src []float32, shift float32) float32 {
	var s float32
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = Exp32(v - shift)
		s += dst[i]
	}
	return s
}

func polyakKernel(d, s []float32, tau float32) { polyakGo(d, s, tau) }

func sumRows(dst []float32, m Mat) {
	for i := range m.Rows {
		addToGo(dst[:m.Cols], m.Data[i*m.Cols:(i+1)*m.Cols])
	}
}

func scaleMaskKernel(dst, x []float32, s float32, mask []float32) { scaleMaskGo(dst, x, s, mask) }

func gemvTKernel(c, a []float32, lda int, b []float32, ldb, k int, alpha float32) {
	for kk := range k {
		axpyGo(alpha*a[kk*lda], b[kk*ldb:kk*ldb+len(c)], c)
	}
}

// Max returns the largest element of x (len ≥ 1), NaN if any is NaN.
func Max(x []float32) float32 { return maxGo(x) }

func tanhKernel(dst, src []float32) { unaryGo(dst, src, Tanh32) }

// unaryGo sets dst[i] = f(src[i]).
func unaryGo(dst, src []float32, f func(float32) float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = f(v)
	}
}

func geluKernel(y, t, x []float32)     { geluGo(y, t, x) }
func geluBackKernel(d, x, t []float32) { geluBackGo(d, x, t) }

func lnRow(y, xh, x, g, b []float32, eps float32) float32 { return lnRowGo(y, xh, x, g, b, eps) }
func lnBackRow(dx, dy, xh, g, gg, bg []float32, rstd float32) {
	lnBackRowGo(dx, dy, xh, g, gg, bg, rstd)
}

func log1pKernel(dst, src []float32)  { unaryGo(dst, src, Log1p32) }
func exp32Kernel(dst, src []float32)  { unaryGo(dst, src, Exp32) }
func tanh32Kernel(dst, src []float32) { unaryGo(dst, src, Tanh32) }

package nn

import "math"

// Float32 elementary functions for the layers and losses, each a Cephes
// polynomial in float32 arithmetic: several times faster than the math
// package's float64 functions, within one or two ulp.

// Exp32 is e^x in float32 arithmetic (Cephes expf: range reduction by ln 2
// and a degree-6 polynomial, about 1 ulp), several times faster than
// math.Exp on float64. It returns 0 below −87.3 and +Inf above 88.7.
func Exp32(x float32) float32 {
	switch {
	case x > 88.72:
		return float32(math.Inf(1))
	case x < -87.33:
		return 0
	}
	z := float32(math.Floor(float64(1.44269504088896341*x + 0.5)))
	n := int32(z)
	x -= z * 0.693359375
	x -= z * -2.12194440e-4
	p := (((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x+5.0000001201e-1)*x*x + x + 1
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// Tanh32 is tanh(x) in float32 arithmetic (Cephes tanhf): an odd polynomial
// for |x| < 0.625, 1 − 2/(e^{2x}+1) above, ±1 beyond |x| > 9.
func Tanh32(x float32) float32 {
	ax := x
	if ax < 0 {
		ax = -ax
	}
	switch {
	case ax > 9:
		if x > 0 {
			return 1
		}
		return -1
	case ax < 0.625:
		z := x * x
		r := ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
		// tanh is odd and |r| ≤ |x| here: keep x's sign (−0 stays −0).
		return math.Float32frombits(math.Float32bits(r)&0x7fffffff | math.Float32bits(x)&0x80000000)
	}
	return 1 - 2/(Exp32(2*x)+1)
}

// Log32 is the natural logarithm in float32 arithmetic (Cephes logf: x =
// m·2^e with m in [√½, √2), a degree-9 polynomial in m − 1), within 2 ulp
// for normal x > 0. It returns −Inf at 0, NaN below 0 and for NaN, +Inf at
// +Inf; subnormal x are treated as 0.
func Log32(x float32) float32 {
	switch {
	case x != x || x < 0:
		return float32(math.NaN())
	case x < 0x1p-126:
		return float32(math.Inf(-1))
	case x > math.MaxFloat32:
		return x
	}
	b := math.Float32bits(x)
	e := float32(int32(b>>23) - 126)
	m := math.Float32frombits(b&0x007fffff | 0x3f000000) // [0.5, 1)
	if m < 0.70710678118654752440 {
		e--
		m = m + m - 1
	} else {
		m--
	}
	z := m * m
	y := ((((((((7.0376836292e-2*m-1.1514610310e-1)*m+1.1676998740e-1)*m-1.2420140846e-1)*m+1.4249322787e-1)*m-1.6668057665e-1)*m+2.0000714765e-1)*m-2.4999993993e-1)*m + 3.3333331174e-1) * m * z
	y += -2.12194440e-4 * e
	y += -0.5 * z
	return m + y + 0.693359375*e
}

// Log1p32 is log(1 + x) in float32 arithmetic, accurate for small x (the
// rounding of 1 + x is corrected as in Goldberg, "What every computer
// scientist should know about floating-point arithmetic").
func Log1p32(x float32) float32 {
	w := 1 + x
	if w == 1 {
		return x
	}
	if w > math.MaxFloat32 {
		return w
	}
	return Log32(w) * x / (w - 1)
}

// ExpTo sets dst[i] = Exp32(x[i]) for every element of x, eight at a time
// where the CPU has AVX2, with the same results bit for bit. dst must be at
// least as long as x; it may be x.
func ExpTo(dst, x []float32) { exp32Kernel(dst, x) }

// TanhTo sets dst[i] = Tanh32(x[i]) for every element of x, eight at a
// time where the CPU has AVX2, with the same results bit for bit. dst must
// be at least as long as x; it may be x.
func TanhTo(dst, x []float32) { tanh32Kernel(dst, x) }

// Log1pTo sets dst[i] = Log1p32(x[i]) for every element of x, eight at a
// time where the CPU has AVX2, with the same results bit for bit. dst must
// be at least as long as x; it may be x.
func Log1pTo(dst, x []float32) { log1pKernel(dst, x) }

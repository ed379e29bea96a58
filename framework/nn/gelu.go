package nn

import "math"

// GELU is the Gaussian error linear unit in its tanh approximation, as
// torch.nn.GELU(approximate="tanh"):
//
//	y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
//
// Like [Linear] it keeps a view of its input until Backward, so the input
// must not change in between.
type GELU struct {
	x    []float32 // input of the last Forward (the caller's data)
	t, y []float32 // tanh(u) and the output
}

const (
	geluC = 0.7978845608028654 // √(2/π)
	geluA = 0.044715
)

// Forward applies GELU to x. The result is owned by the layer and valid until
// the next Forward.
func (g *GELU) Forward(x Mat) Mat {
	n := len(x.Data)
	g.x = x.Data
	g.t = Grow(g.t, n)
	g.y = Grow(g.y, n)
	t, y := g.t[:n], g.y[:n]
	for i, v := range x.Data {
		th := tanh32(geluC * (v + geluA*v*v*v))
		t[i] = th
		y[i] = 0.5 * v * (1 + th)
	}
	return Mat{x.Rows, x.Cols, g.y}
}

// Backward turns dy into dL/dx in place and returns it:
// dy/dx = ½(1+t) + ½·x·(1−t²)·√(2/π)·(1 + 3·0.044715·x²) with t = tanh(u).
func (g *GELU) Backward(dy Mat) Mat {
	d := dy.Data
	x, t := g.x[:len(d)], g.t[:len(d)]
	for i, v := range x {
		th := t[i]
		d[i] *= 0.5*(1+th) + 0.5*v*(1-th*th)*geluC*(1+3*geluA*v*v)
	}
	return dy
}

// exp32 is e^x in float32 arithmetic (Cephes expf: range reduction by ln 2
// and a degree-6 polynomial, about 1 ulp), several times faster than
// math.Exp on float64. It returns 0 below −87.3 and +Inf above 88.7.
func exp32(x float32) float32 {
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

// tanh32 is tanh(x) in float32 arithmetic (Cephes tanhf): an odd polynomial
// for |x| < 0.625, 1 − 2/(e^{2x}+1) above, ±1 beyond |x| > 9.
func tanh32(x float32) float32 {
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
		return ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*x + x
	}
	return 1 - 2/(exp32(2*x)+1)
}

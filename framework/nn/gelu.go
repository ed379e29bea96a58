package nn

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
	geluKernel(g.y[:n], g.t[:n], x.Data)
	return Mat{x.Rows, x.Cols, g.y}
}

func geluGo(y, t, x []float32) {
	y, t = y[:len(x)], t[:len(x)]
	for i, v := range x {
		t[i] = geluC * (v + geluA*v*v*v)
	}
	tanhKernel(t, t)
	for i, v := range x {
		y[i] = 0.5 * v * (1 + t[i])
	}
}

// Backward turns dy into dL/dx in place and returns it:
// dy/dx = ½(1+t) + ½·x·(1−t²)·√(2/π)·(1 + 3·0.044715·x²) with t = tanh(u).
func (g *GELU) Backward(dy Mat) Mat {
	geluBackKernel(dy.Data, g.x, g.t)
	return dy
}

func geluBackGo(d, x, t []float32) {
	x, t = x[:len(d)], t[:len(d)]
	for i, v := range x {
		th := t[i]
		d[i] *= 0.5*(1+th) + 0.5*v*(1-th*th)*geluC*(1+3*geluA*v*v)
	}
}

package nn

import (
	"math"
	"math/rand/v2"
)

// Act applies an activation as a separate layer (Linear fuses it instead).
type Act struct {
	Fn Activation
	y  []float32
}

// Forward applies the activation to a copy of x.
func (a *Act) Forward(x Mat) Mat {
	a.y = Grow(a.y, len(x.Data))
	y := a.y
	switch a.Fn {
	case ReLU:
		for i, v := range x.Data {
			y[i] = max(v, 0)
		}
	case Tanh:
		copy(y, x.Data)
		tanhInPlace(y)
	default:
		copy(y, x.Data)
	}
	return Mat{x.Rows, x.Cols, y}
}

// Backward turns dy into dL/dx in place and returns it.
func (a *Act) Backward(dy Mat) Mat {
	y := a.y[:len(dy.Data)]
	switch a.Fn {
	case ReLU:
		for i, v := range y {
			if v <= 0 {
				dy.Data[i] = 0
			}
		}
	case Tanh:
		for i, v := range y {
			dy.Data[i] *= 1 - v*v
		}
	}
	return dy
}

// tanhInPlace uses the float32 Cephes tanh (within 2 ulp of math.Tanh),
// about three times faster than rounding math.Tanh.
func tanhInPlace(x []float32) { tanhKernel(x, x) }

// LayerNorm normalises each row over its Dim features:
// y = (x − mean)/√(var + Eps)·Gain + Bias, as torch.nn.LayerNorm.
type LayerNorm struct {
	Dim        int
	Eps        float32
	Gain, Bias *Param

	xhat, rstd, y, dx []float32
}

// NewLayerNorm returns a LayerNorm with gain 1 and bias 0 (torch's init).
func NewLayerNorm(name string, dim int) *LayerNorm {
	return slabLayerNorm(newSlab(2*dim), name, dim)
}

// slabLayerNorm is NewLayerNorm with its parameters taken from s.
func slabLayerNorm(s *slab, name string, dim int) *LayerNorm {
	ln := &LayerNorm{Dim: dim, Eps: 1e-5, Gain: s.take(name+".weight", dim), Bias: s.take(name+".bias", dim)}
	for i := range ln.Gain.Value {
		ln.Gain.Value[i] = 1
	}
	return ln
}

// Params returns gain and bias.
func (ln *LayerNorm) Params() []*Param { return []*Param{ln.Gain, ln.Bias} }

// Forward normalises x (rows × Dim).
func (ln *LayerNorm) Forward(x Mat) Mat {
	n, d := x.Rows, ln.Dim
	ln.xhat = Grow(ln.xhat, n*d)
	ln.y = Grow(ln.y, n*d)
	ln.rstd = Grow(ln.rstd, n)
	g, b := ln.Gain.Value[:d], ln.Bias.Value[:d]
	for i := 0; i < n; i++ {
		ln.rstd[i] = lnRow(ln.y[i*d:(i+1)*d], ln.xhat[i*d:(i+1)*d], x.Data[i*d:(i+1)*d], g, b, ln.Eps)
	}
	return Mat{n, d, ln.y}
}

// lnRowGo is lnRow in Go, with float64 sums.
func lnRowGo(y, xh, x, g, b []float32, eps float32) float32 {
	d := len(x)
	var mean, v float64
	for _, e := range x {
		mean += float64(e)
	}
	mean /= float64(d)
	for _, e := range x {
		v += (float64(e) - mean) * (float64(e) - mean)
	}
	rs := 1 / math.Sqrt(v/float64(d)+float64(eps))
	for j, e := range x {
		xh[j] = float32((float64(e) - mean) * rs)
		y[j] = xh[j]*g[j] + b[j]
	}
	return float32(rs)
}

// Backward accumulates gain/bias gradients and returns dL/dx.
func (ln *LayerNorm) Backward(dy Mat) Mat {
	n, d := dy.Rows, ln.Dim
	ln.dx = Grow(ln.dx, n*d)
	g, gg, bg := ln.Gain.Value[:d], ln.Gain.Grad[:d], ln.Bias.Grad[:d]
	for i := 0; i < n; i++ {
		lnBackRow(ln.dx[i*d:(i+1)*d], dy.Data[i*d:(i+1)*d], ln.xhat[i*d:(i+1)*d], g, gg, bg, ln.rstd[i])
	}
	return Mat{n, d, ln.dx}
}

// lnBackRowGo is lnBackRow in Go, with float64 sums.
func lnBackRowGo(dx, dy, xh, g, gg, bg []float32, rstd float32) {
	d := len(dy)
	var s1, s2 float64
	for j := range dy {
		gg[j] += dy[j] * xh[j]
		bg[j] += dy[j]
		gx := float64(dy[j] * g[j])
		s1 += gx
		s2 += gx * float64(xh[j])
	}
	s1 /= float64(d)
	s2 /= float64(d)
	rs := float64(rstd)
	for j := range dy {
		dx[j] = float32(rs * (float64(dy[j]*g[j]) - s1 - float64(xh[j])*s2))
	}
}

// Embedding maps token ids to rows of a [N, Dim] table, initialised N(0, 1)
// as torch.nn.Embedding.
type Embedding struct {
	N, Dim int
	Table  *Param
	ids    []int32
	y      []float32
}

// NewEmbedding allocates and initialises a table.
func NewEmbedding(rng *rand.Rand, name string, n, dim int) *Embedding {
	e := &Embedding{N: n, Dim: dim, Table: newSlab(n*dim).take(name+".weight", n, dim)}
	Normal(rng, e.Table.Value, 1)
	return e
}

// Params returns the table.
func (e *Embedding) Params() []*Param { return []*Param{e.Table} }

// Forward gathers the rows of ids. An id outside [0, N) yields a zero row.
func (e *Embedding) Forward(ids []int32) Mat {
	e.ids = ids
	e.y = Grow(e.y, len(ids)*e.Dim)
	for i, id := range ids {
		row := e.y[i*e.Dim : (i+1)*e.Dim]
		if id < 0 || int(id) >= e.N {
			clear(row)
			continue
		}
		copy(row, e.Table.Value[int(id)*e.Dim:])
	}
	return Mat{len(ids), e.Dim, e.y}
}

// Backward scatter-adds dy into the table gradient.
func (e *Embedding) Backward(dy Mat) {
	for i, id := range e.ids {
		if id < 0 || int(id) >= e.N {
			continue
		}
		g := e.Table.Grad[int(id)*e.Dim : (int(id)+1)*e.Dim]
		for j, v := range dy.Data[i*e.Dim : (i+1)*e.Dim] {
			g[j] += v
		}
	}
}

// Dropout zeroes each element with probability P during training and scales
// the rest by 1/(1−P) (inverted dropout, as torch). With Train unset it is the
// identity.
type Dropout struct {
	P     float64
	Train bool
	Rng   *rand.Rand
	mask  []float32
	y     []float32
}

// Forward applies dropout.
func (d *Dropout) Forward(x Mat) Mat {
	d.y = Grow(d.y, len(x.Data))
	if !d.Train || d.P == 0 {
		copy(d.y, x.Data)
		return Mat{x.Rows, x.Cols, d.y}
	}
	d.mask = Grow(d.mask, len(x.Data))
	keep := float32(1 / (1 - d.P))
	for i, v := range x.Data {
		if d.Rng.Float64() < d.P {
			d.mask[i] = 0
		} else {
			d.mask[i] = keep
		}
		d.y[i] = v * d.mask[i]
	}
	return Mat{x.Rows, x.Cols, d.y}
}

// Backward scales dy in place by the last mask.
func (d *Dropout) Backward(dy Mat) Mat {
	if !d.Train || d.P == 0 {
		return dy
	}
	for i := range dy.Data {
		dy.Data[i] *= d.mask[i]
	}
	return dy
}

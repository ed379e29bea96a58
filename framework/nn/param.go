package nn

import (
	"math"
	"math/rand/v2"
)

// Param is a named trainable tensor with its gradient.
type Param struct {
	Name  string
	Shape []int
	Value []float32
	Grad  []float32

	// settle, when set, clears gradients whose zeroing MLP.ZeroGrad left
	// to the next backward of their layers (see Linear.deferZero); the
	// readers of Grad in this package call settleGrads first.
	settle func()
}

// Len is the number of elements.
func (p *Param) Len() int { return len(p.Value) }

// settleGrads makes every params' Grad hold its values: zero where a
// deferred ZeroGrad was not followed by a backward.
func settleGrads(params []*Param) {
	for _, p := range params {
		if p.settle != nil {
			p.settle()
		}
	}
}

// ZeroGrad clears the gradients of params.
func ZeroGrad(params ...*Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// slab hands out consecutive value/gradient slices of one allocation, so a
// module's parameters are contiguous and can also be seen as one flat Param.
type slab struct {
	value, grad []float32
	off         int
}

func newSlab(n int) *slab { return &slab{value: make([]float32, n), grad: make([]float32, n)} }

func (s *slab) take(name string, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: shape, Value: s.value[s.off : s.off+n : s.off+n], Grad: s.grad[s.off : s.off+n : s.off+n]}
	s.off += n
	return p
}

// Uniform fills x with draws from U(-bound, bound).
func Uniform(rng *rand.Rand, x []float32, bound float64) {
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Normal fills x with draws from N(0, std²).
func Normal(rng *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
}

// InitLinear initialises a [out, in] weight and its bias as torch.nn.Linear
// does: kaiming_uniform(a=√5) on the weight, which is U(±1/√in), and
// U(±1/√in) on the bias.
func InitLinear(rng *rand.Rand, w, b []float32, in int) {
	bound := 1 / math.Sqrt(float64(in))
	Uniform(rng, w, bound)
	Uniform(rng, b, bound)
}

// CopyParams copies the values of src into dst (same shapes, in order), e.g.
// to initialise a target network.
func CopyParams(dst, src []*Param) {
	for i := range dst {
		copy(dst[i].Value, src[i].Value)
	}
}

// Polyak moves dst towards src: dst ← (1−τ)·dst + τ·src, as CORL's
// soft_update.
func Polyak(dst, src *Param, tau float32) {
	polyakKernel(dst.Value, src.Value[:len(dst.Value)], tau)
}

// polyakGo computes as polyakAVX2 does. The conversions keep the compiler
// from fusing a product into the sum (it may on arm64, and differently
// wherever this is inlined), so every caller rounds alike.
func polyakGo(d, s []float32, tau float32) {
	for i := range d {
		d[i] = float32((1-tau)*d[i]) + float32(tau*s[i])
	}
}

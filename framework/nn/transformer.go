package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Block is a pre-LayerNorm transformer block (GPT-2, nanoGPT):
//
//	h = x + Drop1(Attn(LN1(x)))
//	y = h + Drop2(Proj(GELU(FC(LN2(h)))))
//
// with causal [Attention] and an MLP of width 4·Dim. Parameter names follow
// nanoGPT's Block under a prefix: ln_1, attn.c_attn, attn.c_proj, ln_2,
// mlp.c_fc, mlp.c_proj. All parameters live in one slab, exposed as
// [Block.Flat].
type Block struct {
	Dim          int
	LN1, LN2     *LayerNorm
	Attn         *Attention
	FC, Proj     *Linear // Dim → 4·Dim and 4·Dim → Dim
	Act          GELU
	Drop1, Drop2 Dropout // residual dropout after attention and after the MLP

	flat     *Param
	h, y     []float32
	dx, dres []float32
}

// NewBlock builds a block initialised as torch's modules are by default
// (torch.nn.Linear's uniform ±1/√in, LayerNorm gain 1 and bias 0); see
// [Block.InitGPT2] for GPT-2's initialisation. dropout is the residual
// dropout probability (0 disables it); the dropout masks draw from a stream
// seeded from rng after the weights. Dim must be a positive multiple of heads
// and dropout in [0, 1).
func NewBlock(rng *rand.Rand, prefix string, dim, heads int, dropout float64) (*Block, error) {
	if err := checkHeads(dim, heads); err != nil {
		return nil, err
	}
	if !(dropout >= 0 && dropout < 1) {
		return nil, fmt.Errorf("nn: block dropout %v: want a probability in [0, 1)", dropout)
	}
	n := 2*2*dim + 4*dim*dim + 4*dim + 2*4*dim*dim + 4*dim + dim
	s := newSlab(n)
	b := &Block{Dim: dim}
	b.LN1 = slabLayerNorm(s, prefix+"ln_1", dim)
	b.Attn = newAttention(s, prefix+"attn", dim, heads)
	b.LN2 = slabLayerNorm(s, prefix+"ln_2", dim)
	b.FC = newLinear(s, prefix+"mlp.c_fc", dim, 4*dim, Identity)
	b.Proj = newLinear(s, prefix+"mlp.c_proj", 4*dim, dim, Identity)
	b.flat = &Param{Name: prefix, Shape: []int{n}, Value: s.value, Grad: s.grad}
	b.Attn.initTorch(rng)
	InitLinear(rng, b.FC.W.Value, b.FC.B.Value, dim)
	InitLinear(rng, b.Proj.W.Value, b.Proj.B.Value, 4*dim)
	for _, d := range []*Dropout{&b.Drop1, &b.Drop2} {
		d.P = dropout
		d.Rng = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	}
	return b, nil
}

// InitGPT2 re-initialises the block as GPT-2 (and nanoGPT) does for a model
// of nLayers blocks: Linear weights N(0, 0.02²) except the two residual
// output projections (attn.c_proj, mlp.c_proj), N(0, (0.02/√(2·nLayers))²);
// biases 0; LayerNorm gain 1 and bias 0.
func (b *Block) InitGPT2(rng *rand.Rand, nLayers int) {
	const std = 0.02
	resid := std / math.Sqrt(2*float64(max(nLayers, 1)))
	for _, l := range []struct {
		lin *Linear
		std float64
	}{{b.Attn.QKV, std}, {b.Attn.Proj, resid}, {b.FC, std}, {b.Proj, resid}} {
		Normal(rng, l.lin.W.Value, l.std)
		clear(l.lin.B.Value)
	}
	for _, ln := range []*LayerNorm{b.LN1, b.LN2} {
		for i := range ln.Gain.Value {
			ln.Gain.Value[i] = 1
		}
		clear(ln.Bias.Value)
	}
}

// Params returns every parameter in nanoGPT's order.
func (b *Block) Params() []*Param {
	return []*Param{b.LN1.Gain, b.LN1.Bias, b.Attn.QKV.W, b.Attn.QKV.B, b.Attn.Proj.W, b.Attn.Proj.B,
		b.LN2.Gain, b.LN2.Bias, b.FC.W, b.FC.B, b.Proj.W, b.Proj.B}
}

// Flat returns all parameters as one flat Param sharing their storage.
func (b *Block) Flat() *Param { return b.flat }

// SetTrain switches the residual dropout on (training) or off (evaluation).
func (b *Block) SetTrain(train bool) {
	b.Drop1.Train = train
	b.Drop2.Train = train
}

// FLOPs returns the matrix-multiply FLOPs of one forward pass on nSeq full
// sequences of seqLen tokens (causal attention counted as a triangle).
// Forward plus Backward is about three times this.
func (b *Block) FLOPs(nSeq, seqLen int) int64 {
	rows := int64(nSeq * seqLen)
	d := int64(b.Dim)
	return b.Attn.FLOPs(nSeq, seqLen) + 2*rows*d*4*d*2
}

// Forward runs the block on x ([B·seqLen, Dim]) with per-sequence lengths
// lens (nil: all full), as [Attention.Forward]. The result is owned by the
// block and valid until the next Forward; x must not change before Backward.
func (b *Block) Forward(x Mat, seqLen int, lens []int) Mat {
	n := len(x.Data)
	b.h, b.y = Grow(b.h, n), Grow(b.y, n)
	a := b.Drop1.Forward(b.Attn.Forward(b.LN1.Forward(x), seqLen, lens))
	h := b.h[:n]
	for i, v := range x.Data {
		h[i] = v + a.Data[i]
	}
	hm := Mat{x.Rows, x.Cols, h}
	m := b.Drop2.Forward(b.Proj.Forward(b.Act.Forward(b.FC.Forward(b.LN2.Forward(hm)))))
	y := b.y[:n]
	for i, v := range h {
		y[i] = v + m.Data[i]
	}
	return Mat{x.Rows, x.Cols, y}
}

// Backward takes dL/dy of the last Forward (overwritten), accumulates the
// parameter gradients and returns dL/dx, owned by the block.
func (b *Block) Backward(dy Mat) Mat {
	n := len(dy.Data)
	b.dx, b.dres = Grow(b.dx, n), Grow(b.dres, n)
	dx := b.dx[:n]
	copy(dx, dy.Data) // dL/dh starts with the residual path
	g := b.LN2.Backward(b.FC.Backward(b.Act.Backward(b.Proj.Backward(b.Drop2.Backward(dy), true, true)), true, true))
	for i, v := range g.Data {
		dx[i] += v
	}
	dres := b.dres[:n]
	copy(dres, dx) // the attention branch overwrites its gradient
	g = b.LN1.Backward(b.Attn.Backward(b.Drop1.Backward(Mat{dy.Rows, dy.Cols, dres})))
	for i, v := range g.Data {
		dx[i] += v
	}
	return Mat{dy.Rows, dy.Cols, dx}
}

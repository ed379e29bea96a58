package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// attnBlock is the number of query rows attention processes per product. A
// block of rows [r0, r1) only needs keys [0, r1) under the causal mask, so
// the score and probability products skip most of the masked upper triangle
// (at T = 256 they do 56% of the full T×T work) while staying large enough
// for the GEMM kernel.
const attnBlock = 32

// Attention is causal multi-head self-attention over a batch of equal-length
// sequences laid out as [B·T, Dim] rows (sequence-major: row s·T+t is token t
// of sequence s), as torch.nn.MultiheadAttention with a causal mask and
// batch_first inputs:
//
//	q, k, v = split(x·QKVᵀ + b), each cut into Heads heads of Dim/Heads
//	ctx_h   = softmax(q_h·k_hᵀ/√(Dim/Heads) + causal mask)·v_h
//	y       = concat_h(ctx_h)·Projᵀ + b
//
// QKV's weight is torch's in_proj_weight ([3·Dim, Dim], rows q, k, v) and
// Proj's is out_proj.weight.
//
// Key padding: with per-sequence lengths L, token t of sequence s attends to
// the tokens t' ≤ t with t' < L. A padding row (t ≥ L) attends to nothing:
// its attention context is zero, so its output is Proj's bias and it passes no
// gradient back (torch instead lets padding queries attend to the valid keys;
// the valid rows agree, and a loss that masks padding sees no difference).
type Attention struct {
	Dim, Heads int
	QKV        *Linear // Dim → 3·Dim
	Proj       *Linear // Dim → Dim

	b, t int
	lens []int // effective length of every sequence in the last Forward

	// Head-major buffers, [B, Heads, T, Dim/Heads]: q, k, v and the
	// attention context ch, and their gradients.
	q, k, v, ch     []float32
	dq, dk, dv, dch []float32
	p               []float32 // packed causal probability blocks per (sequence, head)
	ds              []float32 // score-gradient scratch, attnBlock × T
	ctx             []float32 // [B·T, Dim], heads merged: Proj's input
	dqkv            []float32 // [B·T, 3·Dim]
}

// NewAttention allocates an attention layer initialised as torch.nn.Linear
// (uniform in ±1/√Dim) with parameters named name+".c_attn.*" and
// name+".c_proj.*" (nanoGPT's names). Dim must be a positive multiple of
// Heads.
func NewAttention(rng *rand.Rand, name string, dim, heads int) (*Attention, error) {
	if err := checkHeads(dim, heads); err != nil {
		return nil, err
	}
	s := newSlab(4*dim*dim + 4*dim)
	a := newAttention(s, name, dim, heads)
	a.initTorch(rng)
	return a, nil
}

func checkHeads(dim, heads int) error {
	if heads <= 0 || dim <= 0 || dim%heads != 0 {
		return fmt.Errorf("nn: attention dim %d and heads %d: want dim a positive multiple of heads", dim, heads)
	}
	return nil
}

func newAttention(s *slab, name string, dim, heads int) *Attention {
	return &Attention{Dim: dim, Heads: heads,
		QKV:  newLinear(s, name+".c_attn", dim, 3*dim, Identity),
		Proj: newLinear(s, name+".c_proj", dim, dim, Identity)}
}

func (a *Attention) initTorch(rng *rand.Rand) {
	InitLinear(rng, a.QKV.W.Value, a.QKV.B.Value, a.Dim)
	InitLinear(rng, a.Proj.W.Value, a.Proj.B.Value, a.Dim)
}

// Params returns the QKV and output projections' weights and biases.
func (a *Attention) Params() []*Param {
	return []*Param{a.QKV.W, a.QKV.B, a.Proj.W, a.Proj.B}
}

// FLOPs returns the multiply-add FLOPs of one forward pass on nSeq full
// sequences of seqLen tokens, counting the causal triangle (t+1 keys for
// token t) of the attention products.
func (a *Attention) FLOPs(nSeq, seqLen int) int64 {
	rows := int64(nSeq * seqLen)
	d := int64(a.Dim)
	proj := 2 * rows * d * 4 * d
	pairs := int64(nSeq) * int64(seqLen) * int64(seqLen+1) / 2
	return proj + 2*2*pairs*d
}

// packedLen is the size of one (sequence, head)'s probability blocks.
func packedLen(t int) int {
	n := 0
	for r0 := 0; r0 < t; r0 += attnBlock {
		r1 := min(r0+attnBlock, t)
		n += (r1 - r0) * r1
	}
	return n
}

// Forward runs attention on x ([B·seqLen, Dim]). lens, when not nil, holds
// the number of valid tokens of each of the B sequences (padding at the end);
// nil means all are full. Shapes and lengths outside [0, seqLen] are
// programming errors and panic. The result is owned by the layer and valid
// until the next Forward.
func (a *Attention) Forward(x Mat, seqLen int, lens []int) Mat {
	d, nh := a.Dim, a.Heads
	hd := d / nh
	if x.Cols != d || seqLen <= 0 || x.Rows%seqLen != 0 {
		panic("nn: Attention input shape mismatch")
	}
	nb, T := x.Rows/seqLen, seqLen
	if lens != nil && len(lens) != nb {
		panic("nn: Attention lens length mismatch")
	}
	a.b, a.t = nb, T
	if cap(a.lens) < nb {
		a.lens = make([]int, nb)
	}
	a.lens = a.lens[:nb]
	for s := range nb {
		L := T
		if lens != nil {
			L = lens[s]
			if L < 0 || L > T {
				panic("nn: Attention length outside [0, seqLen]")
			}
		}
		a.lens[s] = L
	}

	qkv := a.QKV.Forward(x)
	n := x.Rows * d
	a.q, a.k, a.v, a.ch = Grow(a.q, n), Grow(a.k, n), Grow(a.v, n), Grow(a.ch, n)
	pT := packedLen(T)
	a.p = Grow(a.p, nb*nh*pT)
	a.ctx = Grow(a.ctx, n)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for s := range nb {
		L := a.lens[s]
		for t := range L {
			row := qkv.Data[(s*T+t)*3*d : (s*T+t+1)*3*d]
			for h := range nh {
				o := ((s*nh+h)*T + t) * hd
				copy(a.q[o:o+hd], row[h*hd:])
				copy(a.k[o:o+hd], row[d+h*hd:])
				copy(a.v[o:o+hd], row[2*d+h*hd:])
			}
		}
		for h := range nh {
			base := (s*nh + h) * T * hd
			q, k, v, c := a.q[base:], a.k[base:], a.v[base:], a.ch[base:]
			p := a.p[(s*nh+h)*pT:]
			for r0 := 0; r0 < L; r0 += attnBlock {
				r1 := min(r0+attnBlock, L)
				m := r1 - r0
				sc := View(p, m, r1)
				Gemm(false, true, scale, View(q[r0*hd:], m, hd), View(k, r1, hd), 0, sc)
				for i := range m {
					causalSoftmax(sc.Row(i), r0+i+1)
				}
				Gemm(false, false, 1, sc, View(v, r1, hd), 0, View(c[r0*hd:], m, hd))
				p = p[m*r1:]
			}
		}
		for t := range T {
			row := a.ctx[(s*T+t)*d : (s*T+t+1)*d]
			if t >= L {
				clear(row)
				continue
			}
			for h := range nh {
				o := ((s*nh+h)*T + t) * hd
				copy(row[h*hd:(h+1)*hd], a.ch[o:o+hd])
			}
		}
	}
	return a.Proj.Forward(View(a.ctx, x.Rows, d))
}

// causalSoftmax applies a stable softmax to row[:n] and zeroes row[n:].
func causalSoftmax(row []float32, n int) {
	Softmax(row[:n], row[:n])
	clear(row[n:])
}

// Backward takes dL/dy of the last Forward (overwritten), accumulates the
// parameter gradients and returns dL/dx, owned by the layer.
func (a *Attention) Backward(dy Mat) Mat {
	d, nh := a.Dim, a.Heads
	hd := d / nh
	nb, T := a.b, a.t
	rows := nb * T
	dctx := a.Proj.Backward(dy, true, true)
	n := rows * d
	a.dq, a.dk, a.dv, a.dch = Grow(a.dq, n), Grow(a.dk, n), Grow(a.dv, n), Grow(a.dch, n)
	a.ds = Grow(a.ds, attnBlock*T)
	a.dqkv = Grow(a.dqkv, rows*3*d)
	pT := packedLen(T)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for s := range nb {
		L := a.lens[s]
		for t := range L {
			row := dctx.Data[(s*T+t)*d : (s*T+t+1)*d]
			for h := range nh {
				o := ((s*nh+h)*T + t) * hd
				copy(a.dch[o:o+hd], row[h*hd:])
			}
		}
		for h := range nh {
			base := (s*nh + h) * T * hd
			q, k, v, dc := a.q[base:], a.k[base:], a.v[base:], a.dch[base:]
			dq, dk, dv := a.dq[base:], a.dk[base:], a.dv[base:]
			clear(dk[:L*hd])
			clear(dv[:L*hd])
			p := a.p[(s*nh+h)*pT:]
			for r0 := 0; r0 < L; r0 += attnBlock {
				r1 := min(r0+attnBlock, L)
				m := r1 - r0
				pm := View(p, m, r1)
				dcm := View(dc[r0*hd:], m, hd)
				ds := View(a.ds, m, r1)
				Gemm(false, true, 1, dcm, View(v, r1, hd), 0, ds)  // dP = dC·Vᵀ
				Gemm(true, false, 1, pm, dcm, 1, View(dv, r1, hd)) // dV += Pᵀ·dC
				for i := range m {
					// dS = P ⊙ (dP − Σ P⊙dP); masked entries have P = 0.
					pr, dr := pm.Row(i), ds.Row(i)
					var dot float32
					for j, pv := range pr {
						dot += pv * dr[j]
					}
					for j, pv := range pr {
						dr[j] = pv * (dr[j] - dot)
					}
				}
				Gemm(false, false, scale, ds, View(k, r1, hd), 0, View(dq[r0*hd:], m, hd)) // dQ = s·dS·K
				Gemm(true, false, scale, ds, View(q[r0*hd:], m, hd), 1, View(dk, r1, hd))  // dK += s·dSᵀ·Q
				p = p[m*r1:]
			}
		}
		for t := range T {
			row := a.dqkv[(s*T+t)*3*d : (s*T+t+1)*3*d]
			if t >= L {
				clear(row)
				continue
			}
			for h := range nh {
				o := ((s*nh+h)*T + t) * hd
				copy(row[h*hd:], a.dq[o:o+hd])
				copy(row[d+h*hd:], a.dk[o:o+hd])
				copy(row[2*d+h*hd:], a.dv[o:o+hd])
			}
		}
	}
	return a.QKV.Backward(View(a.dqkv, rows, 3*d), true, true)
}

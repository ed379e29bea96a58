package nn

import "math"

// KVCache holds one [Block]'s attention keys and values for incremental
// decoding: for each of Rows sequences, up to Cap positions of every head.
// Len[s] is the number of positions sequence s has consumed; sequences
// advance independently, so a batch can hold prompts of different lengths.
//
// Storage grows with the longest sequence, as a slice does, up to Cap: a
// cache sized for the model's context but used for short generations
// allocates, zeroes and spreads over memory only what they reach.
type KVCache struct {
	Rows, Cap, Heads, HeadDim int
	Stride                    int       // positions allocated per sequence and head (≤ Cap)
	K, V                      []float32 // [Rows, Heads, Stride, HeadDim]
	Len                       []int

	ctx, sc, h, y []float32
}

// kvFirst is a new cache's Stride (at most its capacity).
const kvFirst = 64

// NewKVCache allocates a cache for rows sequences of up to capacity tokens.
func (b *Block) NewKVCache(rows, capacity int) *KVCache {
	nh := b.Attn.Heads
	c := &KVCache{Rows: rows, Cap: capacity, Heads: nh, HeadDim: b.Dim / nh, Len: make([]int, rows)}
	c.grow(min(capacity, kvFirst))
	return c
}

// grow reallocates K and V for stride positions per sequence and head,
// keeping what they hold.
func (c *KVCache) grow(stride int) {
	n := c.Rows * c.Heads * stride * c.HeadDim
	k, v := make([]float32, n), make([]float32, n)
	if old := c.Stride * c.HeadDim; old > 0 {
		nw := stride * c.HeadDim
		for b := range c.Rows * c.Heads {
			copy(k[b*nw:b*nw+old], c.K[b*old:(b+1)*old])
			copy(v[b*nw:b*nw+old], c.V[b*old:(b+1)*old])
		}
	}
	c.K, c.V, c.Stride = k, v, stride
}

// Reset empties the cache.
func (c *KVCache) Reset() { clear(c.Len) }

// Hold packs the block's weights once for a run of Step calls (see
// [Linear.Hold]); they must not change until Release.
func (b *Block) Hold() {
	for _, l := range b.linears() {
		l.Hold()
	}
}

// Release ends Hold.
func (b *Block) Release() {
	for _, l := range b.linears() {
		l.Release()
	}
}

func (b *Block) linears() [4]*Linear { return [4]*Linear{b.Attn.QKV, b.Attn.Proj, b.FC, b.Proj} }

// Step runs the block on one new position of each sequence in seqs: row i
// of x ([len(seqs), Dim]) is the next input of sequence seqs[i], which
// attends to every position it consumed before and to itself. It gives the
// same outputs as [Block.Forward] on the whole sequences (without dropout),
// appends the keys and values to c and returns y, owned by c. A sequence
// past the cache's capacity is a programming error and panics.
func (b *Block) Step(x Mat, seqs []int, c *KVCache) Mat {
	d, nh, hd := b.Dim, c.Heads, c.HeadDim
	n := len(seqs)
	if x.Rows != n || x.Cols != d {
		panic("nn: Block.Step input shape mismatch")
	}
	// Attention branch: LN1, QKV, cached attention, Proj.
	qkv := b.Attn.QKV.Forward(b.LN1.Forward(x))
	c.ctx = Grow(c.ctx, n*d)
	c.sc = Grow(c.sc, c.Cap)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for i, s := range seqs {
		t := c.Len[s]
		if t >= c.Stride {
			if t >= c.Cap {
				panic("nn: KVCache full")
			}
			c.grow(min(c.Cap, 2*c.Stride))
		}
		row := qkv.Data[i*3*d : (i+1)*3*d]
		for h := range nh {
			base := (s*nh + h) * c.Stride * hd
			copy(c.K[base+t*hd:base+(t+1)*hd], row[d+h*hd:d+(h+1)*hd])
			copy(c.V[base+t*hd:base+(t+1)*hd], row[2*d+h*hd:2*d+(h+1)*hd])
			// Scores against the t+1 cached keys, softmax, then the
			// probabilities times the cached values. Softmax's division
			// by the sum is the kernel's alpha: each probability is the
			// same product, rounded once, without a pass of its own.
			sc := c.sc[:t+1]
			dotsKernel(sc, c.K[base:base+(t+1)*hd], row[h*hd:(h+1)*hd], scale)
			sum := expSum(sc, sc, Max(sc))
			out := c.ctx[i*d+h*hd : i*d+(h+1)*hd]
			clear(out)
			gemvTKernel(out, sc, 1, c.V[base:base+(t+1)*hd], hd, t+1, 1/sum)
		}
		c.Len[s] = t + 1
	}
	a := b.Attn.Proj.Forward(View(c.ctx, n, d))
	c.h = Grow(c.h, n*d)
	h := c.h[:n*d]
	copy(h, x.Data)
	addToKernel(h, a.Data)
	m := b.Proj.Forward(b.Act.Forward(b.FC.Forward(b.LN2.Forward(View(h, n, d)))))
	c.y = Grow(c.y, n*d)
	y := c.y[:n*d]
	copy(y, h)
	addToKernel(y, m.Data)
	return View(y, n, d)
}

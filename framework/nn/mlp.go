package nn

import (
	"fmt"
	"math/rand/v2"
)

// MLP is a stack of Linear layers with a hidden activation and an output
// activation. All its parameters live in one contiguous slab, exposed as
// [MLP.Flat] for optimisers and Polyak averaging.
type MLP struct {
	Layers   []*Linear
	flat     *Param
	settleFn func() // m.Settle, made once so that ZeroGrad does not allocate
	tracking bool   // between Track and Untrack
}

// NewMLP builds an MLP with layer widths dims (dims[0] inputs, dims[len-1]
// outputs), hidden activation hidden and output activation out, initialised
// as torch.nn.Linear. Parameter names follow torch.nn.Sequential with
// activation modules in between ("0.weight", "2.weight", …) under prefix.
func NewMLP(rng *rand.Rand, prefix string, dims []int, hidden, out Activation) *MLP {
	n := 0
	for i := 0; i+1 < len(dims); i++ {
		n += dims[i]*dims[i+1] + dims[i+1]
	}
	s := newSlab(n)
	m := &MLP{flat: &Param{Name: prefix, Shape: []int{n}, Value: s.value, Grad: s.grad}}
	for i := 0; i+1 < len(dims); i++ {
		act := hidden
		if i+2 == len(dims) {
			act = out
		}
		l := newLinear(s, fmt.Sprintf("%s%d", prefix, 2*i), dims[i], dims[i+1], act)
		InitLinear(rng, l.W.Value, l.B.Value, dims[i])
		m.Layers = append(m.Layers, l)
	}
	m.settleFn = m.Settle
	return m
}

// In is the input width, Out the output width.
func (m *MLP) In() int  { return m.Layers[0].In }
func (m *MLP) Out() int { return m.Layers[len(m.Layers)-1].Out }

// Params returns every weight and bias in layer order.
func (m *MLP) Params() []*Param {
	var ps []*Param
	for _, l := range m.Layers {
		ps = append(ps, l.W, l.B)
	}
	return ps
}

// Flat returns all parameters as one flat Param sharing their storage.
func (m *MLP) Flat() *Param { return m.flat }

// Forward runs the network on x; the result is owned by the last layer.
func (m *MLP) Forward(x Mat) Mat {
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	return x
}

// ForwardGather runs the network on x but computes only output column
// cols[i] of row i, into out[i]: a Q-learning target Q(s', a*) without the
// other actions' output products. It does not support Backward.
func (m *MLP) ForwardGather(x Mat, cols []int32, out []float32) {
	for _, l := range m.Layers[:len(m.Layers)-1] {
		x = l.Forward(x)
	}
	last := m.Layers[len(m.Layers)-1]
	if x.Cols != last.In {
		panic("nn: Linear input width mismatch")
	}
	countProduct(x.Rows, 1, last.In) // one output column per row
	for i := range x.Rows {
		c := int(cols[i])
		v := dotKernel(x.Row(i), last.W.Value[c*last.In:(c+1)*last.In]) + last.B.Value[c]
		switch last.Act {
		case ReLU:
			v = max(v, 0)
		case Tanh:
			v = Tanh32(v)
		}
		out[i] = v
	}
}

// Backward back-propagates dy (overwritten) through the last Forward.
// paramGrad accumulates parameter gradients; inputGrad returns dL/dx. dy may
// have fewer rows than the last Forward: then it back-propagates through its
// first dy.Rows rows, as if the others had zero gradient (one Forward can
// serve a batch whose loss needs gradients and one that does not).
func (m *MLP) Backward(dy Mat, paramGrad, inputGrad bool) Mat {
	if m.tracking {
		panic("nn: Backward through a tracking (target) network")
	}
	pre := false
	for i := len(m.Layers) - 1; i >= 0; i-- {
		// The input of layer i is the output of layer i−1: when that is a
		// ReLU, its derivative is applied in layer i's dx product.
		mask := i > 0 && m.Layers[i-1].Act == ReLU && m.Layers[i].fedBy(m.Layers[i-1])
		dy = m.Layers[i].backward(dy, paramGrad, inputGrad || i > 0, pre, mask)
		pre = mask
	}
	return dy
}

// Hold packs every layer's weights once for a run of Forward and Backward
// calls, which would otherwise pack them on every call: a large batch
// processed in chunks that stay in cache. The weights must not change until
// Release. It does nothing on the BLAS backends.
func (m *MLP) Hold() {
	for _, l := range m.Layers {
		l.hold()
	}
}

// Release ends Hold: later calls read the weights afresh.
func (m *MLP) Release() {
	for _, l := range m.Layers {
		l.held = false
	}
}

// Track makes m a target network whose weights live packed for its
// forward products until Untrack: PolyakFrom then averages into the
// packings, and Forward never packs. Forward results and PolyakFrom's
// arithmetic are the same bit for bit as without tracking. While tracking,
// the Value of m's weights is stale (biases stay current) and Backward
// panics; call Untrack before reading or writing the weights (checkpoints)
// and Track again after. Layers whose products read W in place (1-wide
// ones, and every layer on the BLAS backends) are not tracked.
func (m *MLP) Track() {
	m.tracking = true
	for _, l := range m.Layers {
		l.track()
	}
}

// Untrack ends Track, writing the weights back to their Values.
func (m *MLP) Untrack() {
	m.tracking = false
	for _, l := range m.Layers {
		l.untrack()
	}
}

// PolyakFrom moves m's parameters towards src's (same shapes), as Polyak on
// their Flat params: m ← (1−τ)·m + τ·src. On a tracking m it averages the
// packed weights, reading src's own packing while src is held (so a
// network held for the products that precede an update costs no packing).
func (m *MLP) PolyakFrom(src *MLP, tau float32) {
	for i, l := range m.Layers {
		l.polyakFrom(src.Layers[i], tau)
	}
}

// ZeroGrad clears all gradients. It defers the clearing: each layer's next
// backward with parameter gradients writes them instead of adding to zeros
// (bit-identical, and a pass over the gradients less). Until then Grad
// holds stale values; the optimisers and ClipGradNorm clear whatever is
// still pending before they read it, and so does Settle.
func (m *MLP) ZeroGrad() {
	for _, l := range m.Layers {
		l.deferZero()
	}
	m.flat.settle = m.settleFn
}

// Settle completes a deferred ZeroGrad for the layers that have not had a
// backward since: call it before reading Grad other than through an
// optimiser or ClipGradNorm.
func (m *MLP) Settle() {
	for _, l := range m.Layers {
		l.settle()
	}
	m.flat.settle = nil
}

// FLOPs returns the matrix-multiply FLOPs of one forward pass on rows rows.
func (m *MLP) FLOPs(rows int) int64 {
	var f int64
	for _, l := range m.Layers {
		f += 2 * int64(rows) * int64(l.In) * int64(l.Out)
	}
	return f
}

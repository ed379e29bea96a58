package nn

import (
	"fmt"
	"math/rand/v2"
)

// Pairs encodes a state made of K equal slots by its ordered pairs of
// slots: every pair (i, j), i ≠ j, makes Out features through one MLP
// shared by all pairs from
//
//	[sᵢ, sⱼ, sⱼ − sᵢ, onehot(i), onehot(j)]
//
// and the output is their concatenation in the order (0,1), (0,2), …,
// (K−1,K−2). Every pair's features have their own place, so a linear layer
// reading them tells the pairs apart, while what the MLP learns of one pair
// (whether one ball lies left of another) holds for all. It is the
// interaction network's edge function ([Interaction]) without the
// aggregation. The state is data (no gradient flows into it).
type Pairs struct {
	K, Slot, Out int
	MLP          *MLP

	n  int
	in []float32
}

// NewPairs builds a pair encoder over k slots of slot numbers each, with
// hidden units and out features per pair, both layers ReLU, initialised as
// torch.nn.Linear.
func NewPairs(rng *rand.Rand, name string, k, slot, hidden, out int) (*Pairs, error) {
	if k < 2 || slot < 1 || hidden < 1 || out < 1 {
		return nil, fmt.Errorf("nn: pairs %s: %d slots of %d, hidden %d, out %d: want at least 2 slots and positive widths", name, k, slot, hidden, out)
	}
	return &Pairs{K: k, Slot: slot, Out: out,
		MLP: NewMLP(rng, name, []int{3*slot + 2*k, hidden, out}, ReLU, ReLU)}, nil
}

// Params returns the MLP's parameters.
func (p *Pairs) Params() []*Param { return p.MLP.Params() }

// Width is the output's width, K·(K−1)·Out.
func (p *Pairs) Width() int { return p.K * (p.K - 1) * p.Out }

// Forward encodes states [rows, K·Slot] as [rows, Width()], owned by the
// encoder and valid until the next Forward.
func (p *Pairs) Forward(state Mat) Mat {
	if state.Cols != p.K*p.Slot {
		panic(fmt.Sprintf("nn: pairs: state %dx%d, want %d·%d columns", state.Rows, state.Cols, p.K, p.Slot))
	}
	p.n = state.Rows
	ne, w := state.Rows*p.K*(p.K-1), p.MLP.In()
	p.in = Grow(p.in, ne*w)
	pairInputs(p.in[:ne*w], Mat{}, 0, state, p.K, p.Slot)
	y := p.MLP.Forward(View(p.in[:ne*w], ne, w))
	return View(y.Data, p.n, p.Width())
}

// Backward takes dL/dy ([rows, Width()], overwritten) for the last Forward
// and accumulates the parameter gradients.
func (p *Pairs) Backward(dy Mat) {
	if dy.Rows != p.n || dy.Cols != p.Width() {
		panic("nn: pairs backward shape mismatch")
	}
	p.MLP.Backward(View(dy.Data, p.n*p.K*(p.K-1), p.Out), true, false)
}

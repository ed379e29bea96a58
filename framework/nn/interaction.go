package nn

import (
	"fmt"
	"math/rand/v2"
)

// Interaction is an interaction network (Battaglia et al., NeurIPS 2016)
// over a state made of K equal slots (entities: K objects of SlotDim numbers
// each), conditioned on a context vector: every ordered pair of slots (i, j)
// makes an effect through the shared edge MLP from
//
//	[ctx, sᵢ, sⱼ, sⱼ − sᵢ, onehot(i), onehot(j)]
//
// and every slot makes its output through the shared node MLP from
//
//	[ctx, sᵢ, onehot(i), Σⱼ effect(i, j)].
//
// The weights are shared by the slots, so what is learnt about one entity
// (how a pushed ball moves, how two balls collide) holds for every other;
// the slot index (one-hot) lets them differ where they must. The state is
// data (no gradient flows into it); the context is differentiable.
type Interaction struct {
	K, Slot, Ctx, Out int
	Edge, Node        *MLP

	n        int
	ein, nin []float32
	dctx     []float32
	de       []float32
}

// NewInteraction builds an interaction network over k slots of slot numbers
// each, a context of ctx numbers, hidden units in both MLPs and out outputs
// per slot, initialised as torch.nn.Linear.
func NewInteraction(rng *rand.Rand, name string, k, slot, ctx, hidden, out int) (*Interaction, error) {
	if k < 2 || slot < 1 || ctx < 0 || hidden < 1 || out < 1 {
		return nil, fmt.Errorf("nn: interaction %s: %d slots of %d, context %d, hidden %d, out %d: want at least 2 slots and positive widths", name, k, slot, ctx, hidden, out)
	}
	return &Interaction{K: k, Slot: slot, Ctx: ctx, Out: out,
		Edge: NewMLP(rng, name+"edge.", []int{ctx + 3*slot + 2*k, hidden, hidden}, ReLU, ReLU),
		Node: NewMLP(rng, name+"node.", []int{ctx + slot + k + hidden, hidden, out}, ReLU, Identity),
	}, nil
}

// Params returns the edge MLP's then the node MLP's parameters.
func (n *Interaction) Params() []*Param { return append(n.Edge.Params(), n.Node.Params()...) }

func (n *Interaction) edgeIn() int { return n.Ctx + 3*n.Slot + 2*n.K }
func (n *Interaction) nodeIn() int { return n.Ctx + n.Slot + n.K + n.Edge.Out() }

// Forward computes the slots' outputs, [rows, K·Out], for a context
// [rows, Ctx] (Ctx may be 0: an empty Mat) and states [rows, K·Slot]. The
// result is owned by the network and valid until the next Forward.
func (n *Interaction) Forward(ctx, state Mat) Mat {
	rows := state.Rows
	if state.Cols != n.K*n.Slot || (n.Ctx > 0 && (ctx.Rows != rows || ctx.Cols != n.Ctx)) {
		panic(fmt.Sprintf("nn: interaction: context %dx%d and state %dx%d, want %d columns and %d·%d", ctx.Rows, ctx.Cols, state.Rows, state.Cols, n.Ctx, n.K, n.Slot))
	}
	n.n = rows
	k, sd, cd := n.K, n.Slot, n.Ctx
	ew := n.edgeIn()
	ne := rows * k * (k - 1)
	n.ein = Grow(n.ein, ne*ew)
	ein := n.ein[:ne*ew]
	pairInputs(ein, ctx, cd, state, k, sd)
	eo := n.Edge.Forward(View(ein, ne, ew))
	nw := n.nodeIn()
	h := n.Edge.Out()
	n.nin = Grow(n.nin, rows*k*nw)
	nin := n.nin[:rows*k*nw]
	for r := range rows {
		s := state.Row(r)
		for i := range k {
			row := nin[(r*k+i)*nw : (r*k+i+1)*nw]
			if cd > 0 {
				copy(row, ctx.Row(r))
			}
			o := cd
			copy(row[o:], s[i*sd:(i+1)*sd])
			o += sd
			clear(row[o : o+k])
			row[o+i] = 1
			o += k
			agg := row[o : o+h]
			clear(agg)
			base := (r*k + i) * (k - 1)
			for j := range k - 1 {
				addToKernel(agg, eo.Row(base+j))
			}
		}
	}
	y := n.Node.Forward(View(nin, rows*k, nw))
	return View(y.Data, rows, k*n.Out)
}

// Backward takes dL/dy ([rows, K·Out], overwritten) for the last Forward,
// accumulates the parameter gradients and returns dL/dctx, [rows, Ctx],
// owned by the network (an empty Mat when Ctx is 0).
func (n *Interaction) Backward(dy Mat) Mat {
	rows, k, cd := n.n, n.K, n.Ctx
	if dy.Rows != rows || dy.Cols != k*n.Out {
		panic("nn: interaction backward shape mismatch")
	}
	dn := n.Node.Backward(View(dy.Data, rows*k, n.Out), true, true)
	h := n.Edge.Out()
	nw := n.nodeIn()
	ne := rows * k * (k - 1)
	n.de = Grow(n.de, ne*h)
	de := n.de[:ne*h]
	n.dctx = Grow(n.dctx, rows*cd)
	dctx := n.dctx[:rows*cd]
	clear(dctx)
	for r := range rows {
		for i := range k {
			g := dn.Data[(r*k+i)*nw : (r*k+i+1)*nw]
			if cd > 0 {
				addToKernel(dctx[r*cd:(r+1)*cd], g[:cd])
			}
			agg := g[cd+n.Slot+k:]
			base := (r*k + i) * (k - 1)
			for j := range k - 1 {
				copy(de[(base+j)*h:(base+j+1)*h], agg)
			}
		}
	}
	dein := n.Edge.Backward(View(de, ne, h), true, cd > 0)
	if cd == 0 {
		return Mat{}
	}
	ew := n.edgeIn()
	for r := range rows {
		for e := r * k * (k - 1); e < (r+1)*k*(k-1); e++ {
			addToKernel(dctx[r*cd:(r+1)*cd], dein.Data[e*ew:e*ew+cd])
		}
	}
	return View(dctx, rows, cd)
}

// pairInputs writes the input row of every ordered pair of slots (i, j),
// i ≠ j, of every state row, in the order (0,1), (0,2), …, (K−1,K−2):
//
//	[ctx, sᵢ, sⱼ, sⱼ − sᵢ, onehot(i), onehot(j)]
//
// (ctx left out when cd is 0). dst holds rows·K·(K−1) rows of
// cd + 3·slot + 2·K numbers.
func pairInputs(dst []float32, ctx Mat, cd int, state Mat, k, slot int) {
	w := cd + 3*slot + 2*k
	e := 0
	for r := range state.Rows {
		s := state.Row(r)
		var c []float32
		if cd > 0 {
			c = ctx.Row(r)
		}
		for i := range k {
			si := s[i*slot : (i+1)*slot]
			for j := range k {
				if j == i {
					continue
				}
				sj := s[j*slot : (j+1)*slot]
				row := dst[e*w : (e+1)*w]
				copy(row, c)
				o := cd
				copy(row[o:], si)
				o += slot
				copy(row[o:], sj)
				o += slot
				for x := range slot {
					row[o+x] = sj[x] - si[x]
				}
				o += slot
				clear(row[o : o+2*k])
				row[o+i] = 1
				row[o+k+j] = 1
				e++
			}
		}
	}
}

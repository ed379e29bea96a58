package tinylm

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/nn"
)

// Kinds of sequence position.
const (
	kindPad    = -1
	kindText   = 0
	kindState  = 1
	kindAction = 2
	kindPair   = 3 // a pair of state slots (Shape.Pairs)
)

// Shape is what a model's size depends on.
type Shape struct {
	Vocab    int  `json:"vocab"` // token ids, specials included
	ObsDim   int  `json:"obs_dim"`
	Actions  int  `json:"actions"`  // discrete actions; 0 for continuous
	ActDim   int  `json:"act_dim"`  // continuous action dimension; 0 for discrete
	Context  int  `json:"context"`  // positions
	Dim      int  `json:"dim"`      // model width
	Layers   int  `json:"layers"`   // transformer blocks
	Heads    int  `json:"heads"`    // attention heads
	Discrete bool `json:"discrete"` // discrete action space
	// Slots splits the state into that many equal entity slots, read by an
	// interaction network ([nn.Interaction]) as the state head; 0: a
	// linear state head over the whole state.
	Slots      int `json:"slots,omitempty"`
	SlotHidden int `json:"slot_hidden,omitempty"` // the interaction network's width
	// Pairs, with Slots, is the width of the pair tokens' features: the
	// explanation prompt ends with one token per ordered pair of slots
	// ([nn.Pairs] over the rollout's last two states); 0: none.
	Pairs int `json:"pairs,omitempty"`
	// InPairs, with Slots, adds to every state's input a projection of
	// InPairs features per ordered pair of its slots ([nn.Pairs] over the
	// state), so relations between entities enter the model as features
	// instead of through one linear projection; 0: none.
	InPairs int `json:"in_pairs,omitempty"`
	// History, with Slots, has the state head read each slot's change
	// over the previous step beside its value: the velocity a state of
	// positions does not show.
	History bool `json:"history,omitempty"`
}

// baseWidth is the width of what the state head reads of the state a
// target changes: its normalised slots, and with History their last
// changes (see appendBase).
func (s Shape) baseWidth() int {
	if s.History {
		return 2 * s.ObsDim
	}
	return s.ObsDim
}

// pairTokens is the number of pair tokens in an explanation prompt.
func (s Shape) pairTokens() int {
	if s.Pairs == 0 {
		return 0
	}
	return s.Slots * (s.Slots - 1)
}

// kinds is the number of kinds of position the type embedding tells apart.
func (s Shape) kinds() int {
	if s.Pairs > 0 {
		return 4
	}
	return 3
}

func (s Shape) check() error {
	switch {
	case s.Vocab < 1, s.ObsDim < 1, s.Context < 4, s.Layers < 1:
		return fmt.Errorf("tinylm: model shape %+v: vocab, obs_dim, layers must be positive and context at least 4", s)
	case s.Discrete && s.Actions < 1, !s.Discrete && s.ActDim < 1:
		return fmt.Errorf("tinylm: model shape %+v: no actions", s)
	case s.Dim < 1 || s.Heads < 1 || s.Dim%s.Heads != 0:
		return fmt.Errorf("tinylm: dim %d and heads %d: want dim a positive multiple of heads", s.Dim, s.Heads)
	case s.Slots == 1 || s.Slots < 0 || (s.Slots > 1 && (s.ObsDim%s.Slots != 0 || s.SlotHidden < 1)):
		return fmt.Errorf("tinylm: state_slots %d (slot width %d) for observations of %d numbers: want 0, or at least 2 slots that divide them equally and a positive width", s.Slots, s.SlotHidden, s.ObsDim)
	case s.Pairs < 0 || (s.Pairs > 0 && s.Slots < 2):
		return fmt.Errorf("tinylm: state_pairs %d with state_slots %d: want 0, or a positive width with at least 2 state slots", s.Pairs, s.Slots)
	case s.InPairs < 0 || (s.InPairs > 0 && s.Slots < 2):
		return fmt.Errorf("tinylm: input_pairs %d with state_slots %d: want 0, or a positive width with at least 2 state slots", s.InPairs, s.Slots)
	case s.History && s.Slots < 2:
		return fmt.Errorf("tinylm: state_history with state_slots %d: want at least 2 state slots", s.Slots)
	}
	return nil
}

// Model is a decoder-only transformer whose sequences mix text tokens with
// state and action slots (KALM's interface to numbers): a state enters
// through a linear projection, a discrete action through an embedding (a
// continuous one through a projection), and the hidden state one position
// before a slot predicts it through a state head (MSE), an action head
// (cross-entropy or MSE) or the token head.
type Model struct {
	Shape Shape
	WTE   *nn.Param  // [Vocab, Dim] token embedding
	WPE   *nn.Param  // [Context, Dim] position embedding
	Type  *nn.Param  // [3, Dim] text, state, action (and pair: [4, Dim])
	ObsIn *nn.Linear // ObsDim → Dim
	// With Shape.InPairs a state's input also has InTok of the features
	// InPairsEnc finds in the state's pairs of slots.
	InPairsEnc *nn.Pairs
	InTok      *nn.Linear // Slots·(Slots−1)·InPairs → Dim
	// With Shape.Pairs a pair token's input is PairTok of the pair's
	// features from PairIn plus the pair's row of PairEmb.
	PairIn  *nn.Pairs
	PairTok *nn.Linear // Pairs → Dim
	PairEmb *nn.Param  // [pairTokens, Dim]
	ActEmb  *nn.Param  // [Actions, Dim] (discrete)
	ActIn   *nn.Linear // ActDim → Dim (continuous)
	Blocks  []*nn.Block
	LNF     *nn.LayerNorm
	TokOut  *nn.Linear // Dim → Vocab
	ObsOut  *nn.Linear // Dim → ObsDim (without slots)
	// SlotOut is the state head with slots: an interaction network over
	// the last state's slots, conditioned on the hidden state.
	SlotOut *nn.Interaction
	ActOut  *nn.Linear // Dim → Actions or ActDim

	params []*nn.Param

	// training buffers
	x, dx  []float32
	obsIn  []float32
	dPair  []float32
	state  []float32 // the states' inputs of the last stateIn
	dState []float32
}

// NewModel builds a model initialised as GPT-2 (weights N(0, 0.02²), the
// residual projections scaled by 1/√(2·layers)).
func NewModel(s Shape, rng *rand.Rand) (*Model, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m := &Model{Shape: s}
	d := s.Dim
	param := func(name string, shape ...int) *nn.Param {
		n := 1
		for _, v := range shape {
			n *= v
		}
		return &nn.Param{Name: name, Shape: shape, Value: make([]float32, n), Grad: make([]float32, n)}
	}
	m.WTE = param("wte", s.Vocab, d)
	m.WPE = param("wpe", s.Context, d)
	m.Type = param("type", s.kinds(), d)
	nn.Normal(rng, m.WTE.Value, 0.02)
	nn.Normal(rng, m.WPE.Value, 0.01)
	nn.Normal(rng, m.Type.Value, 0.02)
	m.ObsIn = nn.NewLinear(rng, "obs_in", s.ObsDim, d, nn.Identity)
	if s.InPairs > 0 {
		p, err := nn.NewPairs(rng, "in_pairs.", s.Slots, s.ObsDim/s.Slots, 4*s.InPairs, s.InPairs)
		if err != nil {
			return nil, err
		}
		m.InPairsEnc = p
		m.InTok = nn.NewLinear(rng, "in_tok", p.Width(), d, nn.Identity)
	}
	if s.Pairs > 0 {
		p, err := nn.NewPairs(rng, "pair_in.", s.Slots, 2*s.ObsDim/s.Slots, 4*s.Pairs, s.Pairs)
		if err != nil {
			return nil, err
		}
		m.PairIn = p
		m.PairTok = nn.NewLinear(rng, "pair_tok", s.Pairs, d, nn.Identity)
		m.PairEmb = param("pair_emb", s.pairTokens(), d)
		nn.Normal(rng, m.PairEmb.Value, 0.02)
	}
	if s.Discrete {
		m.ActEmb = param("act_emb", s.Actions, d)
		nn.Normal(rng, m.ActEmb.Value, 0.02)
	} else {
		m.ActIn = nn.NewLinear(rng, "act_in", s.ActDim, d, nn.Identity)
	}
	for i := 0; i < s.Layers; i++ {
		b, err := nn.NewBlock(rng, fmt.Sprintf("h.%d.", i), d, s.Heads, 0)
		if err != nil {
			return nil, err
		}
		b.InitGPT2(rng, s.Layers)
		m.Blocks = append(m.Blocks, b)
	}
	m.LNF = nn.NewLayerNorm("ln_f", d)
	m.TokOut = nn.NewLinear(rng, "tok_out", d, s.Vocab, nn.Identity)
	if s.Slots > 1 {
		in, err := nn.NewInteraction(rng, "slot_out.", s.Slots, s.baseWidth()/s.Slots, d, s.SlotHidden, s.ObsDim/s.Slots)
		if err != nil {
			return nil, err
		}
		m.SlotOut = in
	} else {
		m.ObsOut = nn.NewLinear(rng, "obs_out", d, s.ObsDim, nn.Identity)
	}
	actOut := s.Actions
	if !s.Discrete {
		actOut = s.ActDim
	}
	m.ActOut = nn.NewLinear(rng, "act_out", d, actOut, nn.Identity)
	for _, l := range []*nn.Linear{m.TokOut, m.ObsOut, m.ActOut} {
		if l == nil {
			continue
		}
		nn.Normal(rng, l.W.Value, 0.02)
		clear(l.B.Value)
	}
	m.params = []*nn.Param{m.WTE, m.WPE, m.Type}
	m.params = append(m.params, m.ObsIn.Params()...)
	if m.InPairsEnc != nil {
		m.params = append(m.params, m.InPairsEnc.Params()...)
		m.params = append(m.params, m.InTok.Params()...)
	}
	if m.PairIn != nil {
		m.params = append(m.params, m.PairIn.Params()...)
		m.params = append(m.params, m.PairTok.Params()...)
		m.params = append(m.params, m.PairEmb)
	}
	if s.Discrete {
		m.params = append(m.params, m.ActEmb)
	} else {
		m.params = append(m.params, m.ActIn.Params()...)
	}
	for _, b := range m.Blocks {
		m.params = append(m.params, b.Params()...)
	}
	m.params = append(m.params, m.LNF.Params()...)
	m.params = append(m.params, m.TokOut.Params()...)
	if m.SlotOut != nil {
		m.params = append(m.params, m.SlotOut.Params()...)
	} else {
		m.params = append(m.params, m.ObsOut.Params()...)
	}
	m.params = append(m.params, m.ActOut.Params()...)
	return m, nil
}

// share makes m use src's weights (its own activations and gradients stay
// its own): a replica for another goroutine.
func (m *Model) share(src *Model) {
	for i, p := range m.params {
		p.Value = src.params[i].Value
	}
}

// Params returns every parameter in a fixed order (the checkpoint's).
func (m *Model) Params() []*nn.Param { return m.params }

// NumParams counts the model's weights.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += len(p.Value)
	}
	return n
}

// Batch is B sequences padded to T positions. Position t of sequence b is
// row b·T+t. Kind says what enters there; Tok holds a token id (text), an
// index into Obs (state) or an action (discrete: the action id; continuous:
// an index into Act).
type Batch struct {
	B, T int
	Lens []int
	Kind []int8
	Tok  []int32
	Obs  []float32 // [*, ObsDim] state inputs
	// PairObs holds the transitions pair tokens read, [*, 2·ObsDim]: every
	// slot's value in a rollout's last state, then in the state before. A
	// pair token's Tok is its transition's row times the pair tokens per
	// transition plus its pair.
	PairObs []float32
	Act     []float32 // [*, ActDim] continuous action inputs

	// Targets: the row whose output predicts each target.
	TokRow []int32 // text targets
	TokY   []int32
	ObsRow []int32   // state targets
	ObsY   []float32 // [len(ObsRow), ObsDim]
	ObsB   []float32 // [len(ObsRow), Shape.baseWidth()] what the slot head reads of the state each target changes (appendBase)
	ActRow []int32   // action targets
	ActY   []int32   // discrete
	ActYC  []float32 // continuous [len(ActRow), ActDim]
}

func (b *Batch) reset(bsz, t int) {
	n := bsz * t
	*b = Batch{B: bsz, T: t, Lens: b.Lens[:0], Kind: growI8(b.Kind, n), Tok: growI32(b.Tok, n), Obs: b.Obs[:0], PairObs: b.PairObs[:0], Act: b.Act[:0],
		TokRow: b.TokRow[:0], TokY: b.TokY[:0], ObsRow: b.ObsRow[:0], ObsY: b.ObsY[:0], ObsB: b.ObsB[:0], ActRow: b.ActRow[:0], ActY: b.ActY[:0], ActYC: b.ActYC[:0]}
	for i := range b.Kind {
		b.Kind[i] = kindPad
	}
}

func growI8(b []int8, n int) []int8 {
	if cap(b) < n {
		return make([]int8, n)
	}
	return b[:n]
}

func growI32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// embed writes the input rows of a batch into x ([B·T, Dim]).
func (m *Model) embed(b *Batch, x []float32) {
	d := m.Shape.Dim
	clear(x)
	obsOut := m.stateIn(b.Obs)
	var actOut nn.Mat
	if !m.Shape.Discrete && len(b.Act) > 0 {
		actOut = m.ActIn.Forward(nn.View(b.Act, len(b.Act)/m.Shape.ActDim, m.Shape.ActDim))
	}
	pairOut := m.pairsIn(b.PairObs)
	for r, k := range b.Kind {
		if k == kindPad {
			continue
		}
		row := x[r*d : (r+1)*d]
		t := r % b.T
		pos := m.WPE.Value[t*d : (t+1)*d]
		typ := m.Type.Value[int(k)*d : (int(k)+1)*d]
		var src []float32
		switch k {
		case kindText:
			id := int(b.Tok[r])
			src = m.WTE.Value[id*d : (id+1)*d]
		case kindState:
			src = obsOut.Row(int(b.Tok[r]))
		case kindAction:
			if m.Shape.Discrete {
				id := int(b.Tok[r])
				src = m.ActEmb.Value[id*d : (id+1)*d]
			} else {
				src = actOut.Row(int(b.Tok[r]))
			}
		case kindPair:
			m.pairInput(row, pairOut, int(b.Tok[r]))
			src = row
		}
		for j := range row {
			row[j] = src[j] + pos[j] + typ[j]
		}
	}
}

// pairInput writes pair token i's input into dst: row i of pairsIn's
// output (i = transition·pairTokens + pair) plus the pair's embedding.
func (m *Model) pairInput(dst []float32, pairOut nn.Mat, i int) {
	d := m.Shape.Dim
	p := i % m.Shape.pairTokens()
	emb := m.PairEmb.Value[p*d : (p+1)*d]
	for j, v := range pairOut.Row(i) {
		dst[j] = v + emb[j]
	}
}

// stateIn makes the inputs of the normalised states in obs ([n, ObsDim]),
// [n, Dim] (an empty Mat for none): ObsIn's projection, plus with InPairs
// the projection of the states' pair features. The result is owned by the
// model until its next stateIn.
func (m *Model) stateIn(obs []float32) nn.Mat {
	od := m.Shape.ObsDim
	n := len(obs) / od
	if n == 0 {
		return nn.Mat{}
	}
	out := m.ObsIn.Forward(nn.View(obs, n, od))
	if m.InTok == nil {
		return out
	}
	m.state = nn.Grow(m.state, len(out.Data))
	s := m.state[:len(out.Data)]
	copy(s, out.Data)
	addTo(s, m.InTok.Forward(m.InPairsEnc.Forward(nn.View(obs, n, od))).Data)
	return nn.View(s, n, m.Shape.Dim)
}

// pairsIn makes the inputs of every pair token of the transitions in
// pairObs ([n, 2·ObsDim], as Batch.PairObs), [n·pairTokens, Dim] (an empty
// Mat for none), without the pairs' embeddings. The result is owned by
// PairTok until its next Forward.
func (m *Model) pairsIn(pairObs []float32) nn.Mat {
	if len(pairObs) == 0 {
		return nn.Mat{}
	}
	n := len(pairObs) / (2 * m.Shape.ObsDim)
	f := m.PairIn.Forward(nn.View(pairObs, n, 2*m.Shape.ObsDim))
	return m.PairTok.Forward(nn.View(f.Data, n*m.Shape.pairTokens(), m.Shape.Pairs))
}

// embedBackward scatters dL/dx into the input parameters.
func (m *Model) embedBackward(b *Batch, dx []float32) {
	d := m.Shape.Dim
	ns := len(b.Obs) / m.Shape.ObsDim
	dObs := nn.Grow(m.obsIn, ns*d)[:ns*d]
	m.obsIn = dObs
	clear(dObs)
	nc := 0
	if !m.Shape.Discrete {
		nc = len(b.Act) / m.Shape.ActDim
	}
	dAct := make([]float32, nc*d)
	np := 0
	if len(b.PairObs) > 0 {
		np = len(b.PairObs) / (2 * m.Shape.ObsDim) * m.Shape.pairTokens()
	}
	m.dPair = nn.Grow(m.dPair, np*d)
	dPair := m.dPair[:np*d]
	clear(dPair)
	for r, k := range b.Kind {
		if k == kindPad {
			continue
		}
		g := dx[r*d : (r+1)*d]
		t := r % b.T
		addTo(m.WPE.Grad[t*d:(t+1)*d], g)
		addTo(m.Type.Grad[int(k)*d:(int(k)+1)*d], g)
		switch k {
		case kindText:
			id := int(b.Tok[r])
			addTo(m.WTE.Grad[id*d:(id+1)*d], g)
		case kindState:
			i := int(b.Tok[r])
			addTo(dObs[i*d:(i+1)*d], g)
		case kindAction:
			i := int(b.Tok[r])
			if m.Shape.Discrete {
				addTo(m.ActEmb.Grad[i*d:(i+1)*d], g)
			} else {
				addTo(dAct[i*d:(i+1)*d], g)
			}
		case kindPair:
			i := int(b.Tok[r])
			p := i % m.Shape.pairTokens()
			addTo(m.PairEmb.Grad[p*d:(p+1)*d], g)
			addTo(dPair[i*d:(i+1)*d], g)
		}
	}
	if np > 0 {
		df := m.PairTok.Backward(nn.View(dPair, np, d), true, true)
		m.PairIn.Backward(nn.View(df.Data, np/m.Shape.pairTokens(), m.PairIn.Width()))
	}
	if ns > 0 && m.InTok != nil {
		// Linear.Backward may overwrite its dy: InTok gets a copy.
		m.dState = nn.Grow(m.dState, ns*d)
		dIn := nn.View(m.dState[:ns*d], ns, d)
		copy(dIn.Data, dObs)
		df := m.InTok.Backward(dIn, true, true)
		m.InPairsEnc.Backward(df)
	}
	if ns > 0 {
		m.ObsIn.Backward(nn.View(dObs, ns, d), true, false)
	}
	if nc > 0 {
		m.ActIn.Backward(nn.View(dAct, nc, d), true, false)
	}
}

func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// trunk runs the blocks and the final LayerNorm on the embedded batch.
func (m *Model) trunk(b *Batch) nn.Mat {
	n := b.B * b.T
	d := m.Shape.Dim
	m.x = nn.Grow(m.x, n*d)
	x := m.x[:n*d]
	m.embed(b, x)
	h := nn.View(x, n, d)
	for _, blk := range m.Blocks {
		h = blk.Forward(h, b.T, b.Lens)
	}
	return m.LNF.Forward(h)
}

// Losses are the mean losses of one batch, per kind of target.
type Losses struct {
	Text, State, Action float64
	NText, NState, NAct int
}

// Total is text + 0.5·state + 0.5·action (the paper's weights).
func (l Losses) Total() float64 { return l.Text + 0.5*l.State + 0.5*l.Action }

// Step runs forward and backward on a batch, accumulating gradients scaled
// by scale (the batch's share of the optimiser step), and returns its losses.
// With train false it only computes the losses.
func (m *Model) Step(b *Batch, scale float32, train bool) Losses {
	h := m.trunk(b)
	n, d := h.Rows, h.Cols
	var dh []float32
	if train {
		m.dx = nn.Grow(m.dx, n*d)
		dh = m.dx[:n*d]
		clear(dh)
	}
	var l Losses
	// head runs an output layer on the rows of h it supervises and, when
	// training, back-propagates its loss's gradient, weighted, into dh.
	head := func(layer outLayer, rows []int32, loss func(out nn.Mat, grad nn.Mat) float64, weight float32) float64 {
		if len(rows) == 0 {
			return 0
		}
		out := layer.forward(gatherRows(h, rows))
		grad := nn.NewMat(out.Rows, out.Cols)
		v := loss(out, grad)
		if train {
			for i := range grad.Data {
				grad.Data[i] *= weight * scale
			}
			gin := layer.backward(grad)
			for i, r := range rows {
				addTo(dh[int(r)*d:(int(r)+1)*d], gin.Row(i))
			}
		}
		return v
	}
	l.NText, l.NState, l.NAct = len(b.TokRow), len(b.ObsRow), len(b.ActRow)
	l.Text = head(linearOut(m.TokOut), b.TokRow, func(out, g nn.Mat) float64 { return nn.CrossEntropy(out, b.TokY, g, 1) }, 1)
	l.State = head(m.stateLayer(b), b.ObsRow, func(out, g nn.Mat) float64 { return nn.MSE(out.Data, b.ObsY, g.Data, 1) }, 0.5)
	act := linearOut(m.ActOut)
	if m.Shape.Discrete {
		l.Action = head(act, b.ActRow, func(out, g nn.Mat) float64 { return nn.CrossEntropy(out, b.ActY, g, 1) }, 0.5)
	} else {
		l.Action = head(act, b.ActRow, func(out, g nn.Mat) float64 { return nn.MSE(out.Data, b.ActYC, g.Data, 1) }, 0.5)
	}
	if !train {
		return l
	}
	g := m.LNF.Backward(nn.View(dh, n, d))
	for i := len(m.Blocks) - 1; i >= 0; i-- {
		g = m.Blocks[i].Backward(g)
	}
	m.embedBackward(b, g.Data)
	return l
}

// outLayer is an output head as Step trains it: its forward pass on the
// gathered hidden states, and its backward pass from the loss's gradient to
// theirs.
type outLayer struct {
	forward, backward func(nn.Mat) nn.Mat
}

func linearOut(l *nn.Linear) outLayer {
	return outLayer{forward: l.Forward, backward: func(g nn.Mat) nn.Mat { return l.Backward(g, true, true) }}
}

// stateLayer is the state head for batch b: the linear head, or with slots
// the interaction network over the states each target changes.
func (m *Model) stateLayer(b *Batch) outLayer {
	if m.SlotOut == nil {
		return linearOut(m.ObsOut)
	}
	base := nn.View(b.ObsB, len(b.ObsRow), m.Shape.baseWidth())
	return outLayer{forward: func(in nn.Mat) nn.Mat { return m.SlotOut.Forward(in, base) }, backward: m.SlotOut.Backward}
}

// gatherRows copies the rows of h a head reads into a fresh matrix.
func gatherRows(h nn.Mat, rows []int32) nn.Mat {
	in := nn.NewMat(len(rows), h.Cols)
	for i, r := range rows {
		copy(in.Row(i), h.Row(int(r)))
	}
	return in
}

// stateOut is the state head on hidden states h ([rows, Dim]) that predict
// the states after base ([rows, Shape.baseWidth()], as appendBase writes
// it): the change of each, scaled as Norm.out reads it (a fresh matrix).
func (m *Model) stateOut(h nn.Mat, base []float32) nn.Mat {
	if m.SlotOut == nil {
		return head(m.ObsOut, h)
	}
	out := m.SlotOut.Forward(h, nn.View(base, h.Rows, m.Shape.baseWidth()))
	return nn.Mat{Rows: out.Rows, Cols: out.Cols, Data: append([]float32(nil), out.Data...)}
}

// predictStates runs the model on a batch without gradients and returns its
// state head's outputs for the batch's state targets, [len(ObsRow), ObsDim]
// (normalised changes, as ObsY holds them).
func (m *Model) predictStates(b *Batch) nn.Mat {
	return m.stateOut(gatherRows(m.trunk(b), b.ObsRow), b.ObsB)
}

// setTrain switches the blocks' dropout on (grounding) or off.
func (m *Model) setTrain(train bool) {
	for _, b := range m.Blocks {
		b.SetTrain(train)
	}
}

// Hidden runs the model on a batch without gradients and returns the final
// LayerNorm's output, [B·T, Dim], owned by the model.
func (m *Model) Hidden(b *Batch) nn.Mat { return m.trunk(b) }

// finite reports whether every parameter is finite.
func (m *Model) finite() bool {
	for _, p := range m.params {
		for _, v := range p.Value {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return false
			}
		}
	}
	return true
}

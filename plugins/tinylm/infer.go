package tinylm

import (
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

// decoder runs a model incrementally over many sequences, each at its own
// position, with a key/value cache per block.
type decoder struct {
	m      *Model
	caches []*nn.KVCache
	x      []float32
	obs    []float32
}

func newDecoder(m *Model, rows int) *decoder {
	d := &decoder{m: m}
	for _, b := range m.Blocks {
		d.caches = append(d.caches, b.NewKVCache(rows, m.Shape.Context))
	}
	return d
}

// reuse returns d emptied for rows sequences when it has room for them
// (the cache's contents past each Len are never read, so nothing is
// cleared), or a new decoder.
func (d *decoder) reuse(m *Model, rows int) *decoder {
	if d == nil || d.m != m || d.caches[0].Rows < rows {
		return newDecoder(m, rows)
	}
	for _, c := range d.caches {
		c.Reset()
	}
	return d
}

func (d *decoder) pos(s int) int { return d.caches[0].Len[s] }

// hold packs every layer decoding multiplies by once (see nn.Linear.Hold):
// a loaded model's weights never change, and otherwise each of a
// generation's positions would pack them again. Bit for bit the same.
func (m *Model) hold() {
	for _, b := range m.Blocks {
		b.Hold()
	}
	for _, l := range []*nn.Linear{m.ObsIn, m.InTok, m.PairTok, m.ActIn, m.TokOut, m.ObsOut, m.ActOut} {
		if l != nil {
			l.Hold()
		}
	}
	if m.PairIn != nil {
		m.PairIn.MLP.Hold()
	}
	if m.InPairsEnc != nil {
		m.InPairsEnc.MLP.Hold()
	}
	if m.SlotOut != nil {
		m.SlotOut.Edge.Hold()
		m.SlotOut.Node.Hold()
	}
}

// input is one position's content: a token or action id, a state
// (normalised) or continuous action vector, or a pair token (id the pair,
// vec the transition as Batch.PairObs holds it).
type input struct {
	kind int8
	id   int32
	vec  []float32
}

// feed consumes one input per listed sequence and returns the final
// LayerNorm's output for them, [len(seqs), Dim], owned by the model.
func (d *decoder) feed(seqs []int, in []input) nn.Mat {
	m := d.m
	dim := m.Shape.Dim
	n := len(seqs)
	d.x = nn.Grow(d.x, n*dim)
	x := d.x[:n*dim]
	// States and continuous actions go through their projections together.
	d.obs = d.obs[:0]
	var av, pv []float32
	for _, v := range in {
		switch {
		case v.kind == kindState:
			d.obs = append(d.obs, v.vec...)
		case v.kind == kindPair:
			pv = append(pv, v.vec...)
		case v.kind == kindAction && !m.Shape.Discrete:
			av = append(av, v.vec...)
		}
	}
	so := m.stateIn(d.obs)
	var ao nn.Mat
	if len(av) > 0 {
		ao = m.ActIn.Forward(nn.View(av, len(av)/m.Shape.ActDim, m.Shape.ActDim))
	}
	po := m.pairsIn(pv)
	si, ai, pi := 0, 0, 0
	for i, s := range seqs {
		v := in[i]
		var src []float32
		switch {
		case v.kind == kindText:
			src = m.WTE.Value[int(v.id)*dim : (int(v.id)+1)*dim]
		case v.kind == kindState:
			src = so.Row(si)
			si++
		case v.kind == kindPair:
			// Each pair input brings its transition: its own pair's row.
			src = x[i*dim : (i+1)*dim]
			m.pairInput(src, po, pi*m.Shape.pairTokens()+int(v.id))
			pi++
		case m.Shape.Discrete:
			src = m.ActEmb.Value[int(v.id)*dim : (int(v.id)+1)*dim]
		default:
			src = ao.Row(ai)
			ai++
		}
		p := d.pos(s)
		pos := m.WPE.Value[p*dim : (p+1)*dim]
		typ := m.Type.Value[int(v.kind)*dim : (int(v.kind)+1)*dim]
		row := x[i*dim : (i+1)*dim]
		for j := range row {
			row[j] = src[j] + pos[j] + typ[j]
		}
	}
	h := nn.View(x, n, dim)
	for bi, b := range m.Blocks {
		h = b.Step(h, seqs, d.caches[bi])
	}
	return m.LNF.Forward(h)
}

// prefill feeds every sequence its prompt, one position per tick; a
// sequence whose prompt is shorter waits. It returns the hidden state at
// each prompt's last position, [len(prompts), Dim] (a fresh matrix).
func (d *decoder) prefill(prompts [][]input) nn.Mat {
	dim := d.m.Shape.Dim
	out := nn.NewMat(len(prompts), dim)
	longest := 0
	for _, p := range prompts {
		longest = max(longest, len(p))
	}
	var seqs []int
	var in []input
	for t := 0; t < longest; t++ {
		seqs, in = seqs[:0], in[:0]
		for s, p := range prompts {
			if t < len(p) {
				seqs = append(seqs, s)
				in = append(in, p[t])
			}
		}
		h := d.feed(seqs, in)
		for i, s := range seqs {
			if t == len(prompts[s])-1 {
				copy(out.Row(s), h.Row(i))
			}
		}
	}
	return out
}

// head applies a head to rows of hidden states (a fresh matrix).
func head(l *nn.Linear, h nn.Mat) nn.Mat {
	out := l.Forward(h)
	return nn.Mat{Rows: out.Rows, Cols: out.Cols, Data: append([]float32(nil), out.Data...)}
}

// pick chooses an index from logits: the largest at temperature 0, else a
// draw from softmax(logits/temperature).
func pick(logits []float32, temperature float64, rng *rand.Rand) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if temperature <= 0 {
		return best
	}
	var sum float64
	p := make([]float64, len(logits))
	for i, v := range logits {
		p[i] = math.Exp(float64(v-logits[best]) / temperature)
		sum += p[i]
	}
	u := rng.Float64() * sum
	for i, v := range p {
		u -= v
		if u <= 0 {
			return i
		}
	}
	return len(p) - 1
}

// textInputs are a prompt's token positions.
func textInputs(ids ...int32) []input {
	out := make([]input, len(ids))
	for i, id := range ids {
		out[i] = input{kind: kindText, id: id}
	}
	return out
}

// goalPrompt is BOS G2R goal SEP.
func (l *loaded) goalPrompt(text []int32) []input {
	p := textInputs(bpe.BOS, l.v.extra(tokG2R))
	p = append(p, textInputs(text...)...)
	return append(p, input{kind: kindText, id: l.v.extra(tokSEP)})
}

// stateInput normalises a state into an input.
func (l *loaded) stateInput(s []float32) input {
	v := make([]float32, len(s))
	l.norm.in(v, s)
	return input{kind: kindState, vec: v}
}

func (l *loaded) actionInput(a []float32) input {
	if l.model.Shape.Discrete {
		return input{kind: kindAction, id: int32(a[0])}
	}
	return input{kind: kindAction, vec: append([]float32(nil), a...)}
}

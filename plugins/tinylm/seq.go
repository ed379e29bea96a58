package tinylm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

// Special tokens after the tokenizer's own ids.
const (
	tokSEP = iota
	tokG2R
	tokR2G
	tokDYN
	tokCON
	numExtra
)

// vocab maps the model's token ids: the tokenizer's, then the extras.
type vocab struct {
	tok  *bpe.Tokenizer
	base int // tok.Size()
}

func newVocab(tok *bpe.Tokenizer) vocab { return vocab{tok: tok, base: tok.Size()} }

func (v vocab) size() int         { return v.base + numExtra }
func (v vocab) extra(e int) int32 { return int32(v.base + e) }

// Norm holds the statistics states are scaled by: inputs are (s − Mean)/Std,
// and a predicted state is the last state plus Delta·output.
type Norm struct {
	Mean  []float32 `json:"mean"`
	Std   []float32 `json:"std"`
	Delta []float32 `json:"delta"`
}

func (n *Norm) in(dst, s []float32) {
	for i, v := range s {
		dst[i] = (v - n.Mean[i]) / n.Std[i]
	}
}

// target writes the regression target for next given the base state.
func (n *Norm) target(dst, next, base []float32) {
	for i, v := range next {
		dst[i] = (v - base[i]) / n.Delta[i]
	}
}

// out turns a state-head output into a state.
func (n *Norm) out(dst, y, base []float32) {
	for i, v := range y {
		dst[i] = base[i] + v*n.Delta[i]
	}
}

// episode is a grounding example: a rollout and its goal's phrasings, encoded.
type episode struct {
	obs   []float32 // [T+1, ObsDim]
	act   []float32 // [T, ActDim]
	texts [][]int32
}

func (e *episode) steps(actDim int) int { return len(e.act) / actDim }

// corpus is the grounding data.
type corpus struct {
	meta       dataset.Meta
	eps        []episode
	train, val []int // episode indices
}

// loadEpisodes reads every episode of the datasets, which must share a spec.
func loadEpisodes(paths []string) (dataset.Meta, []*dataset.Episode, error) {
	var meta dataset.Meta
	var out []*dataset.Episode
	if len(paths) == 0 {
		return meta, nil, errors.New("tinylm: ground: no dataset given")
	}
	for i, p := range paths {
		r, err := dataset.Open(p)
		if err != nil {
			return meta, nil, fmt.Errorf("tinylm: ground: %w", err)
		}
		m := r.Meta()
		if i == 0 {
			meta = m
		} else if m.Env != meta.Env || m.ObsDim != meta.ObsDim || m.ActionSpace.Kind != meta.ActionSpace.Kind || m.ActionSpace.N != meta.ActionSpace.N || m.ActionSpace.Dim != meta.ActionSpace.Dim {
			r.Close()
			return meta, nil, fmt.Errorf("tinylm: ground: dataset %s is env %q (obs_dim %d, actions %v), but %s is env %q (obs_dim %d, actions %v)",
				p, m.Env, m.ObsDim, m.ActionSpace, paths[0], meta.Env, meta.ObsDim, meta.ActionSpace)
		}
		for ep, err := range r.All() {
			if err != nil {
				r.Close()
				return meta, nil, fmt.Errorf("tinylm: ground: %s: %w", p, err)
			}
			if err := finiteEpisode(ep); err != nil {
				r.Close()
				return meta, nil, fmt.Errorf("tinylm: ground: %s: episode %d: %w", p, len(out), err)
			}
			out = append(out, ep)
		}
		r.Close()
	}
	if len(out) == 0 {
		return meta, nil, fmt.Errorf("tinylm: ground: datasets %v hold no episodes", paths)
	}
	return meta, out, nil
}

func finiteEpisode(ep *dataset.Episode) error {
	for i, v := range ep.Observations {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("observation value %d is %g", i, v)
		}
	}
	for i, v := range ep.Actions {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("action value %d is %g", i, v)
		}
	}
	return nil
}

// goalTexts returns an episode's phrasings.
func goalTexts(g dataset.Goal) []string {
	var out []string
	if g.Text != "" {
		out = append(out, g.Text)
	}
	for _, t := range g.Texts {
		if t != "" && t != g.Text {
			out = append(out, t)
		}
	}
	return out
}

// computeNorm measures the states' mean and spread and the one-step changes' spread.
func computeNorm(eps []*dataset.Episode, od int) Norm {
	n := Norm{Mean: make([]float32, od), Std: make([]float32, od), Delta: make([]float32, od)}
	var sum, sq, dsq []float64 = make([]float64, od), make([]float64, od), make([]float64, od)
	var cnt, dcnt float64
	for _, ep := range eps {
		rows := len(ep.Observations) / od
		for r := 0; r < rows; r++ {
			for i := 0; i < od; i++ {
				v := float64(ep.Observations[r*od+i])
				sum[i] += v
				sq[i] += v * v
				if r > 0 {
					d := v - float64(ep.Observations[(r-1)*od+i])
					dsq[i] += d * d
				}
			}
			cnt++
			if r > 0 {
				dcnt++
			}
		}
	}
	for i := 0; i < od; i++ {
		m := sum[i] / math.Max(cnt, 1)
		n.Mean[i] = float32(m)
		n.Std[i] = float32(math.Max(math.Sqrt(math.Max(sq[i]/math.Max(cnt, 1)-m*m, 0)), 1e-3))
		n.Delta[i] = float32(math.Max(math.Sqrt(dsq[i]/math.Max(dcnt, 1)), 1e-3))
	}
	return n
}

// builder turns episodes into batches of the four tasks.
type builder struct {
	v      vocab
	norm   *Norm
	shape  Shape
	od, ad int
	// backward: the explanation task reads rollouts from the end;
	// statesOnly: their states alone; pairsOnly: the pair tokens of their
	// last step alone (Config.ExplainReads).
	backward, statesOnly, pairsOnly bool
}

// seq collects one sequence's positions before they are laid into a Batch.
type seq struct {
	kind []int8
	tok  []int32 // token id, action id, or index into obs/act (pair: into pairObs times pair tokens, plus the pair)
	obs  []float32
	// pairObs holds the transitions pair tokens read (see Batch.PairObs).
	pairObs []float32
	act     []float32
	// targets: position → value
	tokAt []int32
	tokY  []int32
	obsAt []int32
	obsY  []float32
	obsB  []float32
	actAt []int32
	actY  []int32
	actYC []float32
}

func (s *seq) reset() {
	*s = seq{kind: s.kind[:0], tok: s.tok[:0], obs: s.obs[:0], pairObs: s.pairObs[:0], act: s.act[:0], tokAt: s.tokAt[:0], tokY: s.tokY[:0],
		obsAt: s.obsAt[:0], obsY: s.obsY[:0], obsB: s.obsB[:0], actAt: s.actAt[:0], actY: s.actY[:0], actYC: s.actYC[:0]}
}

func (s *seq) len() int { return len(s.kind) }

// inputs are the sequence's positions as the decoder takes them.
func (s *seq) inputs(b *builder) []input {
	od, ad := b.od, b.ad
	np := b.shape.pairTokens()
	out := make([]input, s.len())
	for p, k := range s.kind {
		id := s.tok[p]
		switch {
		case k == kindText || (k == kindAction && b.shape.Discrete):
			out[p] = input{kind: k, id: id}
		case k == kindState:
			out[p] = input{kind: k, vec: s.obs[int(id)*od : int(id+1)*od]}
		case k == kindAction:
			out[p] = input{kind: k, vec: s.act[int(id)*ad : int(id+1)*ad]}
		case k == kindPair:
			row := int(id) / np
			out[p] = input{kind: k, id: id % int32(np), vec: s.pairObs[row*2*od : (row+1)*2*od]}
		}
	}
	return out
}

func (s *seq) text(id int32) { s.kind = append(s.kind, kindText); s.tok = append(s.tok, id) }

// state appends a state slot (normalised into the input).
func (b *builder) state(s *seq, st []float32) {
	s.kind = append(s.kind, kindState)
	s.tok = append(s.tok, int32(len(s.obs)/b.od))
	n := len(s.obs)
	s.obs = append(s.obs, make([]float32, b.od)...)
	b.norm.in(s.obs[n:], st)
}

// pairs appends the pair tokens of the transition from prev to st: one per
// ordered pair of state slots (Shape.Pairs; none without).
func (b *builder) pairs(s *seq, st, prev []float32) {
	np := b.shape.pairTokens()
	if np == 0 {
		return
	}
	row := int32(len(s.pairObs) / (2 * b.od))
	s.pairObs = appendTransition(s.pairObs, b.norm, b.shape.Slots, st, prev)
	for p := range np {
		s.kind = append(s.kind, kindPair)
		s.tok = append(s.tok, row*int32(np)+int32(p))
	}
}

// appendTransition appends the normalised slots of st and prev as pair
// tokens read them: every slot's value in st, then in prev.
func appendTransition(dst []float32, norm *Norm, slots int, st, prev []float32) []float32 {
	od := len(st)
	w := od / slots
	n := len(dst)
	dst = append(dst, make([]float32, 2*od)...)
	cur, pre := make([]float32, od), make([]float32, od)
	norm.in(cur, st)
	norm.in(pre, prev)
	for i := range slots {
		copy(dst[n+2*i*w:], cur[i*w:(i+1)*w])
		copy(dst[n+(2*i+1)*w:], pre[i*w:(i+1)*w])
	}
	return dst
}

func (b *builder) action(s *seq, a []float32) {
	s.kind = append(s.kind, kindAction)
	if b.shape.Discrete {
		s.tok = append(s.tok, int32(a[0]))
		return
	}
	s.tok = append(s.tok, int32(len(s.act)/b.ad))
	s.act = append(s.act, a...)
}

// predictState makes the output at the last position predict next, from
// base, the state after prev (base itself where nothing came before).
func (b *builder) predictState(s *seq, next, base, prev []float32) {
	s.obsAt = append(s.obsAt, int32(s.len()-1))
	n := len(s.obsY)
	s.obsY = append(s.obsY, make([]float32, b.od)...)
	b.norm.target(s.obsY[n:], next, base)
	s.obsB = appendBase(s.obsB, b.norm, b.shape, base, prev)
}

// appendBase appends what the state head reads of base, the state after
// prev: its normalised value, and with Shape.History every slot's value
// followed by the slot's change from prev, scaled as a predicted change.
func appendBase(dst []float32, norm *Norm, s Shape, base, prev []float32) []float32 {
	n := len(dst)
	dst = append(dst, make([]float32, s.baseWidth())...)
	if !s.History {
		norm.in(dst[n:], base)
		return dst
	}
	w := s.ObsDim / s.Slots
	for i := range s.Slots {
		o := dst[n+2*i*w : n+2*(i+1)*w]
		for k := range w {
			j := i*w + k
			o[k] = (base[j] - norm.Mean[j]) / norm.Std[j]
			o[w+k] = (base[j] - prev[j]) / norm.Delta[j]
		}
	}
	return dst
}

// before is the state before state t of obs (state t itself for t = 0).
func before(obs []float32, t, od int) []float32 {
	t = max(t-1, 0)
	return obs[t*od : (t+1)*od]
}

func (b *builder) predictAction(s *seq, a []float32) {
	s.actAt = append(s.actAt, int32(s.len()-1))
	if b.shape.Discrete {
		s.actY = append(s.actY, int32(a[0]))
	} else {
		s.actYC = append(s.actYC, a...)
	}
}

func (b *builder) predictText(s *seq, id int32) {
	s.tokAt = append(s.tokAt, int32(s.len()-1))
	s.tokY = append(s.tokY, id)
}

// maxSteps is the number of rollout steps that fit after a prefix of n positions.
func (b *builder) maxSteps(n, suffix int) int { return max(0, (b.shape.Context-n-suffix-1)/2) }

// goalToRollout: BOS G2R goal SEP s0 a0 s1 … sT.
func (b *builder) goalToRollout(s *seq, ep *episode, text []int32) {
	s.text(bpe.BOS)
	s.text(b.v.extra(tokG2R))
	for _, id := range text {
		s.text(id)
	}
	s.text(b.v.extra(tokSEP))
	T := min(ep.steps(b.ad), b.maxSteps(s.len(), 0))
	od, ad := b.od, b.ad
	b.state(s, ep.obs[:od])
	for t := 0; t < T; t++ {
		a := ep.act[t*ad : (t+1)*ad]
		b.predictAction(s, a)
		b.action(s, a)
		b.predictState(s, ep.obs[(t+1)*od:(t+2)*od], ep.obs[t*od:(t+1)*od], before(ep.obs, t, od))
		b.state(s, ep.obs[(t+1)*od:(t+2)*od])
	}
}

// rolloutPrompt: BOS R2G s0 a0 … sT [pairs] SEP, or backward BOS R2G sT
// aT−1 … s0 [pairs] SEP, the rollout cut to leave room for text (backward:
// its start cut); [pairs] are the pair tokens of the last step
// (Shape.Pairs); pairsOnly: BOS R2G pairs SEP.
func (b *builder) rolloutPrompt(s *seq, obs, act []float32, room int) {
	s.text(bpe.BOS)
	s.text(b.v.extra(tokR2G))
	od, ad := b.od, b.ad
	n := len(act) / ad
	T := min(n, b.maxSteps(s.len(), room+1+b.shape.pairTokens()))
	step := func(t int) { // action t, unless the states are read alone
		if !b.statesOnly {
			b.action(s, act[t*ad:(t+1)*ad])
		}
	}
	if b.statesOnly { // a step is one position
		T = min(n, max(0, b.shape.Context-s.len()-room-b.shape.pairTokens()-2))
	}
	switch {
	case b.pairsOnly: // the pair tokens below are the whole prompt
	case b.backward:
		b.state(s, obs[n*od:(n+1)*od])
		for t := n - 1; t >= n-T; t-- {
			step(t)
			b.state(s, obs[t*od:(t+1)*od])
		}
	default:
		b.state(s, obs[:od])
		for t := 0; t < T; t++ {
			step(t)
			b.state(s, obs[(t+1)*od:(t+2)*od])
		}
	}
	// The pair tokens read the rollout's last step, even where the
	// context cut it.
	b.pairs(s, obs[n*od:(n+1)*od], obs[max(n-1, 0)*od:max(n, 1)*od])
	s.text(b.v.extra(tokSEP))
}

// rolloutToGoal: BOS R2G s0 a0 … sT SEP goal EOS, the goal and EOS supervised.
func (b *builder) rolloutToGoal(s *seq, ep *episode, text []int32) {
	b.rolloutPrompt(s, ep.obs, ep.act, len(text)+1)
	for _, id := range text {
		b.predictText(s, id)
		s.text(id)
	}
	b.predictText(s, bpe.EOS)
}

// dynamics: BOS DYN s_t a_t, a_t's position predicting s_t+1 (the state
// head reading s_t−1 too with Shape.History; s_t on a first step).
func (b *builder) dynamics(s *seq, st, prev, a, next []float32) {
	s.text(bpe.BOS)
	s.text(b.v.extra(tokDYN))
	b.state(s, st)
	b.action(s, a)
	b.predictState(s, next, st, prev)
}

// transition is step t of ep as the dynamics task reads it.
func (b *builder) transition(s *seq, ep *episode, t int) {
	od, ad := b.od, b.ad
	b.dynamics(s, ep.obs[t*od:(t+1)*od], before(ep.obs, t, od), ep.act[t*ad:(t+1)*ad], ep.obs[(t+1)*od:(t+2)*od])
}

// consequence: BOS CON s0 goal SEP, SEP's position predicting s_T.
func (b *builder) consequence(s *seq, s0, sT []float32, text []int32) {
	s.text(bpe.BOS)
	s.text(b.v.extra(tokCON))
	b.state(s, s0)
	for _, id := range text {
		s.text(id)
	}
	s.text(b.v.extra(tokSEP))
	b.predictState(s, sT, s0, s0)
}

// lay packs sequences into a right-padded Batch.
func (b *builder) lay(out *Batch, seqs []seq) {
	T := 0
	for i := range seqs {
		T = max(T, seqs[i].len())
	}
	out.reset(len(seqs), T)
	for i := range seqs {
		s := &seqs[i]
		base := int32(i * T)
		out.Lens = append(out.Lens, s.len())
		obsOff := int32(len(out.Obs) / b.od)
		pairOff := int32(len(out.PairObs)/(2*b.od)) * int32(b.shape.pairTokens())
		actOff := int32(0)
		if !b.shape.Discrete {
			actOff = int32(len(out.Act) / b.ad)
		}
		for p, k := range s.kind {
			out.Kind[int(base)+p] = k
			id := s.tok[p]
			switch {
			case k == kindState:
				id += obsOff
			case k == kindAction && !b.shape.Discrete:
				id += actOff
			case k == kindPair:
				id += pairOff
			}
			out.Tok[int(base)+p] = id
		}
		out.Obs = append(out.Obs, s.obs...)
		out.PairObs = append(out.PairObs, s.pairObs...)
		out.Act = append(out.Act, s.act...)
		for j, p := range s.tokAt {
			out.TokRow = append(out.TokRow, base+p)
			out.TokY = append(out.TokY, s.tokY[j])
		}
		for _, p := range s.obsAt {
			out.ObsRow = append(out.ObsRow, base+p)
		}
		out.ObsY = append(out.ObsY, s.obsY...)
		out.ObsB = append(out.ObsB, s.obsB...)
		for _, p := range s.actAt {
			out.ActRow = append(out.ActRow, base+p)
		}
		out.ActY = append(out.ActY, s.actY...)
		out.ActYC = append(out.ActYC, s.actYC...)
	}
}

// sample builds a batch of n examples of task from the episodes in pool.
func (b *builder) sample(out *Batch, seqs []seq, c *corpus, pool []int, task lm.Task, rng *rand.Rand) {
	for i := range seqs {
		s := &seqs[i]
		s.reset()
		ep := &c.eps[pool[rng.IntN(len(pool))]]
		text := ep.texts[rng.IntN(len(ep.texts))]
		od, ad := b.od, b.ad
		switch task {
		case lm.GoalToRollout:
			b.goalToRollout(s, ep, text)
		case lm.RolloutToGoal:
			b.rolloutToGoal(s, ep, text)
		case lm.Dynamics:
			T := ep.steps(ad)
			if T == 0 {
				b.consequence(s, ep.obs[:od], ep.obs[:od], text)
				continue
			}
			b.transition(s, ep, rng.IntN(T))
		case lm.Consequence:
			T := ep.steps(ad)
			b.consequence(s, ep.obs[:od], ep.obs[T*od:(T+1)*od], text)
		}
	}
	b.lay(out, seqs)
}

package tinylm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
	"github.com/kalm-go/kalm/plugins/tinylm/wordnet"
)

// LM is the tinylm backend. The zero value is not usable; call New.
type LM struct {
	mu     sync.Mutex
	models map[string]*model // loaded checkpoints by path
}

// model is a loaded checkpoint with its language prior; calls on it are
// serialised (its layers own their buffers).
type model struct {
	sync.Mutex
	*loaded
	mapper *wordnet.Mapper
	dec    *decoder // reused between calls: a new cache costs its zeroing
}

// decoder returns the model's decoder emptied for rows sequences.
func (m *model) decoder(rows int) *decoder {
	m.dec = m.dec.reuse(m.model, rows)
	return m.dec
}

var (
	_ lm.LM      = (*LM)(nil)
	_ lm.Schemer = (*LM)(nil)
)

// New returns a tinylm backend.
func New() *LM { return &LM{models: map[string]*model{}} }

// Describe names the backend and the tasks it grounds on.
func (*LM) Describe(context.Context) (string, []string, error) {
	caps := []string{"ground", "generate", "explain", "predict", "encode", "act"}
	for _, t := range lm.Tasks {
		caps = append(caps, "task:"+string(t))
	}
	return "tinylm", caps, nil
}

// Schema declares tinylm's settings (lm.config).
func (*LM) Schema(context.Context, lm.SchemaRequest) (*lm.Schema, error) {
	s := Schema()
	return &s, nil
}

// Ground trains a model from scratch on the datasets.
func (*LM) Ground(ctx context.Context, req lm.GroundRequest, progress func(lm.Progress)) (*lm.GroundResponse, error) {
	if req.Base != "" {
		return nil, fmt.Errorf("tinylm: ground: base %q: tinylm trains from scratch and takes no base model", req.Base)
	}
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	if cfg.Prior == "wordnet" {
		if _, err := wordnet.Open(cfg.WordNetDir); err != nil {
			return nil, fmt.Errorf("tinylm: prior wordnet: %w (or set prior: none)", err)
		}
	}
	return ground(ctx, req, progress)
}

// open loads a checkpoint once per process.
func (l *LM) open(path string) (*model, error) {
	if path == "" {
		return nil, fmt.Errorf("tinylm: no checkpoint given")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if m, ok := l.models[path]; ok {
		return m, nil
	}
	ld, err := load(path)
	if err != nil {
		return nil, err
	}
	m := &model{loaded: ld}
	ld.model.hold() // a loaded model only decodes: its weights never change
	if ld.h.Config.Prior == "wordnet" {
		db, err := wordnet.Open(ld.h.Config.WordNetDir)
		if err != nil {
			return nil, fmt.Errorf("tinylm: checkpoint %s uses the WordNet prior: %w", path, err)
		}
		m.mapper = wordnet.NewMapper(db, ld.v.tok.Words(), wordnet.DefaultDepth)
	}
	l.models[path] = m
	return m, nil
}

// lock opens a checkpoint and takes its model for one call; the caller
// unlocks it.
func (l *LM) lock(path string) (*model, error) {
	m, err := l.open(path)
	if err != nil {
		return nil, err
	}
	m.Lock()
	return m, nil
}

// encodeGoal maps a goal text through the prior and tokenizes it.
func (m *model) encodeGoal(i int, text string) ([]int32, error) {
	norm := bpe.Normalize(text)
	if norm == "" {
		return nil, fmt.Errorf("tinylm: goal %d: empty goal text %q", i, text)
	}
	if m.mapper != nil {
		mapped, _, err := m.mapper.Map(norm)
		if err != nil {
			return nil, fmt.Errorf("tinylm: goal %d: %w", i, err)
		}
		norm = mapped
	}
	ids, err := m.v.tok.Encode(norm)
	if err != nil {
		return nil, fmt.Errorf("tinylm: goal %d: %w", i, err)
	}
	// Room for at least one step of rollout after the prompt.
	if room := m.model.Shape.Context - 8; len(ids) > room {
		ids = ids[:room]
	}
	return ids, nil
}

func (m *model) checkObs(what string, obs []float32, n int) error {
	if len(obs) != n*m.od {
		return fmt.Errorf("tinylm: %s: %d observation values for %d rows of dim %d, want %d", what, len(obs), n, m.od, n*m.od)
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tinylm: %s: observation value %d (row %d) is %g", what, i, i/m.od, v)
		}
	}
	return nil
}

// action turns an action-head output into an action.
func (m *model) action(out []float32, temperature float64, rng *rand.Rand) []float32 {
	if m.model.Shape.Discrete {
		return []float32{float32(pick(out, temperature, rng))}
	}
	a := append([]float32(nil), out...)
	sp := m.h.Actions
	for i := range a {
		if temperature > 0 {
			a[i] += float32(rng.NormFloat64() * temperature * 0.1)
		}
		if len(sp.Low) == len(a) {
			a[i] = max(sp.Low[i], min(sp.High[i], a[i]))
		}
	}
	return a
}

// Generate imagines rollouts for goals, batch by batch.
func (l *LM) Generate(ctx context.Context, req lm.GenerateRequest, judge lm.Judge) (*lm.GenerateResponse, error) {
	m, err := l.lock(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	defer m.Unlock()
	n := len(req.Goals)
	if err := m.checkObs("generate", req.Observations, n); err != nil {
		return nil, err
	}
	if req.MaxSteps < 1 {
		return nil, fmt.Errorf("tinylm: generate: max_steps %d, want at least 1", req.MaxSteps)
	}
	if req.Out == "" {
		return nil, fmt.Errorf("tinylm: generate: no output directory")
	}
	texts := make([][]int32, n)
	gd := -1
	for i, g := range req.Goals {
		if texts[i], err = m.encodeGoal(i, g.Text); err != nil {
			return nil, err
		}
		if gd >= 0 && len(g.Vector) != gd {
			return nil, fmt.Errorf("tinylm: generate: goal %d has a vector of %d values, goal 0 of %d", i, len(g.Vector), gd)
		}
		gd = len(g.Vector)
	}
	batch := m.h.Config.GenBatch
	if v, ok := req.Config["gen_batch"]; ok {
		if f, ok := number(v); ok && f >= 1 {
			batch = int(f)
		}
	}
	w, err := dataset.Create(req.Out, dataset.Meta{Env: m.h.Env, Source: dataset.Imagined, ObsDim: m.od, GoalDim: max(gd, 0),
		ActionSpace: m.h.Actions, Attrs: map[string]string{"lm": "tinylm", "temperature": fmt.Sprint(req.Temperature)}})
	if err != nil {
		return nil, fmt.Errorf("tinylm: generate: %w", err)
	}
	defer w.Abort()
	start := time.Now()
	steps := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		eps, k, err := m.generate(ctx, req, texts, lo, hi, judge)
		if err != nil {
			return nil, err
		}
		steps += k
		for _, ep := range eps {
			if err := w.Write(ep); err != nil {
				return nil, fmt.Errorf("tinylm: generate: %w", err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("tinylm: generate: %w", err)
	}
	el := time.Since(start).Seconds()
	return &lm.GenerateResponse{Meta: w.Meta(), Metrics: map[string]float64{"rollouts": float64(n), "steps": float64(steps),
		"rollouts_per_s": float64(n) / max(el, 1e-9)}}, nil
}

// generate decodes the rollouts of goals [lo, hi).
func (m *model) generate(ctx context.Context, req lm.GenerateRequest, texts [][]int32, lo, hi int, judge lm.Judge) ([]*dataset.Episode, int, error) {
	od, ad := m.od, m.ad
	rows := hi - lo
	rng := rand.New(rand.NewPCG(req.Seed, uint64(lo)))
	d := m.decoder(rows)
	eps := make([]*dataset.Episode, rows)
	prompts := make([][]input, rows)
	for i := range rows {
		g := lo + i
		s0 := req.Observations[g*od : (g+1)*od]
		eps[i] = &dataset.Episode{Goal: req.Goals[g], Observations: append([]float32(nil), s0...)}
		prompts[i] = append(m.goalPrompt(texts[g]), m.stateInput(s0))
	}
	h := d.prefill(prompts)
	active := make([]int, rows)
	for i := range active {
		active[i] = i
	}
	steps := 0
	for t := 0; t < req.MaxSteps && len(active) > 0; t++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		// Drop rows with no room for an action and a state.
		keep := active[:0]
		for i, r := range active {
			if d.pos(r)+2 <= m.model.Shape.Context {
				keep = append(keep, r)
				copy(h.Row(len(keep)-1), h.Row(i))
			}
		}
		active = keep
		if len(active) == 0 {
			break
		}
		h = nn.View(h.Data, len(active), h.Cols)
		logits := head(m.model.ActOut, h)
		in := make([]input, len(active))
		acts := make([]float32, 0, len(active)*ad)
		for i := range active {
			a := m.action(logits.Row(i), req.Temperature, rng)
			acts = append(acts, a...)
			in[i] = m.actionInput(a)
		}
		hs := d.feed(active, in)
		bases := make([]float32, 0, len(active)*m.model.Shape.baseWidth())
		for _, r := range active {
			obs := eps[r].Observations
			n := len(obs) / od
			bases = appendBase(bases, m.norm, m.model.Shape, obs[(n-1)*od:], before(obs, n-1, od))
		}
		out := m.model.stateOut(hs, bases)
		next := make([]float32, len(active)*od)
		idx := make([]int32, len(active))
		for i, r := range active {
			ep := eps[r]
			base := ep.Observations[len(ep.Observations)-od:]
			m.norm.out(next[i*od:(i+1)*od], out.Row(i), base)
			ep.Observations = append(ep.Observations, next[i*od:(i+1)*od]...)
			ep.Actions = append(ep.Actions, acts[i*ad:(i+1)*ad]...)
			ep.Rewards = append(ep.Rewards, 0)
			ep.Terminals = append(ep.Terminals, false)
			ep.Timeouts = append(ep.Timeouts, false)
			idx[i] = int32(lo + r)
		}
		steps += len(active)
		done := make([]bool, len(active))
		if judge != nil {
			v, err := judge(ctx, lm.GenerateStep{Step: t + 1, Index: idx, Observations: next, Actions: acts})
			if err != nil {
				return nil, 0, fmt.Errorf("tinylm: generate: judge: %w", err)
			}
			done = v.Done
		}
		keep = active[:0]
		var feedIn []input
		for i, r := range active {
			if done[i] {
				continue
			}
			keep = append(keep, r)
			feedIn = append(feedIn, m.stateInput(next[i*od:(i+1)*od]))
		}
		active = keep
		if len(active) == 0 || t+1 == req.MaxSteps {
			break
		}
		hf := d.feed(active, feedIn)
		h = nn.Mat{Rows: hf.Rows, Cols: hf.Cols, Data: append(h.Data[:0], hf.Data...)}
	}
	for _, ep := range eps {
		if n := len(ep.Timeouts); n > 0 && n >= req.MaxSteps {
			ep.Timeouts[n-1] = true
		}
	}
	return eps, steps, nil
}

// Explain describes rollouts: BOS R2G s0 a0 … sT SEP (or backward, as
// grounded), then greedy text.
func (l *LM) Explain(ctx context.Context, req lm.ExplainRequest) (*lm.ExplainResponse, error) {
	m, err := l.lock(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	defer m.Unlock()
	// An explanation as long as twice the longest goal text grounded on,
	// within max_explain.
	maxText := min(m.h.Config.MaxExplain, 2*m.h.MaxText+2)
	rng := rand.New(rand.NewPCG(req.Seed, 0xe7))
	out := &lm.ExplainResponse{Texts: make([]string, len(req.Rollouts))}
	batch := m.h.Config.GenBatch
	for lo := 0; lo < len(req.Rollouts); lo += batch {
		hi := min(len(req.Rollouts), lo+batch)
		prompts := make([][]input, hi-lo)
		for i := range prompts {
			ep := req.Rollouts[lo+i]
			if ep == nil || len(ep.Observations) == 0 || len(ep.Observations)%m.od != 0 ||
				len(ep.Actions)%max(m.ad, 1) != 0 || len(ep.Observations)/m.od != len(ep.Actions)/m.ad+1 {
				return nil, fmt.Errorf("tinylm: explain: rollout %d is not T+1 observations of dim %d around T actions of dim %d", lo+i, m.od, m.ad)
			}
			if err := m.checkObs(fmt.Sprintf("explain: rollout %d", lo+i), ep.Observations, len(ep.Observations)/m.od); err != nil {
				return nil, err
			}
			prompts[i] = m.rolloutPrompt(ep.Observations, ep.Actions, maxText)
		}
		d := m.decoder(len(prompts))
		h := d.prefill(prompts)
		toks := make([][]int32, len(prompts))
		active := make([]int, len(prompts))
		for i := range active {
			active[i] = i
		}
		for k := 0; k < maxText && len(active) > 0; k++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			logits := head(m.model.TokOut, h)
			keep := active[:0]
			var in []input
			for i, r := range active {
				// Text pieces only, and EOS once there is a word.
				row := logits.Row(i)[:m.v.tok.Size()]
				if k == 0 {
					row[bpe.EOS] = float32(math.Inf(-1))
				}
				row[bpe.PAD], row[bpe.BOS] = float32(math.Inf(-1)), float32(math.Inf(-1))
				id := int32(pick(row, req.Temperature, rng))
				if id == bpe.EOS || d.pos(r) >= m.model.Shape.Context {
					continue
				}
				toks[r] = append(toks[r], id)
				keep = append(keep, r)
				in = append(in, input{kind: kindText, id: id})
			}
			active = keep
			if len(active) == 0 {
				break
			}
			hf := d.feed(active, in)
			h = nn.Mat{Rows: hf.Rows, Cols: hf.Cols, Data: append([]float32(nil), hf.Data...)}
		}
		for i, t := range toks {
			out.Texts[lo+i] = m.v.tok.Decode(t)
		}
	}
	return out, nil
}

// rolloutPrompt is the explanation prompt grounding trains on
// (builder.rolloutPrompt) for a rollout and room tokens of text: BOS R2G
// s0 a0 … sT [pairs] SEP, the rollout's tail cut to leave room, or read
// backward (explain_order) BOS R2G sT aT−1 sT−1 … [pairs] SEP, its start
// cut.
func (m *model) rolloutPrompt(obs, act []float32, room int) []input {
	b := m.h.Config.newBuilder(m.v, m.norm, m.model.Shape, m.od, m.ad)
	var s seq
	b.rolloutPrompt(&s, obs, act, room+1) // room for the text and EOS, as rolloutToGoal
	return s.inputs(&b)
}

// Predict predicts next observations: BOS DYN s a, the state head at a
// (reading the change from the previous observation with state_history;
// none where the request has no previous observations).
func (l *LM) Predict(ctx context.Context, req lm.PredictRequest) (*lm.PredictResponse, error) {
	m, err := l.lock(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	defer m.Unlock()
	od, ad := m.od, m.ad
	n := len(req.Observations) / od
	if err := m.checkObs("predict", req.Observations, n); err != nil {
		return nil, err
	}
	if len(req.Actions) != n*ad {
		return nil, fmt.Errorf("tinylm: predict: %d action values for %d observations of action dim %d, want %d", len(req.Actions), n, ad, n*ad)
	}
	if err := m.h.Actions.Check(req.Actions); err != nil {
		return nil, fmt.Errorf("tinylm: predict: %w", err)
	}
	prev := req.Observations
	if req.Previous != nil {
		if err := m.checkObs("predict: previous observations", req.Previous, n); err != nil {
			return nil, err
		}
		prev = req.Previous
	}
	out := &lm.PredictResponse{Observations: make([]float32, n*od)}
	const chunk = 256
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		prompts := make([][]input, hi-lo)
		for i := range prompts {
			r := lo + i
			prompts[i] = append(textInputs(bpe.BOS, m.v.extra(tokDYN)), m.stateInput(req.Observations[r*od:(r+1)*od]),
				m.actionInput(req.Actions[r*ad:(r+1)*ad]))
		}
		d := m.decoder(len(prompts))
		bases := make([]float32, 0, len(prompts)*m.model.Shape.baseWidth())
		for i := range prompts {
			r := lo + i
			bases = appendBase(bases, m.norm, m.model.Shape, req.Observations[r*od:(r+1)*od], prev[r*od:(r+1)*od])
		}
		y := m.model.stateOut(d.prefill(prompts), bases)
		for i := range prompts {
			r := lo + i
			m.norm.out(out.Observations[r*od:(r+1)*od], y.Row(i), req.Observations[r*od:(r+1)*od])
		}
	}
	return out, nil
}

// Encode embeds goal texts: the mean of the final hidden states over the
// goal's tokens and the SEP after them in the goal→rollout prompt.
func (l *LM) Encode(ctx context.Context, req lm.EncodeRequest) (*lm.EncodeResponse, error) {
	m, err := l.lock(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	defer m.Unlock()
	dim := m.model.Shape.Dim
	out := &lm.EncodeResponse{Dim: dim, Vectors: make([]float32, len(req.Texts)*dim)}
	for i, text := range req.Texts {
		ids, err := m.encodeGoal(i, text)
		if err != nil {
			return nil, err
		}
		vec := m.encode(ids)
		copy(out.Vectors[i*dim:], vec)
	}
	return out, nil
}

// encode runs BOS G2R text SEP and pools the goal's positions.
func (m *model) encode(ids []int32) []float32 {
	prompt := m.goalPrompt(ids)
	d := m.decoder(1)
	dim := m.model.Shape.Dim
	vec := make([]float32, dim)
	for t, in := range prompt {
		h := d.feed([]int{0}, []input{in})
		if t >= 2 {
			addTo(vec, h.Row(0))
		}
	}
	k := float32(1) / float32(len(prompt)-2)
	for i := range vec {
		vec[i] *= k
	}
	return vec
}

// Act is the LM as a policy: BOS G2R goal SEP s0 a0 … s_t, the action head at s_t.
func (l *LM) Act(ctx context.Context, req lm.ActRequest) (*lm.ActResponse, error) {
	m, err := l.lock(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	defer m.Unlock()
	od, ad := m.od, m.ad
	n := len(req.Goals)
	if err := m.checkObs("act", req.Observations, n); err != nil {
		return nil, err
	}
	if req.HistoryLengths != nil && len(req.HistoryLengths) != n {
		return nil, fmt.Errorf("tinylm: act: %d history lengths for %d goals", len(req.HistoryLengths), n)
	}
	total := 0
	for _, k := range req.HistoryLengths {
		if k < 0 {
			return nil, fmt.Errorf("tinylm: act: negative history length %d", k)
		}
		total += k
	}
	if len(req.HistoryObservations) != total*od || len(req.HistoryActions) != total*ad {
		return nil, fmt.Errorf("tinylm: act: history of %d steps needs %d observation and %d action values, got %d and %d",
			total, total*od, total*ad, len(req.HistoryObservations), len(req.HistoryActions))
	}
	rng := rand.New(rand.NewPCG(req.Seed, 0xac7))
	prompts := make([][]input, n)
	off := 0
	for i, g := range req.Goals {
		ids, err := m.encodeGoal(i, g)
		if err != nil {
			return nil, err
		}
		p := m.goalPrompt(ids)
		k := 0
		if req.HistoryLengths != nil {
			k = req.HistoryLengths[i]
		}
		// Keep the most recent steps that fit.
		fit := max(0, (m.model.Shape.Context-len(p)-1)/2)
		skip := max(0, k-fit)
		for t := skip; t < k; t++ {
			p = append(p, m.stateInput(req.HistoryObservations[(off+t)*od:(off+t+1)*od]), m.actionInput(req.HistoryActions[(off+t)*ad:(off+t+1)*ad]))
		}
		off += k
		prompts[i] = append(p, m.stateInput(req.Observations[i*od:(i+1)*od]))
	}
	d := m.decoder(n)
	logits := head(m.model.ActOut, d.prefill(prompts))
	out := &lm.ActResponse{Actions: make([]float32, 0, n*ad)}
	for i := 0; i < n; i++ {
		out.Actions = append(out.Actions, m.action(logits.Row(i), req.Temperature, rng)...)
	}
	return out, nil
}

package tinylm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/tinylm/bpe"
)

// taskNames are the short names metrics use.
var taskNames = map[lm.Task]string{lm.GoalToRollout: "g2r", lm.RolloutToGoal: "r2g", lm.Dynamics: "dyn", lm.Consequence: "con"}

// trainer holds one grounding run.
type trainer struct {
	cfg     Config
	tasks   []lm.Task
	c       *corpus
	b       builder
	model   *Model
	opt     *nn.Adam
	rng     *rand.Rand
	pcg     *rand.PCG
	h       header
	best    []*nn.Param
	state   trainState
	val     map[lm.Task]*Batch // fixed validation batches
	work    []*worker          // one per task
	threads int
	steps   int
	tokens  int64
}

// worker is one goroutine's replica: its own activations and gradients over
// the shared weights.
type worker struct {
	model *Model
	seqs  []seq
	batch Batch // the task's micro-batch, its buffers reused step after step
	// drop are the streams of the replica's dropout masks, reseeded every
	// step from the trainer's stream (so a resumed run draws the same).
	drop []*rand.PCG
}

// runKey identifies what a run was asked for, so a resumed run continues
// only a run of the same request.
func runKey(req lm.GroundRequest, cfg Config, tasks []lm.Task) string {
	b, _ := json.Marshal(struct {
		D     []string
		T     []lm.Task
		C     Config
		S     int
		Seed  uint64
		Every int
	}{req.Datasets, tasks, cfg, req.Steps, req.Seed, req.CheckpointEvery})
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// newTrainer reads the data, learns the tokenizer and builds the model.
func newTrainer(req lm.GroundRequest) (*trainer, error) {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	tasks := req.Tasks
	if len(tasks) == 0 {
		tasks = lm.Tasks
	}
	for _, t := range tasks {
		if _, ok := taskNames[t]; !ok {
			return nil, fmt.Errorf("tinylm: ground: task %q, want some of %v", t, lm.Tasks)
		}
	}
	if req.Steps < 1 {
		return nil, fmt.Errorf("tinylm: ground: %d steps, want at least 1", req.Steps)
	}
	meta, eps, err := loadEpisodes(req.Datasets)
	if err != nil {
		return nil, err
	}
	var texts []string
	for i, ep := range eps {
		ts := goalTexts(ep.Goal)
		if len(ts) == 0 {
			return nil, fmt.Errorf("tinylm: ground: %s: episode %d has no goal text", req.Datasets[0], i)
		}
		texts = append(texts, ts...)
	}
	tok, err := bpe.Train(texts, cfg.Vocab-numExtra)
	if err != nil {
		return nil, fmt.Errorf("tinylm: ground: tokenizer: %w", err)
	}
	v := newVocab(tok)
	od, ad := meta.ObsDim, meta.ActionSpace.Dim
	c := &corpus{meta: meta}
	maxText, maxT := 0, 0
	for i, ep := range eps {
		e := episode{obs: ep.Observations, act: ep.Actions}
		for _, t := range goalTexts(ep.Goal) {
			ids, err := tok.Encode(t)
			if err != nil {
				return nil, fmt.Errorf("tinylm: ground: episode %d: %w", i, err)
			}
			e.texts = append(e.texts, ids)
			maxText = max(maxText, len(ids))
		}
		maxT = max(maxT, len(ep.Actions)/ad)
		c.eps = append(c.eps, e)
	}
	norm := computeNorm(eps, od)
	shape := Shape{Vocab: v.size(), ObsDim: od, Dim: cfg.Dim, Layers: cfg.Layers, Heads: cfg.Heads, Discrete: meta.ActionSpace.Kind == dataset.Discrete}
	if cfg.StateSlots > 0 {
		if od%cfg.StateSlots != 0 {
			return nil, fmt.Errorf("tinylm: ground: config state_slots %d does not divide the %d numbers of env %s's observation into equal slots", cfg.StateSlots, od, meta.Env)
		}
		shape.Slots, shape.SlotHidden, shape.Pairs, shape.InPairs, shape.History = cfg.StateSlots, cfg.SlotHidden, cfg.StatePairs, cfg.InputPairs, cfg.StateHistory
		if shape.SlotHidden == 0 {
			shape.SlotHidden = 2 * cfg.Dim
		}
	}
	if shape.Discrete {
		shape.Actions = meta.ActionSpace.N
	} else {
		shape.ActDim = ad
	}
	shape.Context = cfg.Context
	if shape.Context == 0 {
		// Room for the longest rollout after a goal twice as long as any seen.
		// The explanation prompt adds its pair tokens.
		shape.Context = 4 + 2*maxText + 8 + 2*maxT + 1 + shape.pairTokens()
	}
	seed := req.Seed
	pcg := rand.NewPCG(seed, 0x7141)
	rng := rand.New(pcg)
	model, err := NewModel(shape, rand.New(rand.NewPCG(seed, 0x1417)))
	if err != nil {
		return nil, err
	}
	// The validation split: a seeded shuffle of the episodes.
	perm := rand.New(rand.NewPCG(seed, 0x5a11)).Perm(len(c.eps))
	nVal := int(math.Round(cfg.ValFraction * float64(len(c.eps))))
	if nVal >= len(c.eps) {
		nVal = len(c.eps) - 1
	}
	c.val, c.train = perm[:nVal], perm[nVal:]
	slices.Sort(c.val)
	slices.Sort(c.train)
	t := &trainer{cfg: cfg, tasks: tasks, c: c, model: model, rng: rng, pcg: pcg, steps: req.Steps}
	t.b = cfg.newBuilder(v, &norm, shape, od, ad)
	ts := make([]string, len(tasks))
	for i, x := range tasks {
		ts[i] = string(x)
	}
	t.h = header{Shape: shape, Config: cfg, Tokenizer: tok, Norm: norm, Env: meta.Env, Actions: meta.ActionSpace, Tasks: ts, MaxText: maxText}
	t.opt = nn.NewAdam(nn.AdamConfig{LR: cfg.LR, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: cfg.Decay, Decoupled: true}, model.Params()...)
	t.best = cloneParams(model.Params())
	t.state = trainState{Total: req.Steps, BestVal: math.MaxFloat64, Seed: seed, Key: runKey(req, cfg, tasks)}
	// Fixed validation batches, drawn once from their own stream.
	if len(c.val) > 0 {
		vr := rand.New(rand.NewPCG(seed, 0x7a1))
		t.val = map[lm.Task]*Batch{}
		for _, task := range tasks {
			b := &Batch{}
			t.b.sample(b, make([]seq, min(16*cfg.Batch, 512)), c, c.val, task, vr)
			t.val[task] = b
		}
	}
	// One replica per task over the shared weights, so that the gradient
	// sum (task by task, in order) is the same whatever the thread count.
	t.threads = cfg.Threads
	if t.threads <= 0 {
		t.threads = runtime.GOMAXPROCS(0)
	}
	t.work = append(t.work, &worker{model: model})
	for range tasks[1:] {
		r, err := NewModel(shape, rand.New(rand.NewPCG(seed, 0x1417)))
		if err != nil {
			return nil, err
		}
		r.share(model)
		t.work = append(t.work, &worker{model: r})
	}
	if cfg.Dropout > 0 {
		for _, w := range t.work {
			for _, b := range w.model.Blocks {
				for _, d := range []*nn.Dropout{&b.Drop1, &b.Drop2} {
					pcg := rand.NewPCG(0, 0)
					d.P, d.Rng = cfg.Dropout, rand.New(pcg)
					w.drop = append(w.drop, pcg)
				}
				b.SetTrain(true)
			}
		}
	}
	return t, nil
}

func cloneParams(ps []*nn.Param) []*nn.Param {
	out := make([]*nn.Param, len(ps))
	for i, p := range ps {
		out[i] = &nn.Param{Name: p.Name, Shape: p.Shape, Value: append([]float32(nil), p.Value...)}
	}
	return out
}

func copyValues(dst, src []*nn.Param) {
	for i := range dst {
		copy(dst[i].Value, src[i].Value)
	}
}

// resume restores a run from a training checkpoint of the same request.
func (t *trainer) resume(path string) error {
	h, r, f, err := readHeader(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if h.Train == nil {
		return fmt.Errorf("tinylm: %s is not a training checkpoint (it has no optimiser state)", path)
	}
	if h.Train.Key != t.state.Key || h.Shape != t.h.Shape {
		return fmt.Errorf("tinylm: checkpoint %s is of another grounding run (run key %s, this request %s)", path, h.Train.Key, t.state.Key)
	}
	if err := readBlobs(path, r, t.model.Params()); err != nil {
		return err
	}
	if err := readBlobs(path, r, t.opt.M); err != nil {
		return err
	}
	if err := readBlobs(path, r, t.opt.V); err != nil {
		return err
	}
	if err := readBlobs(path, r, t.best); err != nil {
		return err
	}
	if err := t.pcg.UnmarshalBinary(h.Train.RNG); err != nil {
		return fmt.Errorf("tinylm: checkpoint %s: random state: %w", path, err)
	}
	t.opt.T = h.Train.AdamT
	t.state = *h.Train
	t.h.Step = h.Step
	return nil
}

// checkpoint writes a training checkpoint at the current step.
func (t *trainer) checkpoint(path string) error {
	st := t.state
	st.AdamT = t.opt.T
	rs, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	st.RNG = rs
	h := t.h
	h.Train = &st
	return save(path, &h, t.model.Params(), t.opt.M, t.opt.V, t.best)
}

// lr is the learning rate at step s (0-based): linear warm-up, then cosine.
func (t *trainer) lr(s int) float64 {
	c := t.cfg
	if c.Warmup > 0 && s < c.Warmup {
		return c.LR * float64(s+1) / float64(c.Warmup)
	}
	return nn.Cosine{Base: c.LR, Min: c.MinLR, T: max(1, t.steps-c.Warmup)}.At(s - c.Warmup)
}

// step runs one optimiser step and returns the losses per task.
func (t *trainer) step(s int) (map[lm.Task]Losses, error) {
	// Every task's micro-batch is drawn first (one stream, in order), then
	// the workers take the tasks between them.
	type job struct {
		task lm.Task
		b    *Batch
	}
	jobs := make([]job, len(t.tasks))
	for i, task := range t.tasks {
		w := t.work[i]
		rows := t.cfg.Batch
		if task == lm.Dynamics {
			rows = t.cfg.DynBatch
		}
		if len(w.seqs) != rows {
			w.seqs = make([]seq, rows)
		}
		t.b.sample(&w.batch, w.seqs, t.c, t.c.train, task, t.rng)
		jobs[i] = job{task, &w.batch}
	}
	if len(t.work[0].drop) > 0 {
		seed := t.rng.Uint64()
		for i := range jobs {
			for k, pcg := range t.work[i].drop {
				pcg.Seed(seed, uint64(i<<16|k))
			}
		}
	}
	res := make([]Losses, len(jobs))
	if t.threads <= 1 {
		for i, j := range jobs {
			res[i] = t.work[i].model.Step(j.b, 1, true)
		}
	} else {
		var wg sync.WaitGroup
		for g := 0; g < min(t.threads, len(jobs)); g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < len(jobs); i += t.threads {
					res[i] = t.work[i].model.Step(jobs[i].b, 1, true)
				}
			}()
		}
		wg.Wait()
	}
	out := map[lm.Task]Losses{}
	for i, j := range jobs {
		out[j.task] = res[i]
	}
	// Sum the replicas' gradients into the main model's, in task order.
	for _, w := range t.work[1:] {
		for pi, p := range w.model.Params() {
			addTo(t.model.params[pi].Grad, p.Grad)
			clear(p.Grad)
		}
	}
	for _, j := range jobs {
		t.tokens += int64(sumLens(j.b.Lens))
	}
	if t.cfg.Clip > 0 {
		nn.ClipGradNorm(t.cfg.Clip, t.model.Params()...)
	}
	t.opt.LR = t.lr(s)
	t.opt.Step()
	nn.ZeroGrad(t.model.Params()...)
	for task, l := range out {
		if math.IsNaN(l.Total()) || math.IsInf(l.Total(), 0) || !t.model.finite() {
			return nil, fmt.Errorf("tinylm: ground: the %s loss diverged at step %d (%g); lower lr (now %g) or grad_clip", task, s+1, l.Total(), t.cfg.LR)
		}
	}
	return out, nil
}

func sumLens(l []int) int {
	n := 0
	for _, v := range l {
		n += v
	}
	return n
}

// validate returns the validation losses per task and their sum.
func (t *trainer) validate() (map[string]float64, float64) {
	m := map[string]float64{}
	total := 0.0
	for _, task := range t.tasks {
		b, ok := t.val[task]
		if !ok {
			continue
		}
		train := t.cfg.Dropout > 0
		t.model.setTrain(false)
		l := t.model.Step(b, 0, false)
		t.model.setTrain(train)
		m["val/"+taskNames[task]] = l.Total()
		total += l.Total()
	}
	m["val/loss"] = total
	return m, total
}

// run grounds for the remaining steps, reporting progress and writing
// checkpoints into dir.
func (t *trainer) run(ctx context.Context, dir string, every int, progress func(lm.Progress)) (map[string]float64, error) {
	if every <= 0 {
		every = t.cfg.EvalEvery
	}
	start := time.Now()
	tokens0 := t.tokens
	last := time.Time{}
	sum := map[string]float64{}
	n := 0
	final := map[string]float64{}
	for s := t.h.Step; s < t.steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ls, err := t.step(s)
		if err != nil {
			return nil, err
		}
		for task, l := range ls {
			sum["loss/"+taskNames[task]] += l.Total()
		}
		n++
		t.h.Step = s + 1
		done := s + 1
		evalNow := done%t.cfg.EvalEvery == 0 || done == t.steps
		ckptNow := done%every == 0 && done < t.steps
		if time.Since(last) > time.Second || evalNow || ckptNow {
			last = time.Now()
			m := map[string]float64{"lr": t.opt.LR}
			for k, v := range sum {
				m[k] = v / float64(n)
			}
			clear(sum)
			n = 0
			if el := time.Since(start).Seconds(); el > 0 {
				m["tokens_per_s"] = float64(t.tokens-tokens0) / el
			}
			p := lm.Progress{Step: done, Total: t.steps, Metrics: m}
			stop := false
			if evalNow && len(t.val) > 0 {
				vm, v := t.validate()
				for k, x := range vm {
					m[k] = x
					final[k] = x
				}
				if v < t.state.BestVal {
					t.state.BestVal, t.state.BestStep, t.state.Bad = v, done, 0
					copyValues(t.best, t.model.Params())
				} else {
					t.state.Bad++
					stop = t.cfg.Patience > 0 && t.state.Bad >= t.cfg.Patience
				}
			}
			if ckptNow && !stop {
				path := filepath.Join(dir, fmt.Sprintf("ground-%07d.tinylm", done))
				if err := t.checkpoint(path); err != nil {
					return nil, err
				}
				p.Checkpoint = path
			}
			progress(p)
			if stop {
				final["stopped_early"] = float64(done)
				break
			}
		}
	}
	if len(t.val) > 0 && t.state.BestStep > 0 && t.cfg.Select != SelectLast {
		copyValues(t.model.Params(), t.best)
		vm, _ := t.validate()
		for k, x := range vm {
			final[k] = x
		}
		final["best_step"] = float64(t.state.BestStep)
	}
	t.model.setTrain(false) // grounding is over: no more dropout
	if len(t.c.val) > 0 {
		final["val/state_l2_one_step"], final["val/state_l2_in_context"] = t.stateErrors()
	}
	final["params"] = float64(t.model.NumParams())
	return final, nil
}

// stateErrors measures the model's next states on the validation episodes'
// real transitions, as the median L2 distance to the real next state: one
// step at a time (BOS DYN s a, what Predict answers) and in context (every
// state of the goal → rollout sequence, after the goal and the real history,
// which shows the velocities one state cannot).
func (t *trainer) stateErrors() (oneStep, inContext float64) {
	od, ad := t.b.od, t.b.ad
	median := func(fill func(s *seq, ep *episode) bool) float64 {
		var errs []float64
		var b Batch
		const chunk = 64
		seqs := make([]seq, 0, chunk)
		flush := func() {
			if len(seqs) == 0 {
				return
			}
			t.b.lay(&b, seqs)
			y := t.model.predictStates(&b)
			for i := range y.Rows {
				var e float64
				for k, v := range y.Row(i) {
					x := float64((v - b.ObsY[i*od+k]) * t.b.norm.Delta[k])
					e += x * x
				}
				errs = append(errs, math.Sqrt(e))
			}
			seqs = seqs[:0]
		}
		for _, i := range t.c.val {
			ep := &t.c.eps[i]
			for {
				seqs = append(seqs, seq{})
				more := fill(&seqs[len(seqs)-1], ep)
				if len(seqs) == chunk {
					flush()
				}
				if !more {
					break
				}
			}
		}
		flush()
		return medianOf(errs)
	}
	// One sequence per transition for the one-step measure.
	step := 0
	oneStep = median(func(s *seq, ep *episode) bool {
		T := ep.steps(ad)
		if T == 0 {
			return false
		}
		t.b.transition(s, ep, step)
		step++
		if step == T {
			step = 0
			return false
		}
		return true
	})
	inContext = median(func(s *seq, ep *episode) bool {
		t.b.goalToRollout(s, ep, ep.texts[0])
		return false
	})
	return oneStep, inContext
}

// medianOf returns the median of v (sorting it), NaN when it is empty.
func medianOf(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// ground is Ground's body.
func ground(ctx context.Context, req lm.GroundRequest, progress func(lm.Progress)) (*lm.GroundResponse, error) {
	if req.OutDir == "" {
		return nil, fmt.Errorf("tinylm: ground: no output directory")
	}
	t, err := newTrainer(req)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, err
	}
	if req.Resume != "" {
		if err := t.resume(req.Resume); err != nil {
			return nil, err
		}
	}
	if progress == nil {
		progress = func(lm.Progress) {}
	}
	m, err := t.run(ctx, req.OutDir, req.CheckpointEvery, progress)
	if err != nil {
		return nil, err
	}
	h := t.h
	h.Metrics = m
	path := filepath.Join(req.OutDir, "model.tinylm")
	if err := save(path, &h, t.model.Params()); err != nil {
		return nil, err
	}
	return &lm.GroundResponse{Checkpoint: path, Metrics: m}, nil
}

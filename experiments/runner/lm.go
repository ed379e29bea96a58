package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/results"
)

// The stages that run the grounded language model besides imagine: ground,
// encode and assess, and the goal encoder evaluate uses.

// launchLM starts the stage's LM plugin ref.
func launchLM(ctx context.Context, job *Job, ref experiments.PluginRef) (lm.LM, error) {
	h, err := job.Launch(ctx, ref)
	if err != nil {
		return nil, err
	}
	if h.LM == nil {
		return nil, fmt.Errorf("plugin %s is not an lm plugin", ref.Name)
	}
	return h.LM, nil
}

// groundedCheckpoint returns the checkpoint of the ground stage whose
// artifact is groundDir.
func groundedCheckpoint(groundDir string) (string, error) {
	var g GroundArtifact
	if err := ReadJSON(filepath.Join(groundDir, groundFile), &g); err != nil {
		return "", err
	}
	return filepath.Join(groundDir, g.Checkpoint), nil
}

// groundJournal is what a ground stage keeps in its Job.State while it
// runs: the last checkpoint the backend reported (relative to State) and
// the metric points recorded up to it. A later attempt continues from it,
// as a train stage does from its trainJournal.
type groundJournal struct {
	Checkpoint string           `json:"checkpoint"`
	Step       int              `json:"step"`
	Metrics    []results.Metric `json:"metrics"`
}

// load reads the journal in dir; it is empty when there is none, or when
// its checkpoint is missing.
func (j *groundJournal) load(dir string) {
	*j = groundJournal{}
	if ReadJSON(filepath.Join(dir, journalFile), j) != nil || j.Checkpoint == "" || !exists(filepath.Join(dir, j.Checkpoint)) {
		*j = groundJournal{}
	}
}

// save writes the journal into dir atomically.
func (j *groundJournal) save(dir string) error {
	tmp := filepath.Join(dir, journalFile+".tmp")
	if err := writeJSON(tmp, j); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, journalFile))
}

// resume restores the metric points recorded up to the journal's
// checkpoint into s and reports whether there is one.
func (j *groundJournal) resume(s *series) bool {
	*s = series{}
	if j.Checkpoint == "" {
		return false
	}
	s.points = append([]results.Metric(nil), j.Metrics...)
	s.last = map[string]int{}
	for i, p := range s.points {
		s.last[p.Name] = i
	}
	return true
}

// groundStage grounds the LM on the real data. The backend writes into the
// stage's State, with a journal of the last checkpoint it reported, so that
// an interrupted or failed attempt is continued from that checkpoint
// (GroundRequest.Resume) instead of starting over.
func groundStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.GroundConfig)
	name := job.Stage.Plugins[0].Name
	m, err := launchLM(ctx, job, job.Stage.Plugins[0])
	if err != nil {
		return nil, err
	}
	tasks := make([]lm.Task, len(cfg.Tasks))
	for i, t := range cfg.Tasks {
		tasks[i] = lm.Task(t)
	}
	out := filepath.Join(job.State, modelDir)
	var (
		j       groundJournal
		metrics series
		res     *lm.GroundResponse
	)
	j.load(job.State)
	for attempt := 0; ; attempt++ {
		resuming := j.resume(&metrics)
		if !resuming {
			if err := os.RemoveAll(job.State); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		req := lm.GroundRequest{Datasets: []string{filepath.Join(job.Inputs[cfg.Dataset], datasetDir)}, Tasks: tasks,
			Config: cfg.LMConfig, Steps: cfg.Steps, OutDir: out, Seed: job.Stage.Seed, CheckpointEvery: cfg.CheckpointEvery}
		from := j.Step
		if resuming {
			req.Resume = filepath.Join(job.State, j.Checkpoint)
			last := map[string]float64{}
			for _, p := range metrics.points {
				last[p.Name] = p.Value
			}
			job.Progress(from, cfg.Steps, last)
		}
		progressed := false
		res, err = m.Ground(ctx, req, func(p lm.Progress) {
			if resuming && !progressed && p.Step <= from {
				// The backend started over instead of continuing: so do we.
				metrics, j = series{}, groundJournal{}
			}
			progressed = true
			metrics.add(p.Step, p.Total, p.Metrics)
			job.Progress(p.Step, p.Total, p.Metrics)
			if rel, err := filepath.Rel(job.State, p.Checkpoint); p.Checkpoint != "" && err == nil && filepath.IsLocal(rel) {
				j = groundJournal{Checkpoint: rel, Step: p.Step, Metrics: append([]results.Metric(nil), metrics.points...)}
				// Failing to write it only costs a later attempt time.
				j.save(job.State)
			}
		})
		if err != nil && resuming && !progressed && ctx.Err() == nil && attempt == 0 {
			// The backend could not continue from the checkpoint (another
			// version's format, or no support for resuming): start over.
			j = groundJournal{}
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	// The backend's final measures that no progress line carried (tinylm:
	// the next-state errors on its validation episodes, the parameter
	// count), at the last step.
	final := map[string]float64{}
	for k, v := range res.Metrics {
		if _, ok := metrics.last[k]; !ok {
			final[k] = v
		}
	}
	metrics.add(cfg.Steps, cfg.Steps, final)
	rel, err := filepath.Rel(job.State, res.Checkpoint)
	if err != nil || !filepath.IsLocal(rel) || !strings.HasPrefix(rel, modelDir+string(filepath.Separator)) {
		return nil, fmt.Errorf("lm %s wrote checkpoint %s outside its output directory %s", name, res.Checkpoint, out)
	}
	if !exists(res.Checkpoint) {
		return nil, fmt.Errorf("lm %s reported checkpoint %s, which does not exist", name, res.Checkpoint)
	}
	// The checkpoint's path relative to State is the same in the artifact.
	if err := os.Rename(out, filepath.Join(job.Dir, modelDir)); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(job.Dir, groundFile), GroundArtifact{Checkpoint: rel}); err != nil {
		return nil, err
	}
	return &Output{Metrics: metrics.points}, nil
}

// encodeBatch is the number of distinct goal texts per Encode call.
const encodeBatch = 512

// goalEncoder encodes goal texts through a grounded LM, each distinct text
// once.
type goalEncoder struct {
	lm         lm.LM
	checkpoint string
	name       string
	dim        int
	cache      map[string][]float32
}

func newGoalEncoder(m lm.LM, checkpoint, name string) *goalEncoder {
	return &goalEncoder{lm: m, checkpoint: checkpoint, name: name, cache: map[string][]float32{}}
}

// encode makes sure every text of texts is in the cache.
func (g *goalEncoder) encode(ctx context.Context, texts []string) error {
	var todo []string
	seen := map[string]bool{}
	for _, t := range texts {
		if _, ok := g.cache[t]; !ok && !seen[t] {
			seen[t] = true
			todo = append(todo, t)
		}
	}
	for start := 0; start < len(todo); start += encodeBatch {
		batch := todo[start:min(start+encodeBatch, len(todo))]
		r, err := g.lm.Encode(ctx, lm.EncodeRequest{Checkpoint: g.checkpoint, Texts: batch})
		if err != nil {
			return fmt.Errorf("lm %s: encode: %w", g.name, err)
		}
		if r.Dim < 1 || len(r.Vectors) != len(batch)*r.Dim || (g.dim != 0 && r.Dim != g.dim) {
			return fmt.Errorf("lm %s: encode of %d texts returned %d values of dim %d (earlier dim %d)", g.name, len(batch), len(r.Vectors), r.Dim, g.dim)
		}
		for i, v := range r.Vectors {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("lm %s: encode: text %q has value %g at %d", g.name, batch[i/r.Dim], v, i%r.Dim)
			}
		}
		g.dim = r.Dim
		for i, t := range batch {
			g.cache[t] = r.Vectors[i*r.Dim : (i+1)*r.Dim]
		}
	}
	return nil
}

// vectors returns the encodings of the goals' texts, row after row.
func (g *goalEncoder) vectors(ctx context.Context, goals []dataset.Goal) ([]float32, error) {
	texts := make([]string, len(goals))
	for i, gl := range goals {
		texts[i] = gl.Text
	}
	if err := g.encode(ctx, texts); err != nil {
		return nil, err
	}
	out := make([]float32, 0, len(goals)*g.dim)
	for _, t := range texts {
		out = append(out, g.cache[t]...)
	}
	return out, nil
}

// goalVectors returns the goals' vectors, row after row: the env's own, or
// with enc the LM's encodings of their texts.
func goalVectors(ctx context.Context, enc *goalEncoder, goals []dataset.Goal) ([]float32, error) {
	if enc != nil {
		return enc.vectors(ctx, goals)
	}
	var gv []float32
	for _, g := range goals {
		gv = append(gv, g.Vector...)
	}
	return gv, nil
}

// launchEncoder starts the stage's LM plugin ref on the checkpoint of the
// ground stage groundKey.
func launchEncoder(ctx context.Context, job *Job, ref experiments.PluginRef, groundKey string) (*goalEncoder, error) {
	ckpt, err := groundedCheckpoint(job.Inputs[groundKey])
	if err != nil {
		return nil, err
	}
	m, err := launchLM(ctx, job, ref)
	if err != nil {
		return nil, err
	}
	return newGoalEncoder(m, ckpt, ref.Name), nil
}

// encodeStage copies a dataset with every goal vector replaced by the
// grounded LM's encoding of the goal's text.
func encodeStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.EncodeConfig)
	enc, err := launchEncoder(ctx, job, job.Stage.Plugins[0], cfg.Ground)
	if err != nil {
		return nil, err
	}
	src := filepath.Join(job.Inputs[cfg.Dataset], datasetDir)
	// Two passes over the dataset: the texts, then the copy.
	r, err := dataset.Open(src)
	if err != nil {
		return nil, err
	}
	var texts []string
	for ep, err := range r.All() {
		if err != nil {
			r.Close()
			return nil, err
		}
		texts = append(texts, ep.Goal.Text)
	}
	r.Close()
	if len(texts) == 0 {
		return nil, fmt.Errorf("encode: dataset %s has no episodes", src)
	}
	total := len(enc.cache)
	if err := enc.encode(ctx, texts); err != nil {
		return nil, err
	}
	total = len(enc.cache) - total
	if r, err = dataset.Open(src); err != nil {
		return nil, err
	}
	defer r.Close()
	meta := r.Meta()
	meta.GoalDim = enc.dim
	attrs := map[string]string{}
	for k, v := range meta.Attrs {
		attrs[k] = v
	}
	attrs["goal_input"] = experiments.GoalFromLM
	meta.Attrs = attrs
	w, err := dataset.Create(filepath.Join(job.Dir, datasetDir), meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	n := 0
	for ep, err := range r.All() {
		if err != nil {
			return nil, err
		}
		ep.Goal.Vector = enc.cache[ep.Goal.Text]
		if err := w.Write(ep); err != nil {
			return nil, err
		}
		n++
		if n%1024 == 0 {
			job.Progress(n, len(texts), nil)
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	job.Progress(n, len(texts), nil)
	return &Output{Metrics: []results.Metric{
		{Step: n, Name: "goal_dim", Value: float64(enc.dim)},
		{Step: n, Name: "texts", Value: float64(total)},
	}}, nil
}

// predictBatch is the number of transitions per Predict call.
const predictBatch = 4096

// heldOutSuffix names the level of the held-out rollouts explained: the
// training level's goals, in rollouts grounding never saw.
const heldOutSuffix = "-heldout"

// explainBatch is the number of rollouts per Explain call.
const explainBatch = 64

// assessStage measures the grounded LM against the env (the grounding
// report): the one-step dynamics error of Predict on held-out real
// transitions, collected here with a seed stream of their own, and the
// explanation accuracy of Explain on the training rollouts and on the
// imagined rollouts of each novel level that the judge called a success,
// each explanation read back by the env's goal parser, compared with the
// rollout's goal and judged by the env on the rollout (does the rollout
// reach the explained goal). Generation match rates and plausibility shares
// are the imagine stages' own metrics.
func assessStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.AssessConfig)
	ckpt, err := groundedCheckpoint(job.Inputs[cfg.Ground])
	if err != nil {
		return nil, err
	}
	lmRef, envRef := job.Stage.Plugins[0], job.Stage.Plugins[1]
	m, err := launchLM(ctx, job, lmRef)
	if err != nil {
		return nil, err
	}
	e, err := launchEnv(ctx, job, envRef, cfg.EnvConfig)
	if err != nil {
		return nil, err
	}
	out := &Output{}
	add := func(name string, v float64) {
		out.Metrics = append(out.Metrics, results.Metric{Step: 0, Name: name, Value: v})
	}
	levels := sortedKeys(cfg.Imagine)
	total := 2 + len(levels)
	// Dynamics on held-out real transitions.
	held := filepath.Join(job.Dir, "heldout")
	req := env.CollectRequest{Episodes: cfg.Episodes, Level: cfg.Level, Policy: cfg.Policy, Params: cfg.Params,
		Seed: env.SeedFor(job.Stage.Seed, "assess", 0), Out: held}
	if c, ok := e.(collector); ok {
		_, err = c.Collect(ctx, req, nil)
	} else {
		_, err = env.Collect(ctx, e, req, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("assess: collecting held-out rollouts: %w", err)
	}
	// The held-out rollouts are explained below too: rollouts of training
	// goals the LM never saw, where a memorised explanation cannot help.
	heldEps, err := readEpisodes(held, cfg.Episodes, nil)
	if err != nil {
		return nil, fmt.Errorf("assess: reading held-out rollouts: %w", err)
	}
	errs, err := dynamicsErrors(ctx, m, ckpt, heldEps)
	if err != nil {
		return nil, fmt.Errorf("assess: lm %s: %w", lmRef.Name, err)
	}
	if err := os.RemoveAll(held); err != nil {
		return nil, err
	}
	med, mean := medianMean(errs)
	add("dynamics/median_l2", med)
	add("dynamics/mean_l2", mean)
	add("dynamics/transitions", float64(len(errs)))
	job.Progress(1, total, map[string]float64{"dynamics_median_l2": med})

	parser, _ := e.(env.Parser)
	explain := func(level string, eps []*dataset.Episode) error {
		add("explain/"+level+"/rollouts", float64(len(eps)))
		if len(eps) == 0 || parser == nil {
			return nil
		}
		var texts []string
		for start := 0; start < len(eps); start += explainBatch {
			batch := eps[start:min(start+explainBatch, len(eps))]
			r, err := m.Explain(ctx, lm.ExplainRequest{Checkpoint: ckpt, Rollouts: batch, Seed: job.Stage.Seed})
			if err != nil {
				return fmt.Errorf("assess: lm %s: explain: %w", lmRef.Name, err)
			}
			if len(r.Texts) != len(batch) {
				return fmt.Errorf("assess: lm %s: explain of %d rollouts returned %d texts", lmRef.Name, len(batch), len(r.Texts))
			}
			texts = append(texts, r.Texts...)
		}
		p, err := parser.ParseGoals(ctx, env.ParseGoalsRequest{Texts: texts})
		if errors.Is(err, env.ErrNoParser) {
			parser = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("assess: env %s: parse goals: %w", envRef.Name, err)
		}
		if len(p.Goals) != len(texts) || len(p.Errors) != len(texts) {
			return fmt.Errorf("assess: env %s parsed %d texts into %d goals and %d errors", envRef.Name, len(texts), len(p.Goals), len(p.Errors))
		}
		parsed, right, holds, agrees := 0, 0, 0, 0
		for i, ep := range eps {
			if p.Errors[i] != "" {
				continue
			}
			parsed++
			if sameGoal(p.Goals[i], ep.Goal) {
				right++
			}
			// Whether the rollout reaches the explained goal, by the env's
			// judge: an explanation can be true without naming the label
			// (CLEVR's "A left of B" holds exactly where "B right of A"
			// does). A goal the judge refuses does not hold.
			g := p.Goals[i]
			if g.Level == "" {
				g.Level = ep.Goal.Level
			}
			r, err := e.Judge(ctx, env.JudgeRequest{Goal: g, Observations: ep.Observations, Actions: ep.Actions})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil || !r.Success {
				continue
			}
			holds++
			// Whether the explained goal is the label's equal on this
			// rollout: the judge ends the rollout at the same step for both
			// (true of "B right of A" for the label "A left of B", which
			// hold in the same states; not of a relation that held all
			// along).
			lr, err := e.Judge(ctx, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil && lr.Success && r.Steps == lr.Steps && slices.Equal(r.Terminals, lr.Terminals) {
				agrees++
			}
		}
		add("explain/"+level+"/parsed", float64(parsed)/float64(len(eps)))
		add("explain/"+level+"/accuracy", float64(right)/float64(len(eps)))
		add("explain/"+level+"/holds", float64(holds)/float64(len(eps)))
		add("explain/"+level+"/agrees", float64(agrees)/float64(len(eps)))
		return nil
	}
	// The training rollouts grounded on.
	train, err := readEpisodes(filepath.Join(job.Inputs[cfg.Dataset], datasetDir), cfg.Episodes, nil)
	if err != nil {
		return nil, err
	}
	level := cfg.Level
	if len(train) > 0 && train[0].Goal.Level != "" {
		level = train[0].Goal.Level
	}
	if err := explain(level, train); err != nil {
		return nil, err
	}
	if err := explain(level+heldOutSuffix, heldEps); err != nil {
		return nil, err
	}
	job.Progress(2, total, nil)
	// The imagined rollouts of each novel level that the judge called a success.
	for i, l := range levels {
		eps, err := readEpisodes(filepath.Join(job.Inputs[cfg.Imagine[l]], datasetDir), cfg.Episodes, func(ep *dataset.Episode) bool { return ep.Success })
		if err != nil {
			return nil, err
		}
		if err := explain(l, eps); err != nil {
			return nil, err
		}
		job.Progress(3+i, total, nil)
	}
	return out, nil
}

// dynamicsErrors returns the L2 distance between the LM's predicted and
// the real next observation of every transition of eps, each given with
// the observation before it (the first step: itself).
func dynamicsErrors(ctx context.Context, m lm.LM, ckpt string, eps []*dataset.Episode) ([]float64, error) {
	var obs, prev, next, acts []float32
	od, ad := 0, 0
	for _, ep := range eps {
		T := ep.Len()
		if T == 0 {
			continue
		}
		od, ad = len(ep.Observations)/(T+1), len(ep.Actions)/T
		obs = append(obs, ep.Observations[:T*od]...)
		prev = append(prev, ep.Observations[:od]...)
		prev = append(prev, ep.Observations[:(T-1)*od]...)
		next = append(next, ep.Observations[od:]...)
		acts = append(acts, ep.Actions...)
	}
	if od == 0 {
		return nil, nil
	}
	n := len(obs) / od
	errs := make([]float64, 0, n)
	for start := 0; start < n; start += predictBatch {
		end := min(start+predictBatch, n)
		in := obs[start*od : end*od]
		r, err := m.Predict(ctx, lm.PredictRequest{Checkpoint: ckpt, Observations: in, Actions: acts[start*ad : end*ad], Previous: prev[start*od : end*od]})
		if err != nil {
			return nil, fmt.Errorf("predict: %w", err)
		}
		if len(r.Observations) != len(in) {
			return nil, fmt.Errorf("predict of %d transitions returned %d values, want %d", end-start, len(r.Observations), len(in))
		}
		for i := start; i < end; i++ {
			real, pred := next[i*od:(i+1)*od], r.Observations[(i-start)*od:(i-start+1)*od]
			var s float64
			for k := range real {
				x := float64(pred[k] - real[k])
				s += x * x
			}
			errs = append(errs, math.Sqrt(s))
		}
	}
	return errs, nil
}

func medianMean(v []float64) (median, mean float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	if n := len(s); n%2 == 1 {
		median = s[n/2]
	} else {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, mean
}

// readEpisodes returns up to n episodes of the dataset at dir that keep
// accepts (every episode when keep is nil).
func readEpisodes(dir string, n int, keep func(*dataset.Episode) bool) ([]*dataset.Episode, error) {
	r, err := dataset.Open(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var eps []*dataset.Episode
	if n <= 0 {
		return eps, nil
	}
	for ep, err := range r.All() {
		if err != nil {
			return nil, err
		}
		if keep == nil || keep(ep) {
			if eps = append(eps, ep); len(eps) == n {
				break
			}
		}
	}
	return eps, nil
}

// sameGoal reports whether a parsed goal is the rollout's goal: the same
// structured parameters, or, for envs without parameters, the same vector.
// Numbered parameters (src1, dir1, src2, dir2, ...) are groups whose order
// does not matter: "red left of blue and green behind cyan" is the goal
// "green behind cyan and red left of blue".
func sameGoal(parsed, want dataset.Goal) bool {
	if len(parsed.Params) > 0 || len(want.Params) > 0 {
		return slices.Equal(paramGroups(parsed.Params), paramGroups(want.Params))
	}
	if len(parsed.Vector) != len(want.Vector) || len(want.Vector) == 0 {
		return false
	}
	for i := range want.Vector {
		if math.Abs(float64(parsed.Vector[i]-want.Vector[i])) > 1e-5 {
			return false
		}
	}
	return true
}

// paramGroups canonicalises goal parameters: each un-numbered key as
// "key=value", and each group of keys sharing a numeric suffix as one
// "key=value,key=value" entry without its number, all sorted.
func paramGroups(p map[string]string) []string {
	var out []string
	groups := map[string][]string{}
	for k, v := range p {
		base := strings.TrimRightFunc(k, func(r rune) bool { return r >= '0' && r <= '9' })
		if base == k || base == "" {
			out = append(out, k+"="+v)
			continue
		}
		n := k[len(base):]
		groups[n] = append(groups[n], base+"="+v)
	}
	for _, g := range groups {
		sort.Strings(g)
		out = append(out, "{"+strings.Join(g, ",")+"}")
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

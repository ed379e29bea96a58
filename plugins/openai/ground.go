package openai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// Ground builds the prompt library: it splits the datasets' rollouts with
// the seed into a pool of few-shot examples and a held-out set, then runs
// the held-out check, one query a step (req.Steps of them, cycling through
// dynamics, explanation and action queries for the tasks grounded on),
// with a library checkpoint every req.CheckpointEvery steps.
func (l *LM) Ground(ctx context.Context, req lm.GroundRequest, progress func(lm.Progress)) (*lm.GroundResponse, error) {
	cfg, err := ParseConfig(req.Config)
	if err != nil {
		return nil, err
	}
	if req.Base != "" {
		cfg.Model = req.Base
	}
	if req.OutDir == "" {
		return nil, fmt.Errorf("openai: ground: no output directory")
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("openai: ground: %w", err)
	}
	lib, err := build(req, cfg)
	if err != nil {
		return nil, err
	}
	if req.Resume != "" {
		old, err := loadLibrary(req.Resume)
		if err != nil {
			return nil, fmt.Errorf("openai: ground: resume: %w", err)
		}
		if old.Seed != lib.Seed || old.Steps != lib.Steps || !reflect.DeepEqual(old.Pool, lib.Pool) || !reflect.DeepEqual(old.Heldout, lib.Heldout) {
			return nil, fmt.Errorf("openai: ground: resume: %s is the library of another grounding (other data, seed or steps)", req.Resume)
		}
		lib.Config.Model, lib.Check = old.Config.Model, old.Check
	}
	c := l.client(lib.Config)
	if lib.Check.Done == 0 {
		if lib.Config.Model, err = modelID(ctx, c, lib.Config); err != nil {
			return nil, err
		}
		c = l.client(lib.Config)
	}
	every := req.CheckpointEvery
	if every <= 0 {
		every = max(1, lib.Steps/4)
	}
	kinds := checkKinds(req.Tasks)
	report := func(step int, ckpt string) {
		if progress == nil {
			return
		}
		m := lib.Check.metrics()
		for k, v := range c.stats.metrics() {
			m[k] = v
		}
		progress(lm.Progress{Step: step, Total: lib.Steps, Metrics: m, Checkpoint: ckpt})
	}
	if lib.Steps == 0 {
		report(0, "")
	}
	for lib.Check.Done < lib.Steps {
		// A chunk of concurrent queries, applied in step order.
		lo := lib.Check.Done
		hi := min(lib.Steps, lo+lib.Config.Concurrency)
		scores := make([]score, hi-lo)
		err := parallel(ctx, hi-lo, lib.Config.Concurrency, func(ctx context.Context, k int) error {
			var err error
			scores[k], err = lib.checkStep(ctx, c, lo+k, kinds)
			return err
		})
		if err != nil {
			return nil, err
		}
		for k, s := range scores {
			lib.Check.add(s)
			step := lo + k + 1
			lib.Check.Done = step
			ckpt := ""
			if step%every == 0 && step < lib.Steps {
				ckpt = libraryPath(req.OutDir, step)
				if err := lib.save(ckpt); err != nil {
					return nil, fmt.Errorf("openai: ground: %w", err)
				}
			}
			report(step, ckpt)
		}
	}
	path := libraryPath(req.OutDir, 0)
	if err := lib.save(path); err != nil {
		return nil, fmt.Errorf("openai: ground: %w", err)
	}
	m := lib.Check.metrics()
	m["library/pool"], m["library/heldout"] = float64(len(lib.Pool)), float64(len(lib.Heldout))
	return &lm.GroundResponse{Checkpoint: path, Metrics: m}, nil
}

// build reads the datasets and splits their rollouts into the pool and
// the held-out set.
func build(req lm.GroundRequest, cfg Config) (*Library, error) {
	if len(req.Datasets) == 0 {
		return nil, fmt.Errorf("openai: ground: no datasets")
	}
	var (
		all  []Rollout
		meta dataset.Meta
	)
	for i, dir := range req.Datasets {
		r, err := dataset.Open(dir)
		if err != nil {
			return nil, fmt.Errorf("openai: ground: %w", err)
		}
		m := r.Meta()
		if i == 0 {
			meta = m
		} else if m.ObsDim != meta.ObsDim || !reflect.DeepEqual(m.ActionSpace, meta.ActionSpace) {
			r.Close()
			return nil, fmt.Errorf("openai: ground: dataset %s has obs dim %d and actions %+v, dataset %s %d and %+v",
				dir, m.ObsDim, m.ActionSpace, req.Datasets[0], meta.ObsDim, meta.ActionSpace)
		}
		for ep, err := range r.All() {
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("openai: ground: %w", err)
			}
			all = append(all, Rollout{Goal: ep.Goal.Text, States: rows(ep.Observations, m.ObsDim), Actions: rows(ep.Actions, m.ActionSpace.Dim)})
		}
		r.Close()
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("openai: ground: the datasets %s hold no rollouts", strings.Join(req.Datasets, ", "))
	}
	lib := &Library{Format: libraryFormat, Version: libraryVersion, Config: cfg, Env: meta.Env, Seed: req.Seed, Steps: max(req.Steps, 0),
		Tasks: req.Tasks, Spec: openaiapi.Spec{ObsDim: meta.ObsDim, Actions: meta.ActionSpace},
		Check: Check{N: map[string]int{}, Sum: map[string]float64{}, Failed: map[string]int{}}}
	longest := 0
	for _, r := range all {
		lib.Horizon = max(lib.Horizon, len(r.Actions))
		longest = max(longest, utf8.RuneCountInString(r.Goal))
	}
	lib.Spec.MaxText = 2*longest + 8
	rng := rand.New(rand.NewPCG(req.Seed, 0x09e7a1))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	held := 0
	if cfg.Check > 0 && len(all) >= 2 {
		held = max(1, min(cfg.Check, len(all)/5))
	}
	lib.Heldout = all[:held]
	lib.Pool = all[held:min(len(all), held+cfg.Pool)]
	return lib, nil
}

// checkKinds are the held-out queries of the tasks grounded on.
func checkKinds(tasks []lm.Task) []string {
	if len(tasks) == 0 {
		tasks = lm.Tasks
	}
	var kinds []string
	for _, t := range []struct {
		task lm.Task
		kind string
	}{{lm.Dynamics, "dynamics"}, {lm.RolloutToGoal, "explain"}, {lm.GoalToRollout, "act"}} {
		if slices.Contains(tasks, t.task) {
			kinds = append(kinds, t.kind)
		}
	}
	return kinds
}

// score is one held-out query's result.
type score struct {
	kind   string
	value  float64
	failed bool
}

func (c *Check) add(s score) {
	if s.kind == "" {
		return
	}
	c.N[s.kind]++
	if s.failed {
		c.Failed[s.kind]++
		return
	}
	c.Sum[s.kind] += s.value
}

// checkStep runs the held-out query of step i (0-based): kinds cycle, the
// held-out rollouts cycle, the step within a rollout is drawn from the
// seed. A reply that breaks the spec even after repairs is a failed query,
// not a failed grounding; a request that fails is.
func (lib *Library) checkStep(ctx context.Context, c *client, i int, kinds []string) (score, error) {
	if len(kinds) == 0 || len(lib.Heldout) == 0 {
		return score{}, nil
	}
	kind := kinds[i%len(kinds)]
	r := &lib.Heldout[(i/len(kinds))%len(lib.Heldout)]
	if len(r.Actions) == 0 {
		return score{}, nil
	}
	rng := rand.New(rand.NewPCG(lib.Seed, uint64(i)))
	t := rng.IntN(len(r.Actions))
	what := fmt.Sprintf("ground check, step %d (%s)", i+1, kind)
	seed := itemSeed(lib.Seed, i)
	var (
		value float64
		err   error
	)
	switch kind {
	case "dynamics":
		q := openaiapi.Query{Task: openaiapi.TaskPredict, State: r.States[t], Action: r.Actions[t]}
		var p *openaiapi.PredictReply
		if p, err = ask(ctx, c, lib, what, q, 0, seed, func(p *openaiapi.PredictReply) error { return lib.Spec.CheckState(p.State) }); err == nil {
			value = math.Sqrt(dist2(p.State, r.States[t+1]))
		}
	case "explain":
		q := openaiapi.Query{Task: openaiapi.TaskExplain, States: r.States, Actions: r.Actions}
		var e *openaiapi.ExplainReply
		if e, err = ask[openaiapi.ExplainReply](ctx, c, lib, what, q, 0, seed, nil); err == nil && normal(e.Goal) == normal(r.Goal) {
			value = 1
		}
	case "act":
		from := max(0, t-lib.Config.History)
		q := openaiapi.Query{Task: openaiapi.TaskAct, Goal: r.Goal, States: r.States[from : t+1], Actions: r.Actions[from:t]}
		var a *openaiapi.ActReply
		if a, err = ask(ctx, c, lib, what, q, 0, seed, func(a *openaiapi.ActReply) error { return lib.Spec.CheckAction(a.Action) }); err == nil && lib.sameAction(a.Action, r.Actions[t]) {
			value = 1
		}
	}
	var re *requestError
	if err != nil && (errors.As(err, &re) || ctx.Err() != nil) {
		return score{}, err
	}
	return score{kind: kind, value: value, failed: err != nil}, nil
}

// sameAction: the same index, or every component within a tenth of its range.
func (lib *Library) sameAction(a, b []float32) bool {
	sp := lib.Spec.Actions
	for i := range a {
		tol := 0.0
		if sp.Kind == dataset.Continuous {
			tol = 0.1 * float64(sp.High[i]-sp.Low[i])
		}
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return len(a) == len(b)
}

// normal is a goal text in lower case with single spaces and no final stop.
func normal(s string) string {
	return strings.TrimRight(strings.Join(strings.Fields(strings.ToLower(s)), " "), ".!")
}

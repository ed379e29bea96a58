package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/plugins/bc"
)

// lineEnv is a tiny in-process env for tests: the agent walks on a line of
// integers from 0 and must reach the goal position (1 or 2) within 4 steps.
// Action 1 steps right, action 0 stays. Level "far" has goal 2, "near" 1.
type lineEnv struct {
	goals []dataset.Goal
	pos   []float32
	t     int
	done  []bool
	// badJudge makes Judge reject every rollout of two actions.
	badJudge bool
}

var lineSpec = env.Spec{Name: "line", ObsDim: 1, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(2), Horizon: 4,
	Levels: []string{"near", "far"}, Policies: []string{"scripted", "lazy"}}

func (e *lineEnv) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	s := lineSpec
	return &s, nil
}

func (e *lineEnv) Goals(_ context.Context, r env.GoalsRequest) (*env.GoalsResponse, error) {
	target := float32(1)
	if r.Level == "far" {
		target = 2
	} else if r.Level != "near" {
		return nil, fmt.Errorf("line: no level %q", r.Level)
	}
	out := make([]dataset.Goal, r.N)
	for i := range out {
		out[i] = dataset.Goal{Level: r.Level, Text: fmt.Sprintf("reach %g", target), Vector: []float32{target}}
	}
	return &env.GoalsResponse{Goals: out}, nil
}

func (e *lineEnv) Reset(_ context.Context, r env.ResetRequest) (*env.ResetResponse, error) {
	e.goals, e.t = r.Goals, 0
	e.pos = make([]float32, len(r.Goals))
	e.done = make([]bool, len(r.Goals))
	return &env.ResetResponse{Observations: append([]float32(nil), e.pos...)}, nil
}

func (e *lineEnv) Step(_ context.Context, r env.StepRequest) (*env.StepResponse, error) {
	n := len(e.goals)
	s := &env.StepResponse{Rewards: make([]float32, n), Terminals: make([]bool, n), Timeouts: make([]bool, n), Success: make([]bool, n), Done: make([]bool, n)}
	e.t++
	for i := range n {
		if !e.done[i] {
			if r.Actions[i] == 1 {
				e.pos[i]++
			}
			if e.pos[i] == e.goals[i].Vector[0] {
				s.Success[i], s.Terminals[i], s.Rewards[i] = true, true, 1
				e.done[i] = true
			} else if e.t >= 4 {
				s.Timeouts[i] = true
				e.done[i] = true
			}
		}
		s.Done[i] = e.done[i]
	}
	s.Observations = append([]float32(nil), e.pos...)
	return s, nil
}

func (e *lineEnv) Judge(_ context.Context, r env.JudgeRequest) (*env.JudgeResponse, error) {
	t := len(r.Actions)
	if e.badJudge && t == 2 {
		return nil, fmt.Errorf("line: judge: this bad judge rejects every rollout of %d actions", t)
	}
	j := &env.JudgeResponse{Rewards: make([]float32, t), Terminals: make([]bool, t), Steps: t}
	for i := range t {
		if r.Observations[i+1] == r.Goal.Vector[0] {
			j.Rewards[i], j.Terminals[i], j.Success, j.Steps = 1, true, true, i+1
			break
		}
	}
	return j, nil
}

func (e *lineEnv) Behave(_ context.Context, r env.BehaveRequest) (*env.BehaveResponse, error) {
	acts := make([]float32, len(r.Goals))
	for i := range acts {
		if r.Policy == "scripted" && (i+int(r.Seed))%3 != 0 {
			acts[i] = 1
		}
	}
	return &env.BehaveResponse{Actions: acts}, nil
}

// Plausibility: positions beyond 2 are off the line; moves of more than 1 break the dynamics.
func (e *lineEnv) Plausibility(_ context.Context, r env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	p := &env.PlausibilityResponse{Shares: []env.Share{
		{Name: "out_of_bounds", Description: "the position passes 2"},
		{Name: "beyond_dynamics", Description: "the position moves by more than 1"},
	}}
	t := len(r.Actions)
	if t == 0 {
		return p, nil
	}
	var off, jump float64
	for i := range t {
		if r.Observations[i+1] > 2 {
			off++
		}
		if d := r.Observations[i+1] - r.Observations[i]; d > 1 || d < -1 {
			jump++
		}
	}
	p.Shares[0].Value, p.Shares[1].Value = off/float64(t), jump/float64(t)
	return p, nil
}

// lineEnv does not render: render is an optional capability.

// countAlgo "trains" by counting how often the data moves right, and acts
// right with that probability rounded: it fails on purpose when its
// hyper-parameter fail is true. It ignores TrainRequest.Resume: it always
// starts over.
type countAlgo struct {
	name string
}

var countSchema = algo.Schema{Spaces: []dataset.Kind{dataset.Discrete},
	Params: []algo.Param{{Name: "fail", Type: algo.TypeBool, Default: false}, {Name: "lr", Type: algo.TypeFloat, Default: 0.1}}}

func (a *countAlgo) Schema(context.Context, algo.SchemaRequest) (*algo.Schema, error) {
	s := countSchema
	s.Name = a.name
	return &s, nil
}

func (a *countAlgo) Train(ctx context.Context, r algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	if f, _ := r.Hyper["fail"].(bool); f {
		return nil, errors.New("diverged: loss is NaN")
	}
	right, total := 0, 0
	for _, src := range r.Datasets {
		d, err := dataset.Load(src.Path)
		if err != nil {
			return nil, err
		}
		for _, a := range d.Actions {
			total++
			if a == 1 {
				right++
			}
		}
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, err
	}
	res := &algo.TrainResult{}
	for step := 1; step <= r.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		loss := 1 / float64(step)
		p := algo.Progress{Step: step, Total: r.Steps, Metrics: map[string]float64{"loss": loss}}
		if (r.CheckpointEvery > 0 && step%r.CheckpointEvery == 0) || step == r.Steps {
			p.Checkpoint = filepath.Join(r.OutDir, fmt.Sprintf("step-%d", step))
			act := "0"
			if right*2 >= total {
				act = "1"
			}
			if err := os.WriteFile(p.Checkpoint, []byte(act), 0o644); err != nil {
				return nil, err
			}
			res.Checkpoints = append(res.Checkpoints, algo.Checkpoint{Step: step, Path: p.Checkpoint})
		}
		progress(p)
	}
	return res, nil
}

func (a *countAlgo) Load(_ context.Context, r algo.LoadRequest) (*algo.LoadResponse, error) {
	b, err := os.ReadFile(r.Checkpoint)
	if err != nil {
		return nil, err
	}
	return &algo.LoadResponse{Policy: algo.Policy(b)}, nil
}

func (a *countAlgo) Act(_ context.Context, r algo.ActRequest) (*algo.ActResponse, error) {
	v, _ := strconv.Atoi(string(r.Policy))
	out := make([]float32, len(r.Observations))
	for i := range out {
		out[i] = float32(v)
	}
	return &algo.ActResponse{Actions: out}, nil
}

// fakePlugins launches lineEnv and countAlgo in process and counts launches.
type fakePlugins struct {
	launches atomic.Int64
	mu       sync.Mutex
	logs     []string
}

func (f *fakePlugins) Launch(_ context.Context, kind plugin.Kind, name string) (*Handle, error) {
	f.launches.Add(1)
	h := &Handle{Name: name, Close: func() error { return nil }, Logs: func() []string {
		return []string{"info: " + name + " started", "warn: " + name + " is a fake"}
	}}
	switch {
	case kind == plugin.Env && name == "line":
		h.Env = &lineEnv{}
	case kind == plugin.Env && name == "line-badjudge":
		h.Env = &lineEnv{badJudge: true}
	case kind == plugin.Algo && (name == "count" || name == "count2"):
		h.Algo = &countAlgo{name: name}
	case kind == plugin.Algo && name == "bc":
		h.Algo = offline.NewPlugin(bc.Factory) // the real one, in process
	case kind == plugin.LM && name == "parrot":
		h.LM = &parrotLM{}
	default:
		return nil, fmt.Errorf("plugin %s is %w", name, experiments.ErrNotInstalled)
	}
	return h, nil
}

func (f *fakePlugins) Describe(ctx context.Context, kind plugin.Kind, name string) (experiments.PluginInfo, error) {
	h, err := f.Launch(ctx, kind, name)
	if err != nil {
		return experiments.PluginInfo{}, err
	}
	info := experiments.PluginInfo{Kind: kind, Name: name, Version: "v1"}
	if h.Env != nil {
		info.Env, _ = h.Env.Spec(ctx, env.SpecRequest{})
	}
	if h.Algo != nil {
		info.Schema, _ = h.Algo.Schema(ctx, algo.SchemaRequest{})
	}
	return info, nil
}

const lineExperiment = `name: line
env:
  plugin: line
dataset:
  episodes: 30
  policy: scripted
algo: count
train:
  steps: 20
  checkpoint_every: 10
eval:
  episodes: 8
  checkpoints: 2
seeds: 2
grid:
  axes:
    - key: algo
      values: [count, count2]
`

func planFor(t interface {
	Fatal(...any)
	TempDir() string
	Helper()
}, text string, set ...string) *experiments.Plan {
	t.Helper()
	file := filepath.Join(t.TempDir(), "exp.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := experiments.Load(file, experiments.Options{Set: set})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(context.Background(), &fakePlugins{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// parrotLM "grounds" by remembering how many real episodes it saw and
// imagines rollouts that step right until the goal position. It knows the
// line: it predicts that action 1 steps right, explains a rollout by where
// it ended, encodes "reach X" as [X/2, words] and acts towards X. It
// checkpoints every CheckpointEvery steps ("parrot EPISODES STEP") and
// resumes from such a checkpoint.
type parrotLM struct{}

func (parrotLM) Ground(ctx context.Context, r lm.GroundRequest, progress func(lm.Progress)) (*lm.GroundResponse, error) {
	d, err := dataset.Load(r.Datasets[0])
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.OutDir, 0o755); err != nil {
		return nil, err
	}
	from := 0
	if r.Resume != "" {
		b, err := os.ReadFile(r.Resume)
		if err != nil {
			return nil, err
		}
		var eps int
		if _, err := fmt.Sscanf(string(b), "parrot %d %d", &eps, &from); err != nil {
			return nil, fmt.Errorf("parrot: %s is no parrot checkpoint: %w", r.Resume, err)
		}
	}
	write := func(path string, step int) error {
		return os.WriteFile(path, fmt.Appendf(nil, "parrot %d %d", d.Meta.Episodes, step), 0o644)
	}
	for step := from + 1; step <= r.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := lm.Progress{Step: step, Total: r.Steps, Metrics: map[string]float64{"lm_loss": 1 / float64(step)}}
		if r.CheckpointEvery > 0 && step%r.CheckpointEvery == 0 && step < r.Steps {
			p.Checkpoint = filepath.Join(r.OutDir, fmt.Sprintf("step-%d.txt", step))
			if err := write(p.Checkpoint, step); err != nil {
				return nil, err
			}
		}
		progress(p)
	}
	ck := filepath.Join(r.OutDir, "parrot.txt")
	return &lm.GroundResponse{Checkpoint: ck}, write(ck, r.Steps)
}

// parrotTarget reads the position of a goal text "reach X".
func parrotTarget(text string) (float32, error) {
	var x float32
	if _, err := fmt.Sscanf(text, "reach %g", &x); err != nil {
		return 0, fmt.Errorf("parrot: goal text %q is not \"reach X\"", text)
	}
	return x, nil
}

func (parrotLM) Generate(ctx context.Context, r lm.GenerateRequest, judge lm.Judge) (*lm.GenerateResponse, error) {
	if _, err := os.ReadFile(r.Checkpoint); err != nil {
		return nil, err
	}
	w, err := dataset.Create(r.Out, dataset.Meta{Env: "line", Source: dataset.Imagined, ObsDim: 1, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(2)})
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	// Every rollout steps right until its goal position or MaxSteps, all
	// together, and the judge is asked after each step which are done, as
	// a real LM's generation does.
	eps := make([]*dataset.Episode, len(r.Goals))
	var running []int32
	for i, g := range r.Goals {
		eps[i] = &dataset.Episode{Goal: g, Observations: []float32{r.Observations[i]}}
		if r.Observations[i] < g.Vector[0] && r.MaxSteps > 0 {
			running = append(running, int32(i))
		}
	}
	for step := 1; len(running) > 0; step++ {
		st := lm.GenerateStep{Step: step, Index: running}
		for _, i := range running {
			ep := eps[i]
			pos := ep.Observations[len(ep.Observations)-1] + 1
			ep.Actions = append(ep.Actions, 1)
			ep.Observations = append(ep.Observations, pos)
			ep.Rewards = append(ep.Rewards, 0)
			ep.Terminals = append(ep.Terminals, false)
			ep.Timeouts = append(ep.Timeouts, false)
			st.Observations, st.Actions = append(st.Observations, pos), append(st.Actions, 1)
		}
		var done []bool
		if judge != nil {
			v, err := judge(ctx, st)
			if err != nil {
				return nil, err
			}
			done = v.Done
		}
		var next []int32
		for k, i := range running {
			ep := eps[i]
			if (done == nil || !done[k]) && ep.Observations[len(ep.Observations)-1] < ep.Goal.Vector[0] && len(ep.Actions) < r.MaxSteps {
				next = append(next, i)
			}
		}
		running = next
	}
	for _, ep := range eps {
		if err := w.Write(ep); err != nil {
			return nil, err
		}
	}
	meta := w.Meta()
	return &lm.GenerateResponse{Meta: meta}, w.Close()
}

func (parrotLM) Explain(_ context.Context, r lm.ExplainRequest) (*lm.ExplainResponse, error) {
	if _, err := os.ReadFile(r.Checkpoint); err != nil {
		return nil, err
	}
	out := &lm.ExplainResponse{}
	for _, ep := range r.Rollouts {
		out.Texts = append(out.Texts, fmt.Sprintf("reach %g", ep.Observations[len(ep.Observations)-1]))
	}
	return out, nil
}

func (parrotLM) Predict(_ context.Context, r lm.PredictRequest) (*lm.PredictResponse, error) {
	if _, err := os.ReadFile(r.Checkpoint); err != nil {
		return nil, err
	}
	if len(r.Actions) != len(r.Observations) {
		return nil, fmt.Errorf("parrot: %d actions for %d observations", len(r.Actions), len(r.Observations))
	}
	out := &lm.PredictResponse{}
	for i, o := range r.Observations {
		out.Observations = append(out.Observations, o+r.Actions[i])
	}
	return out, nil
}

func (parrotLM) Encode(_ context.Context, r lm.EncodeRequest) (*lm.EncodeResponse, error) {
	if _, err := os.ReadFile(r.Checkpoint); err != nil {
		return nil, err
	}
	out := &lm.EncodeResponse{Dim: 2}
	for _, text := range r.Texts {
		x, err := parrotTarget(text)
		if err != nil {
			return nil, err
		}
		out.Vectors = append(out.Vectors, x/2, float32(len(strings.Fields(text))))
	}
	return out, nil
}

func (parrotLM) Act(_ context.Context, r lm.ActRequest) (*lm.ActResponse, error) {
	out := &lm.ActResponse{}
	for i, g := range r.Goals {
		x, err := parrotTarget(g)
		if err != nil {
			return nil, err
		}
		a := float32(0)
		if r.Observations[i] < x {
			a = 1
		}
		out.Actions = append(out.Actions, a)
	}
	return out, nil
}

package tabletop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// EnvName is the plugin's name.
const EnvName = "tabletop"

// Behaviour policies.
const (
	PolicyExpert = "expert" // the scripted expert of each task (ExpertParams tune its noise)
	PolicyRandom = "random" // uniform random actions
)

// DefaultHorizon is the step limit of an episode (KALM's Meta-World TAU_LEN).
const DefaultHorizon = 100

// Env is the tabletop environment as an env.Env: a batch of episodes, one
// MuJoCo simulation each, stepped together.
type Env struct {
	mu      sync.Mutex
	horizon int
	texts   int
	eng     *engine

	// the current batch
	worlds []*world
	tasks  []Task
	active [][NumEntities]bool
	steps  []int
	done   []bool
	stage  []int
	phi    []float64
	obs    []float32
}

var (
	_ env.Env        = (*Env)(nil)
	_ env.Configurer = (*Env)(nil)
	_ env.Parser     = (*Env)(nil)
)

// New returns the environment. The MuJoCo scene loads on the first Reset.
func New() *Env { return &Env{horizon: DefaultHorizon, texts: 8} }

// Configure takes "horizon" (steps, ≥ 1) and "texts_per_goal" (≥ 1).
func (e *Env) Configure(_ context.Context, req env.ConfigureRequest) (*env.ConfigureResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h, texts := e.horizon, e.texts
	keys := make([]string, 0, len(req.Config))
	for k := range req.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := req.Config[k]
		var dst *int
		switch k {
		case "horizon":
			dst = &h
		case "texts_per_goal":
			dst = &texts
		default:
			return nil, fmt.Errorf("tabletop configure: unknown key %q, known: horizon, texts_per_goal", k)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("tabletop configure: %s = %q, want a whole number ≥ 1", k, v)
		}
		*dst = n
	}
	e.horizon, e.texts = h, texts
	return &env.ConfigureResponse{}, nil
}

// Spec describes the environment.
func (e *Env) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &env.Spec{
		Name:        EnvName,
		ObsDim:      ObsDim,
		ActionSpace: dataset.BoxSpace(ActionDim, -1, 1),
		GoalDim:     GoalDim,
		Horizon:     e.horizon,
		Levels:      slices.Clone(Levels),
		Policies:    []string{PolicyExpert, PolicyRandom},
		Config:      map[string]string{"horizon": strconv.Itoa(e.horizon), "texts_per_goal": strconv.Itoa(e.texts), "physics": "mujoco"},
	}, nil
}

// Goals samples n goals of a level: tasks uniformly, phrasings at random.
func (e *Env) Goals(_ context.Context, req env.GoalsRequest) (*env.GoalsResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(Levels, req.Level) {
		return nil, fmt.Errorf("tabletop: goal level %q, want one of %v", req.Level, Levels)
	}
	if req.N < 0 {
		return nil, fmt.Errorf("tabletop: %d goals requested, want ≥ 0", req.N)
	}
	ts := TasksOf(req.Level)
	rng := rand.New(rand.NewPCG(req.Seed, 0x7ab1e))
	out := make([]dataset.Goal, req.N)
	for i := range out {
		out[i] = Goal(ts[rng.IntN(len(ts))], req.Level, e.texts, rng)
	}
	return &env.GoalsResponse{Goals: out}, nil
}

// ParseGoals reads goal texts back into goals: a text must be one of the
// env's phrasings (case, spacing and final punctuation aside).
func (e *Env) ParseGoals(_ context.Context, req env.ParseGoalsRequest) (*env.ParseGoalsResponse, error) {
	out := &env.ParseGoalsResponse{Goals: make([]dataset.Goal, len(req.Texts)), Errors: make([]string, len(req.Texts))}
	for i, text := range req.Texts {
		t, err := TaskOf(dataset.Goal{Text: text})
		if err != nil {
			out.Errors[i] = err.Error()
			continue
		}
		level := t.Level
		if t.Level == LevelTrain && !slices.Contains(phrasings[t.Name][LevelTrain], text) {
			level = LevelRephrase
		}
		out.Goals[i] = dataset.Goal{Level: level, Params: map[string]string{"task": t.Name}, Text: text, Vector: t.Vector()}
	}
	return out, nil
}

func checkStates(obs []float32, n int, what string) error {
	if len(obs) != n*ObsDim {
		return fmt.Errorf("tabletop: %s: %d observation values, want %d × %d", what, len(obs), n, ObsDim)
	}
	for i := 0; i < n; i++ {
		if err := checkState(obs[i*ObsDim:(i+1)*ObsDim], fmt.Sprintf("%s observation %d", what, i)); err != nil {
			return err
		}
	}
	return nil
}

func checkActions(a []float32, n int, what string) error {
	if len(a) != n*ActionDim {
		return fmt.Errorf("tabletop: %s: %d action values, want %d × %d", what, len(a), n, ActionDim)
	}
	if err := dataset.BoxSpace(ActionDim, -1, 1).Check(a); err != nil {
		return fmt.Errorf("tabletop: %s: %w", what, err)
	}
	return nil
}

// Reset starts one episode per goal: a fresh scene for its task drawn from
// the seed, or the given observations.
func (e *Env) Reset(_ context.Context, req env.ResetRequest) (*env.ResetResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(req.Goals)
	if n == 0 {
		return nil, errors.New("tabletop: reset with no goals")
	}
	tasks := make([]Task, n)
	for i, g := range req.Goals {
		t, err := TaskOf(g)
		if err != nil {
			return nil, fmt.Errorf("tabletop: reset: goal %d: %w", i, err)
		}
		tasks[i] = t
	}
	if req.Observations != nil {
		if err := checkStates(req.Observations, n, "reset"); err != nil {
			return nil, err
		}
	}
	if e.eng == nil {
		eng, err := newEngine()
		if err != nil {
			return nil, err
		}
		e.eng = eng
	}
	for len(e.worlds) < n {
		w, err := e.eng.newWorld()
		if err != nil {
			return nil, err
		}
		e.worlds = append(e.worlds, w)
	}
	e.tasks, e.active = tasks, make([][NumEntities]bool, n)
	e.steps, e.done, e.stage, e.phi = make([]int, n), make([]bool, n), make([]int, n), make([]float64, n)
	e.obs = make([]float32, n*ObsDim)
	for i := range tasks {
		var s State
		if req.Observations != nil {
			s = State(slices.Clone(req.Observations[i*ObsDim : (i+1)*ObsDim]))
		} else {
			s = Scene(tasks[i], rand.New(rand.NewPCG(req.Seed, uint64(i))))
		}
		for k := range NumEntities {
			e.active[i][k] = s.Active(k)
		}
		if err := e.worlds[i].set(s); err != nil {
			return nil, fmt.Errorf("tabletop: reset episode %d: %w", i, err)
		}
		o := State(e.obs[i*ObsDim : (i+1)*ObsDim])
		copy(o[4:7], s[4:7])
		e.worlds[i].observe(o, e.active[i])
		e.stage[i] = stage(&tasks[i], 0, o)
		e.phi[i] = potential(&tasks[i], e.stage[i], o)
	}
	return &env.ResetResponse{Observations: slices.Clone(e.obs)}, nil
}

// Step applies one action per episode.
func (e *Env) Step(_ context.Context, req env.StepRequest) (*env.StepResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.tasks)
	if n == 0 {
		return nil, errors.New("tabletop: step before reset")
	}
	if err := checkActions(req.Actions, n, "step"); err != nil {
		return nil, err
	}
	r := &env.StepResponse{
		Rewards: make([]float32, n), Terminals: make([]bool, n), Timeouts: make([]bool, n),
		Success: make([]bool, n), Done: make([]bool, n),
	}
	for i := range n {
		if e.done[i] {
			r.Done[i] = true
			continue
		}
		if err := e.worlds[i].step(req.Actions[i*ActionDim : (i+1)*ActionDim]); err != nil {
			e.done[i] = true // the simulation is lost; the episode ends here
			return nil, fmt.Errorf("tabletop: step episode %d (task %s, step %d): %w", i, e.tasks[i].Name, e.steps[i]+1, err)
		}
		o := State(e.obs[i*ObsDim : (i+1)*ObsDim])
		e.worlds[i].observe(o, e.active[i])
		e.steps[i]++
		t := &e.tasks[i]
		e.stage[i] = stage(t, e.stage[i], o)
		phi := potential(t, e.stage[i], o)
		r.Rewards[i] = float32(10 * (e.phi[i] - phi))
		e.phi[i] = phi
		if e.stage[i] == len(t.Stages) {
			r.Success[i], r.Terminals[i], r.Rewards[i] = true, true, SuccessReward
		}
		r.Timeouts[i] = !r.Terminals[i] && e.steps[i] >= e.horizon
		e.done[i] = r.Terminals[i] || r.Timeouts[i]
		r.Done[i] = e.done[i]
	}
	r.Observations = slices.Clone(e.obs)
	return r, nil
}

// Judge labels any rollout with the rewards, terminals and success of Judge.
func (e *Env) Judge(_ context.Context, req env.JudgeRequest) (*env.JudgeResponse, error) {
	t, err := TaskOf(req.Goal)
	if err != nil {
		return nil, fmt.Errorf("tabletop: judge: %w", err)
	}
	T := len(req.Actions) / ActionDim
	if T == 0 {
		return nil, errors.New("tabletop: judge: rollout has no actions")
	}
	if err := checkActions(req.Actions, T, "judge"); err != nil {
		return nil, err
	}
	if err := checkStates(req.Observations, T+1, "judge"); err != nil {
		return nil, err
	}
	j := Judge(t, req.Observations)
	return &env.JudgeResponse{Rewards: j.Rewards, Terminals: j.Terminals, Success: j.Success, Steps: j.Steps}, nil
}

// Behave returns the scripted expert's (or random) actions.
func (e *Env) Behave(_ context.Context, req env.BehaveRequest) (*env.BehaveResponse, error) {
	n := len(req.Goals)
	if req.Policy != PolicyExpert && req.Policy != PolicyRandom {
		return nil, fmt.Errorf("tabletop: behave: policy %q, want %q or %q", req.Policy, PolicyExpert, PolicyRandom)
	}
	if err := checkStates(req.Observations, n, "behave"); err != nil {
		return nil, err
	}
	var p ExpertParams
	for k, v := range req.Params {
		switch k {
		case "noise":
			p.Noise = v
		case "random_share":
			p.RandomShare = v
		default:
			return nil, fmt.Errorf("tabletop: behave: unknown param %q, want noise or random_share", k)
		}
	}
	if p.Noise < 0 || p.RandomShare < 0 || p.RandomShare > 1 {
		return nil, fmt.Errorf("tabletop: behave: noise = %g, random_share = %g, want noise ≥ 0 and share in [0, 1]", p.Noise, p.RandomShare)
	}
	out := make([]float32, 0, n*ActionDim)
	for i, g := range req.Goals {
		rng := rand.New(rand.NewPCG(req.Seed, uint64(i)))
		if req.Policy == PolicyRandom {
			out = append(out, Random(rng)...)
			continue
		}
		t, err := TaskOf(g)
		if err != nil {
			return nil, fmt.Errorf("tabletop: behave: goal %d: %w", i, err)
		}
		out = append(out, Behave(t, State(req.Observations[i*ObsDim:(i+1)*ObsDim]), p, rng)...)
	}
	return &env.BehaveResponse{Actions: out}, nil
}

// Plausibility scores a rollout with the paper's four Meta-World checks (Table 5).
func (e *Env) Plausibility(_ context.Context, req env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	T := len(req.Actions) / ActionDim
	if T == 0 {
		return nil, errors.New("tabletop: plausibility: rollout has no actions")
	}
	if len(req.Actions) != T*ActionDim {
		return nil, fmt.Errorf("tabletop: plausibility: %d action values, want a multiple of %d", len(req.Actions), ActionDim)
	}
	if err := checkStates(req.Observations, T+1, "plausibility"); err != nil {
		return nil, err
	}
	p := Plausibility(req.Observations)
	return &env.PlausibilityResponse{Shares: []env.Share{
		{Name: "float_in_air", Description: "the puck or block rises or hovers above its resting height without being held", Value: p.FloatInAir},
		{Name: "out_of_workbench", Description: "the hand or an object is beyond the table top's edges or below it", Value: p.OutOfWorkbench},
		{Name: "implausible_pose", Description: "an orientation that is no unit quaternion, a tilted fixture, a drawer, window or button beyond its travel, or fingers opened beyond their range", Value: p.ImplausiblePose},
		{Name: "beyond_dynamics", Description: "the hand moves faster than its actions allow, an object faster than 1 m/s, or a fixture's base moves", Value: p.BeyondDynamics},
	}}, nil
}

// Render draws an observation: the table from above and from the side.
func (e *Env) Render(_ context.Context, req env.RenderRequest) (*env.RenderResponse, error) {
	if err := checkState(req.Observation, "render observation"); err != nil {
		return nil, err
	}
	b, err := PNG(State(req.Observation), req.Caption, req.Width)
	if err != nil {
		return nil, err
	}
	return &env.RenderResponse{PNG: b}, nil
}

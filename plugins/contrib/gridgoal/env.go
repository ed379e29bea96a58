package gridgoal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// DefaultHorizon is the step limit of an episode unless configured.
const DefaultHorizon = 40

// Behaviour policies.
const (
	PolicyExpert = "expert" // scripted; param "random_share" is the share of random actions
	PolicyRandom = "random" // uniform over the actions
)

// Env is the grid world. It is safe for concurrent use; Reset and Step act
// on one batch of episodes at a time.
type Env struct {
	mu      sync.Mutex
	horizon int
	worlds  []world
	goals   []goal
	done    []bool
	t       int
}

var (
	_ env.Env        = (*Env)(nil)
	_ env.Configurer = (*Env)(nil)
)

// New returns the env with the default horizon.
func New() *Env { return &Env{horizon: DefaultHorizon} }

var space = dataset.DiscreteSpace(NumActions)

// Spec describes the env.
func (e *Env) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &env.Spec{
		Name:        "gridgoal",
		ObsDim:      ObsDim,
		ActionSpace: space,
		GoalDim:     GoalDim,
		Horizon:     e.horizon,
		Levels:      slices.Clone(Levels),
		Policies:    []string{PolicyExpert, PolicyRandom},
		Config:      map[string]string{"horizon": strconv.Itoa(e.horizon)},
	}, nil
}

// Configure takes one setting, "horizon" (1..1000).
func (e *Env) Configure(_ context.Context, req env.ConfigureRequest) (*env.ConfigureResponse, error) {
	for k, v := range req.Config {
		switch k {
		case "horizon":
			h, err := strconv.Atoi(v)
			if err != nil || h < 1 || h > 1000 {
				return nil, fmt.Errorf("gridgoal: config horizon = %q, want an integer in 1..1000", v)
			}
			e.mu.Lock()
			e.horizon = h
			e.mu.Unlock()
		default:
			return nil, fmt.Errorf("gridgoal: unknown config key %q (known: horizon)", k)
		}
	}
	return &env.ConfigureResponse{}, nil
}

// Goals draws n goals of a level.
func (e *Env) Goals(_ context.Context, req env.GoalsRequest) (*env.GoalsResponse, error) {
	if req.N < 0 || req.N > 1_000_000 {
		return nil, fmt.Errorf("gridgoal: goals: n = %d, want 0..1000000", req.N)
	}
	gs, err := sampleGoals(req.Level, req.N, req.Seed)
	if err != nil {
		return nil, fmt.Errorf("gridgoal: goals: %w", err)
	}
	return &env.GoalsResponse{Goals: gs}, nil
}

// Reset starts one episode per goal, in a room drawn from the seed or
// given as observations.
func (e *Env) Reset(ctx context.Context, req env.ResetRequest) (*env.ResetResponse, error) {
	n := len(req.Goals)
	if req.Observations != nil && len(req.Observations) != n*ObsDim {
		return nil, fmt.Errorf("gridgoal: reset: %d observation values for %d goals, want %d", len(req.Observations), n, n*ObsDim)
	}
	gs := make([]goal, n)
	ws := make([]world, n)
	for i, d := range req.Goals {
		g, err := parseGoal(d)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: reset: episode %d: %w", i, err)
		}
		gs[i] = g
		if req.Observations == nil {
			ws[i] = scene(g, rand.New(rand.NewPCG(req.Seed, uint64(i))))
			continue
		}
		w, err := decode(req.Observations[i*ObsDim:(i+1)*ObsDim], true)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: reset: episode %d: %w", i, err)
		}
		if w.find(g.typ, g.color) < 0 {
			return nil, fmt.Errorf("gridgoal: reset: episode %d: the room holds no %s %s for goal %q", i, Colors[g.color-1], g.typ, d.Text)
		}
		ws[i] = w
	}
	obs := make([]float32, n*ObsDim)
	for i := range ws {
		ws[i].encode(obs[i*ObsDim:])
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.worlds, e.goals, e.done, e.t = ws, gs, make([]bool, n), 0
	return &env.ResetResponse{Observations: obs}, nil
}

// Step applies one action per episode. An episode ends when its goal is
// achieved (reward 1, terminal) or at the horizon (timeout).
func (e *Env) Step(_ context.Context, req env.StepRequest) (*env.StepResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.worlds)
	if n == 0 {
		return nil, errors.New("gridgoal: step: no episodes; call reset first")
	}
	if len(req.Actions) != n {
		return nil, fmt.Errorf("gridgoal: step: %d actions for %d episodes", len(req.Actions), n)
	}
	if err := space.Check(req.Actions); err != nil {
		return nil, fmt.Errorf("gridgoal: step: %w", err)
	}
	e.t++
	r := &env.StepResponse{Observations: make([]float32, n*ObsDim), Rewards: make([]float32, n), Terminals: make([]bool, n),
		Timeouts: make([]bool, n), Success: make([]bool, n), Done: make([]bool, n)}
	for i := range n {
		if e.done[i] {
			r.Done[i] = true
		} else {
			e.worlds[i] = e.worlds[i].step(int(req.Actions[i]))
			if e.goals[i].done(&e.worlds[i]) {
				r.Rewards[i], r.Terminals[i], r.Success[i] = 1, true, true
			} else if e.t >= e.horizon {
				r.Timeouts[i] = true
			}
			r.Done[i] = r.Terminals[i] || r.Timeouts[i]
			e.done[i] = r.Done[i]
		}
		e.worlds[i].encode(r.Observations[i*ObsDim:])
	}
	return r, nil
}

// rollout checks the shape of a rollout of T actions.
func rollout(obs, actions []float32) (int, error) {
	T := len(actions)
	if len(obs) != (T+1)*ObsDim {
		return 0, fmt.Errorf("%d observation values for %d actions, want (T+1)·%d = %d", len(obs), T, ObsDim, (T+1)*ObsDim)
	}
	return T, nil
}

// Judge labels a rollout by the states it reaches: reward 1 and terminal
// where the goal is achieved. It reads imagined states loosely (rounding),
// so any finite rollout can be labelled.
func (e *Env) Judge(_ context.Context, req env.JudgeRequest) (*env.JudgeResponse, error) {
	T, err := rollout(req.Observations, req.Actions)
	if err != nil {
		return nil, fmt.Errorf("gridgoal: judge: %w", err)
	}
	g, err := parseGoal(req.Goal)
	if err != nil {
		return nil, fmt.Errorf("gridgoal: judge: %w", err)
	}
	r := &env.JudgeResponse{Rewards: make([]float32, T), Terminals: make([]bool, T), Steps: T}
	for k := range T {
		w, err := decode(req.Observations[(k+1)*ObsDim:(k+2)*ObsDim], false)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: judge: step %d: %w", k, err)
		}
		if g.done(&w) {
			r.Rewards[k], r.Terminals[k] = 1, true
			if !r.Success {
				r.Success, r.Steps = true, k+1
			}
		}
	}
	return r, nil
}

// Behave returns the actions of a behaviour policy. The expert takes param
// "random_share", the share of random actions (default 0).
func (e *Env) Behave(_ context.Context, req env.BehaveRequest) (*env.BehaveResponse, error) {
	n := len(req.Goals)
	if len(req.Observations) != n*ObsDim {
		return nil, fmt.Errorf("gridgoal: behave: %d observation values for %d goals, want %d", len(req.Observations), n, n*ObsDim)
	}
	eps := 0.0
	for k, v := range req.Params {
		if k != "random_share" || req.Policy != PolicyExpert {
			return nil, fmt.Errorf("gridgoal: behave: policy %q takes no param %q", req.Policy, k)
		}
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("gridgoal: behave: random_share = %g, want 0..1", v)
		}
		eps = v
	}
	if req.Policy != PolicyExpert && req.Policy != PolicyRandom {
		return nil, fmt.Errorf("gridgoal: behave: unknown policy %q, want %s or %s", req.Policy, PolicyExpert, PolicyRandom)
	}
	acts := make([]float32, n)
	for i, d := range req.Goals {
		rng := rand.New(rand.NewPCG(req.Seed, uint64(i)))
		if req.Policy == PolicyRandom || rng.Float64() < eps {
			acts[i] = float32(rng.IntN(NumActions))
			continue
		}
		g, err := parseGoal(d)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: behave: episode %d: %w", i, err)
		}
		w, err := decode(req.Observations[i*ObsDim:(i+1)*ObsDim], false)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: behave: episode %d: %w", i, err)
		}
		if !inside(w.x, w.y) || w.dir < 0 || w.dir > 3 {
			return nil, fmt.Errorf("gridgoal: behave: episode %d: agent at (%d, %d) facing %d is outside the room", i, w.x, w.y, w.dir)
		}
		acts[i] = float32(expert(&w, g))
	}
	return &env.BehaveResponse{Actions: acts}, nil
}

// Plausibility scores a rollout against the room's rules, four named
// shares of its transitions (see plausibilityRules).
func (e *Env) Plausibility(_ context.Context, req env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	T, err := rollout(req.Observations, req.Actions)
	if err != nil {
		return nil, fmt.Errorf("gridgoal: plausibility: %w", err)
	}
	var out, beyond, inconsistent, invalid float64
	next := make([]float32, ObsDim)
	for k := range T {
		a, err := decode(req.Observations[k*ObsDim:(k+1)*ObsDim], false)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: plausibility: step %d: %w", k, err)
		}
		bObs := req.Observations[(k+1)*ObsDim : (k+2)*ObsDim]
		b, err := decode(bObs, false)
		if err != nil {
			return nil, fmt.Errorf("gridgoal: plausibility: step %d: %w", k+1, err)
		}
		if !inside(b.x, b.y) || slices.ContainsFunc(b.objs[:], func(o object) bool { return !inside(o.x, o.y) }) {
			out++
		}
		moved := abs(b.x-a.x)+abs(b.y-a.y) > 1
		for i := range a.objs {
			oa, ob := a.objs[i], b.objs[i]
			if oa.state != Carried && ob.state != Carried && (oa.x != ob.x || oa.y != ob.y) {
				moved = true
			}
		}
		if moved {
			beyond++
		}
		if _, err := decode(bObs, true); err != nil {
			invalid++
		}
		act := req.Actions[k]
		sa, err := decode(req.Observations[k*ObsDim:(k+1)*ObsDim], true)
		if err != nil || space.Check([]float32{act}) != nil {
			inconsistent++
			continue
		}
		sb := sa.step(int(act))
		sb.encode(next)
		if !slices.Equal(next, bObs) {
			inconsistent++
		}
	}
	p := &env.PlausibilityResponse{Shares: slices.Clone(plausibilityRules)}
	if T > 0 {
		for i, n := range []float64{out, beyond, inconsistent, invalid} {
			p.Shares[i].Value = n / float64(T)
		}
	}
	return p, nil
}

// plausibilityRules are the rules Plausibility checks, in its order.
var plausibilityRules = []env.Share{
	{Name: "out_of_bounds", Description: "the agent or an object is outside the room"},
	{Name: "beyond_dynamics", Description: "the agent moves more than one cell, or an object on the floor moves"},
	{Name: "inconsistent", Description: "the next state is not what Step gives for the action"},
	{Name: "invalid", Description: "the next state is one no episode can reach"},
}

// finite reports the first non-finite value.
func finite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d is %g", i, x)
		}
	}
	return nil
}

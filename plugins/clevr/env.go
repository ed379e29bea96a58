package clevr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// Env is CLEVR-Robot as an env.Env: a batch of episodes stepped together. Create it with New;
// Configure may change any setting before the first Reset.
type Env struct {
	mu           sync.Mutex
	cfg          Config
	textsPerGoal int
	sim          *Sim
	judge        *Judge
	expert       *Expert

	// the current batch
	states []State
	tasks  []Task
	steps  []int
	done   []bool
	obs    []float32
}

var (
	_ env.Env        = (*Env)(nil)
	_ env.Configurer = (*Env)(nil)
)

// New returns the environment with cfg (use DefaultConfig for KALM's settings).
func New(cfg Config) (*Env, error) {
	e := &Env{textsPerGoal: 8}
	if err := e.setConfig(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) setConfig(cfg Config) error {
	s, err := NewSim(cfg)
	if err != nil {
		return err
	}
	j, err := NewJudge(cfg)
	if err != nil {
		return err
	}
	x, err := NewExpert(cfg)
	if err != nil {
		return err
	}
	e.cfg, e.sim, e.judge, e.expert = cfg, s, j, x
	e.states, e.tasks = nil, nil
	return nil
}

func (e *Env) obsDim() int { return 2 * e.cfg.NumBalls }

// configKeys maps every Configure key to its field.
func configKeys(c *Config, textsPerGoal *int) map[string]any {
	return map[string]any{
		"model": &c.Model, "physics": &c.Model, "num_balls": &c.NumBalls, "radius": &c.Radius, "pusher_radius": &c.PusherRadius,
		"wall_x_min": &c.WallXMin, "wall_x_max": &c.WallXMax, "wall_y_min": &c.WallYMin, "wall_y_max": &c.WallYMax,
		"contact_slack": &c.ContactSlack,
		"sample_x_min":  &c.SampleXMin, "sample_x_max": &c.SampleXMax, "sample_y_min": &c.SampleYMin, "sample_y_max": &c.SampleYMax,
		"min_gap": &c.MinGap, "axis_margin": &c.AxisMargin, "retries": &c.Retries, "overlap": &c.Overlap, "eject_extra": &c.EjectExtra,
		"push_offset": &c.PushOffset, "substeps": &c.Substeps, "dt": &c.DT, "force_scale": &c.ForceScale,
		"ball_mass": &c.BallMass, "pusher_mass": &c.PusherMass, "ball_damping": &c.BallDamping, "pusher_damping": &c.PusherDamping,
		"friction": &c.Friction, "body_friction": &c.BodyFriction, "beta": &c.Beta, "iterations": &c.Iterations,
		"contact_tol": &c.ContactTol, "carry_velocity": &c.CarryVelocity,
		"kinematic_cardinal": &c.KinematicCardinal, "kinematic_diagonal": &c.KinematicDiagonal, "kinematic_passes": &c.KinematicPasses,
		"max_steps": &c.MaxSteps, "horizon": &c.MaxSteps, "stop_on_success": &c.StopOnSuccess, "convention": &c.Convention,
		"relation_angle": &c.RelationAngle, "relation_dist": &c.RelationDist, "original_cosine": &c.OriginalCosine,
		"original_dist": &c.OriginalDist, "line_angle": &c.LineAngle, "gather_dist": &c.GatherDist, "still_max": &c.StillMax,
		"easy_move_min": &c.EasyMoveMin, "easy_judge": &c.EasyJudge, "reward": &c.Reward, "target_offset": &c.TargetOffset,
		"stale_first_push": &c.StaleFirstPush, "fixed_object_bug": &c.FixedObjectBug,
		"texts_per_goal": textsPerGoal,
	}
}

// Configure applies settings by name (snake_case field names of Config, "horizon" for
// max_steps, "physics" for model, "preset" = "kalm" or "original" applied first, "texts_per_goal"). Unknown keys
// and bad values are errors naming them.
func (e *Env) Configure(_ context.Context, req env.ConfigureRequest) (*env.ConfigureResponse, error) {
	if err := e.configure(req.Config); err != nil {
		return nil, err
	}
	return &env.ConfigureResponse{}, nil
}

func (e *Env) configure(config map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := e.cfg
	texts := e.textsPerGoal
	if p, ok := config["preset"]; ok {
		switch p {
		case "kalm":
			cfg = DefaultConfig()
		case "original":
			cfg = OriginalConfig()
		default:
			return fmt.Errorf("clevr configure: preset = %q, want kalm or original", p)
		}
	}
	keys := configKeys(&cfg, &texts)
	names := make([]string, 0, len(config))
	for k := range config {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := config[k]
		if k == "preset" {
			continue
		}
		ptr, ok := keys[k]
		if !ok {
			known := make([]string, 0, len(keys))
			for k := range keys {
				known = append(known, k)
			}
			sort.Strings(known)
			return fmt.Errorf("clevr configure: unknown key %q, known: preset %v", k, known)
		}
		var err error
		switch p := ptr.(type) {
		case *string:
			*p = v
		case *int:
			*p, err = strconv.Atoi(v)
		case *float64:
			*p, err = strconv.ParseFloat(v, 64)
		case *bool:
			*p, err = strconv.ParseBool(v)
		}
		if err != nil {
			return fmt.Errorf("clevr configure: %s = %q: %w", k, v, err)
		}
	}
	if texts < 1 {
		return fmt.Errorf("clevr configure: texts_per_goal = %d, want ≥ 1", texts)
	}
	if err := e.setConfig(cfg); err != nil {
		return fmt.Errorf("clevr configure: %w", err)
	}
	e.textsPerGoal = texts
	return nil
}

// Spec describes the environment.
func (e *Env) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfgEcho := map[string]string{}
	texts := e.textsPerGoal
	c := e.cfg
	for k, p := range configKeys(&c, &texts) {
		if k == "horizon" || k == "physics" { // aliases of max_steps and model
			continue
		}
		switch p := p.(type) {
		case *string:
			cfgEcho[k] = *p
		case *int:
			cfgEcho[k] = strconv.Itoa(*p)
		case *float64:
			cfgEcho[k] = strconv.FormatFloat(*p, 'g', -1, 64)
		case *bool:
			cfgEcho[k] = strconv.FormatBool(*p)
		}
	}
	return &env.Spec{
		Name:        EnvName,
		ObsDim:      e.obsDim(),
		ActionSpace: dataset.DiscreteSpace(NumActions(e.cfg.NumBalls)),
		GoalDim:     GoalDim,
		Horizon:     e.cfg.MaxSteps,
		Levels:      slices.Clone(Levels),
		Policies:    []string{PolicyExpert, PolicyRandom},
		Config:      cfgEcho,
	}, nil
}

// Goal builds the dataset goal of a task with n phrasings drawn from rng.
func Goal(t Task, n int, rng *rand.Rand) dataset.Goal {
	var l Language
	texts := l.Texts(&t, n, rng)
	return dataset.Goal{Level: t.Level, Params: t.Params(), Text: texts[0], Texts: texts, Vector: t.Vector()}
}

// Goals samples n goals of a level.
func (e *Env) Goals(_ context.Context, req env.GoalsRequest) (*env.GoalsResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !slices.Contains(Levels, req.Level) {
		return nil, fmt.Errorf("clevr: goal level %q, want one of %v", req.Level, Levels)
	}
	if req.N < 0 {
		return nil, fmt.Errorf("clevr: %d goals requested", req.N)
	}
	rng := rand.New(rand.NewPCG(req.Seed, 0x60a15))
	out := make([]dataset.Goal, req.N)
	for i := range out {
		t, err := SampleTask(req.Level, e.cfg.NumBalls, rng)
		if err != nil {
			return nil, err
		}
		out[i] = Goal(t, e.textsPerGoal, rng)
	}
	return &env.GoalsResponse{Goals: out}, nil
}

// ParseGoals reads goal texts back into goals (env.Parser): the level and
// parameters the text names, its vector, and the text itself. A text naming
// no goal this env knows gets an error message of its own.
func (e *Env) ParseGoals(_ context.Context, req env.ParseGoalsRequest) (*env.ParseGoalsResponse, error) {
	e.mu.Lock()
	numBalls := e.cfg.NumBalls
	e.mu.Unlock()
	out := &env.ParseGoalsResponse{Goals: make([]dataset.Goal, len(req.Texts)), Errors: make([]string, len(req.Texts))}
	for i, text := range req.Texts {
		t, err := TaskOf(dataset.Goal{Text: text}, numBalls)
		if err != nil {
			out.Errors[i] = err.Error()
			continue
		}
		out.Goals[i] = dataset.Goal{Level: t.Level, Params: t.Params(), Text: text, Vector: t.Vector()}
	}
	return out, nil
}

// TaskOf recovers the structured task of a goal: from its Params when present, else by
// parsing its Text (a goal written by a person or a language model).
func TaskOf(g dataset.Goal, numBalls int) (Task, error) {
	if len(g.Params) > 0 {
		return ParseParams(g.Level, g.Params, numBalls)
	}
	if g.Text == "" {
		return Task{}, errors.New("clevr: goal has neither params nor text")
	}
	t, err := Parse(g.Text)
	if err != nil {
		return Task{}, err
	}
	if err := t.validate(numBalls); err != nil {
		return Task{}, fmt.Errorf("clevr: goal text %q: %w", g.Text, err)
	}
	return t, nil
}

func (e *Env) checkObs(obs []float32, n int, what string) error {
	od := e.obsDim()
	if len(obs) != n*od {
		return fmt.Errorf("clevr: %s: %d observation values for %d rows of dim %d, want %d", what, len(obs), n, od, n*od)
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("clevr: %s: observation value %d (row %d) is %g", what, i, i/od, v)
		}
	}
	return nil
}

func (e *Env) checkActions(actions []float32, n int, what string) ([]int, error) {
	if len(actions) != n {
		return nil, fmt.Errorf("clevr: %s: %d actions for %d episodes", what, len(actions), n)
	}
	out := make([]int, n)
	na := NumActions(e.cfg.NumBalls)
	for i, a := range actions {
		if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) || a != float32(math.Trunc(float64(a))) || a < 0 || int(a) >= na {
			return nil, fmt.Errorf("clevr: %s: action %d = %g, want an index 0..%d", what, i, a, na-1)
		}
		out[i] = int(a)
	}
	return out, nil
}

// Reset starts one episode per goal: scenes drawn from the seed (episode i from stream i),
// or the given observations.
func (e *Env) Reset(_ context.Context, req env.ResetRequest) (*env.ResetResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(req.Goals)
	if n == 0 {
		return nil, errors.New("clevr: reset with no goals")
	}
	tasks := make([]Task, n)
	for i, g := range req.Goals {
		t, err := TaskOf(g, e.cfg.NumBalls)
		if err != nil {
			return nil, fmt.Errorf("clevr: reset: goal %d: %w", i, err)
		}
		tasks[i] = t
	}
	if req.Observations != nil {
		if err := e.checkObs(req.Observations, n, "reset"); err != nil {
			return nil, err
		}
	}
	od := e.obsDim()
	states := make([]State, n)
	pos := make([]float64, od)
	for i := range states {
		rng := rand.New(rand.NewPCG(req.Seed, uint64(i)))
		scene, err := SampleScene(&e.cfg, rng)
		if err != nil {
			return nil, err
		}
		if err := e.sim.SetPositions(&states[i], scene, true); err != nil {
			return nil, err
		}
		if req.Observations != nil {
			for k := range pos {
				pos[k] = float64(req.Observations[i*od+k])
			}
			if err := e.sim.SetPositions(&states[i], pos, false); err != nil {
				return nil, fmt.Errorf("clevr: reset episode %d: %w", i, err)
			}
		}
	}
	e.states, e.tasks = states, tasks
	e.steps, e.done = make([]int, n), make([]bool, n)
	e.obs = make([]float32, 0, n*od)
	for i := range states {
		e.obs = e.sim.Positions(e.obs, &states[i])
	}
	return &env.ResetResponse{Observations: slices.Clone(e.obs)}, nil
}

// Step applies one action per episode. Rewards, terminals and success come from the judge on
// the float32 observations, so Judge on a recorded rollout gives exactly the same labels.
func (e *Env) Step(_ context.Context, req env.StepRequest) (*env.StepResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.states)
	if n == 0 {
		return nil, errors.New("clevr: step before reset")
	}
	acts, err := e.checkActions(req.Actions, n, "step")
	if err != nil {
		return nil, err
	}
	od := e.obsDim()
	r := &env.StepResponse{
		Rewards: make([]float32, n), Terminals: make([]bool, n), Timeouts: make([]bool, n),
		Success: make([]bool, n), Done: make([]bool, n),
	}
	var before [2 * MaxBalls]float32
	for i := range e.states {
		if e.done[i] {
			r.Done[i] = true
			continue
		}
		o := e.obs[i*od : (i+1)*od]
		copy(before[:od], o)
		if err := e.sim.Step(&e.states[i], acts[i]); err != nil {
			return nil, err
		}
		st := &e.states[i]
		for b := 0; b < e.cfg.NumBalls; b++ {
			o[2*b], o[2*b+1] = float32(st.Pos[b][0]), float32(st.Pos[b][1])
		}
		e.steps[i]++
		t := &e.tasks[i]
		oneStep := t.Kind == KindMove || t.Kind == KindStill
		var ok bool
		if oneStep {
			ok = e.judge.Transition(t, before[:od], o, acts[i])
		} else {
			ok = e.judge.Holds(t, o)
		}
		r.Success[i] = ok
		r.Rewards[i] = e.judge.reward(t, before[:od], o, ok)
		r.Terminals[i] = oneStep || (ok && e.cfg.StopOnSuccess)
		r.Timeouts[i] = !r.Terminals[i] && e.steps[i] >= e.cfg.MaxSteps
		e.done[i] = r.Terminals[i] || r.Timeouts[i]
		r.Done[i] = e.done[i]
	}
	r.Observations = slices.Clone(e.obs)
	return r, nil
}

// Judge labels a rollout under a goal (see Judge.Label).
func (e *Env) Judge(_ context.Context, req env.JudgeRequest) (*env.JudgeResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := TaskOf(req.Goal, e.cfg.NumBalls)
	if err != nil {
		return nil, fmt.Errorf("clevr: judge: %w", err)
	}
	T := len(req.Actions)
	if T == 0 {
		return nil, errors.New("clevr: judge: rollout has no actions")
	}
	if err := e.checkObs(req.Observations, T+1, "judge"); err != nil {
		return nil, err
	}
	acts, err := e.checkActions(req.Actions, T, "judge")
	if err != nil {
		return nil, err
	}
	l, err := e.judge.Label(&t, req.Observations, acts)
	if err != nil {
		return nil, err
	}
	return &env.JudgeResponse{Rewards: l.Rewards, Terminals: l.Terminals, Success: l.Any, Steps: l.Steps}, nil
}

// Behave returns the actions of the "expert" or "random" policy. Params for the expert:
// "noise", "random_share" and "source_only" (1 = push only the source ball of a relation). When the observations are the current batch's, the expert
// plans with the episodes' full states (velocities included); otherwise from rest.
func (e *Env) Behave(_ context.Context, req env.BehaveRequest) (*env.BehaveResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(req.Goals)
	if req.Policy != PolicyExpert && req.Policy != PolicyRandom {
		return nil, fmt.Errorf("clevr: behave: policy %q, want %q or %q", req.Policy, PolicyExpert, PolicyRandom)
	}
	if err := e.checkObs(req.Observations, n, "behave"); err != nil {
		return nil, err
	}
	var p ExpertParams
	for k, v := range req.Params {
		switch k {
		case "noise":
			p.Noise = v
		case "random_share":
			p.RandomShare = v
		case "source_only":
			p.SourceOnly = v != 0
		default:
			return nil, fmt.Errorf("clevr: behave: unknown param %q, want noise, random_share or source_only", k)
		}
	}
	if p.Noise < 0 || p.RandomShare < 0 || p.RandomShare > 1 {
		return nil, fmt.Errorf("clevr: behave: noise = %g, random_share = %g, want noise ≥ 0 and share in [0, 1]", p.Noise, p.RandomShare)
	}
	od := e.obsDim()
	current := len(e.states) == n && slices.Equal(e.obs, req.Observations)
	out := make([]float32, n)
	pos := make([]float64, od)
	for i, g := range req.Goals {
		rng := rand.New(rand.NewPCG(req.Seed, uint64(i)))
		if req.Policy == PolicyRandom {
			out[i] = float32(rng.IntN(NumActions(e.cfg.NumBalls)))
			continue
		}
		t, err := TaskOf(g, e.cfg.NumBalls)
		if err != nil {
			return nil, fmt.Errorf("clevr: behave: goal %d: %w", i, err)
		}
		if current && e.done[i] {
			continue // a done episode ignores its action: no need to plan one
		}
		var st State
		if current {
			st = e.states[i]
		} else {
			for k := range pos {
				pos[k] = float64(req.Observations[i*od+k])
			}
			if err := e.sim.SetPositions(&st, pos, true); err != nil {
				return nil, err
			}
		}
		out[i] = float32(e.expert.Act(&st, &t, p, rng))
	}
	return &env.BehaveResponse{Actions: out}, nil
}

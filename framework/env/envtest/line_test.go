package envtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// line is a tiny env the suite checks itself on: an agent on the cells
// 0..lineMax walks left, stays or walks right until it stands on its target.
// Observations are [position, target]; the goal vector is [target/lineMax].
// Each bug flag breaks one rule of the contract.
type line struct {
	bugs bugs
	name string // the spec's name; "line" where empty

	mu      sync.Mutex
	pos     []int
	target  []int
	t       int
	done    []bool
	counter int // for the behaveIgnoresSeed bug
}

type bugs struct {
	goalsIgnoreSeed   bool // Goals draws the same goals for every seed
	acceptBadActions  bool // Step checks nothing and panics on short batches
	noTimeout         bool // episodes run past the horizon
	judgeShifted      bool // Judge rewards the step before success
	nondeterministic  bool // Reset draws from a hidden counter
	doneKeepsMoving   bool // a done episode still moves
	behaveOutOfSpace  bool // the expert returns action 3
	badPNG            bool // Render returns bytes that are no PNG
	wrongGoalDim      bool // goal vectors have two values
	ignoreInitObs     bool // Reset ignores the given observations
	plausibilityAbove bool // Plausibility returns 2
	shareUnnamed      bool // a share has no name and no description
	shareNamesVary    bool // rollouts that move are scored by other rules than those that stay
	noPolicies        bool // Spec lists no policies
	collectMiscounts  bool // Goals returns one goal fewer than asked for
	goalsNil          bool // Goals returns neither goals nor an error
	configAcceptsAll  bool // Configure accepts unknown keys
	behaveIgnoresSeed bool // the random policy draws from a hidden counter
	batchReversed     bool // JudgeBatch returns its results in reverse order
	batchFirstGoal    bool // JudgeBatch judges every rollout under the first one's goal
	batchUnindexed    bool // JudgeBatch's error about a rollout does not say which
}

// resets counts resets across envs, for the nondeterministic bug.
var resets atomic.Uint64

const (
	lineMax     = 9
	lineHorizon = 8
)

var _ env.Env = (*line)(nil)

func (l *line) Spec(context.Context, env.SpecRequest) (*env.Spec, error) {
	name := l.name
	if name == "" {
		name = "line"
	}
	sp := &env.Spec{Name: name, ObsDim: 2, ActionSpace: dataset.DiscreteSpace(3), GoalDim: 1, Horizon: lineHorizon,
		Levels: []string{"near", "far"}, Policies: []string{"expert", "random"}}
	if l.bugs.noPolicies {
		sp.Policies = nil
	}
	return sp, nil
}

func (l *line) Goals(_ context.Context, req env.GoalsRequest) (*env.GoalsResponse, error) {
	lo, hi := 1, 4
	switch req.Level {
	case "near":
	case "far":
		lo, hi = 5, lineMax
	default:
		return nil, fmt.Errorf("goals: unknown level %q, want near or far", req.Level)
	}
	if req.N < 0 {
		return nil, fmt.Errorf("goals: n = %d, want ≥ 0", req.N)
	}
	seed := req.Seed
	if l.bugs.goalsIgnoreSeed {
		seed = 0
	}
	n := req.N
	if l.bugs.collectMiscounts && n > 1 {
		n--
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	gs := make([]dataset.Goal, n)
	for i := range gs {
		x := lo + rng.IntN(hi-lo+1)
		gs[i] = dataset.Goal{Level: req.Level, Params: map[string]string{"target": strconv.Itoa(x)},
			Text: fmt.Sprintf("go to %d", x), Vector: []float32{float32(x) / lineMax}}
		if l.bugs.wrongGoalDim {
			gs[i].Vector = append(gs[i].Vector, 0)
		}
	}
	if l.bugs.goalsNil {
		return nil, nil
	}
	return &env.GoalsResponse{Goals: gs}, nil
}

func target(g dataset.Goal) (int, error) {
	x, err := strconv.Atoi(g.Params["target"])
	if err != nil || x < 0 || x > lineMax {
		return 0, fmt.Errorf("goal %q: param target = %q, want 0..%d", g.Text, g.Params["target"], lineMax)
	}
	return x, nil
}

// cell reads a position from an observation value.
func cell(v float32) (int, error) {
	if v != float32(math.Trunc(float64(v))) || v < 0 || v > lineMax {
		return 0, fmt.Errorf("position %g is not a cell 0..%d", v, lineMax)
	}
	return int(v), nil
}

func (l *line) Reset(_ context.Context, req env.ResetRequest) (*env.ResetResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(req.Goals)
	if req.Observations != nil && len(req.Observations) != 2*n && !l.bugs.ignoreInitObs {
		return nil, fmt.Errorf("reset: %d observation values for %d goals, want %d", len(req.Observations), n, 2*n)
	}
	l.pos, l.target, l.done, l.t = make([]int, n), make([]int, n), make([]bool, n), 0
	seed := req.Seed
	if l.bugs.nondeterministic {
		seed += resets.Add(1) // a draw shared by every env, as from a global source
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	obs := make([]float32, 2*n)
	for i, g := range req.Goals {
		x, err := target(g)
		if err != nil {
			return nil, fmt.Errorf("reset: %w", err)
		}
		l.target[i] = x
		if req.Observations != nil && !l.bugs.ignoreInitObs {
			p, err := cell(req.Observations[2*i])
			if err != nil {
				return nil, fmt.Errorf("reset: episode %d: %w", i, err)
			}
			l.pos[i] = p
		} else {
			for l.pos[i] = x; l.pos[i] == x; {
				l.pos[i] = rng.IntN(lineMax + 1)
			}
		}
		obs[2*i], obs[2*i+1] = float32(l.pos[i]), float32(x)
	}
	return &env.ResetResponse{Observations: obs}, nil
}

func (l *line) Step(_ context.Context, req env.StepRequest) (*env.StepResponse, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.pos)
	if !l.bugs.acceptBadActions {
		if len(req.Actions) != n {
			return nil, fmt.Errorf("step: %d actions for %d episodes", len(req.Actions), n)
		}
		if err := dataset.DiscreteSpace(3).Check(req.Actions); err != nil {
			return nil, fmt.Errorf("step: %w", err)
		}
	}
	l.t++
	r := &env.StepResponse{Observations: make([]float32, 2*n), Rewards: make([]float32, n), Terminals: make([]bool, n),
		Timeouts: make([]bool, n), Success: make([]bool, n), Done: make([]bool, n)}
	for i := range n {
		if !l.done[i] || l.bugs.doneKeepsMoving {
			l.pos[i] = min(max(l.pos[i]+int(req.Actions[i])-1, 0), lineMax)
		}
		r.Observations[2*i], r.Observations[2*i+1] = float32(l.pos[i]), float32(l.target[i])
		if l.done[i] {
			r.Done[i] = true
			continue
		}
		if l.pos[i] == l.target[i] {
			r.Rewards[i], r.Terminals[i], r.Success[i] = 1, true, true
		} else if l.t >= lineHorizon && !l.bugs.noTimeout {
			r.Timeouts[i] = true
		}
		r.Done[i] = r.Terminals[i] || r.Timeouts[i]
		l.done[i] = r.Done[i]
	}
	return r, nil
}

func (l *line) Judge(_ context.Context, req env.JudgeRequest) (*env.JudgeResponse, error) {
	T := len(req.Actions)
	if len(req.Observations) != 2*(T+1) {
		return nil, fmt.Errorf("judge: %d observation values for %d actions, want %d", len(req.Observations), T, 2*(T+1))
	}
	x, err := target(req.Goal)
	if err != nil {
		return nil, fmt.Errorf("judge: %w", err)
	}
	r := &env.JudgeResponse{Rewards: make([]float32, T), Terminals: make([]bool, T), Steps: T}
	for k := range T {
		o := 2 * (k + 1)
		if l.bugs.judgeShifted {
			o -= 2
		}
		if int(req.Observations[o]) == x {
			r.Rewards[k], r.Terminals[k] = 1, true
			if !r.Success {
				r.Steps = k + 1
			}
			r.Success = true
		}
	}
	return r, nil
}

// JudgeBatch judges each rollout as Judge does: the line has a batch method
// of its own, so that the suite checks one (bare hides it: the loop).
func (l *line) JudgeBatch(ctx context.Context, req env.JudgeBatchRequest) (*env.JudgeBatchResponse, error) {
	out := &env.JudgeBatchResponse{Results: make([]env.JudgeResponse, len(req.Rollouts))}
	for i, r := range req.Rollouts {
		if l.bugs.batchFirstGoal {
			r.Goal = req.Rollouts[0].Goal
		}
		j, err := l.Judge(ctx, r)
		if err != nil {
			if l.bugs.batchUnindexed {
				return nil, err
			}
			return nil, &env.RolloutError{Index: i, Err: err}
		}
		out.Results[i] = *j
	}
	if l.bugs.batchReversed {
		slices.Reverse(out.Results)
	}
	return out, nil
}

func (l *line) Behave(_ context.Context, req env.BehaveRequest) (*env.BehaveResponse, error) {
	n := len(req.Goals)
	if len(req.Observations) != 2*n {
		return nil, fmt.Errorf("behave: %d observation values for %d goals", len(req.Observations), n)
	}
	seed := req.Seed
	if l.bugs.behaveIgnoresSeed {
		l.mu.Lock()
		l.counter++
		seed += uint64(l.counter)
		l.mu.Unlock()
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	a := make([]float32, n)
	for i := range n {
		switch req.Policy {
		case "expert":
			d := req.Observations[2*i+1] - req.Observations[2*i]
			a[i] = 1
			if d > 0 {
				a[i] = 2
			} else if d < 0 {
				a[i] = 0
			}
			if l.bugs.behaveOutOfSpace {
				a[i] = 3
			}
		case "random":
			a[i] = float32(rng.IntN(3))
		default:
			return nil, fmt.Errorf("behave: unknown policy %q, want expert or random", req.Policy)
		}
	}
	return &env.BehaveResponse{Actions: a}, nil
}

func (l *line) Plausibility(_ context.Context, req env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	T := len(req.Actions)
	if len(req.Observations) != 2*(T+1) {
		return nil, fmt.Errorf("plausibility: %d observation values for %d actions", len(req.Observations), T)
	}
	var out, jump float64
	for k := range T {
		a, b := req.Observations[2*k], req.Observations[2*k+2]
		if b < 0 || b > lineMax {
			out++
		}
		if math.Abs(float64(b-a)) > 1 {
			jump++
		}
	}
	p := &env.PlausibilityResponse{Shares: []env.Share{
		{Name: "off_line", Description: "the agent stands off the line's cells"},
		{Name: "jump", Description: "the agent moves more than one cell in a step"},
	}}
	if T > 0 {
		p.Shares[0].Value, p.Shares[1].Value = out/float64(T), jump/float64(T)
	}
	if l.bugs.plausibilityAbove {
		p.Shares[0].Value = 2
	}
	if l.bugs.shareUnnamed {
		p.Shares[1].Name, p.Shares[1].Description = "", ""
	}
	if l.bugs.shareNamesVary && T > 0 && req.Observations[0] != req.Observations[2*T] {
		p.Shares[1].Name = "leap"
	}
	return p, nil
}

func (l *line) Render(_ context.Context, req env.RenderRequest) (*env.RenderResponse, error) {
	if len(req.Observation) != 2 {
		return nil, fmt.Errorf("render: %d observation values, want 2", len(req.Observation))
	}
	if l.bugs.badPNG {
		return &env.RenderResponse{PNG: []byte("not a png")}, nil
	}
	w := req.Width
	if w <= 0 {
		w = 10 * (lineMax + 1)
	}
	img := image.NewGray(image.Rect(0, 0, w, 10))
	for _, v := range req.Observation {
		x := int(v) * w / (lineMax + 1)
		for y := range 10 {
			img.SetGray(min(x, w-1), y, color.Gray{Y: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, errors.New("render: " + err.Error())
	}
	return &env.RenderResponse{PNG: buf.Bytes()}, nil
}

// Configure takes no keys at all: any key is unknown.
func (l *line) Configure(_ context.Context, req env.ConfigureRequest) (*env.ConfigureResponse, error) {
	for k := range req.Config {
		if !l.bugs.configAcceptsAll {
			return nil, fmt.Errorf("line: unknown config key %q", k)
		}
	}
	return &env.ConfigureResponse{}, nil
}

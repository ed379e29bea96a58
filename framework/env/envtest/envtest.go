package envtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/internal/suite"
)

// Suite is a configured conformance run. Only New is required.
type Suite struct {
	// New returns the env to check, configured and ready. It is called at
	// least once per check, with that check's subtest.
	New func(tb testing.TB) env.Env
	// Batches are the batch sizes Reset and Step are checked with
	// (default 1, 7 and 64).
	Batches []int
	// Episodes is the number of episodes per policy in the Judge,
	// Plausibility and Collect checks (default 6).
	Episodes int
	// Seed is the base seed of every draw (default 1).
	Seed uint64
}

// Run checks the env newEnv returns against the contract of package env,
// each check a subtest of t. See the package documentation for the list.
func Run(t *testing.T, newEnv func(tb testing.TB) env.Env) {
	t.Helper()
	Suite{New: newEnv}.Run(t)
}

// Once returns a Suite.New that calls launch when a check first asks for
// an env and hands every check that one env: one plugin subprocess serves
// the whole suite. A launch error fails each check that asks.
func Once(launch func() (env.Env, error)) func(tb testing.TB) env.Env {
	return suite.Once("envtest", launch)
}

// Run runs the suite, each check a subtest of t.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	s.run(realT{T: t})
}

func (s Suite) withDefaults() Suite {
	if len(s.Batches) == 0 {
		s.Batches = []int{1, 7, 64}
	}
	if s.Episodes <= 0 {
		s.Episodes = 6
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	return s
}

func (s Suite) run(t tester) {
	s = s.withDefaults()
	if s.New == nil {
		t.Fatalf("envtest: Suite.New is nil")
	}
	checks := []struct {
		name string
		f    func(tester)
	}{
		{"Spec", s.checkSpec},
		{"Goals", s.checkGoals},
		{"ResetStep", s.checkResetStep},
		{"Deterministic", s.checkDeterministic},
		{"ResetObservations", s.checkResetObservations},
		{"Episodes", s.checkEpisodes},
		{"Judge", s.checkJudge},
		{"JudgeBatch", s.checkJudgeBatch},
		{"Behave", s.checkBehave},
		{"BadInput", s.checkBadInput},
		{"Plausibility", s.checkPlausibility},
		{"Render", s.checkRender},
		{"Collect", s.checkCollect},
		{"Configure", s.checkConfigure},
	}
	for _, c := range checks {
		t.Run(c.name, c.f)
	}
}

// setup makes a fresh env and reads its spec; it ends the check if either fails.
func (s Suite) setup(t tester) (env.Env, env.Spec) {
	t.Helper()
	e := s.New(t)
	if e == nil {
		t.Fatalf("New returned a nil env")
	}
	sp := spec(t, e)
	if sp.ObsDim < 1 || sp.ActionSpace.Validate() != nil || sp.Horizon < 1 || len(sp.Levels) == 0 || len(sp.Policies) == 0 {
		t.Fatalf("spec is unusable (see the Spec check): %+v", sp)
	}
	return e, sp
}

// spec reads e's spec; it ends the check if that fails.
func spec(t tester, e env.Env) env.Spec {
	t.Helper()
	sp, err := suite.Call(func() (*env.Spec, error) { return e.Spec(t.Context(), env.SpecRequest{}) })
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	if sp == nil {
		t.Fatalf("Spec returned neither a spec nor an error")
	}
	return *sp
}

func (s Suite) checkSpec(t tester) {
	e := s.New(t)
	if e == nil {
		t.Fatalf("New returned a nil env")
	}
	sp := spec(t, e)
	if sp.Name == "" {
		t.Errorf("Name is empty")
	}
	if sp.ObsDim < 1 {
		t.Errorf("ObsDim = %d, want ≥ 1", sp.ObsDim)
	}
	if err := sp.ActionSpace.Validate(); err != nil {
		t.Errorf("ActionSpace: %v", err)
	}
	if sp.GoalDim < 0 {
		t.Errorf("GoalDim = %d, want ≥ 0", sp.GoalDim)
	}
	if sp.Horizon < 1 {
		t.Errorf("Horizon = %d, want ≥ 1", sp.Horizon)
	}
	for field, names := range map[string][]string{"Levels": sp.Levels, "Policies": sp.Policies} {
		if len(names) == 0 {
			t.Errorf("%s is empty", field)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" {
				t.Errorf("%s holds an empty name: %q", field, names)
			}
			if seen[n] {
				t.Errorf("%s names %q twice", field, n)
			}
			seen[n] = true
		}
	}
	again := spec(t, e)
	if !reflect.DeepEqual(sp, again) {
		t.Errorf("Spec changed between calls:\n first %+v\nsecond %+v", sp, again)
	}
}

func goals(t tester, e env.Env, level string, n int, seed uint64) []dataset.Goal {
	t.Helper()
	r, err := suite.Call(func() (*env.GoalsResponse, error) {
		return e.Goals(t.Context(), env.GoalsRequest{Level: level, N: n, Seed: seed})
	})
	if err != nil {
		t.Fatalf("Goals(level %q, n %d, seed %d): %v", level, n, seed, err)
	}
	if r == nil {
		t.Fatalf("Goals(level %q, n %d) returned neither goals nor an error", level, n)
	}
	gs := r.Goals
	if len(gs) != n {
		t.Fatalf("Goals(level %q, n %d): got %d goals", level, n, len(gs))
	}
	return gs
}

func (s Suite) checkGoals(t tester) {
	e, sp := s.setup(t)
	const n = 16
	for _, level := range sp.Levels {
		t.Run(level, func(t tester) {
			a := goals(t, e, level, n, s.Seed)
			for i, g := range a {
				if g.Level != level {
					t.Errorf("goal %d: Level = %q, want %q", i, g.Level, level)
				}
				if g.Text == "" {
					t.Errorf("goal %d: empty Text", i)
				}
				if len(g.Vector) != sp.GoalDim {
					t.Errorf("goal %d (%q): vector of %d values, want GoalDim = %d", i, g.Text, len(g.Vector), sp.GoalDim)
				}
				if i, ok := nonFinite(g.Vector); ok {
					t.Errorf("goal %q: vector value %d is %g", g.Text, i, g.Vector[i])
				}
			}
			b := goals(t, e, level, n, s.Seed)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("the same seed %d gave different goals:\n%v\n%v", s.Seed, texts(a), texts(b))
			}
			c := goals(t, e, level, n, s.Seed+1)
			if reflect.DeepEqual(a, c) {
				t.Errorf("seeds %d and %d gave the same %d goals: %v", s.Seed, s.Seed+1, n, texts(a))
			}
		})
	}
	t.Run("UnknownLevel", func(t tester) {
		suite.Rejects(t, "Goals of an unknown level", func() (*env.GoalsResponse, error) {
			return e.Goals(t.Context(), env.GoalsRequest{Level: "no-such-level-envtest", N: 2, Seed: s.Seed})
		})
	})
}

func texts(gs []dataset.Goal) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Text
	}
	return out
}

// randomActions draws n valid actions of space sp.
func randomActions(sp dataset.Space, n int, rng *rand.Rand) []float32 {
	a := make([]float32, n*sp.Dim)
	for i := range a {
		switch sp.Kind {
		case dataset.Discrete:
			a[i] = float32(rng.IntN(sp.N))
		default:
			j := i % sp.Dim
			a[i] = sp.Low[j] + rng.Float32()*(sp.High[j]-sp.Low[j])
		}
	}
	return a
}

func reset(t tester, e env.Env, seed uint64, gs []dataset.Goal, init []float32) []float32 {
	t.Helper()
	r, err := suite.Call(func() (*env.ResetResponse, error) {
		return e.Reset(t.Context(), env.ResetRequest{Seed: seed, Goals: gs, Observations: init})
	})
	if err != nil {
		t.Fatalf("Reset(%d episodes): %v", len(gs), err)
	}
	if r == nil {
		t.Fatalf("Reset returned a nil response")
	}
	return r.Observations
}

func step(t tester, e env.Env, actions []float32) *env.StepResponse {
	t.Helper()
	r, err := suite.Call(func() (*env.StepResponse, error) { return e.Step(t.Context(), env.StepRequest{Actions: actions}) })
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	if r == nil {
		t.Fatalf("Step returned a nil response")
	}
	return r
}

// checkStepShape reports a step response whose lengths do not fit n episodes.
func checkStepShape(t tester, sp env.Spec, n int, r *env.StepResponse) bool {
	t.Helper()
	ok := true
	for _, f := range []struct {
		name      string
		got, want int
	}{
		{"Observations", len(r.Observations), n * sp.ObsDim},
		{"Rewards", len(r.Rewards), n},
		{"Terminals", len(r.Terminals), n},
		{"Timeouts", len(r.Timeouts), n},
		{"Success", len(r.Success), n},
		{"Done", len(r.Done), n},
	} {
		if f.got != f.want {
			t.Errorf("Step with %d episodes: %d %s, want %d", n, f.got, f.name, f.want)
			ok = false
		}
	}
	if i, bad := nonFinite(r.Observations); bad {
		t.Errorf("Step: observation value %d is %g", i, r.Observations[i])
		ok = false
	}
	if i, bad := nonFinite(r.Rewards); bad {
		t.Errorf("Step: reward %d is %g", i, r.Rewards[i])
		ok = false
	}
	return ok
}

func nonFinite(v []float32) (int, bool) {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i, true
		}
	}
	return 0, false
}

func (s Suite) checkResetStep(t tester) {
	for _, n := range s.Batches {
		t.Run(fmt.Sprintf("batch=%d", n), func(t tester) {
			e, sp := s.setup(t)
			gs := goals(t, e, sp.Levels[0], n, s.Seed)
			obs := reset(t, e, s.Seed, gs, nil)
			if len(obs) != n*sp.ObsDim {
				t.Fatalf("Reset with %d episodes: %d observation values, want %d", n, len(obs), n*sp.ObsDim)
			}
			if i, bad := nonFinite(obs); bad {
				t.Errorf("Reset: observation value %d is %g", i, obs[i])
			}
			rng := rand.New(rand.NewPCG(s.Seed, uint64(n)))
			for range min(3, sp.Horizon) {
				r := step(t, e, randomActions(sp.ActionSpace, n, rng))
				if !checkStepShape(t, sp, n, r) {
					return
				}
			}
		})
	}
}

// trace is everything a batch of episodes reported, step by step.
type trace struct {
	obs0  []float32
	steps []*env.StepResponse
}

// play resets e and steps it with random actions from seed for the horizon
// (or until every episode is done, with extra steps after that).
func play(t tester, e env.Env, sp env.Spec, gs []dataset.Goal, seed uint64, steps int) trace {
	t.Helper()
	tr := trace{obs0: reset(t, e, seed, gs, nil)}
	rng := rand.New(rand.NewPCG(seed, 7))
	for range steps {
		r := step(t, e, randomActions(sp.ActionSpace, len(gs), rng))
		if !checkStepShape(t, sp, len(gs), r) {
			t.FailNow()
		}
		tr.steps = append(tr.steps, r)
	}
	return tr
}

func (s Suite) checkDeterministic(t tester) {
	a, sp := s.setup(t)
	const n = 5
	steps := min(sp.Horizon, 25)
	gs := goals(t, a, sp.Levels[0], n, s.Seed)
	ta := play(t, a, sp, gs, s.Seed, steps)
	b, _ := s.setup(t)
	tb := play(t, b, sp, gs, s.Seed, steps)
	if !slices.Equal(ta.obs0, tb.obs0) {
		t.Fatalf("Reset with the same seed and goals gave different observations:\n%v\n%v", ta.obs0, tb.obs0)
	}
	for i := range ta.steps {
		if !reflect.DeepEqual(ta.steps[i], tb.steps[i]) {
			t.Fatalf("step %d: the same seed, goals and actions gave different results:\n%+v\n%+v", i, *ta.steps[i], *tb.steps[i])
		}
	}
}

func (s Suite) checkResetObservations(t tester) {
	e, sp := s.setup(t)
	const n = 4
	gs := goals(t, e, sp.Levels[0], n, s.Seed)
	// Take states a few steps into episodes, so they differ from what a
	// reset draws by itself.
	reset(t, e, s.Seed, gs, nil)
	rng := rand.New(rand.NewPCG(s.Seed, 3))
	var r *env.StepResponse
	for range min(3, sp.Horizon-1) {
		r = step(t, e, randomActions(sp.ActionSpace, n, rng))
	}
	var init []float32
	if r != nil && checkStepShape(t, sp, n, r) {
		init = slices.Clone(r.Observations)
	} else {
		init = reset(t, e, s.Seed+1, gs, nil)
	}
	got := reset(t, e, s.Seed+2, gs, init)
	if len(got) != len(init) {
		t.Fatalf("Reset from %d observation values returned %d", len(init), len(got))
	}
	for i := range got {
		if math.Abs(float64(got[i]-init[i])) > 1e-5 {
			t.Fatalf("Reset from given observations: value %d (episode %d) = %g, want %g", i, i/sp.ObsDim, got[i], init[i])
		}
	}
	step(t, e, randomActions(sp.ActionSpace, n, rng))
}

func (s Suite) checkEpisodes(t tester) {
	e, sp := s.setup(t)
	n := max(8, s.Batches[len(s.Batches)-1]/4)
	gs := goals(t, e, sp.Levels[0], n, s.Seed)
	const extra = 3
	tr := play(t, e, sp, gs, s.Seed, sp.Horizon+extra)
	od := sp.ObsDim
	for i := range n {
		last := tr.obs0[i*od : (i+1)*od]
		end := -1 // the step the episode ended at
		for k, r := range tr.steps {
			o := r.Observations[i*od : (i+1)*od]
			if end >= 0 {
				if !r.Done[i] {
					t.Errorf("episode %d: Done at step %d, not done again at step %d", i, end+1, k+1)
					return
				}
				if r.Rewards[i] != 0 {
					t.Errorf("episode %d: done at step %d, yet reward %g at step %d", i, end+1, r.Rewards[i], k+1)
					return
				}
				if !slices.Equal(o, last) {
					t.Errorf("episode %d: done at step %d, yet observation changed at step %d", i, end+1, k+1)
					return
				}
				continue
			}
			last = o
			t1 := k + 1 // steps taken so far
			if r.Timeouts[i] && t1 != sp.Horizon {
				t.Errorf("episode %d: Timeouts set at step %d, horizon is %d", i, t1, sp.Horizon)
			}
			if r.Done[i] != (r.Terminals[i] || r.Timeouts[i]) {
				t.Errorf("episode %d step %d: Done = %v with Terminals = %v, Timeouts = %v", i, t1, r.Done[i], r.Terminals[i], r.Timeouts[i])
			}
			if t1 == sp.Horizon && !r.Terminals[i] && !r.Timeouts[i] {
				t.Errorf("episode %d reached the horizon %d without a terminal and without Timeouts", i, sp.Horizon)
			}
			if r.Done[i] || t1 >= sp.Horizon {
				end = k
			}
		}
		if end < 0 {
			t.Errorf("episode %d still running after %d steps, horizon %d", i, len(tr.steps), sp.Horizon)
		}
	}
}

// rollouts collects Episodes rollouts of a behaviour policy on the training level.
func (s Suite) rollouts(t tester, e env.Env, sp env.Spec, policy string, seed uint64) []*dataset.Episode {
	t.Helper()
	gs := goals(t, e, sp.Levels[0], s.Episodes, seed)
	eps, err := suite.Call(func() ([]*dataset.Episode, error) {
		return env.Rollout(t.Context(), e, sp, gs, seed, nil, func(ctx context.Context, k int, obs []float32) ([]float32, error) {
			r, err := e.Behave(ctx, env.BehaveRequest{Policy: policy, Observations: obs, Goals: gs, Seed: seed<<8 + uint64(k)})
			if err != nil {
				return nil, err
			}
			return r.Actions, nil
		})
	})
	if err != nil {
		t.Fatalf("rollout of policy %q: %v", policy, err)
	}
	return eps
}

func (s Suite) checkJudge(t tester) {
	e, sp := s.setup(t)
	for _, policy := range sp.Policies {
		t.Run(policy, func(t tester) {
			for i, ep := range s.rollouts(t, e, sp, policy, s.Seed) {
				j, err := suite.Call(func() (*env.JudgeResponse, error) {
					return e.Judge(t.Context(), env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
				})
				if err != nil {
					t.Fatalf("episode %d (%q): Judge: %v", i, ep.Goal.Text, err)
				}
				T := ep.Len()
				if len(j.Rewards) != T || len(j.Terminals) != T {
					t.Fatalf("episode %d: Judge gave %d rewards and %d terminals for %d transitions", i, len(j.Rewards), len(j.Terminals), T)
				}
				for k := range T {
					if math.Abs(float64(j.Rewards[k]-ep.Rewards[k])) > 1e-5 {
						t.Errorf("episode %d (%q) step %d: Judge reward %g, Step gave %g", i, ep.Goal.Text, k, j.Rewards[k], ep.Rewards[k])
					}
					if j.Terminals[k] != ep.Terminals[k] {
						t.Errorf("episode %d (%q) step %d: Judge terminal %v, Step gave %v", i, ep.Goal.Text, k, j.Terminals[k], ep.Terminals[k])
					}
				}
				if j.Success != ep.Success {
					t.Errorf("episode %d (%q): Judge success %v, Step gave %v", i, ep.Goal.Text, j.Success, ep.Success)
				}
				if j.Steps != T {
					t.Errorf("episode %d (%q): Judge says it lasts %d steps, it lasted %d", i, ep.Goal.Text, j.Steps, T)
				}
			}
		})
	}
}

// sameVerdict reports whether two labellings of a rollout agree exactly.
func sameVerdict(a, b *env.JudgeResponse) bool {
	return slices.Equal(a.Rewards, b.Rewards) && slices.Equal(a.Terminals, b.Terminals) && a.Success == b.Success && a.Steps == b.Steps
}

// checkJudgeBatch checks env.JudgeBatch (the env's own batch method, one
// RPC for a plugin client, else Judge per rollout) against Judge of each
// rollout alone, on a batch that mixes policies, successes and failures,
// lengths and goals; and that an empty batch has no results and a batch
// with one malformed rollout is an error naming its index.
func (s Suite) checkJudgeBatch(t tester) {
	e, sp := s.setup(t)
	od, ad := sp.ObsDim, sp.ActionSpace.Dim
	var batch []env.JudgeRequest
	for _, policy := range sp.Policies {
		eps := s.rollouts(t, e, sp, policy, s.Seed+2)
		for i, ep := range eps {
			batch = append(batch, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
			if T := ep.Len(); T >= 2 { // its first half: shorter, and mostly short of the goal
				k := T / 2
				batch = append(batch, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations[:(k+1)*od], Actions: ep.Actions[:k*ad]})
			}
			if g := eps[(i+1)%len(eps)].Goal; g.Text != ep.Goal.Text { // the rollout under another goal
				batch = append(batch, env.JudgeRequest{Goal: g, Observations: ep.Observations, Actions: ep.Actions})
			}
		}
	}
	want := make([]*env.JudgeResponse, len(batch))
	for i, r := range batch {
		j, err := suite.Call(func() (*env.JudgeResponse, error) { return e.Judge(t.Context(), r) })
		if err != nil || j == nil {
			t.Fatalf("rollout %d (%q, %d actions): Judge: %v", i, r.Goal.Text, len(r.Actions)/ad, err)
		}
		want[i] = j
	}
	t.Run("Mixed", func(t tester) {
		got, err := suite.Call(func() (*env.JudgeBatchResponse, error) {
			return env.JudgeBatch(t.Context(), e, env.JudgeBatchRequest{Rollouts: batch})
		})
		if err != nil {
			t.Fatalf("JudgeBatch of %d rollouts: %v", len(batch), err)
		}
		for i := range batch {
			if g := &got.Results[i]; !sameVerdict(g, want[i]) {
				t.Errorf("rollout %d of %d (%q, %d actions): JudgeBatch gave %+v, Judge %+v", i, len(batch), batch[i].Goal.Text, len(batch[i].Actions)/ad, *g, *want[i])
			}
		}
	})
	t.Run("Empty", func(t tester) {
		got, err := suite.Call(func() (*env.JudgeBatchResponse, error) {
			return env.JudgeBatch(t.Context(), e, env.JudgeBatchRequest{})
		})
		if err != nil {
			t.Fatalf("JudgeBatch of no rollouts: %v", err)
		}
		if len(got.Results) != 0 {
			t.Errorf("JudgeBatch of no rollouts gave %d results", len(got.Results))
		}
	})
	t.Run("Malformed", func(t tester) {
		if len(batch) < 3 {
			t.Skipf("%d rollouts, too few for a malformed one between good ones", len(batch))
		}
		const bad = 1
		rs := slices.Clone(batch[:3])
		rs[bad].Observations = rs[bad].Observations[:len(rs[bad].Observations)-1]
		_, err := suite.Call(func() (*env.JudgeBatchResponse, error) {
			return env.JudgeBatch(t.Context(), e, env.JudgeBatchRequest{Rollouts: rs})
		})
		var re *env.RolloutError
		switch {
		case err == nil:
			t.Errorf("JudgeBatch with rollout %d one observation value short returned no error", bad)
		case errors.Is(err, suite.ErrPanic):
			t.Errorf("JudgeBatch with a malformed rollout panicked: %v", err)
		case !errors.As(err, &re) || re.Index != bad:
			t.Errorf("JudgeBatch with rollout %d one observation value short: the error %q is no *env.RolloutError with Index %d", bad, err, bad)
		}
	})
}

func (s Suite) checkBehave(t tester) {
	e, sp := s.setup(t)
	const n = 8
	gs := goals(t, e, sp.Levels[0], n, s.Seed)
	obs := reset(t, e, s.Seed, gs, nil)
	for _, policy := range sp.Policies {
		t.Run(policy, func(t tester) {
			ask := func(seed uint64) []float32 {
				r, err := suite.Call(func() (*env.BehaveResponse, error) {
					return e.Behave(t.Context(), env.BehaveRequest{Policy: policy, Observations: obs, Goals: gs, Seed: seed})
				})
				if err != nil {
					t.Fatalf("Behave: %v", err)
				}
				if len(r.Actions) != n*sp.ActionSpace.Dim {
					t.Fatalf("Behave for %d observations: %d action values, want %d", n, len(r.Actions), n*sp.ActionSpace.Dim)
				}
				if err := sp.ActionSpace.Check(r.Actions); err != nil {
					t.Fatalf("Behave: %v", err)
				}
				return r.Actions
			}
			a, b := ask(s.Seed), ask(s.Seed)
			if !slices.Equal(a, b) {
				t.Errorf("the same seed gave different actions: %v, %v", a, b)
			}
		})
	}
	t.Run("UnknownPolicy", func(t tester) {
		suite.Rejects(t, "Behave with an unknown policy", func() (*env.BehaveResponse, error) {
			return e.Behave(t.Context(), env.BehaveRequest{Policy: "no-such-policy-envtest", Observations: obs, Goals: gs, Seed: s.Seed})
		})
	})
}

// badStep is a Step input the env must reject.
type badStep struct {
	name    string
	actions []float32
}

func (s Suite) checkBadInput(t tester) {
	e, sp := s.setup(t)
	const n = 3
	gs := goals(t, e, sp.Levels[0], n, s.Seed)
	as := sp.ActionSpace
	good := randomActions(as, n, rand.New(rand.NewPCG(s.Seed, 5)))
	with := func(i int, v float32) []float32 {
		a := slices.Clone(good)
		a[i] = v
		return a
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []badStep{
		{"Empty", nil},
		{"TooFew", good[:len(good)-1]},
		{"TooMany", append(slices.Clone(good), good[:as.Dim]...)},
		{"NaN", with(len(good)-1, nan)},
		{"Inf", with(0, inf)},
	}
	if as.Kind == dataset.Discrete {
		cases = append(cases,
			badStep{"IndexTooLarge", with(1, float32(as.N))},
			badStep{"NegativeIndex", with(0, -1)},
			badStep{"FractionalIndex", with(2, 0.5)},
		)
	} else {
		cases = append(cases,
			badStep{"AboveHigh", with(len(good)-1, as.High[as.Dim-1]+1)},
			badStep{"BelowLow", with(0, as.Low[0]-1)},
		)
	}
	for _, c := range cases {
		t.Run("Step/"+c.name, func(t tester) {
			reset(t, e, s.Seed, gs, nil)
			suite.Rejects(t, fmt.Sprintf("Step(%v) for %d episodes", c.actions, n), func() (*env.StepResponse, error) {
				return e.Step(t.Context(), env.StepRequest{Actions: c.actions})
			})
		})
	}
	obs := reset(t, e, s.Seed, gs, nil)
	od := sp.ObsDim
	t.Run("Reset/ObservationsWrongLength", func(t tester) {
		suite.Rejects(t, fmt.Sprintf("Reset with %d observation values for %d episodes", len(obs)-1, n), func() (*env.ResetResponse, error) {
			return e.Reset(t.Context(), env.ResetRequest{Seed: s.Seed, Goals: gs, Observations: obs[:len(obs)-1]})
		})
	})
	t.Run("Reset/ObservationsNaN", func(t tester) {
		bad := slices.Clone(obs)
		bad[od] = nan
		suite.Rejects(t, "Reset from observations holding NaN", func() (*env.ResetResponse, error) {
			return e.Reset(t.Context(), env.ResetRequest{Seed: s.Seed, Goals: gs, Observations: bad})
		})
	})
	ep := obs[:2*od]
	act := good[:as.Dim]
	t.Run("Judge/ObservationsWrongLength", func(t tester) {
		suite.Rejects(t, fmt.Sprintf("Judge of %d observation values and 1 action", 2*od-1), func() (*env.JudgeResponse, error) {
			return e.Judge(t.Context(), env.JudgeRequest{Goal: gs[0], Observations: ep[:2*od-1], Actions: act})
		})
	})
	t.Run("Judge/ActionsWrongLength", func(t tester) {
		suite.Rejects(t, fmt.Sprintf("Judge of 2 observations and %d actions", n), func() (*env.JudgeResponse, error) {
			return e.Judge(t.Context(), env.JudgeRequest{Goal: gs[0], Observations: ep, Actions: good})
		})
	})
	t.Run("Plausibility/WrongLength", func(t tester) {
		p := capability[env.PlausibilityScorer](t, e)
		call := func() (*env.PlausibilityResponse, error) {
			return p.Plausibility(t.Context(), env.PlausibilityRequest{Observations: ep[:2*od-1], Actions: act})
		}
		_, err := suite.Call(call)
		skipAbsent(t, err)
		suite.Rejects(t, fmt.Sprintf("Plausibility of %d observation values and 1 action", 2*od-1), call)
	})
	t.Run("Behave/WrongLength", func(t tester) {
		suite.Rejects(t, fmt.Sprintf("Behave for %d observation values and %d goals", len(obs)-1, n), func() (*env.BehaveResponse, error) {
			return e.Behave(t.Context(), env.BehaveRequest{Policy: sp.Policies[0], Observations: obs[:len(obs)-1], Goals: gs, Seed: s.Seed})
		})
	})
	t.Run("Render/WrongLength", func(t tester) {
		r := capability[env.Renderer](t, e)
		call := func() (*env.RenderResponse, error) {
			return r.Render(t.Context(), env.RenderRequest{Observation: obs[:od-1]})
		}
		_, err := suite.Call(call)
		skipAbsent(t, err)
		suite.Rejects(t, fmt.Sprintf("Render of %d observation values (obs dim %d)", od-1, od), call)
	})
}

// capability returns e as the optional capability C, or skips the check
// where e lacks it.
func capability[C any](t tester, e env.Env) C {
	t.Helper()
	c, ok := any(e).(C)
	if !ok {
		t.Skipf("the env lacks the optional capability %T", (*C)(nil))
	}
	return c
}

// skipAbsent skips the check when err says a plugin's env lacks the
// capability (a plugin client implements every optional method).
func skipAbsent(t tester, err error) {
	t.Helper()
	if errors.Is(err, env.ErrNoRender) || errors.Is(err, env.ErrNoPlausibility) {
		t.Skip(err.Error())
	}
}

// shareName is what a share's name may be: snake_case, as metric names are.
func shareName(name string) bool {
	if name == "" || name[0] == '_' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func (s Suite) checkPlausibility(t tester) {
	e, sp := s.setup(t)
	p := capability[env.PlausibilityScorer](t, e)
	var rules []string // the share names of the first response
	for _, policy := range sp.Policies {
		t.Run(policy, func(t tester) {
			for i, ep := range s.rollouts(t, e, sp, policy, s.Seed+1) {
				r, err := suite.Call(func() (*env.PlausibilityResponse, error) {
					return p.Plausibility(t.Context(), env.PlausibilityRequest{Observations: ep.Observations, Actions: ep.Actions})
				})
				skipAbsent(t, err)
				if err != nil {
					t.Fatalf("episode %d: Plausibility: %v", i, err)
				}
				if r == nil {
					t.Fatalf("episode %d: Plausibility returned neither scores nor an error", i)
				}
				if len(r.Shares) == 0 {
					t.Errorf("episode %d: Plausibility names no share (an env with no rules should not implement env.PlausibilityScorer)", i)
				}
				var names []string
				for _, sh := range r.Shares {
					if !shareName(sh.Name) {
						t.Errorf("episode %d: share name %q, want snake_case ([a-z0-9_]+)", i, sh.Name)
					}
					if slices.Contains(names, sh.Name) {
						t.Errorf("episode %d: share %q named twice", i, sh.Name)
					}
					names = append(names, sh.Name)
					if strings.TrimSpace(sh.Description) == "" {
						t.Errorf("episode %d: share %q has no description", i, sh.Name)
					}
					if !(sh.Value >= 0 && sh.Value <= 1) {
						t.Errorf("episode %d: share %s = %g, want a share in [0, 1]", i, sh.Name, sh.Value)
					}
				}
				if rules == nil {
					rules = names
				} else if !slices.Equal(names, rules) {
					t.Errorf("episode %d: shares %v, but an earlier rollout was scored by %v: every response names the same rules", i, names, rules)
				}
			}
		})
	}
}

func (s Suite) checkRender(t tester) {
	e, sp := s.setup(t)
	rd := capability[env.Renderer](t, e)
	gs := goals(t, e, sp.Levels[0], 2, s.Seed)
	obs := reset(t, e, s.Seed, gs, nil)
	for _, width := range []int{0, 96} {
		t.Run(fmt.Sprintf("width=%d", width), func(t tester) {
			r, err := suite.Call(func() (*env.RenderResponse, error) {
				return rd.Render(t.Context(), env.RenderRequest{Observation: obs[sp.ObsDim:], Caption: gs[1].Text, Width: width})
			})
			skipAbsent(t, err)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(r.PNG))
			if err != nil {
				t.Fatalf("Render gave %d bytes that are not a PNG: %v", len(r.PNG), err)
			}
			b := img.Bounds()
			if b.Dx() < 1 || b.Dy() < 1 {
				t.Errorf("Render gave an empty %v image", b)
			}
			if width > 0 && b.Dx() != width {
				t.Errorf("Render with Width %d gave an image %d pixels wide", width, b.Dx())
			}
		})
	}
}

// collector is an env that runs Collect itself, such as a plugin client
// collecting inside the plugin process.
type collector interface {
	Collect(ctx context.Context, req env.CollectRequest, progress func(env.Progress)) (*env.CollectResponse, error)
}

func (s Suite) checkCollect(t tester) {
	e, sp := s.setup(t)
	n := s.Episodes
	dir := t.TempDir()
	req := env.CollectRequest{Episodes: n, Level: sp.Levels[0], Policy: sp.Policies[0], Seed: s.Seed, Batch: (n + 1) / 2}
	load := func(name string, collect func(env.CollectRequest, func(env.Progress)) (*env.CollectResponse, error)) *dataset.Data {
		t.Helper()
		req := req
		req.Out = filepath.Join(dir, name)
		var last env.Progress
		r, err := suite.Call(func() (*env.CollectResponse, error) { return collect(req, func(p env.Progress) { last = p }) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r == nil {
			t.Fatalf("%s returned neither metadata nor an error", name)
		}
		meta := r.Meta
		if meta.Episodes != n {
			t.Errorf("%s: metadata counts %d episodes, want %d", name, meta.Episodes, n)
		}
		if last.Done != n || last.Total != n {
			t.Errorf("%s: last progress %d/%d, want %d/%d", name, last.Done, last.Total, n, n)
		}
		d, err := dataset.Load(req.Out)
		if err != nil {
			t.Fatalf("%s: reading the dataset back: %v", name, err)
		}
		m := d.Meta
		if m.Episodes != n || len(d.Success) != n || len(d.Goals) != n {
			t.Errorf("%s: dataset holds %d episodes (%d goals), want %d", name, m.Episodes, len(d.Goals), n)
		}
		if m.Steps != d.Len() || m.Steps != meta.Steps || m.Steps < n || m.Steps > n*sp.Horizon {
			t.Errorf("%s: %d steps in metadata, %d read back, %d reported, for %d episodes of horizon %d", name, m.Steps, d.Len(), meta.Steps, n, sp.Horizon)
		}
		if m.Env != sp.Name || m.ObsDim != sp.ObsDim || m.GoalDim != sp.GoalDim || !reflect.DeepEqual(m.ActionSpace, sp.ActionSpace) {
			t.Errorf("%s: dataset metadata %+v does not match the spec %+v", name, m, sp)
		}
		return d
	}
	local := func(req env.CollectRequest, p func(env.Progress)) (*env.CollectResponse, error) {
		return env.Collect(t.Context(), e, req, p)
	}
	a := load("collect-a", local)
	b := load("collect-b", local)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two collections with seed %d differ", s.Seed)
	}
	if c, ok := e.(collector); ok {
		remote := load("collect-remote", func(req env.CollectRequest, p func(env.Progress)) (*env.CollectResponse, error) {
			return c.Collect(t.Context(), req, p)
		})
		if !reflect.DeepEqual(a, remote) {
			t.Errorf("collecting in the plugin gave a dataset other than env.Collect on the client")
		}
	}
}

// checkConfigure checks that an env taking configuration rejects an unknown
// key with an error naming it.
func (s Suite) checkConfigure(t tester) {
	e, _ := s.setup(t)
	c, ok := e.(env.Configurer)
	if !ok {
		return
	}
	const key = "no_such_key_envtest"
	_, err := suite.Call(func() (*env.ConfigureResponse, error) {
		return c.Configure(t.Context(), env.ConfigureRequest{Config: map[string]string{key: "1"}})
	})
	switch {
	case err == nil:
		t.Errorf("Configure with the unknown key %q returned no error", key)
	case errors.Is(err, suite.ErrPanic):
		t.Errorf("Configure with an unknown key panicked: %v", err)
	case !strings.Contains(err.Error(), key):
		t.Errorf("Configure with the unknown key %q: the error %q does not name it", key, err)
	}
}

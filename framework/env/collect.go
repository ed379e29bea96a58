package env

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/kalm-go/kalm/framework/dataset"
)

// CollectRequest asks for a dataset of Episodes rollouts of a behaviour
// policy on goals of Level, written to the directory Out.
type CollectRequest struct {
	Episodes int
	Level    string
	Policy   string
	Params   map[string]float64
	Seed     uint64
	// Batch is the number of episodes stepped together (default 256).
	Batch int
	Out   string
}

// CollectResponse describes the dataset written.
type CollectResponse struct {
	Meta dataset.Meta
}

// Progress reports how far a long call has come.
type Progress struct {
	Done, Total int
	Metrics     map[string]float64
}

// Collect runs a behaviour policy in e and writes the rollouts to a new
// dataset at req.Out. Plugins run it inside their own process (the Collect
// RPC), so no step crosses a process boundary; it works on any Env.
// progress, if not nil, is called after every batch.
func Collect(ctx context.Context, e Env, req CollectRequest, progress func(Progress)) (*CollectResponse, error) {
	spec, err := e.Spec(ctx, SpecRequest{})
	if err != nil {
		return nil, err
	}
	if req.Episodes < 1 {
		return nil, fmt.Errorf("collect: episodes = %d, want ≥ 1", req.Episodes)
	}
	if req.Batch <= 0 {
		req.Batch = 256
	}
	if req.Level == "" && len(spec.Levels) > 0 {
		req.Level = spec.Levels[0]
	}
	w, err := dataset.Create(req.Out, dataset.Meta{
		Env: spec.Name, Source: dataset.Real, ObsDim: spec.ObsDim, GoalDim: spec.GoalDim, ActionSpace: spec.ActionSpace,
		Attrs: map[string]string{"policy": req.Policy, "level": req.Level, "seed": fmt.Sprint(req.Seed)},
	})
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	defer w.Abort() // no-op after a successful Close
	succ := 0
	for start, b := 0, uint64(0); start < req.Episodes; start, b = start+req.Batch, b+1 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		n := min(req.Batch, req.Episodes-start)
		seed := SeedFor(req.Seed, "collect", b)
		g, err := e.Goals(ctx, GoalsRequest{Level: req.Level, N: n, Seed: seed})
		if err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		goals := g.Goals
		eps, err := Rollout(ctx, e, *spec, goals, seed, nil, func(ctx context.Context, t int, obs []float32) ([]float32, error) {
			r, err := e.Behave(ctx, BehaveRequest{Policy: req.Policy, Observations: obs, Goals: goals, Params: req.Params, Seed: seed<<16 + uint64(t)})
			if err != nil {
				return nil, err
			}
			return r.Actions, nil
		})
		if err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
		for _, ep := range eps {
			if ep.Success {
				succ++
			}
			if err := w.Write(ep); err != nil {
				return nil, fmt.Errorf("collect: %w", err)
			}
		}
		if progress != nil {
			done := start + n
			progress(Progress{Done: done, Total: req.Episodes, Metrics: map[string]float64{"success": float64(succ) / float64(done)}})
		}
	}
	meta := w.Meta()
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	return &CollectResponse{Meta: meta}, nil
}

// SeedFor derives an independent seed for one use of a base seed: the
// collect stage's batch b is SeedFor(seed, "collect", b), and an evaluation
// must use another purpose, so that it never replays the goals and scenes
// the policy was trained on.
func SeedFor(seed uint64, purpose string, i uint64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], i)
	h.Write(b[:])
	h.Write([]byte(purpose))
	// splitmix64 finaliser: FNV's low bits are weak.
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ActFunc chooses actions [N, ActionDim] for the observations [N, ObsDim] at step t.
type ActFunc func(ctx context.Context, t int, obs []float32) ([]float32, error)

// Rollout runs one batch of episodes, one per goal, until every episode is
// done, and returns them. init optionally sets the initial observations.
func Rollout(ctx context.Context, e Env, spec Spec, goals []dataset.Goal, seed uint64, init []float32, act ActFunc) ([]*dataset.Episode, error) {
	n := len(goals)
	r, err := e.Reset(ctx, ResetRequest{Seed: seed, Goals: goals, Observations: init})
	if err != nil {
		return nil, err
	}
	od, ad := spec.ObsDim, spec.ActionSpace.Dim
	if len(r.Observations) != n*od {
		return nil, fmt.Errorf("reset returned %d observation values for %d episodes of dim %d", len(r.Observations), n, od)
	}
	eps := make([]*dataset.Episode, n)
	for i := range eps {
		eps[i] = &dataset.Episode{Goal: goals[i], Observations: append([]float32(nil), r.Observations[i*od:(i+1)*od]...)}
	}
	obs := r.Observations
	done := make([]bool, n)
	for t := 0; ; t++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		acts, err := act(ctx, t, obs)
		if err != nil {
			return nil, err
		}
		if len(acts) != n*ad {
			return nil, fmt.Errorf("policy returned %d action values for %d episodes of dim %d", len(acts), n, ad)
		}
		s, err := e.Step(ctx, StepRequest{Actions: acts})
		if err != nil {
			return nil, err
		}
		if len(s.Observations) != n*od || len(s.Rewards) != n || len(s.Done) != n {
			return nil, fmt.Errorf("step returned %d observation values and %d rewards for %d episodes", len(s.Observations), len(s.Rewards), n)
		}
		left := 0
		for i, ep := range eps {
			if done[i] {
				continue
			}
			ep.Actions = append(ep.Actions, acts[i*ad:(i+1)*ad]...)
			ep.Observations = append(ep.Observations, s.Observations[i*od:(i+1)*od]...)
			ep.Rewards = append(ep.Rewards, s.Rewards[i])
			ep.Terminals = append(ep.Terminals, s.Terminals[i])
			ep.Timeouts = append(ep.Timeouts, s.Timeouts[i])
			ep.Success = ep.Success || s.Success[i]
			if s.Done[i] {
				done[i] = true
			} else {
				left++
			}
		}
		if left == 0 {
			return eps, nil
		}
		if t > 1_000_000 {
			return nil, fmt.Errorf("episodes still running after %d steps: the env never reports done", t)
		}
		obs = s.Observations
	}
}

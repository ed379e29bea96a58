//go:build mujoco

package tabletop

import (
	"context"
	"flag"
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// rollout runs the expert (with params) on n episodes of task t from seed and
// returns the success count and the episodes' states.
func rollout(t testing.TB, e *Env, task Task, n int, seed uint64, params map[string]float64) (int, [][]float32) {
	t.Helper()
	ctx := context.Background()
	goals := make([]dataset.Goal, n)
	for i := range goals {
		goals[i] = dataset.Goal{Level: task.Level, Params: map[string]string{"task": task.Name}, Text: task.Name}
	}
	r, err := e.Reset(ctx, env.ResetRequest{Seed: seed, Goals: goals})
	if err != nil {
		t.Fatal(err)
	}
	obs := r.Observations
	eps := make([][]float32, n)
	for i := range eps {
		eps[i] = append(eps[i], obs[i*ObsDim:(i+1)*ObsDim]...)
	}
	done := make([]bool, n)
	wins := 0
	for step := 0; step < e.horizon; step++ {
		b, err := e.Behave(ctx, env.BehaveRequest{Policy: PolicyExpert, Observations: obs, Goals: goals, Params: params, Seed: seed*1000 + uint64(step)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.Step(ctx, env.StepRequest{Actions: b.Actions})
		if err != nil {
			t.Fatal(err)
		}
		obs = s.Observations
		all := true
		for i := range n {
			if done[i] {
				continue
			}
			eps[i] = append(eps[i], obs[i*ObsDim:(i+1)*ObsDim]...)
			if s.Success[i] {
				wins++
			}
			done[i] = s.Done[i]
			all = all && done[i]
		}
		if all {
			break
		}
	}
	return wins, eps
}

var expertNoise = flag.Float64("expert-noise", 0, "TestExperts: the experts' action noise (the ≥ 90 % bar holds at 0)")

// TestExperts runs each training task's scripted expert at zero noise: each
// must succeed in at least 90 % of 20 episodes. The rates are the README's
// (-expert-noise reports them at other noise levels).
func TestExperts(t *testing.T) {
	e := New()
	for _, task := range TasksOf(LevelTrain) {
		const n = 20
		wins, eps := rollout(t, e, task, n, 1, map[string]float64{"noise": *expertNoise})
		rate := float64(wins) / n
		steps := 0
		for _, ep := range eps {
			steps += len(ep)/ObsDim - 1
		}
		t.Logf("noise %.2f: %-13s expert success %3.0f %% (%d/%d), mean episode %.1f steps", *expertNoise, task.Name, 100*rate, wins, n, float64(steps)/n)
		if rate < 0.9 && *expertNoise == 0 {
			for i, ep := range eps {
				last := State(ep[len(ep)-ObsDim:])
				t.Logf("  episode %d: %d steps, hand %.3f gap %.3f target %.3f entity %.3f", i, len(ep)/ObsDim-1, last.Hand(), last.Gap(), last.Target(), entityOf(task, last))
			}
			t.Errorf("%s: expert success %.0f %%, want ≥ 90 %%", task.Name, 100*rate)
		}
	}
}

func entityOf(t Task, s State) [3]float64 {
	if len(t.Entities) == 0 {
		return s.Hand()
	}
	return s.Pos(t.Entities[0])
}

// TestDoorExperts runs the door's two experts, pulling the handle open
// (door-open, a training task) and pushing the panel shut (door-close, its
// unseen-easy opposite), on 40 episodes each at zero noise: each must succeed
// in at least 90 % of them, and no transition of theirs may break a
// plausibility check (the door is light: a careless hand flings it faster
// than beyond_dynamics allows, or spreads the fingers past their range).
func TestDoorExperts(t *testing.T) {
	e := New()
	for _, name := range []string{"door-open", "door-close"} {
		task, err := TaskNamed(name)
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		wins, eps := rollout(t, e, task, n, 1, map[string]float64{"noise": 0})
		var bad Shares
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, ep := range eps {
			sh := Plausibility(ep)
			bad.FloatInAir += sh.FloatInAir
			bad.OutOfWorkbench += sh.OutOfWorkbench
			bad.ImplausiblePose += sh.ImplausiblePose
			bad.BeyondDynamics += sh.BeyondDynamics
			for i := range len(ep) / ObsDim {
				a := State(ep[i*ObsDim : (i+1)*ObsDim]).DoorAngle()
				lo, hi = math.Min(lo, a), math.Max(hi, a)
			}
		}
		t.Logf("%s: expert success %.0f %% (%d/%d), door angles %.3f..%.3f rad", name, 100*float64(wins)/n, wins, n, lo, hi)
		if wins < n*9/10 {
			t.Errorf("%s: expert success %d/%d, want ≥ 90 %%", name, wins, n)
		}
		if bad != (Shares{}) {
			t.Errorf("%s: the expert's episodes break plausibility checks (summed shares %+v)", name, bad)
		}
	}
}

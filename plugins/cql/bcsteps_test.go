package cql

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/nn"
)

// TestDataLogProbGradient checks the BC warm-up's gradient of
// −(1/n)·Σ log π(a|s) in the actor's mean and log-std outputs against
// central differences of dataLogProb, for actions inside (−1, 1) and at the
// bounds (read as atanh of 1 ∓ 1e-6).
func TestDataLogProbGradient(t *testing.T) {
	l, err := newContinuousFor(t, map[string]any{"hidden": 8, "bc_steps": 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	b := offline.NewBatch(n, 3, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b.Obs {
		b.Obs[i] = float32(rng.NormFloat64())
	}
	copy(b.Act, []float32{0.3, -0.7, 1, -1, 0.95, 0, -0.2, 0.999})
	out := nn.View(make([]float32, n*4), n, 4)
	for i := range out.Data {
		out.Data[i] = float32(0.5 * rng.NormFloat64())
	}
	eval := func() float64 {
		l.draw(out, n, func(r int) int { return r }, &l.pol, true)
		return l.dataLogProb(out, b, 1.0/n)
	}
	eval()
	gm, gls := append([]float32(nil), l.bcm...), append([]float32(nil), l.bcls...)
	for i := range n {
		for j := range 2 {
			for _, c := range []struct {
				name string
				col  int
				want float32
			}{{"mean", j, gm[i*2+j]}, {"log-std", 2 + j, gls[i*2+j]}} {
				const eps = 1e-2
				k := i*4 + c.col
				x := out.Data[k]
				out.Data[k] = x + eps
				up := eval()
				out.Data[k] = x - eps
				down := eval()
				out.Data[k] = x
				num := -(up - down) / (2 * eps) / n
				if d := math.Abs(num - float64(c.want)); d > 2e-3*math.Max(1, math.Abs(num)) {
					t.Errorf("row %d action %d (a = %v): d/d %s = %.5g, central difference %.5g", i, j, b.Act[i*2+j], c.name, c.want, num)
				}
			}
		}
	}
}

// TestBCSteps: for its first bc_steps updates the actor imitates the data
// (its deterministic action moves to the batch's actions, which no critic
// has rated yet); it counts updates through the actor's Adam step, which a
// checkpoint restores.
func TestBCSteps(t *testing.T) {
	l, err := newContinuousFor(t, map[string]any{"hidden": 32, "bc_steps": 300, "actor_lr": 3e-3})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	b := imitationBatch(n)
	mse := func() float64 { return actionMSE(l, b) }
	before := mse()
	for range 300 {
		l.Update(b)
	}
	after := mse()
	t.Logf("squared error of the deterministic action against the data: %.4f before, %.4f after 300 BC updates", before, after)
	if !(after < 0.1*before) {
		t.Errorf("after 300 BC updates the action's squared error is %.4f, want under a tenth of %.4f", after, before)
	}
	if l.AOpt.T != 300 {
		t.Errorf("actor Adam steps = %d, want 300", l.AOpt.T)
	}
}

// TestDeterministicBackup: with deterministic_backup the target is
// r + γ(1−d)·min(C1ₜ, C2ₜ)(s', tanh(mean(s'))), from the actor and target
// critics before the update, whatever the normal draws are.
func TestDeterministicBackup(t *testing.T) {
	l, err := newContinuousFor(t, map[string]any{"hidden": 16, "deterministic_backup": true, "n_actions": 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	b := offline.NewBatch(n, 3, 2)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range b.Obs {
		b.Obs[i], b.NextObs[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	for i := range b.Act {
		b.Act[i] = float32(2*rng.Float64() - 1)
	}
	for i := range n {
		b.Rew[i] = float32(rng.NormFloat64())
	}
	b.Done[2] = 1
	l.Normal = func(buf []float32) { // far from zero: a sample would show
		for i := range buf {
			buf[i] = 3
		}
	}
	out := l.Actor.Forward(nn.View(b.NextObs, n, 3))
	x := make([]float32, n*5)
	for i := range n {
		copy(x[i*5:], b.NextObs[i*3:(i+1)*3])
		for j := range 2 {
			x[i*5+3+j] = float32(math.Tanh(float64(out.Row(i)[j])))
		}
	}
	q1 := append([]float32(nil), l.C1t.Forward(nn.View(x, n, 5)).Data...)
	q2 := l.C2t.Forward(nn.View(x, n, 5)).Data
	want := make([]float64, n)
	for i := range n {
		want[i] = float64(b.Rew[i]) + (1-float64(b.Done[i]))*0.99*float64(min(q1[i], q2[i]))
	}
	l.Update(b)
	for i := range n {
		if d := math.Abs(float64(l.y[i]) - want[i]); d > 1e-5 {
			t.Errorf("target %d = %v, want %v (r + γ(1−d)·min Q of tanh(mean(s')))", i, l.y[i], want[i])
		}
	}
}

// TestBCPullGradient checks bc_weight's gradient of
// bc_weight·(1/n)·Σ (tanh μ − a)² in the actor's mean outputs against
// central differences of bcPull; the log-std gets none.
func TestBCPullGradient(t *testing.T) {
	const w = 2.5
	l, err := newContinuousFor(t, map[string]any{"hidden": 8, "bc_weight": w})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	b := offline.NewBatch(n, 3, 2)
	copy(b.Act, []float32{0.3, -0.7, 1, -1, 0.95, 0, -0.2, 0.999})
	rng := rand.New(rand.NewPCG(3, 4))
	out := nn.View(make([]float32, n*4), n, 4)
	for i := range out.Data {
		out.Data[i] = float32(rng.NormFloat64())
	}
	l.bcPull(out, b, 1.0/n)
	gm, gls := append([]float32(nil), l.bcm...), append([]float32(nil), l.bcls...)
	for i := range n {
		for j := range 2 {
			const eps = 1e-2
			k := i*4 + j
			x := out.Data[k]
			out.Data[k] = x + eps
			up := l.bcPull(out, b, 1.0/n)
			out.Data[k] = x - eps
			down := l.bcPull(out, b, 1.0/n)
			out.Data[k] = x
			num := w * (up - down) / (2 * eps)
			if d := math.Abs(num - float64(gm[i*2+j])); d > 2e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("row %d action %d (a = %v): d/d mean = %.5g, central difference %.5g", i, j, b.Act[i*2+j], gm[i*2+j], num)
			}
			if gls[i*2+j] != 0 {
				t.Errorf("row %d action %d: d/d log-std = %v, want 0", i, j, gls[i*2+j])
			}
		}
	}
}

// TestBCWeight: on a batch whose critics have learnt nothing yet, the
// actor with bc_weight moves its deterministic action towards the data's
// actions, the actor without it does not; bc_mse is reported only with it.
func TestBCWeight(t *testing.T) {
	const n = 64
	b := imitationBatch(n)
	errAfter := func(w float64) (before, after float64, names []string) {
		l, err := newContinuousFor(t, map[string]any{"hidden": 32, "bc_weight": w, "actor_lr": 3e-3})
		if err != nil {
			t.Fatal(err)
		}
		mse := func() float64 { return actionMSE(l, b) }
		before = mse()
		var m []float64
		for range 300 {
			m = l.Update(b)
		}
		names = l.MetricNames()
		if len(m) != len(names) {
			t.Errorf("bc_weight %v: %d metrics, %d names", w, len(m), len(names))
		}
		return before, mse(), names
	}
	b0, a0, n0 := errAfter(0)
	b1, a1, n1 := errAfter(10)
	t.Logf("squared error of the deterministic action against the data: %.4f → %.4f without bc_weight, %.4f → %.4f with bc_weight 10", b0, a0, b1, a1)
	if !(a1 < 0.2*b1) || !(a1 < 0.2*a0) {
		t.Errorf("with bc_weight 10 the action's squared error went %.4f → %.4f (without: %.4f → %.4f), want under a fifth of both", b1, a1, b0, a0)
	}
	if slices.Contains(n0, "bc_mse") || !slices.Contains(n1, "bc_mse") {
		t.Errorf("metric names %v without bc_weight, %v with: want bc_mse only with it", n0, n1)
	}
}

// TestBCWeightTradeoff: the pull that lifts CQL on the tabletop's expert
// data (README) copies whatever collected the data: on the point task's
// expert data bc_weight 100 still learns it, on its mixed data (half random
// actions), where CQL without the pull beats plain BC by > 0.3, bc_weight
// 10 and 100 fall back to within 0.15 of BC. This is why bc_weight defaults
// to 0.
func TestBCWeightTradeoff(t *testing.T) {
	bcScore := bcMixedScore(t)
	for _, tc := range []struct {
		weight     float64
		randomFrac float64
	}{{100, 0}, {0, 0.5}, {10, 0.5}, {100, 0.5}} {
		steps, batch := 400, 32
		if tc.randomFrac > 0 {
			steps, batch = 1000, 64
		}
		hyper := map[string]any{"hidden": 64, "actor_lr": 3e-3, "critic_lr": 1e-3, "alpha": 1.0, "n_actions": 4, "bc_weight": tc.weight}
		score := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), tc.randomFrac, algo.TrainRequest{
			Steps: steps, Batch: batch, Seed: 1, Hyper: hyper})
		t.Logf("bc_weight %v, random share %v: normalised score %.3f (plain BC on the mixed data %.3f)", tc.weight, tc.randomFrac, score, bcScore)
		switch {
		case tc.randomFrac == 0 && score < 0.85:
			t.Errorf("bc_weight %v on expert data: score %.3f, want ≥ 0.85", tc.weight, score)
		case tc.randomFrac > 0 && tc.weight == 0 && !(score > bcScore+0.3):
			t.Errorf("bc_weight 0 on mixed data: score %.3f, plain BC %.3f: want ahead of BC by > 0.3", score, bcScore)
		case tc.randomFrac > 0 && tc.weight > 0 && score > bcScore+0.15:
			t.Errorf("bc_weight %v on mixed data: score %.3f, plain BC %.3f: want within 0.15 of BC (the pull copies the random actions)", tc.weight, score, bcScore)
		}
	}
}

// imitationBatch is n transitions of 3-d states whose 2-d actions are a
// fixed function of the state, saturated where it is large: data an actor
// can imitate.
func imitationBatch(n int) *offline.Batch {
	b := offline.NewBatch(n, 3, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		for k := range 3 {
			b.Obs[i*3+k] = float32(rng.NormFloat64())
			b.NextObs[i*3+k] = float32(rng.NormFloat64())
		}
		b.Act[i*2] = float32(math.Max(-1, math.Min(1, float64(b.Obs[i*3]))))
		b.Act[i*2+1] = float32(math.Tanh(float64(b.Obs[i*3+1] - b.Obs[i*3+2])))
	}
	return b
}

// actionMSE is the mean squared difference between the actor's
// deterministic actions and the batch's.
func actionMSE(l *Continuous, b *offline.Batch) float64 {
	n := len(b.Obs) / 3
	act := make([]float32, n*2)
	l.Act(nn.View(b.Obs, n, 3), true, nil, act)
	var e float64
	for k := range act {
		d := float64(act[k] - b.Act[k])
		e += d * d
	}
	return e / float64(len(act))
}

package clevr

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestPositionsAreNotMarkov measures how far the observation (ball positions
// alone) is from the simulator's state: on the noisy expert's rollouts (the
// quick experiment's data), the exact simulator, reset to s_t with zero
// velocities and given a_t, misses the real s_t+1 by the printed L2. On an
// episode's first step there is nothing hidden, so it must match exactly;
// later the balls keep their velocities from the previous push (spec §3.2
// step 3, coasting in §3.4), which no model that reads one observation can
// see. This is the floor of an LM's one-step dynamics error (the grounding
// report's "dynamics error").
func TestPositionsAreNotMarkov(t *testing.T) {
	cfg := DefaultConfig()
	e, err := NewExpert(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 99))
	p := ExpertParams{Noise: 0.05, RandomShare: 0.2}
	var first, later []float64
	fresh := make([]float32, 10)
	pos := make([]float64, 10)
	for ep := 0; ep < 300; ep++ {
		task, init := sampleEpisode(t, cfg, LevelTrain, rng)
		k := 0
		playExpert(t, e, &task, init, p, rng, func(before, after []float32, a int) {
			for i, v := range before {
				pos[i] = float64(v)
			}
			var reset State
			if err := e.sim.SetPositions(&reset, pos, true); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.Step(&reset, a); err != nil {
				t.Fatal(err)
			}
			obsOf(&reset, 5, fresh)
			var s float64
			for i := range after {
				d := float64(after[i] - fresh[i])
				s += d * d
			}
			if k == 0 {
				first = append(first, math.Sqrt(s))
			} else {
				later = append(later, math.Sqrt(s))
			}
			k++
		})
	}
	sort.Float64s(first)
	sort.Float64s(later)
	all := append(append([]float64(nil), first...), later...)
	sort.Float64s(all)
	t.Logf("positions-only floor, median L2 of s_t+1: all steps %.4f (%d), first steps %.4f (%d), later steps %.4f (p90 %.4f; %d)",
		all[len(all)/2], len(all), first[len(first)/2], len(first), later[len(later)/2], later[len(later)*9/10], len(later))
	if worst := first[len(first)-1]; worst > 1e-6 {
		t.Errorf("a first step from a scene set by SetPositions differs by %g from the same step from reset state: the observation should be the whole state there", worst)
	}
	if m := later[len(later)/2]; m < 0.005 {
		t.Errorf("later steps: median %.4f from positions alone; balls keep their velocities between pushes (CarryVelocity), so the hidden state should show", m)
	}
}

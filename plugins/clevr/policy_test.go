package clevr

import (
	"math/rand/v2"
	"testing"
)

// runExpert plays n episodes of a level with the expert in fresh scenes and returns the
// success rate and the mean episode length.
func runExpert(t testing.TB, cfg Config, level string, n int, p ExpertParams, seed uint64) (float64, float64) {
	t.Helper()
	e, err := NewExpert(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	succ, steps := 0, 0
	for ep := 0; ep < n; ep++ {
		task, err := SampleTask(level, cfg.NumBalls, rng)
		if err != nil {
			t.Fatal(err)
		}
		init, err := SampleScene(&cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		var st State
		e.sim.SetPositions(&st, init, true)
		before := make([]float32, 10)
		after := make([]float32, 10)
		for k := 0; k < cfg.MaxSteps; k++ {
			obsOf(&st, 5, before)
			a := e.Act(&st, &task, p, rng)
			if err := e.sim.Step(&st, a); err != nil {
				t.Fatal(err)
			}
			steps++
			obsOf(&st, 5, after)
			if e.judge.Transition(&task, before, after, a) {
				succ++
				break
			}
			if task.Kind == KindMove || task.Kind == KindStill {
				break
			}
		}
	}
	return float64(succ) / float64(n), float64(steps) / float64(n)
}

func TestExpertSolvesTrainingGoals(t *testing.T) {
	for _, model := range []string{ModelDynamic, ModelKinematic} {
		cfg := DefaultConfig()
		cfg.Model = model
		rate, steps := runExpert(t, cfg, LevelTrain, 300, ExpertParams{}, 1)
		t.Logf("%s: expert success on 300 training goals within 50 steps: %.1f%% (mean %.1f steps)", model, 100*rate, steps)
		if rate < 0.95 {
			t.Errorf("%s: expert success %.1f%%, want ≥ 95%%", model, 100*rate)
		}
	}
	cfg := DefaultConfig()
	rate, _ := runExpert(t, cfg, LevelTrain, 100, ExpertParams{Noise: 0.05, RandomShare: 0.2}, 2)
	t.Logf("noisy expert (noise 0.05, random share 0.2): %.1f%%", 100*rate)
	rate, steps := runExpert(t, cfg, LevelTrain, 100, ExpertParams{SourceOnly: true}, 4)
	t.Logf("source-only expert (KALM's collect mode): %.1f%% (mean %.1f steps)", 100*rate, steps)
	for _, level := range []string{LevelEasy, LevelHard} {
		rate, steps := runExpert(t, cfg, level, 30, ExpertParams{}, 3)
		t.Logf("expert on %s: %.1f%% (mean %.1f steps)", level, 100*rate, steps)
	}
}

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
		task, init := sampleEpisode(t, cfg, level, rng)
		ok, k := playExpert(t, e, &task, init, p, rng, nil)
		if ok {
			succ++
		}
		steps += k
	}
	return float64(succ) / float64(n), float64(steps) / float64(n)
}

// sampleEpisode draws a goal of level and a fresh scene.
func sampleEpisode(t testing.TB, cfg Config, level string, rng *rand.Rand) (Task, []float64) {
	t.Helper()
	task, err := SampleTask(level, cfg.NumBalls, rng)
	if err != nil {
		t.Fatal(err)
	}
	init, err := SampleScene(&cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	return task, init
}

// playExpert plays one episode of task from the scene init with the expert,
// calling step (if not nil) after every transition, until the goal is
// reached, a one-step goal's step is taken or the horizon. It returns
// whether the goal was reached and the number of steps.
func playExpert(t testing.TB, e *Expert, task *Task, init []float64, p ExpertParams, rng *rand.Rand, step func(before, after []float32, a int)) (bool, int) {
	t.Helper()
	var st State
	e.sim.SetPositions(&st, init, true)
	before, after := make([]float32, 10), make([]float32, 10)
	for k := 0; k < e.sim.cfg.MaxSteps; k++ {
		obsOf(&st, 5, before)
		a := e.Act(&st, task, p, rng)
		if err := e.sim.Step(&st, a); err != nil {
			t.Fatal(err)
		}
		obsOf(&st, 5, after)
		if step != nil {
			step(before, after, a)
		}
		if e.judge.Transition(task, before, after, a) {
			return true, k + 1
		}
		if task.Kind == KindMove || task.Kind == KindStill {
			return false, k + 1
		}
	}
	return false, e.sim.cfg.MaxSteps
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

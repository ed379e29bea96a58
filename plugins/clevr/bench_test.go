package clevr

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/env"
)

// BenchmarkSimStep is one push of the physics alone, in a random scene.
func BenchmarkSimStep(b *testing.B) {
	for _, model := range []string{ModelDynamic, ModelKinematic} {
		b.Run(model, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Model = model
			s := mustSim(b, cfg)
			rng := rand.New(rand.NewPCG(1, 2))
			var st State
			init, _ := SampleScene(&cfg, rng)
			s.SetPositions(&st, init, true)
			c0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				if i%50 == 0 {
					init, _ := SampleScene(&cfg, rng)
					s.SetPositions(&st, init, true)
				}
				s.Step(&st, rng.IntN(40))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
			reportCPU(b, c0, b.N)
		})
	}
}

// BenchmarkEnvStep is Env.Step over a batch of 256 episodes with random actions (the
// collection hot path: physics, judge, observation copies), resetting when all are done.
func BenchmarkEnvStep(b *testing.B) {
	for _, model := range []string{ModelDynamic, ModelKinematic} {
		b.Run(model, func(b *testing.B) {
			e := newEnv(b, map[string]string{"model": model})
			ctx := context.Background()
			const n = 256
			gr, err := e.Goals(ctx, env.GoalsRequest{Level: LevelTrain, N: n, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			gs := gr.Goals
			rng := rand.New(rand.NewPCG(3, 4))
			acts := make([]float32, n)
			steps := 0
			seed := uint64(0)
			e.Reset(ctx, env.ResetRequest{Seed: seed, Goals: gs})
			done := make([]bool, n)
			c0 := cpuTime()
			for b.Loop() {
				for i := range acts {
					acts[i] = float32(rng.IntN(40))
				}
				r, err := e.Step(ctx, env.StepRequest{Actions: acts})
				if err != nil {
					b.Fatal(err)
				}
				all := true
				for i, d := range r.Done {
					if !done[i] {
						steps++ // count only episodes that really stepped
					}
					done[i] = d
					all = all && d
				}
				if all {
					seed++
					e.Reset(ctx, env.ResetRequest{Seed: seed, Goals: gs})
					clear(done)
				}
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "env-steps/s")
			reportCPU(b, c0, steps)
		})
	}
}

// reportCPU adds steps per CPU-second (all threads of the process, GC included): on a
// shared machine this is the per-core figure; wall-clock steps/s also counts waiting.
func reportCPU(b *testing.B, c0 time.Duration, steps int) {
	if d := cpuTime() - c0; d > 0 {
		b.ReportMetric(float64(steps)/d.Seconds(), "steps/cpu-s")
	}
}

// BenchmarkCollect runs env.Collect (goals, reset, step, behave, dataset writing) with the
// random and the expert policy.
func BenchmarkCollect(b *testing.B) {
	for _, policy := range []string{PolicyRandom, PolicyExpert} {
		b.Run(policy, func(b *testing.B) {
			e := newEnv(b, nil)
			dir := b.TempDir()
			steps := 0
			c0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				m, err := env.Collect(context.Background(), e, env.CollectRequest{
					Episodes: 512, Level: LevelTrain, Policy: policy, Seed: uint64(i), Out: filepath.Join(dir, "d", string(rune('a'+i%26))+string(rune('a'+i/26%26))),
				}, nil)
				if err != nil {
					b.Fatal(err)
				}
				steps += m.Meta.Steps
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "env-steps/s")
			reportCPU(b, c0, steps)
		})
	}
}

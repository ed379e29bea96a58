//go:build mujoco

package tabletop

import (
	"context"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// BenchmarkStep steps a batch of 16 pick-place episodes: "env" through
// Env.Step with the expert's first actions (action checks, the hand target,
// Substeps MuJoCo steps, the observation), "mujoco" the same worlds by one
// call of MuJoCo's step loop in C. ns/op is per env step of one episode.
func BenchmarkStep(b *testing.B) {
	b.Run("env", benchEnvStep)
	b.Run("mujoco", func(b *testing.B) {
		e := New()
		goals := make([]dataset.Goal, 16)
		for i := range goals {
			goals[i] = goalOf("pick-place")
		}
		if _, err := e.Reset(context.Background(), env.ResetRequest{Seed: 1, Goals: goals}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := e.worlds[i%len(goals)].d.Step(Substeps); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchEnvStep(b *testing.B) {
	e := New()
	ctx := context.Background()
	const n = 16
	goals := make([]dataset.Goal, n)
	for i := range goals {
		goals[i] = goalOf("pick-place")
	}
	e.horizon = 1 << 30
	r, err := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: goals})
	if err != nil {
		b.Fatal(err)
	}
	obs := r.Observations
	acts := make([]float32, 0, n*ActionDim)
	for i := range n {
		acts = append(acts, Expert(TasksOf(LevelTrain)[2], State(obs[i*ObsDim:(i+1)*ObsDim]))...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		s, err := e.Step(ctx, env.StepRequest{Actions: acts})
		if err != nil {
			b.Fatal(err)
		}
		clear(e.done)
		_ = s
	}
}

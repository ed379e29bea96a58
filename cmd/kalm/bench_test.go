package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
)

// The plugin-boundary benchmarks run the same calls on a built-in plugin
// in-process and through its real subprocess; the difference is what the
// boundary costs. Reproduce with:
//
//	go test -run '^$' -bench 'Boundary' -benchtime 2s ./cmd/kalm

// benchEnvs returns clevr in-process and through a plugin subprocess.
func benchEnvs(b *testing.B) map[string]env.Env {
	r := testRegistry(b)
	c, err := launch(b, r, "clevr", plugin.Env).Env()
	if err != nil {
		b.Fatal(err)
	}
	return map[string]env.Env{"inprocess": builtins()["clevr"].env(), "plugin": c}
}

func BenchmarkBoundaryEnvStep(b *testing.B) {
	ctx := context.Background()
	for mode, e := range benchEnvs(b) {
		for _, n := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode, n), func(b *testing.B) {
				gr, err := e.Goals(ctx, env.GoalsRequest{Level: "train", N: n, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				goals := gr.Goals
				rng := rand.New(rand.NewPCG(1, 2))
				acts := make([]float32, n)
				t := 0
				for b.Loop() {
					if t%50 == 0 {
						if _, err := e.Reset(ctx, env.ResetRequest{Seed: uint64(t), Goals: goals}); err != nil {
							b.Fatal(err)
						}
					}
					for i := range acts {
						acts[i] = float32(rng.IntN(40))
					}
					if _, err := e.Step(ctx, env.StepRequest{Actions: acts}); err != nil {
						b.Fatal(err)
					}
					t++
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "envsteps/s")
			})
		}
	}
}

var benchCheckpoint struct {
	once sync.Once
	path string
	err  error
}

// checkpoint trains a small BC policy on clevr data once per benchmark run.
func checkpoint(b *testing.B) string {
	c := &benchCheckpoint
	c.once.Do(func() {
		dir, err := os.MkdirTemp("", "kalm-bench-")
		if err != nil {
			c.err = err
			return
		}
		ctx := context.Background()
		data := filepath.Join(dir, "data")
		if _, err := env.Collect(ctx, builtins()["clevr"].env(), env.CollectRequest{Episodes: 128, Policy: "expert", Seed: 1, Out: data}, nil); err != nil {
			c.err = err
			return
		}
		res, err := builtins()["bc"].algo().Train(ctx, algo.TrainRequest{Datasets: []algo.Source{{Path: data, Weight: 1}},
			Steps: 20, Batch: 64, OutDir: filepath.Join(dir, "train"), Seed: 1}, nil)
		if err != nil {
			c.err = err
			return
		}
		c.path = res.Checkpoints[len(res.Checkpoints)-1].Path
	})
	if c.err != nil {
		b.Fatal(c.err)
	}
	return c.path
}

func benchAlgos(b *testing.B) map[string]algo.Algo {
	r := testRegistry(b)
	a, err := launch(b, r, "bc", plugin.Algo).Algo()
	if err != nil {
		b.Fatal(err)
	}
	return map[string]algo.Algo{"inprocess": builtins()["bc"].algo(), "plugin": a}
}

func BenchmarkBoundaryAlgoAct(b *testing.B) {
	ctx := context.Background()
	ckpt := checkpoint(b)
	for mode, a := range benchAlgos(b) {
		lr, err := a.Load(ctx, algo.LoadRequest{Checkpoint: ckpt})
		if err != nil {
			b.Fatal(err)
		}
		pol := lr.Policy
		for _, n := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode, n), func(b *testing.B) {
				obs, goals := make([]float32, n*10), make([]float32, n*56)
				for b.Loop() {
					if _, err := a.Act(ctx, algo.ActRequest{Policy: pol, Observations: obs, Goals: goals, Deterministic: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBoundaryEvaluation is one evaluation batch: 64 episodes of up to
// 50 steps, a trained BC policy acting on CLEVR, env and policy both
// in-process or both behind their plugin boundaries.
func BenchmarkBoundaryEvaluation(b *testing.B) {
	ctx := context.Background()
	ckpt := checkpoint(b)
	envs, algos := benchEnvs(b), benchAlgos(b)
	for _, mode := range []string{"inprocess", "plugin"} {
		e, a := envs[mode], algos[mode]
		b.Run(mode, func(b *testing.B) {
			spec, err := e.Spec(ctx, env.SpecRequest{})
			if err != nil {
				b.Fatal(err)
			}
			lr, err := a.Load(ctx, algo.LoadRequest{Checkpoint: ckpt})
			if err != nil {
				b.Fatal(err)
			}
			pol := lr.Policy
			gr, err := e.Goals(ctx, env.GoalsRequest{Level: "train", N: 64, Seed: 7})
			if err != nil {
				b.Fatal(err)
			}
			goals := gr.Goals
			gv := make([]float32, 0, 64*spec.GoalDim)
			for _, g := range goals {
				gv = append(gv, g.Vector...)
			}
			steps := 0
			for b.Loop() {
				eps, err := env.Rollout(ctx, e, *spec, goals, 7, nil, func(ctx context.Context, _ int, obs []float32) ([]float32, error) {
					r, err := a.Act(ctx, algo.ActRequest{Policy: pol, Observations: obs, Goals: gv, Deterministic: true})
					if err != nil {
						return nil, err
					}
					return r.Actions, nil
				})
				if err != nil {
					b.Fatal(err)
				}
				for _, ep := range eps {
					steps += ep.Len()
				}
			}
			b.ReportMetric(float64(steps)/float64(b.N), "steps/op")
		})
	}
}

// BenchmarkBoundaryJudge is the imagine stage's judging: 256 CLEVR
// rollouts (the random behaviour policy, so most run to the horizon) judged
// after every step, each running rollout with its whole history: in-process,
// through the plugin with one Judge call per rollout (the imagine stage
// before JudgeBatch), and through the plugin with one JudgeBatch per step.
func BenchmarkBoundaryJudge(b *testing.B) {
	ctx := context.Background()
	envs := benchEnvs(b)
	in := envs["inprocess"]
	spec, err := in.Spec(ctx, env.SpecRequest{})
	if err != nil {
		b.Fatal(err)
	}
	const n = 256
	gr, err := in.Goals(ctx, env.GoalsRequest{Level: "train", N: n, Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	eps, err := env.Rollout(ctx, in, *spec, gr.Goals, 3, nil, func(ctx context.Context, k int, obs []float32) ([]float32, error) {
		r, err := in.Behave(ctx, env.BehaveRequest{Policy: "random", Observations: obs, Goals: gr.Goals, Seed: uint64(k)})
		if err != nil {
			return nil, err
		}
		return r.Actions, nil
	})
	if err != nil {
		b.Fatal(err)
	}
	od, ad := spec.ObsDim, spec.ActionSpace.Dim
	each := func(ctx context.Context, e env.Env, req env.JudgeBatchRequest) error {
		for _, r := range req.Rollouts {
			if _, err := e.Judge(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
	batched := func(ctx context.Context, e env.Env, req env.JudgeBatchRequest) error {
		_, err := env.JudgeBatch(ctx, e, req)
		return err
	}
	for _, m := range []struct {
		name  string
		e     env.Env
		judge func(context.Context, env.Env, env.JudgeBatchRequest) error
	}{
		{"inprocess", in, each},
		{"plugin/per-rollout", envs["plugin"], each},
		{"plugin/batched", envs["plugin"], batched},
	} {
		b.Run(m.name, func(b *testing.B) {
			judged := 0
			var req env.JudgeBatchRequest
			for b.Loop() {
				for t := 1; ; t++ {
					req.Rollouts = req.Rollouts[:0]
					for _, ep := range eps {
						if ep.Len() >= t {
							req.Rollouts = append(req.Rollouts, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations[:(t+1)*od], Actions: ep.Actions[:t*ad]})
						}
					}
					if len(req.Rollouts) == 0 {
						break
					}
					if err := m.judge(ctx, m.e, req); err != nil {
						b.Fatal(err)
					}
					judged += len(req.Rollouts)
				}
			}
			b.ReportMetric(float64(judged)/b.Elapsed().Seconds(), "judged/s")
		})
	}
}

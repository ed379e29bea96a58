package slurm

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/results"
)

// catalog describes any env and algorithm, without plugins.
type catalog struct{}

func (catalog) Describe(_ context.Context, kind plugin.Kind, name string) (experiments.PluginInfo, error) {
	info := experiments.PluginInfo{Kind: kind, Name: name, Version: "v1"}
	switch kind {
	case plugin.Env:
		info.Env = &env.Spec{Name: name, ObsDim: 2, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(2), Horizon: 5,
			Levels: []string{"train"}, Policies: []string{"scripted"}}
	case plugin.Algo:
		info.Schema = &algo.Schema{Name: name, Spaces: []dataset.Kind{dataset.Discrete}}
	}
	return info, nil
}

// BenchmarkSubmit10k plans a grid of 10,001 stages (2 algorithms × 50
// step counts × 50 seeds: one collect, 5,000 train and 5,000 evaluate
// stages) and submits every stage to an in-process fake Slurm: kalm's own
// cost of planning and submitting (descriptions, database records,
// dependencies), without the sbatch processes. Reproduce with:
//
//	go test -run '^$' -bench Submit10k -benchtime 3x ./experiments/runner/slurm
func BenchmarkSubmit10k(b *testing.B) {
	steps := make([]string, 50)
	for i := range steps {
		steps[i] = fmt.Sprint(1000 + i)
	}
	text := "name: big\nenv: {plugin: line}\nalgo: a\nseeds: 50\ngrid:\n  axes:\n    - {key: algo, values: [a, b]}\n" +
		"    - {key: train.steps, values: [" + strings.Join(steps, ", ") + "]}\n"
	var took time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		work := b.TempDir()
		store, err := results.Open(ctx, filepath.Join(work, "results.db"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		e, err := experiments.Parse("big.yaml", []byte(text), experiments.Options{})
		if err != nil {
			b.Fatal(err)
		}
		plan, err := e.Plan(ctx, catalog{})
		if err != nil {
			b.Fatal(err)
		}
		n := len(plan.Stages)
		f := &fakeSlurm{submits: func(i int) {
			if i == n {
				took += time.Since(start)
				cancel()
			}
		}}
		r := &runner.Runner{Store: store, WorkDir: work, Dispatcher: &Dispatcher{Client: f, WorkDir: work, Kalm: "/bin/true", Spec: experiments.SlurmSpec{Poll: 1}}}
		if _, err := r.Run(ctx, plan); err == nil || len(f.submitted) != n || n != 10001 {
			b.Fatalf("run: %v; %d of %d stages submitted", err, len(f.submitted), n)
		}
		store.Close()
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/grid")
	b.ReportMetric(took.Seconds()/float64(b.N)/10001*1e6, "µs/stage")
}

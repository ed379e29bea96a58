package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The executor benchmarks. Reproduce with:
//
//	go test -run '^$' -bench 'Executor' -benchtime 3x ./cmd/kalm
//
// BenchmarkExecutorStage runs a grid of 17 tiny stages (collect, then 8
// train → evaluate chains of one training step) locally (-j 2) and through
// the Slurm cluster (.ci/slurm-up; skipped without one): s/stage is the
// wall time per stage, what each path adds to a stage's own work.
func BenchmarkExecutorStage(b *testing.B) {
	grid := []string{"run", "quick", "--set", "dataset.episodes=4", "--set", "train.steps=1", "--set", "train.checkpoint_every=1",
		"--set", "lm.plugin=", "--set", "grid.axes=[{key: algo, values: [bc, cql]}]", "--set", "seeds=4", "--set", "eval.episodes=1",
		"--set", "executor.slurm.poll=0.2"}
	const stages = 17
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"local", []string{"-j", "2"}},
		{"slurm", []string{"--executor", "slurm"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.name == "slurm" {
				if _, err := clusterUp(); err != nil {
					b.Skipf("no Slurm cluster (.ci/slurm-up starts one): %v", err)
				}
			}
			var took time.Duration
			for b.Loop() {
				work := b.TempDir()
				var out bytes.Buffer
				start := time.Now()
				if code := run(context.Background(), append(append([]string(nil), grid...), append(tc.args, "-workdir", work)...), &out, &out); code != 0 {
					b.Fatalf("exit %d:\n%s", code, &out)
				}
				took += time.Since(start)
				if !strings.Contains(out.String(), "17 stages: 17 ran") {
					b.Fatalf("not 17 stages run:\n%s", &out)
				}
			}
			b.ReportMetric(took.Seconds()/float64(b.N)/stages, "s/stage")
		})
	}
}

// BenchmarkExecutorSubmit10k plans a grid of 10,001 stages (2 algorithms
// × 50 step counts × 50 seeds: one shared collect, 5,000 train and 5,000
// evaluate stages) and submits every stage to a fake Slurm: sbatch, squeue,
// scancel and scontrol are shell scripts on PATH (sbatch appends to a file
// and prints the next id), so the figure is kalm's planning, descriptions,
// database records and one sbatch process per stage, not a real
// controller's work. s/grid is the time from the command's start to the
// last submission; sbatch-alone-s is the time to start the fake sbatch as
// many times without kalm, measured in the same run.
func BenchmarkExecutorSubmit10k(b *testing.B) {
	bin := b.TempDir()
	jobs := filepath.Join(bin, "jobs")
	scripts := map[string]string{
		"sbatch":   "#!/bin/sh\necho x >> " + jobs + "\nwc -l < " + jobs + "\n",
		"squeue":   "#!/bin/sh\n",
		"scancel":  "#!/bin/sh\n",
		"scontrol": "#!/bin/sh\n",
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(s), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	b.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	grid := []string{"run", "quick", "--executor", "slurm", "--set", "lm.plugin=", "--set", "seeds=50",
		"--set", "grid.axes=[{key: algo, values: [bc, cql]}, {key: train.steps, values: [" + strings.Join(stepValues(), ", ") + "]}]"}
	var took time.Duration
	for b.Loop() {
		os.Remove(jobs)
		work := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		var out bytes.Buffer
		start := time.Now()
		go func() { done <- run(ctx, append(append([]string(nil), grid...), "-workdir", work), &out, &out) }()
		for {
			if n, _ := os.ReadFile(jobs); bytes.Count(n, []byte("\n")) >= 10001 {
				break
			}
			select {
			case code := <-done:
				b.Fatalf("exit %d before every stage was submitted:\n%s", code, &out)
			case <-time.After(10 * time.Millisecond):
			}
		}
		took += time.Since(start)
		cancel()
		<-done
	}
	b.ReportMetric(took.Seconds()/float64(b.N), "s/grid")
	// The peer: the fake sbatch alone, started as often, in the same run.
	b.StopTimer()
	os.Remove(jobs)
	start := time.Now()
	for range 10001 {
		if err := exec.Command("sbatch").Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds(), "sbatch-alone-s")
}

func stepValues() []string {
	v := make([]string, 50)
	for i := range v {
		v[i] = strconv.Itoa(1000 + i)
	}
	return v
}

package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
	"github.com/kalm-go/kalm/results"
)

// benchExperiment has 100 cells (2 algorithms × 50 seeds): 1 collect, 100
// train and 100 evaluate stages.
const benchExperiment = `name: overhead
env:
  plugin: line
algo: count
train:
  steps: 1
seeds: 50
grid:
  axes:
    - key: algo
      values: [count, count2]
`

func benchPlan(b *testing.B) *experiments.Plan {
	e, err := experiments.Parse("overhead.yaml", []byte(benchExperiment), experiments.Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.Plan(context.Background(), &fakePlugins{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPlan100Cells measures loading, grid expansion and stage hashing.
func BenchmarkPlan100Cells(b *testing.B) {
	p := benchPlan(b)
	stages := len(p.Stages)
	b.ResetTimer()
	for b.Loop() {
		benchPlan(b)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*stages), "ns/stage")
}

// BenchmarkRun100Cells runs the 201 stages with executors that do nothing:
// what remains is the runner's own cost per stage (temporary directory,
// outcome file with fsync, rename, two SQLite transactions, scheduling).
func BenchmarkRun100Cells(b *testing.B) {
	p := benchPlan(b)
	ex := trivialExecutors("", 0)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		work := b.TempDir()
		s, err := results.Open(context.Background(), filepath.Join(work, "results.db"))
		if err != nil {
			b.Fatal(err)
		}
		r := &Runner{Store: s, WorkDir: work, Workers: 2, Executors: ex}
		b.StartTimer()
		sum, err := r.Run(context.Background(), p)
		if err != nil || sum.Ran != len(p.Stages) {
			b.Fatalf("%+v %v", sum, err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(p.Stages)), "ns/stage")
}

// BenchmarkResume100Cells re-runs a finished grid: every stage is found done.
func BenchmarkResume100Cells(b *testing.B) {
	p := benchPlan(b)
	work := b.TempDir()
	s, err := results.Open(context.Background(), filepath.Join(work, "results.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := &Runner{Store: s, WorkDir: work, Workers: 2, Executors: trivialExecutors("", 0)}
	if _, err := r.Run(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		sum, err := r.Run(context.Background(), p)
		if err != nil || sum.Reused != len(p.Stages) {
			b.Fatalf("%+v %v", sum, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(p.Stages)), "ns/stage")
}

// BenchmarkPluginLaunch starts and stops a built-in plugin process through
// the registry, as each stage does for each plugin it uses. It needs a kalm
// binary: KALM_BIN=/path/to/kalm (go build -o /tmp/kalm ./cmd/kalm).
func BenchmarkPluginLaunch(b *testing.B) {
	bin := os.Getenv("KALM_BIN")
	if bin == "" {
		b.Skip("set KALM_BIN to a kalm binary")
	}
	if _, err := exec.LookPath(bin); err != nil {
		b.Fatal(err)
	}
	reg := NewRegistry(registry.New(registry.Config{Self: []string{bin}, Builtins: []string{"clevr", "bc"}, StartTimeout: time.Minute}))
	defer registry.Cleanup()
	for _, name := range []string{"clevr", "bc"} {
		kind := plugin.Env
		if name == "bc" {
			kind = plugin.Algo
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				h, err := reg.Launch(context.Background(), kind, name)
				if err != nil {
					b.Fatal(err)
				}
				h.Close()
			}
		})
	}
}

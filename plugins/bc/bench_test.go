package bc

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// BenchmarkStep times one full gradient step (sample + update) at the
// PyTorch peer's shapes. Per-core figures:
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -tags openblas -run '^$' -bench Step ./plugins/bc/
func BenchmarkStep(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			offlinetest.BenchmarkWorkload(b, w)
		})
	}
}

// TestBench runs kalm bench algos' measurement on short windows: one line
// per workload, every window timed, and allocations per step well under one
// (the count is the process's, so the runtime's own, such as a collection's
// workers, may add a few over a window; a step that allocates adds ≥ 1).
func TestBench(t *testing.T) {
	var out strings.Builder
	res, err := offline.Bench(context.Background(), &out, offline.BenchOptions{Seconds: 0.05, Repeats: 3, Only: []string{"bc_discrete"}}, Workloads())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Windows) != 3 || !(res[0].StepsPerSecond > 0) {
		t.Fatalf("results %+v, want one workload with 3 timed windows", res)
	}
	if res[0].AllocsPerStep >= 0.5 {
		t.Errorf("%.3f allocations per step, want 0", res[0].AllocsPerStep)
	}
	if !strings.Contains(out.String(), "\nbc_discrete ") {
		t.Errorf("output %q lacks a bc_discrete line", out.String())
	}
}

// TestBenchServe checks the request loop that docs/bench-pingpong.py drives.
func TestBenchServe(t *testing.T) {
	var out strings.Builder
	in := strings.NewReader("bc_discrete 0.05\nbc_discrete 0.02\n")
	if err := offline.BenchServe(context.Background(), in, &out, Workloads()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %q, want two answers", out.String())
	}
	for _, l := range lines {
		var name string
		var steps int
		var secs float64
		if _, err := fmt.Sscanf(l, "%s %d %g", &name, &steps, &secs); err != nil || name != "bc_discrete" || steps < 1 || secs < 0.02 {
			t.Errorf("answer %q: want \"bc_discrete STEPS SECONDS\" with at least one step", l)
		}
	}
	for _, bad := range []string{"nosuch 0.1\n", "bc_discrete\n"} {
		if err := offline.BenchServe(context.Background(), strings.NewReader(bad), io.Discard, Workloads()); err == nil {
			t.Errorf("request %q: no error", bad)
		}
	}
}

// TestStepMFLOP checks the matrix work of a step against the count by hand.
func TestStepMFLOP(t *testing.T) { offlinetest.CheckStepMFLOP(t, Workloads()) }

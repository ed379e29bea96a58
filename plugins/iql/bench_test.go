package iql

import (
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
)

// BenchmarkStep times one full gradient step (sample + update) at the
// PyTorch peer's shapes. Per-core figures:
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -tags openblas -run '^$' -bench Step ./plugins/iql/
func BenchmarkStep(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			offline.BenchmarkWorkload(b, w)
		})
	}
}

// TestStepMFLOP checks the matrix work one step does, counted by
// nn.ProductFLOPs, against the count by hand with ../shared/bench/flops.py's
// fwd and bwd. flops.py counts the same (V runs once on [s; s′]).
func TestStepMFLOP(t *testing.T) {
	want := map[string]float64{"iql": 536.477696}
	for _, w := range Workloads() {
		got, err := w.StepMFLOP(1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want[w.Name]) > 1e-6 {
			t.Errorf("%s: %.6f MFLOP a step, want %.6f", w.Name, got, want[w.Name])
		}
	}
}

package td3bc

import (
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
)

// BenchmarkStep times one full gradient step (sample + update) at the
// PyTorch peer's shapes. Per-core figures:
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -tags openblas -run '^$' -bench Step ./plugins/td3bc/
func BenchmarkStep(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			offline.BenchmarkWorkload(b, w)
		})
	}
}

// TestStepMFLOP checks the matrix work one step does, counted by
// nn.ProductFLOPs, against the count by hand with ../shared/bench/flops.py's
// fwd and bwd. Over two steps, one with the delayed
// actor: flops.py's 432.930816 less the critic's weight gradient in the
// actor step, which torch computes and discards and kalm skips.
func TestStepMFLOP(t *testing.T) {
	want := map[string]float64{"td3bc": 414.580736}
	for _, w := range Workloads() {
		got, err := w.StepMFLOP(2)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want[w.Name]) > 1e-6 {
			t.Errorf("%s: %.6f MFLOP a step, want %.6f", w.Name, got, want[w.Name])
		}
	}
}

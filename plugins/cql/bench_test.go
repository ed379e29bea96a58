package cql

import (
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
)

// BenchmarkStep times one full gradient step (sample + update) at the
// PyTorch peer's shapes. Per-core figures:
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -tags openblas -run '^$' -bench Step ./plugins/cql/
func BenchmarkStep(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			offline.BenchmarkWorkload(b, w)
		})
	}
}

// TestStepMFLOP checks the matrix work one step does, counted by
// nn.ProductFLOPs, against the count by hand with ../shared/bench/flops.py's
// fwd and bwd. cql_discrete: flops.py's 199.229440
// less the target's head beyond the one chosen action (MLP.ForwardGather).
// cql: flops.py's 7,827.226624 counts torch's graph, which runs the actor on
// 10 copies of every state and takes the critics' weight gradients in the
// policy loss; kalm runs the actor once on [s; s′] and takes only input
// gradients there.
func TestStepMFLOP(t *testing.T) {
	want := map[string]float64{"cql_discrete": 194.117632, "cql": 7006.715904}
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

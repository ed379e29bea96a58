package offlinetest

import (
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/nn"
)

// CheckStepMFLOP fails t for each workload whose step, counted by
// nn.ProductFLOPs over two steps after a small warm-up, does other matrix
// work than its MFLOP.
func CheckStepMFLOP(t testing.TB, ws []offline.Workload) {
	t.Helper()
	for _, w := range ws {
		s, err := w.StepperAfter(1000, 2)
		if err != nil {
			t.Fatal(err)
		}
		f0 := nn.ProductFLOPs()
		for range 2 {
			s.Step()
		}
		if got := float64(nn.ProductFLOPs()-f0) / 2e6; math.Abs(got-w.MFLOP) > 1e-6 {
			t.Errorf("%s: %.6f MFLOP a step, want %.6f", w.Name, got, w.MFLOP)
		}
	}
}

// BenchmarkWorkload is the body of a `go test -bench` function for w: it
// reports allocations, steps/s and GFLOP/s (of the products counted by
// nn.ProductFLOPs).
func BenchmarkWorkload(b *testing.B, w offline.Workload) {
	s, err := w.WarmStepper()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	f0 := nn.ProductFLOPs()
	b.ResetTimer()
	for b.Loop() {
		s.Step()
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "steps/s")
	b.ReportMetric(float64(nn.ProductFLOPs()-f0)/sec/1e9, "GFLOP/s")
}

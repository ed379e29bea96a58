package cql

import (
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// BenchmarkStep times one full gradient step (sample + update) at the
// PyTorch peer's shapes. Per-core figures:
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -tags openblas -run '^$' -bench Step ./plugins/cql/
func BenchmarkStep(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			offlinetest.BenchmarkWorkload(b, w)
		})
	}
}

// TestStepMFLOP checks the matrix work of a step against the count by hand.
func TestStepMFLOP(t *testing.T) { offlinetest.CheckStepMFLOP(t, Workloads()) }

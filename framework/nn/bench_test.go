package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemm measures the three products of a Linear layer at MLP shapes,
// including a 6-wide head's and a 23-input first layer's.
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct {
		m, k, n int
		ta, tb  bool
	}{{256, 256, 256, false, true}, {256, 256, 6, false, true}, {6, 256, 256, true, false}, {256, 6, 256, false, false}, {256, 23, 256, false, true}, {256, 256, 256, true, false}, {256, 256, 256, false, false}, {256, 10, 256, false, true}, {256, 256, 40, false, true}, {7680, 256, 256, false, true}, {256, 7680, 256, true, false}, {7680, 256, 256, false, false}} {
		b.Run(fmt.Sprintf("%dx%dx%d_%v%v_%s", s.m, s.k, s.n, s.ta, s.tb, Backend()), func(b *testing.B) {
			a := randMat(rng, s.m, s.k)
			if s.ta {
				a = randMat(rng, s.k, s.m)
			}
			w := randMat(rng, s.k, s.n)
			if s.tb {
				w = randMat(rng, s.n, s.k)
			}
			c := NewMat(s.m, s.n)
			b.ReportAllocs()
			for b.Loop() {
				Gemm(s.ta, s.tb, 1, a, w, 0, c)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAdam is one Adam step over bc_discrete's 78,888 parameters.
func BenchmarkAdam(b *testing.B) {
	p := &Param{Value: make([]float32, 78888), Grad: make([]float32, 78888)}
	Normal(rand.New(rand.NewPCG(1, 1)), p.Grad, 1)
	a := NewAdam(DefaultAdam(1e-3), p)
	b.ReportAllocs()
	for b.Loop() {
		a.Step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/78888, "ns/param")
}

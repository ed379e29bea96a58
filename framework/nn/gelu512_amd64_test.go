//go:build !purego

package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGeluAVX512SameBits: the 16-lane GELU gives the AVX2 kernel's bits for
// y and t on every lane, around tanh's 0.625 switch, at the exponential's
// clamps, on zeros, denormals, infinities and NaN.
func TestGeluAVX512SameBits(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, 0, 4096)
	for range 2048 {
		x = append(x, float32(rng.NormFloat64()*3))
	}
	sw := float32(0.625) // |u| at the switch, then x near it
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, sw, -sw, 0.6, 0.65, 44, -44, 45, -45, 88.8, -88, 1e20, -1e20,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		for d := -8; d <= 8; d++ {
			x = append(x, v+float32(d)*1e-3*v)
		}
	}
	for len(x)%16 != 0 {
		x = append(x, float32(rng.NormFloat64()))
	}
	n := len(x)
	y1, t1, y2, t2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	geluAVX2(&y1[0], &t1[0], &x[0], n)
	geluAVX512(&y2[0], &t2[0], &x[0], n)
	for i := range x {
		if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) || math.Float32bits(t1[i]) != math.Float32bits(t2[i]) {
			t.Fatalf("x = %v: AVX-512 y %v t %v, AVX2 y %v t %v", x[i], y2[i], t2[i], y1[i], t1[i])
		}
	}
	// geluKernel's tails: 16 lanes, then 8, then the portable loop.
	for _, m := range []int{1, 8, 15, 16, 17, 24, 31, 40} {
		ya, ta := make([]float32, m), make([]float32, m)
		geluKernel(ya, ta, x[:m])
		yb, tb := make([]float32, m), make([]float32, m)
		geluGo(yb, tb, x[:m])
		for i := range m {
			if d := math.Abs(float64(ya[i] - yb[i])); d > 1e-6*math.Max(1, math.Abs(float64(yb[i]))) {
				t.Fatalf("n=%d [%d]: %v, portable %v", m, i, ya[i], yb[i])
			}
		}
	}
}

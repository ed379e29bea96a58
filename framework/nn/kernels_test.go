package nn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// Package variables, so the compiler cannot fold their product.
var tinyA, tinyB float32 = 1e-38, 1e-3

// TestKernelsMatchPortable checks the dispatched (assembly on amd64) kernels
// against the portable Go versions, on lengths that exercise the tails.
func TestKernelsMatchPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 8, 9, 31, 256, 1000} {
		r := func() []float32 { x := make([]float32, n); Normal(rng, x, 1); return x }
		cp := func(x []float32) []float32 { return append([]float32(nil), x...) }
		close := func(name string, a, b []float32, tol float64) {
			for i := range a {
				if math.Abs(float64(a[i]-b[i])) > tol*math.Max(1, math.Abs(float64(b[i]))) {
					t.Fatalf("%s n=%d [%d]: %v vs portable %v", name, n, i, a[i], b[i])
				}
			}
		}
		y := r()
		y2 := cp(y)
		reluKernel(y)
		reluGo(y2)
		close("relu", y, y2, 0)

		dy, yy := r(), r()
		dy2 := cp(dy)
		reluBackKernel(dy, yy)
		reluBackGo(dy2, yy)
		close("reluBack", dy, dy2, 0)

		d, s := r(), r()
		d2 := cp(d)
		addToKernel(d, s)
		addToGo(d2, s)
		close("addTo", d, d2, 0)

		w, g, m, v := r(), r(), r(), r()
		for i := range v {
			v[i] = v[i] * v[i]
		}
		w2, m2, v2 := cp(w), cp(m), cp(v)
		k := adamConsts{b1: 0.9, omb1: 0.1, b2: 0.999, omb2: 0.001, step: 0.01, invBc2s: 3, eps: 1e-8}
		adamKernel(w, g, m, v, &k)
		adamGo(w2, g, m2, v2, &k)
		close("adam w", w, w2, 1e-6)
		close("adam m", m, m2, 1e-6)
		close("adam v", v, v2, 1e-6)
	}
}

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 8, 31, 32, 33, 100, 256} {
		x, y := make([]float32, n), make([]float32, n)
		Normal(rng, x, 1)
		Normal(rng, y, 1)
		if d := math.Abs(float64(dotKernel(x, y) - dotGo(x, y))); d > 1e-4*float64(n) {
			t.Fatalf("dot n=%d: %v vs %v", n, dotKernel(x, y), dotGo(x, y))
		}
		y2 := append([]float32(nil), y...)
		axpyKernel(0.5, x, y)
		axpyGo(0.5, x, y2)
		for i := range y {
			if math.Abs(float64(y[i]-y2[i])) > 1e-6 {
				t.Fatalf("axpy n=%d [%d]: %v vs %v", n, i, y[i], y2[i])
			}
		}
	}
}

// TestAdamRestoresFloatMode: the Adam kernel flushes denormals while it runs
// and must leave the thread's floating-point mode as it found it.
func TestAdamRestoresFloatMode(t *testing.T) {
	runtime.LockOSThread() // the float mode is per thread
	defer runtime.UnlockOSThread()
	w, g := make([]float32, 64), make([]float32, 64)
	for i := range g {
		g[i] = 1e-21 // g² underflows
	}
	m, v := make([]float32, 64), make([]float32, 64)
	adamKernel(w, g, m, v, &adamConsts{b1: 0.9, omb1: 0.1, b2: 0.999, omb2: 0.001, step: 1e-3, invBc2s: 1, eps: 1e-8})
	for i := range w {
		if math.IsNaN(float64(w[i])) || math.IsInf(float64(w[i]), 0) {
			t.Fatalf("w[%d] = %v", i, w[i])
		}
	}
	if d := tinyA * tinyB; d == 0 {
		t.Fatal("denormals are flushed after the Adam kernel returned")
	}
}

// TestExpSum checks the vector exp against math.Exp to float32 accuracy,
// including the underflow clamp, a NaN and a tail shorter than a vector.
func TestExpSum(t *testing.T) {
	for _, n := range []int{1, 7, 8, 40, 203} {
		src := make([]float32, n)
		for i := range src {
			src[i] = -100 + 188*float32(i)/float32(n) // spans underflow to e^88
		}
		dst := make([]float32, n)
		const shift = 0.75
		got := expSum(dst, src, shift)
		var want float64
		for i, v := range src {
			w := math.Exp(float64(v - shift))
			if float64(v-shift) < -87.33 {
				w = 0
			}
			want += float64(dst[i])
			if d := math.Abs(float64(dst[i]) - w); d > 3e-7*w {
				t.Fatalf("n=%d: e^%v = %v, want %v", n, v-shift, dst[i], w)
			}
		}
		if d := math.Abs(float64(got) - want); d > 1e-5*want {
			t.Fatalf("n=%d: sum %v, want %v", n, got, want)
		}
	}
	src := make([]float32, 16)
	src[3] = float32(math.NaN())
	dst := make([]float32, 16)
	if s := expSum(dst, src, 0); !math.IsNaN(float64(dst[3])) || !math.IsNaN(float64(s)) || dst[4] != 1 {
		t.Fatalf("NaN input: dst[3] = %v, sum %v, dst[4] = %v", dst[3], s, dst[4])
	}
}

// TestPolyakKernel: the vector Polyak update rounds exactly as the Go loop.
func TestPolyakKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 8, 29, 1000} {
		d, s := make([]float32, n), make([]float32, n)
		Normal(rng, d, 1)
		Normal(rng, s, 1)
		want := append([]float32(nil), d...)
		polyakGo(want, s, 0.005)
		polyakKernel(d, s, 0.005)
		for i := range d {
			if d[i] != want[i] {
				t.Fatalf("n=%d: d[%d] = %v, want %v", n, i, d[i], want[i])
			}
		}
	}
}

// TestSumRows: the bias-gradient row sum rounds exactly as adding row by row.
func TestSumRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, s := range [][2]int{{1, 1}, {3, 64}, {7, 70}, {300, 256}, {5, 130}, {0, 64}} {
		m := randMat(rng, s[0], s[1])
		dst := make([]float32, s[1])
		Normal(rng, dst, 1)
		want := append([]float32(nil), dst...)
		for i := range m.Rows {
			for j := range m.Cols {
				want[j] += m.Data[i*m.Cols+j]
			}
		}
		sumRows(dst, m)
		for j := range dst {
			if dst[j] != want[j] {
				t.Fatalf("%v: dst[%d] = %v, want %v", s, j, dst[j], want[j])
			}
		}
	}
}

// TestSoftmaxLSE: the fused softmax returns LogSumExp and a distribution.
func TestSoftmaxLSE(t *testing.T) {
	x := []float32{0.3, -2, 5, 1.25, 0, 4.5, -7, 2, 3.3, 0.1, 1}
	y := make([]float32, len(x))
	lse := SoftmaxLSE(y, x)
	if want := LogSumExp(x); math.Abs(float64(lse-want)) > 1e-6 {
		t.Fatalf("lse %v, want %v", lse, want)
	}
	for i, v := range y {
		if want := math.Exp(float64(x[i] - lse)); math.Abs(float64(v)-want) > 1e-6 {
			t.Fatalf("y[%d] = %v, want %v", i, v, want)
		}
	}
}

// TestMax checks Max against the max builtin on every length up to 41 and
// with a NaN, −Inf or signed zeros at every position.
func TestMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	nan := float32(math.NaN())
	for n := 1; n <= 41; n++ {
		x := make([]float32, n)
		Normal(rng, x, 1)
		if got, want := Max(x), maxGo(x); got != want {
			t.Fatalf("n=%d: Max = %v, want %v", n, got, want)
		}
		for p := range n {
			for _, special := range []float32{nan, float32(math.Inf(-1)), float32(math.Inf(1)), float32(math.Copysign(0, -1))} {
				y := append([]float32(nil), x...)
				y[p] = special
				got, want := Max(y), maxGo(y)
				if got != want && !(got != got && want != want) {
					t.Fatalf("n=%d, x[%d]=%v: Max = %v, want %v", n, p, special, got, want)
				}
			}
		}
	}
}

// TestLayerNormRows checks the LayerNorm row kernels against the Go rows
// (float64 sums) on row widths the vector path takes and on one it leaves
// to Go, with a large mean to test the variance's two passes.
func TestLayerNormRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, d := range []int{8, 16, 40, 128, 768, 13} {
		r := func(shift float32) []float32 {
			x := make([]float32, d)
			Normal(rng, x, 1)
			for i := range x {
				x[i] += shift
			}
			return x
		}
		x, g, b, dy := r(100), r(1), r(0), r(0)
		y1, xh1, y2, xh2 := make([]float32, d), make([]float32, d), make([]float32, d), make([]float32, d)
		rs1 := lnRow(y1, xh1, x, g, b, 1e-5)
		rs2 := lnRowGo(y2, xh2, x, g, b, 1e-5)
		near := func(name string, a, w []float32, tol float64) {
			for i := range a {
				if math.Abs(float64(a[i]-w[i])) > tol*math.Max(1, math.Abs(float64(w[i]))) {
					t.Fatalf("d=%d %s[%d] = %v, want %v", d, name, i, a[i], w[i])
				}
			}
		}
		near("rstd", []float32{rs1}, []float32{rs2}, 1e-5)
		near("xhat", xh1, xh2, 1e-4)
		near("y", y1, y2, 1e-4)
		gg1, bg1, gg2, bg2 := r(0), r(0), make([]float32, d), make([]float32, d)
		copy(gg2, gg1)
		copy(bg2, bg1)
		dx1, dx2 := make([]float32, d), make([]float32, d)
		lnBackRow(dx1, dy, xh2, g, gg1, bg1, rs2)
		lnBackRowGo(dx2, dy, xh2, g, gg2, bg2, rs2)
		near("gain grad", gg1, gg2, 1e-5)
		near("bias grad", bg1, bg2, 1e-6)
		near("dx", dx1, dx2, 1e-4)
	}
}

// TestDotsGemvT checks decoding attention's kernels against the portable
// loops: scores of a query against n rows of keys (eight rows at a time and
// the tail), and probabilities times values on widths that take the 64-, 32-
// and 8-column paths and the scalar tail.
func TestDotsGemvT(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	r := func(n int) []float32 { x := make([]float32, n); Normal(rng, x, 1); return x }
	for _, k := range []int{4, 8, 16, 32, 40, 64} {
		for _, n := range []int{1, 7, 8, 9, 17, 56} {
			a, x := r(n*k), r(k)
			got, want := make([]float32, n), make([]float32, n)
			dotsKernel(got, a, x, 0.3)
			dotsGo(want, a, x, 0.3)
			for j := range got {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-5*float64(k) {
					t.Fatalf("dots k=%d n=%d [%d]: %v vs portable %v", k, n, j, got[j], want[j])
				}
			}
		}
	}
	for _, n := range []int{8, 16, 32, 36, 40, 64, 104} {
		for _, k := range []int{1, 5, 56} {
			p, v := r(k), r(k*n)
			got, want := r(n), make([]float32, n)
			copy(want, got)
			gemvTKernel(got, p, 1, v, n, k, 1)
			for kk := range k {
				axpyGo(p[kk], v[kk*n:(kk+1)*n], want)
			}
			for j := range got {
				if d := math.Abs(float64(got[j] - want[j])); d > 1e-5*float64(k) {
					t.Fatalf("gemvT n=%d k=%d [%d]: %v vs portable %v", n, k, j, got[j], want[j])
				}
			}
		}
	}
}

package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExp32Tanh32(t *testing.T) {
	var worstExp, worstTanh float64
	for x := -87.0; x <= 88.0; x += 0.00731 {
		got, want := float64(Exp32(float32(x))), math.Exp(float64(float32(x)))
		worstExp = max(worstExp, math.Abs(got-want)/want)
	}
	for x := -12.0; x <= 12.0; x += 0.000917 {
		got, want := float64(Tanh32(float32(x))), math.Tanh(float64(float32(x)))
		worstTanh = max(worstTanh, math.Abs(got-want))
	}
	if worstExp > 4e-7 {
		t.Errorf("exp32: worst relative error %.3g, want ≤ 4e-7", worstExp)
	}
	if worstTanh > 3e-7 {
		t.Errorf("tanh32: worst absolute error %.3g, want ≤ 3e-7", worstTanh)
	}
	for _, c := range []struct{ x, want float32 }{{-100, 0}, {0, 1}, {float32(math.Inf(-1)), 0}} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := Exp32(100); !math.IsInf(float64(got), 1) {
		t.Errorf("exp32(100) = %v, want +Inf", got)
	}
}

func TestLog32(t *testing.T) {
	var worst float64
	for x := 1e-30; x < 1e30; x *= 1.00731 {
		got, want := float64(Log32(float32(x))), math.Log(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/math.Max(1, math.Abs(want)))
	}
	if worst > 3e-7 {
		t.Errorf("Log32: worst error %.3g, want ≤ 3e-7", worst)
	}
	worst = 0
	var xs []float64
	for x := 1e-12; x < 1e6; x *= 1.0173 {
		xs = append(xs, x, -x)
	}
	for _, x := range xs {
		if x <= -0.9 {
			continue
		}
		got, want := float64(Log1p32(float32(x))), math.Log1p(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/math.Max(1e-30, math.Abs(want)))
	}
	if worst > 4e-7 {
		t.Errorf("Log1p32: worst relative error %.3g, want ≤ 4e-7", worst)
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []struct{ x, want float32 }{{1, 0}, {0, -inf}, {inf, inf}, {-1, nan}, {nan, nan}} {
		if got := Log32(c.x); got != c.want && !(got != got && c.want != c.want) {
			t.Errorf("Log32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := Log1p32(-1); got != -inf {
		t.Errorf("Log1p32(-1) = %v, want -Inf", got)
	}
}

// TestTanhKernel checks the vector tanh (the AVX2 kernel where there is one)
// against math.Tanh over [−12, 12] and at the edges: ±0 (sign kept), ±Inf,
// NaN, the branch point ±0.625, saturation.
func TestTanhKernel(t *testing.T) {
	var xs []float32
	for x := -12.0; x <= 12.0; x += 0.000917 {
		xs = append(xs, float32(x))
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	edges := []float32{0, float32(math.Copysign(0, -1)), inf, -inf, 0.625, -0.625, 0.62499997, 1e-30, -1e-30, 44, -44, 100, -100}
	xs = append(xs, edges...)
	xs = append(xs, nan, 0.5) // odd length: the last ones take the scalar tail
	got := make([]float32, len(xs))
	tanhKernel(got, xs)
	var worst float64
	for i, x := range xs {
		want := math.Tanh(float64(x))
		switch {
		case x != x:
			if got[i] == got[i] {
				t.Errorf("tanh(NaN) = %v, want NaN", got[i])
			}
		case math.IsInf(float64(x), 0):
			if got[i] != float32(want) {
				t.Errorf("tanh(%v) = %v, want %v", x, got[i], want)
			}
		default:
			worst = max(worst, math.Abs(float64(got[i])-want))
			if x == 0 && math.Signbit(float64(got[i])) != math.Signbit(float64(x)) {
				t.Errorf("tanh(%v) = %v: sign of zero lost", x, got[i])
			}
		}
	}
	if worst > 3e-7 {
		t.Errorf("worst absolute error %.3g, want ≤ 3e-7", worst)
	}
}

// TestLog1pTo checks the vector log1p against Log1p32 bit for bit (NaN for
// NaN) over magnitudes from 1e-40 to 1e38 of both signs and the edges: ±0,
// −1 and beyond, values whose 1 + x rounds to 1 or to 0, ±Inf, NaN; the odd
// length leaves a scalar tail.
func TestLog1pTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var xs []float32
	for range 200_001 {
		x := float32(math.Pow(10, -40+79*rng.Float64()))
		if rng.IntN(2) == 0 {
			x = -x
		}
		xs = append(xs, x, -1+float32(rng.Float64()))
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	xs = append(xs, 0, float32(math.Copysign(0, -1)), -1, -1.5, -1+0x1p-24, -1+0x1p-23, 0x1p-25, -0x1p-25, 1e-30,
		inf, -inf, nan, math.MaxFloat32, -math.MaxFloat32, 0x1p-149, 3)
	got := make([]float32, len(xs))
	Log1pTo(got, xs)
	for i, x := range xs {
		want := Log1p32(x)
		if want != want {
			if got[i] == got[i] {
				t.Fatalf("log1p(%v) = %v, want NaN", x, got[i])
			}
			continue
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("log1p(%v) = %v (%#x), Log1p32 %v (%#x)", x, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
	}
}

// TestExpToTanhTo checks the vector exp and the tanh built on it against
// Exp32 and Tanh32 bit for bit (NaN for NaN) over [−100, 100], around
// the thresholds of both, and at ±0, ±Inf and NaN; the odd length leaves
// a scalar tail.
func TestExpToTanhTo(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	var xs []float32
	for range 300_001 {
		xs = append(xs, float32(-100+200*rng.Float64()), float32(rng.NormFloat64()))
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, c := range []float32{88.72, -87.33, 88.38, 9, -9, 0.625, -0.625, 4.5, -4.5} {
		for d := float32(-4); d <= 4; d++ {
			xs = append(xs, math.Float32frombits(uint32(int32(math.Float32bits(c))+int32(d))))
		}
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), inf, -inf, nan, 1e-30, -1e-30)
	got := make([]float32, len(xs))
	for _, f := range []struct {
		name   string
		vec    func(dst, x []float32)
		scalar func(float32) float32
	}{{"exp", ExpTo, Exp32}, {"tanh", TanhTo, Tanh32}} {
		f.vec(got, xs)
		for i, x := range xs {
			want := f.scalar(x)
			if want != want {
				if got[i] == got[i] {
					t.Fatalf("%s(%v) = %v, want NaN", f.name, x, got[i])
				}
				continue
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("%s(%v) = %v (%#x), scalar %v (%#x)", f.name, x, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
			}
		}
	}
	in := append([]float32(nil), xs...)
	TanhTo(in, in) // in place
	for i := range in {
		if math.Float32bits(in[i]) != math.Float32bits(got[i]) && in[i] == in[i] {
			t.Fatalf("in place: tanh(%v) = %v, want %v", xs[i], in[i], got[i])
		}
	}
}

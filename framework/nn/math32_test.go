package nn

import (
	"math"
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

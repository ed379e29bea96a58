package offline

import (
	"math"
	"testing"
)

func TestArgmax(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	long := make([]float32, 40)
	long[17], long[33] = 2, 2
	for _, tc := range []struct {
		x    []float32
		want int
	}{
		{[]float32{3}, 0},
		{[]float32{1, 5, 5, 2}, 1},
		{long, 17},
		{[]float32{-inf, -inf}, 0},
		{[]float32{nan, 1, 2}, 0}, // as the scalar scan: nothing beats a NaN first
		{[]float32{1, nan, 2, 0}, 2},
		{append(append([]float32(nil), long...), nan), 17},
	} {
		if got := Argmax(tc.x); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}

package nn

import "math"

// LogSumExp returns log Σ exp(x_i), computed stably.
func LogSumExp(x []float32) float32 {
	m := Max(x)
	var buf [256]float32
	if len(x) <= len(buf) {
		return m + float32(math.Log(float64(expSum(buf[:len(x)], x, m))))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - m))
	}
	return m + float32(math.Log(s))
}

// Softmax writes softmax(x) into y (which may alias x).
func Softmax(y, x []float32) { softmax(y, x) }

// SoftmaxLSE writes softmax(x) into y (which may alias x) and returns
// log Σ exp(x_i), with one exponential per element.
func SoftmaxLSE(y, x []float32) float32 {
	m, s := softmax(y, x)
	return m + float32(math.Log(float64(s)))
}

// softmax is Softmax returning max x and Σ exp(x_i − max x).
func softmax(y, x []float32) (m, s float32) {
	m = Max(x)
	s = expSum(y, x, m)
	y = y[:len(x)]
	scaleMaskKernel(y, y, 1/s, nil)
	return m, s
}

// SoftmaxRows applies Softmax to every row of x into y.
func SoftmaxRows(y, x Mat) {
	for i := 0; i < x.Rows; i++ {
		Softmax(y.Row(i), x.Row(i))
	}
}

// SoftmaxRowsBackward turns dy into dL/dx for y = softmax(x) row-wise:
// dx = y ⊙ (dy − Σ dy⊙y), in place.
func SoftmaxRowsBackward(y, dy Mat) {
	for i := 0; i < y.Rows; i++ {
		yr, dr := y.Row(i), dy.Row(i)
		var dot float32
		for j := range yr {
			dot += yr[j] * dr[j]
		}
		for j := range yr {
			dr[j] = yr[j] * (dr[j] - dot)
		}
	}
}

// BatchGemm computes c[i] = alpha·op(a[i])·op(b[i]) + beta·c[i] for each i,
// for attention-style batched products over heads or sequences.
func BatchGemm(transA, transB bool, alpha float32, a, b []Mat, beta float32, c []Mat) {
	for i := range c {
		Gemm(transA, transB, alpha, a[i], b[i], beta, c[i])
	}
}

// AllFinite reports whether x holds no NaN or ±Inf.
func AllFinite(x []float32) bool {
	for _, v := range x {
		if v-v != 0 {
			return false
		}
	}
	return true
}

package nn

// Element-wise kernels with assembly versions on amd64 (AVX2+FMA, selected
// at run time) and these portable versions elsewhere.

func adamGo(w, g, m, v []float32, k *adamConsts) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		mi := m[i]*k.b1 + gi*k.omb1
		vi := v[i]*k.b2 + gi*gi*k.omb2
		m[i], v[i] = mi, vi
		w[i] -= k.step * mi / (sqrt32(vi)*k.invBc2s + k.eps)
	}
}

func reluGo(y []float32) {
	for i, v := range y {
		if v < 0 {
			y[i] = 0
		}
	}
}

func reluBackGo(dy, y []float32) {
	y = y[:len(dy)]
	for i, v := range y {
		if v <= 0 {
			dy[i] = 0
		}
	}
}

func addToGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// adamConsts is laid out for the assembly kernel: keep the field order.
type adamConsts struct {
	b1, omb1, b2, omb2, step, invBc2s, eps float32
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func dotsGo(dst, a, x []float32, scale float32) {
	k := len(x)
	for j := range dst {
		dst[j] = scale * dotGo(x, a[j*k:(j+1)*k])
	}
}

func axpyGo(a float32, x, y []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

func scaleMaskGo(dst, x []float32, s float32, mask []float32) {
	x = x[:len(dst)]
	for j, v := range x {
		if mask != nil && !(mask[j] > 0) {
			dst[j] = 0
			continue
		}
		dst[j] = s * v
	}
}

func maxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

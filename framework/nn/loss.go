package nn

import "math"

// Losses return the mean loss over the batch and ADD scale·dLoss/dinput to
// grad (so several terms can be summed into one gradient buffer).

// CrossEntropy is mean_i −log softmax(logits_i)[labels_i] (torch's
// F.cross_entropy with mean reduction).
func CrossEntropy(logits Mat, labels []int32, grad Mat, scale float32) float64 {
	return WeightedCrossEntropy(logits, labels, nil, grad, scale)
}

// WeightedCrossEntropy is mean_i w_i·(−log softmax(logits_i)[labels_i]), w
// nil meaning 1 (advantage-weighted categorical policies).
func WeightedCrossEntropy(logits Mat, labels []int32, w []float32, grad Mat, scale float32) float64 {
	var loss float64
	inv := scale / float32(logits.Rows)
	var buf [256]float32
	for i := 0; i < logits.Rows; i++ {
		r, g := logits.Row(i), grad.Row(i)
		a := int(labels[i])
		k := inv
		wi := float64(1)
		if w != nil {
			k, wi = inv*w[i], float64(w[i])
		}
		if len(r) > len(buf) {
			lse := LogSumExp(r)
			loss += wi * float64(lse-r[a])
			for j, v := range r {
				g[j] += k * float32(math.Exp(float64(v-lse)))
			}
			g[a] -= k
			continue
		}
		// One exp per element: softmax = e/Σe, logsumexp = max + log Σe.
		mx := Max(r)
		e := buf[:len(r)]
		sum := float64(expSum(e, r, mx))
		ks := k / float32(sum)
		g = g[:len(e)]
		for j, v := range e {
			g[j] += ks * v
		}
		loss += wi * (float64(mx) + math.Log(sum) - float64(r[a]))
		g[a] -= k
	}
	return loss / float64(logits.Rows)
}

// MeanSquare is mean(x²) over all elements (d3rlpy's logit regulariser).
func MeanSquare(x Mat, grad Mat, scale float32) float64 {
	var s float64
	k := 2 * scale / float32(len(x.Data))
	for i, v := range x.Data {
		s += float64(v * v)
		grad.Data[i] += k * v
	}
	return s / float64(len(x.Data))
}

// MSE is mean((pred − target)²).
func MSE(pred, target, grad []float32, scale float32) float64 {
	var s float64
	k := 2 * scale / float32(len(pred))
	for i, p := range pred {
		d := p - target[i]
		s += float64(d * d)
		grad[i] += k * d
	}
	return s / float64(len(pred))
}

// Huber is mean(huber_δ(pred − target)): ½d² when |d| < δ, δ(|d| − ½δ)
// otherwise (d3rlpy's compute_huber_loss with β=δ).
func Huber(pred, target, grad []float32, delta, scale float32) float64 {
	var s float64
	k := scale / float32(len(pred))
	for i, p := range pred {
		d := p - target[i]
		if d < delta && d > -delta {
			s += float64(0.5 * d * d)
			grad[i] += k * d
		} else {
			ad := d
			if ad < 0 {
				ad = -ad
			}
			s += float64(delta * (ad - 0.5*delta))
			if d > 0 {
				grad[i] += k * delta
			} else {
				grad[i] -= k * delta
			}
		}
	}
	return s / float64(len(pred))
}

// Expectile is IQL's value loss mean(|τ − 1(u<0)|·u²) with u = target − pred;
// the gradient is taken with respect to pred.
func Expectile(pred, target, grad []float32, tau, scale float32) float64 {
	var s float64
	k := 2 * scale / float32(len(pred))
	for i, p := range pred {
		u := target[i] - p
		w := tau
		if u < 0 {
			w = 1 - tau
		}
		s += float64(w * u * u)
		grad[i] -= k * w * u
	}
	return s / float64(len(pred))
}

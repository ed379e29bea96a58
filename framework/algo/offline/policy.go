package offline

import (
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/nn"
)

// GaussianActor is IQL's (and Gaussian BC's) policy: a diagonal Gaussian
// whose mean is tanh-bounded, tanh(MLP(s)), with a state-independent log-std
// clamped to [LogStdMin, LogStdMax] (CORL's GaussianPolicy; the
// distribution itself is not tanh-transformed).
type GaussianActor struct {
	Net                  *nn.MLP
	LogStd               *nn.Param
	LogStdMin, LogStdMax float32
	// Drop, when set, applies dropout to the hidden layers in WeightedNLL
	// (training) but not in Act.
	Drop *Dropout

	dmu []float32
}

// NewGaussianActor builds the actor; the MLP's parameters are named
// prefix+"net.<i>.weight" and the log-std prefix+"log_std" (torch's names).
func NewGaussianActor(rng *rand.Rand, prefix string, dims []int) *GaussianActor {
	a := dims[len(dims)-1]
	return &GaussianActor{
		Net:       nn.NewMLP(rng, prefix+"net.", dims, nn.ReLU, nn.Tanh),
		LogStd:    &nn.Param{Name: prefix + "log_std", Shape: []int{a}, Value: make([]float32, a), Grad: make([]float32, a)},
		LogStdMin: -20, LogStdMax: 2,
	}
}

// Params are the trainable tensors (for the optimiser).
func (g *GaussianActor) Params() []*nn.Param { return []*nn.Param{g.LogStd, g.Net.Flat()} }

// State lists the tensors under their torch names.
func (g *GaussianActor) State() []*nn.Param { return append([]*nn.Param{g.LogStd}, g.Net.Params()...) }

func (g *GaussianActor) logStd(j int) (float32, bool) {
	v := g.LogStd.Value[j]
	if v < g.LogStdMin {
		return g.LogStdMin, false
	}
	if v > g.LogStdMax {
		return g.LogStdMax, false
	}
	return v, true
}

// WeightedNLL computes mean_i w_i·(−Σ_j log N(a_ij; μ_ij, σ_j)) (w nil means
// 1), accumulates its gradient into the actor's parameters, and returns it.
func (g *GaussianActor) WeightedNLL(obs nn.Mat, act, w []float32) float64 {
	mu := g.Drop.Forward(g.Net, obs)
	n, d := mu.Rows, mu.Cols
	g.dmu = nn.Grow(g.dmu, n*d)
	const halfLog2Pi = 0.9189385332046727
	var loss float64
	inv := 1 / float32(n)
	for j := 0; j < d; j++ {
		ls, inside := g.logStd(j)
		ivar := float32(math.Exp(-2 * float64(ls)))
		var gls float32
		for i := 0; i < n; i++ {
			wi := float32(1)
			if w != nil {
				wi = w[i]
			}
			diff := act[i*d+j] - mu.Data[i*d+j]
			z2 := diff * diff * ivar
			loss += float64(wi) * (0.5*float64(z2) + float64(ls) + halfLog2Pi)
			g.dmu[i*d+j] = -wi * inv * diff * ivar
			gls += wi * inv * (1 - z2)
		}
		if inside {
			g.LogStd.Grad[j] += gls
		}
	}
	g.Drop.Backward(g.Net, nn.View(g.dmu, n, d), true, false)
	return loss / float64(n)
}

// Act writes the mean (deterministic) or a sample clipped to [-1, 1].
func (g *GaussianActor) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	mu := g.Net.Forward(obs)
	copy(out, mu.Data)
	if deterministic {
		return
	}
	for i := range out[:len(mu.Data)] {
		ls, _ := g.logStd(i % mu.Cols)
		v := out[i] + float32(rng.NormFloat64()*math.Exp(float64(ls)))
		out[i] = max(-1, min(1, v))
	}
}

// Argmax returns the index of the largest element (the first on ties).
func Argmax(x []float32) int {
	if m := nn.Max(x); m == m { // no NaN: the first element equal to the max
		for j, v := range x {
			if v == m {
				return j
			}
		}
	}
	best := 0
	for j, v := range x {
		if v > x[best] {
			best = j
		}
	}
	return best
}

// SampleSoftmax draws an index from softmax(logits).
func SampleSoftmax(logits []float32, rng *rand.Rand) int {
	lse := nn.LogSumExp(logits)
	u := rng.Float64()
	var c float64
	for j, v := range logits {
		c += math.Exp(float64(v - lse))
		if u < c {
			return j
		}
	}
	return len(logits) - 1
}

// ActCategorical writes argmax or sampled indices of per-row logits.
func ActCategorical(logits nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	for i := 0; i < logits.Rows; i++ {
		if deterministic {
			out[i] = float32(Argmax(logits.Row(i)))
		} else {
			out[i] = float32(SampleSoftmax(logits.Row(i), rng))
		}
	}
}

// Dropout is dropout with probability P after every hidden layer of an MLP
// (Linear, ReLU, Dropout, as CORL's MLP(dropout=p)), for training passes
// only: acting calls the MLP directly. Masks are drawn from Rng, which should
// be the learner's checkpointed stream. A nil *Dropout or P = 0 is the plain
// MLP.
type Dropout struct {
	P   float64
	Rng *rand.Rand

	d []nn.Dropout
}

// Forward runs net on x with dropout after each hidden layer.
func (d *Dropout) Forward(net *nn.MLP, x nn.Mat) nn.Mat {
	if d == nil || d.P == 0 {
		return net.Forward(x)
	}
	if len(d.d) != len(net.Layers)-1 {
		d.d = make([]nn.Dropout, len(net.Layers)-1)
		for i := range d.d {
			d.d[i] = nn.Dropout{P: d.P, Train: true, Rng: d.Rng}
		}
	}
	for i, l := range net.Layers {
		x = l.Forward(x)
		if i < len(d.d) {
			x = d.d[i].Forward(x)
		}
	}
	return x
}

// Backward back-propagates dy (overwritten) through the last Forward, as
// nn.MLP.Backward.
func (d *Dropout) Backward(net *nn.MLP, dy nn.Mat, paramGrad, inputGrad bool) nn.Mat {
	if d == nil || d.P == 0 {
		return net.Backward(dy, paramGrad, inputGrad)
	}
	for i := len(net.Layers) - 1; i >= 0; i-- {
		if i < len(d.d) {
			dy = d.d[i].Backward(dy)
		}
		dy = net.Layers[i].Backward(dy, paramGrad, inputGrad || i > 0)
	}
	return dy
}

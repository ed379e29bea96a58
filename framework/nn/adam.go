package nn

import "math"

// AdamConfig holds torch.optim.Adam/AdamW settings.
type AdamConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
	Decoupled    bool // AdamW: decay the weights directly instead of adding to the gradient
}

// DefaultAdam is torch's default Adam with the given learning rate.
func DefaultAdam(lr float64) AdamConfig {
	return AdamConfig{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Adam implements torch.optim.Adam's (single-tensor) update, and AdamW's with
// Decoupled. LR may be changed between steps (schedules).
type Adam struct {
	AdamConfig
	Params []*Param
	M, V   []*Param // moment estimates, named "<param>.exp_avg"/".exp_avg_sq"
	T      int      // steps taken
}

// NewAdam allocates the moment buffers for params.
func NewAdam(cfg AdamConfig, params ...*Param) *Adam {
	a := &Adam{AdamConfig: cfg, Params: params}
	for _, p := range params {
		a.M = append(a.M, &Param{Name: p.Name + ".exp_avg", Shape: p.Shape, Value: make([]float32, len(p.Value))})
		a.V = append(a.V, &Param{Name: p.Name + ".exp_avg_sq", Shape: p.Shape, Value: make([]float32, len(p.Value))})
	}
	return a
}

// Step applies one update from the current gradients (which it leaves intact).
func (a *Adam) Step() {
	a.T++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.T))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.T))
	k := adamConsts{b1: float32(a.Beta1), omb1: float32(1 - a.Beta1), b2: float32(a.Beta2), omb2: float32(1 - a.Beta2),
		step: float32(a.LR / bc1), invBc2s: float32(1 / math.Sqrt(bc2)), eps: float32(a.Eps)}
	wd := float32(a.WeightDecay)
	decay := float32(1 - a.LR*a.WeightDecay)
	settleGrads(a.Params)
	for pi, p := range a.Params {
		w, g := p.Value, p.Grad[:len(p.Value)]
		m, v := a.M[pi].Value[:len(w)], a.V[pi].Value[:len(w)]
		switch {
		case wd == 0:
			adamKernel(w, g, m, v, &k)
		case a.Decoupled:
			scale(decay, w)
			adamKernel(w, g, m, v, &k)
		default: // L2 penalty added to (a copy of) the gradient, as torch
			for i := range w {
				gi := g[i] + wd*w[i]
				mi := m[i]*k.b1 + gi*k.omb1
				vi := v[i]*k.b2 + gi*gi*k.omb2
				m[i], v[i] = mi, vi
				w[i] -= k.step * mi / (sqrt32(vi)*k.invBc2s + k.eps)
			}
		}
	}
}

// State returns the moment buffers (for checkpoints).
func (a *Adam) State() []*Param { return append(append([]*Param(nil), a.M...), a.V...) }

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// ClipGradNorm scales the gradients of params so that their global L2 norm is
// at most maxNorm (torch.nn.utils.clip_grad_norm_) and returns the norm
// before clipping.
func ClipGradNorm(maxNorm float64, params ...*Param) float64 {
	settleGrads(params)
	var s float64
	for _, p := range params {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	n := math.Sqrt(s)
	if c := maxNorm / (n + 1e-6); c < 1 {
		for _, p := range params {
			scale(float32(c), p.Grad)
		}
	}
	return n
}

// Cosine is torch's CosineAnnealingLR in closed form:
// lr(t) = Min + (Base − Min)(1 + cos(πt/T))/2, and Min after T.
type Cosine struct {
	Base, Min float64
	T         int
}

// At returns the learning rate after t scheduler steps.
func (c Cosine) At(t int) float64 {
	if c.T <= 0 || t >= c.T {
		if c.T <= 0 {
			return c.Base
		}
		return c.Min
	}
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*float64(t)/float64(c.T)))/2
}

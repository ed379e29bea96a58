package td3bc

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Factory is TD3+BC.
var Factory = offline.Factory{
	Name:   "td3bc",
	Spaces: []dataset.Kind{dataset.Continuous},
	Params: []offline.Param{
		{Name: "lr", Type: algo.TypeFloat, Default: 3e-4, Help: "Adam learning rate of actor and critics"},
		{Name: "alpha", Type: algo.TypeFloat, Default: 0.5, Help: "α in λ = α / mean|Q| (KALM Table 3: 0.5; CORL, d3rlpy and the KALM code: 2.5)"},
		{Name: "discount", Type: algo.TypeFloat, Default: 0.99, Help: "γ"},
		{Name: "tau", Type: algo.TypeFloat, Default: 0.005, Help: "Polyak rate of the targets"},
		{Name: "policy_noise", Type: algo.TypeFloat, Default: 0.2, Help: "std of the target-policy noise (× max action 1)"},
		{Name: "noise_clip", Type: algo.TypeFloat, Default: 0.5, Help: "clip of the target-policy noise"},
		{Name: "policy_freq", Type: algo.TypeInt, Default: 2, Help: "critic steps per actor (and target) update"},
	},
	New: New,
}

// Learner holds TD3+BC's networks.
type Learner struct {
	Actor, ActorT *nn.MLP
	C1, C2        *nn.MLP
	C1t, C2t      *nn.MLP
	AOpt          *nn.Adam
	C1Opt, C2Opt  *nn.Adam
	Alpha, Gamma  float32
	Tau           float32
	Sigma, Clip   float32
	Freq, It      int
	// Noise fills buf with N(0, 1) draws for the target-policy smoothing;
	// tests replace it to replay torch's draws.
	Noise func(buf []float32)

	noise, sa, y []float32
	d1, d2, dpi  []float32
	m            []float64
	tracking     bool // the targets are tracking (nn.MLP.Track) since the last State
}

// New builds a TD3+BC learner.
func New(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (offline.Learner, error) {
	if spec.Space.Kind != dataset.Continuous {
		return nil, fmt.Errorf("td3bc: needs a continuous action space, dataset has %q", spec.Space.Kind)
	}
	lr := h.Float("lr")
	a, in := spec.Space.Dim, spec.InDim
	l := &Learner{
		Alpha: float32(h.Float("alpha")), Gamma: float32(h.Float("discount")), Tau: float32(h.Float("tau")),
		Sigma: float32(h.Float("policy_noise")), Clip: float32(h.Float("noise_clip")), Freq: h.Int("policy_freq"),
		m: make([]float64, 4),
	}
	if l.Freq < 1 {
		return nil, fmt.Errorf("td3bc: policy_freq = %d, want ≥ 1", l.Freq)
	}
	l.Actor = nn.NewMLP(rng, "actor/", h.Dims(in, a), nn.ReLU, nn.Tanh)
	l.ActorT = nn.NewMLP(rng, "actor_t/", h.Dims(in, a), nn.ReLU, nn.Tanh)
	nn.CopyParams(l.ActorT.Params(), l.Actor.Params())
	l.C1 = nn.NewMLP(rng, "c1/", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C2 = nn.NewMLP(rng, "c2/", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C1t = nn.NewMLP(rng, "c1_t/", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	l.C2t = nn.NewMLP(rng, "c2_t/", h.Dims(in+a, 1), nn.ReLU, nn.Identity)
	nn.CopyParams(l.C1t.Params(), l.C1.Params())
	nn.CopyParams(l.C2t.Params(), l.C2.Params())
	l.AOpt = nn.NewAdam(nn.DefaultAdam(lr), l.Actor.Flat())
	l.C1Opt = nn.NewAdam(nn.DefaultAdam(lr), l.C1.Flat())
	l.C2Opt = nn.NewAdam(nn.DefaultAdam(lr), l.C2.Flat())
	l.Noise = func(buf []float32) {
		for i := range buf {
			buf[i] = float32(rng.NormFloat64())
		}
	}
	return l, nil
}

func (l *Learner) MetricNames() []string {
	return []string{"critic_loss", "actor_loss", "q_mean", "lambda"}
}

// State returns every tensor of the learner, with the targets' weights
// written back from their packings (see Update).
func (l *Learner) State() []*nn.Param {
	l.untrack()
	var s []*nn.Param
	for _, m := range []*nn.MLP{l.Actor, l.ActorT, l.C1, l.C2, l.C1t, l.C2t} {
		s = append(s, m.Params()...)
	}
	for _, o := range []*nn.Adam{l.AOpt, l.C1Opt, l.C2Opt} {
		s = append(s, o.State()...)
	}
	return s
}

func (l *Learner) Counters() []*int { return []*int{&l.AOpt.T, &l.C1Opt.T, &l.C2Opt.T, &l.It} }

// track makes the targets keep their weights packed (nn.MLP.Track): they
// only run forward and change by Polyak averaging, so they pack once.
func (l *Learner) track() {
	if !l.tracking {
		for _, m := range l.targets() {
			m.Track()
		}
		l.tracking = true
	}
}

// untrack writes the targets' weights back from their packings.
func (l *Learner) untrack() {
	if l.tracking {
		for _, m := range l.targets() {
			m.Untrack()
		}
		l.tracking = false
	}
}

func (l *Learner) targets() [3]*nn.MLP { return [3]*nn.MLP{l.ActorT, l.C1t, l.C2t} }

// concat writes s⊕a rows into l.sa.
func (l *Learner) concat(s, a []float32, n, sd, ad int) nn.Mat {
	w := sd + ad
	l.sa = nn.Grow(l.sa, n*w)
	for i := range n {
		copy(l.sa[i*w:], s[i*sd:(i+1)*sd])
		copy(l.sa[i*w+sd:], a[i*ad:(i+1)*ad])
	}
	return nn.View(l.sa, n, w)
}

// Update is one TD3+BC step.
func (l *Learner) Update(b *offline.Batch) []float64 {
	l.It++
	n, ad := b.N, b.ActDim
	l.track()
	l.noise = nn.Grow(l.noise, n*ad)
	l.y = nn.Grow(l.y, n)
	l.Noise(l.noise)
	next := l.ActorT.Forward(b.NextObsMat())
	for i, v := range next.Data {
		e := max(-l.Clip, min(l.Clip, l.noise[i]*l.Sigma))
		l.noise[i] = max(-1, min(1, v+e)) // reuse as the next action
	}
	nsa := l.concat(b.NextObs, l.noise, n, b.InDim, ad)
	t1 := l.C1t.Forward(nsa)
	copy(l.y, t1.Data)
	t2 := l.C2t.Forward(nsa)
	for i := range n {
		l.y[i] = b.Rew[i] + (1-b.Done[i])*l.Gamma*min(l.y[i], t2.Data[i])
	}

	sa := l.concat(b.Obs, b.Act, n, b.InDim, ad)
	l.C1.ZeroGrad()
	l.C2.ZeroGrad()
	var qMean float64
	cLoss := l.critic(l.C1, sa, &l.d1, &qMean) + l.critic(l.C2, sa, &l.d2, nil)
	l.C1Opt.Step()
	l.C2Opt.Step()
	l.m[0], l.m[2] = cLoss, qMean

	if l.It%l.Freq == 0 {
		l.Actor.ZeroGrad()
		pi := l.Actor.Forward(b.ObsMat())
		psa := l.concat(b.Obs, pi.Data, n, b.InDim, ad)
		// C1 is packed once for the forward and backward products and for
		// averaging into its target.
		l.C1.Hold()
		q := l.C1.Forward(psa)
		var absMean, mean float64
		for _, v := range q.Data {
			absMean += math.Abs(float64(v))
			mean += float64(v)
		}
		absMean /= float64(n)
		mean /= float64(n)
		lambda := float32(float64(l.Alpha) / absMean)
		l.d1 = nn.Grow(l.d1, n)
		for i := range n {
			l.d1[i] = -lambda / float32(n)
		}
		dsa := l.C1.Backward(nn.View(l.d1, n, 1), false, true)
		l.dpi = nn.Grow(l.dpi, n*ad)
		w := b.InDim + ad
		for i := range n {
			copy(l.dpi[i*ad:(i+1)*ad], dsa.Data[i*w+b.InDim:(i+1)*w])
		}
		bc := nn.MSE(pi.Data, b.Act, l.dpi, 1)
		l.Actor.Backward(nn.View(l.dpi, n, ad), true, false)
		l.AOpt.Step()
		l.C1t.PolyakFrom(l.C1, l.Tau)
		l.C1.Release()
		l.C2t.PolyakFrom(l.C2, l.Tau)
		l.ActorT.PolyakFrom(l.Actor, l.Tau)
		l.m[1] = -float64(lambda)*mean + bc
		l.m[3] = float64(lambda)
	}
	return l.m
}

// critic accumulates the gradient of MSE(C(s,a), y) and returns the MSE.
func (l *Learner) critic(c *nn.MLP, sa nn.Mat, buf *[]float32, qMean *float64) float64 {
	q := c.Forward(sa)
	*buf = nn.Grow(*buf, q.Rows)
	clear(*buf)
	loss := nn.MSE(q.Data, l.y, *buf, 1)
	if qMean != nil {
		var s float64
		for _, v := range q.Data {
			s += float64(v)
		}
		*qMean = s / float64(q.Rows)
	}
	c.Backward(nn.View(*buf, q.Rows, 1), true, false)
	return loss
}

// Act returns the actor's output; TD3+BC evaluates deterministically and
// adds N(0, policy_noise²) exploration when sampling.
func (l *Learner) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	copy(out, l.Actor.Forward(obs).Data)
	if deterministic {
		return
	}
	for i := range out[:obs.Rows*l.Actor.Out()] {
		out[i] = max(-1, min(1, out[i]+l.Sigma*float32(rng.NormFloat64())))
	}
}

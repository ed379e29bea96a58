package iql

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Factory is IQL.
var Factory = offline.Factory{
	Name:   "iql",
	Spaces: []dataset.Kind{dataset.Continuous, dataset.Discrete},
	Params: []offline.Param{
		{Name: "lr", Type: algo.TypeFloat, Default: 3e-4, Help: "Adam learning rate of Q, V and actor"},
		{Name: "expectile", Type: algo.TypeFloat, Default: 0.7, Help: "expectile τ of the value regression (antmaze: 0.9)"},
		{Name: "beta", Type: algo.TypeFloat, Default: 3.0, Help: "inverse temperature of the advantage weights (antmaze: 10)"},
		{Name: "max_weight", Type: algo.TypeFloat, Default: 100.0, Help: "clip of exp(β·advantage), applied after the exp"},
		{Name: "discount", Type: algo.TypeFloat, Default: 0.99, Help: "γ"},
		{Name: "tau", Type: algo.TypeFloat, Default: 0.005, Help: "Polyak rate of the target Q networks"},
		{Name: "actor_cosine_steps", Type: algo.TypeInt, Default: 0, Help: "steps over which the actor lr decays to 0 (0: the run's length)"},
		{Name: "actor_dropout", Type: algo.TypeFloat, Default: 0.0, Help: "dropout probability after each hidden layer of the actor while training, in [0, 1); never when acting (CORL iql.py actor_dropout; the IQL paper uses 0.1 on kitchen and adroit)"},
	},
	New: New,
}

// Learner holds IQL's networks. Q nets map s⊕a → 1 (continuous) or s → |A|
// (discrete).
type Learner struct {
	Discrete       bool
	Q1, Q2, Q1t    *nn.MLP
	Q2t, V         *nn.MLP
	Actor          *offline.GaussianActor // continuous
	Logits         *nn.MLP                // discrete actor
	Drop           *offline.Dropout       // actor dropout (nil: none)
	QOpt, VOpt     *nn.Adam
	AOpt           *nn.Adam
	Cos            nn.Cosine
	Expectile      float32
	Beta, MaxW     float32
	Gamma, Tau     float32
	nA             int
	sa, nextV, tq  []float32
	ss             []float32 // [s; s′]: one forward of V for the target and the value step
	adv, w, target []float32
	dv, dq1, dq2   []float32
	dlog           []float32
	m              []float64
}

// New builds an IQL learner. The actor's cosine schedule runs over
// actor_cosine_steps, or over the run (spec.Steps) when that is 0.
func New(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (offline.Learner, error) {
	l := &Learner{
		Expectile: float32(h.Float("expectile")), Beta: float32(h.Float("beta")), MaxW: float32(h.Float("max_weight")),
		Gamma: float32(h.Float("discount")), Tau: float32(h.Float("tau")), m: make([]float64, 7),
	}
	if l.Expectile <= 0 || l.Expectile >= 1 {
		return nil, fmt.Errorf("iql: expectile = %v, want in (0, 1)", l.Expectile)
	}
	if p := h.Float("actor_dropout"); !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("iql: actor_dropout = %v, want in [0, 1)", p)
	} else if p > 0 {
		l.Drop = &offline.Dropout{P: p, Rng: rng}
	}
	lr := h.Float("lr")
	var qIn, qOut int
	switch spec.Space.Kind {
	case dataset.Continuous:
		qIn, qOut = spec.InDim+spec.Space.Dim, 1
	case dataset.Discrete:
		l.Discrete, l.nA = true, spec.Space.N
		qIn, qOut = spec.InDim, spec.Space.N
	default:
		return nil, fmt.Errorf("iql: action space kind %q", spec.Space.Kind)
	}
	// Construction order follows bench_torch.py's IQL: q1, q2, (copies), vf, actor.
	l.Q1 = nn.NewMLP(rng, "q1/", h.Dims(qIn, qOut), nn.ReLU, nn.Identity)
	l.Q2 = nn.NewMLP(rng, "q2/", h.Dims(qIn, qOut), nn.ReLU, nn.Identity)
	l.Q1t = nn.NewMLP(rng, "q1_t/", h.Dims(qIn, qOut), nn.ReLU, nn.Identity)
	l.Q2t = nn.NewMLP(rng, "q2_t/", h.Dims(qIn, qOut), nn.ReLU, nn.Identity)
	nn.CopyParams(l.Q1t.Params(), l.Q1.Params())
	nn.CopyParams(l.Q2t.Params(), l.Q2.Params())
	l.V = nn.NewMLP(rng, "vf/", h.Dims(spec.InDim, 1), nn.ReLU, nn.Identity)
	var actor []*nn.Param
	if l.Discrete {
		l.Logits = nn.NewMLP(rng, "actor/net.", h.Dims(spec.InDim, l.nA), nn.ReLU, nn.Identity)
		actor = []*nn.Param{l.Logits.Flat()}
	} else {
		l.Actor = offline.NewGaussianActor(rng, "actor/", h.Dims(spec.InDim, spec.Space.Dim))
		l.Actor.Drop = l.Drop
		actor = l.Actor.Params()
	}
	l.QOpt = nn.NewAdam(nn.DefaultAdam(lr), l.Q1.Flat(), l.Q2.Flat())
	l.VOpt = nn.NewAdam(nn.DefaultAdam(lr), l.V.Flat())
	l.AOpt = nn.NewAdam(nn.DefaultAdam(lr), actor...)
	l.Cos = nn.Cosine{Base: lr, T: h.Int("actor_cosine_steps")}
	if l.Cos.T == 0 {
		l.Cos.T = spec.Steps
	}
	return l, nil
}

func (l *Learner) MetricNames() []string {
	return []string{"value_loss", "q_loss", "actor_loss", "q_mean", "v_mean", "adv_mean", "weight_mean"}
}

func (l *Learner) State() []*nn.Param {
	var s []*nn.Param
	for _, m := range []*nn.MLP{l.Q1, l.Q2, l.Q1t, l.Q2t, l.V} {
		s = append(s, m.Params()...)
	}
	if l.Discrete {
		s = append(s, l.Logits.Params()...)
	} else {
		s = append(s, l.Actor.State()...)
	}
	for _, o := range []*nn.Adam{l.QOpt, l.VOpt, l.AOpt} {
		s = append(s, o.State()...)
	}
	return s
}

func (l *Learner) Counters() []*int { return []*int{&l.QOpt.T, &l.VOpt.T, &l.AOpt.T} }

// qInput returns the Q-network input: s⊕a (continuous) or s (discrete).
func (l *Learner) qInput(b *offline.Batch) nn.Mat {
	if l.Discrete {
		return b.ObsMat()
	}
	w := b.InDim + b.ActDim
	l.sa = nn.Grow(l.sa, b.N*w)
	for i := 0; i < b.N; i++ {
		copy(l.sa[i*w:], b.Obs[i*b.InDim:(i+1)*b.InDim])
		copy(l.sa[i*w+b.InDim:], b.Act[i*b.ActDim:(i+1)*b.ActDim])
	}
	return nn.View(l.sa, b.N, w)
}

// gather returns q[i, a_i] (discrete) or q[i, 0].
func (l *Learner) gather(q nn.Mat, b *offline.Batch, i int) float32 {
	if l.Discrete {
		return q.Data[i*q.Cols+int(b.ActIdx[i])]
	}
	return q.Data[i]
}

// Update is one IQL step in CORL's order.
func (l *Learner) Update(b *offline.Batch) []float64 {
	n := b.N
	grow := func(p *[]float32, k int) []float32 { *p = nn.Grow(*p, k); return *p }
	nextV, tq, adv, w, target := grow(&l.nextV, n), grow(&l.tq, n), grow(&l.adv, n), grow(&l.w, n), grow(&l.target, n)

	// V on s and s′ in one forward (the value step back-propagates the s rows).
	vv := l.V.Forward(b.BothObsMat(&l.ss))
	copy(nextV, vv.Data[n:2*n])
	sa := l.qInput(b)
	t1 := l.Q1t.Forward(sa)
	for i := range n {
		tq[i] = l.gather(t1, b, i)
	}
	t2 := l.Q2t.Forward(sa)
	for i := range n {
		tq[i] = min(tq[i], l.gather(t2, b, i))
	}

	// Value step: expectile regression of V(s) towards tq.
	l.V.ZeroGrad()
	v := nn.View(vv.Data[:n], n, 1)
	dv := grow(&l.dv, n)
	clear(dv)
	var vMean float64
	for i := range n {
		adv[i] = tq[i] - v.Data[i]
		vMean += float64(v.Data[i])
	}
	vLoss := nn.Expectile(v.Data, tq, dv, l.Expectile, 1)
	l.V.Backward(nn.View(dv, n, 1), true, false)
	l.VOpt.Step()

	// Q step: (MSE(Q1, y) + MSE(Q2, y)) / 2 with y = r + γ(1−d)V(s').
	for i := range n {
		target[i] = b.Rew[i] + (1-b.Done[i])*l.Gamma*nextV[i]
	}
	l.Q1.ZeroGrad()
	l.Q2.ZeroGrad()
	qLoss, qMean := l.qStep(l.Q1, sa, b, target, &l.dq1)
	q2Loss, _ := l.qStep(l.Q2, sa, b, target, &l.dq2)
	qLoss = (qLoss + q2Loss) / 2
	l.QOpt.Step()
	nn.Polyak(l.Q1t.Flat(), l.Q1.Flat(), l.Tau)
	nn.Polyak(l.Q2t.Flat(), l.Q2.Flat(), l.Tau)

	// Actor step: advantage-weighted regression with the pre-update V.
	var wMean, advMean float64
	for i := range n {
		e := float32(math.Exp(float64(l.Beta * adv[i])))
		w[i] = min(e, l.MaxW)
		wMean += float64(w[i])
		advMean += float64(adv[i])
	}
	if l.Cos.T > 0 { // torch's CosineAnnealingLR, stepped after every actor step
		l.AOpt.LR = l.Cos.At(l.AOpt.T)
	}
	var aLoss float64
	if l.Discrete {
		l.Logits.ZeroGrad()
		logits := l.Drop.Forward(l.Logits, b.ObsMat())
		dl := grow(&l.dlog, len(logits.Data))
		clear(dl)
		aLoss = nn.WeightedCrossEntropy(logits, b.ActIdx, w, nn.View(dl, n, logits.Cols), 1)
		l.Drop.Backward(l.Logits, nn.View(dl, n, logits.Cols), true, false)
	} else {
		nn.ZeroGrad(l.Actor.Params()...)
		aLoss = l.Actor.WeightedNLL(b.ObsMat(), b.Act, w)
	}
	l.AOpt.Step()
	l.m[0], l.m[1], l.m[2] = vLoss, qLoss, aLoss
	l.m[3], l.m[4], l.m[5], l.m[6] = qMean, vMean/float64(n), advMean/float64(n), wMean/float64(n)
	return l.m
}

// qStep accumulates the gradient of MSE(Q(s,a), y)/2 into q and returns the
// MSE and the mean Q(s, a).
func (l *Learner) qStep(q *nn.MLP, in nn.Mat, b *offline.Batch, y []float32, buf *[]float32) (float64, float64) {
	out := q.Forward(in)
	*buf = nn.Grow(*buf, len(out.Data))
	d := *buf
	clear(d)
	n := b.N
	var loss, mean float64
	k := 1 / float32(n) // d/dq of ½·mean((q−y)²)·... = (q−y)/n for the /2-averaged pair
	for i := range n {
		j := i
		if l.Discrete {
			j = i*out.Cols + int(b.ActIdx[i])
		}
		diff := out.Data[j] - y[i]
		loss += float64(diff * diff)
		mean += float64(out.Data[j])
		d[j] = k * diff
	}
	q.Backward(nn.View(d, out.Rows, out.Cols), true, false)
	return loss / float64(n), mean / float64(n)
}

// Act returns the actor's mean (continuous, clipped to [-1, 1] by tanh) or
// argmax (discrete), or a sample.
func (l *Learner) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	if l.Discrete {
		offline.ActCategorical(l.Logits.Forward(obs), deterministic, rng, out)
		return
	}
	l.Actor.Act(obs, deterministic, rng, out)
}

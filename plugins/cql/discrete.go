package cql

import (
	"fmt"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/nn"
)

// Discrete is d3rlpy's DiscreteCQL with a DoubleDQN base.
type Discrete struct {
	Q, Qt    *nn.MLP
	Opt      *nn.Adam
	Alpha    float32
	Gamma    float32
	Delta    float32
	Interval int
	It       int

	qtHeld bool // Qt's weights are packed once (MLP.Hold) until the next copy

	aStar   []int32
	ss      []float32 // [s; s′]: one forward of Q for the loss and the argmax
	y, qd   []float32
	dq, gtd []float32
	m       []float64
}

func newDiscrete(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (*Discrete, error) {
	l := &Discrete{Alpha: float32(h.Float("alpha")), Gamma: float32(h.Float("discount")),
		Delta: float32(h.Float("huber_delta")), Interval: h.Int("target_update_interval"), m: make([]float64, 5)}
	if l.Interval < 1 {
		return nil, fmt.Errorf("cql: target_update_interval = %d, want ≥ 1", l.Interval)
	}
	dims := h.Dims(spec.InDim, spec.Space.N)
	l.Q = nn.NewMLP(rng, "q/", dims, nn.ReLU, nn.Identity)
	l.Qt = nn.NewMLP(rng, "q_t/", dims, nn.ReLU, nn.Identity)
	nn.CopyParams(l.Qt.Params(), l.Q.Params())
	l.Opt = nn.NewAdam(nn.DefaultAdam(h.Float("lr")), l.Q.Flat())
	return l, nil
}

func (l *Discrete) MetricNames() []string {
	return []string{"loss", "td_loss", "cql_loss", "q_mean", "q_data_mean"}
}

// State returns every tensor of the learner. It ends Qt's Hold, so that
// weights written into the tensors (a checkpoint loaded) are packed afresh.
func (l *Discrete) State() []*nn.Param {
	l.Qt.Release()
	l.qtHeld = false
	return append(append(l.Q.Params(), l.Qt.Params()...), l.Opt.State()...)
}
func (l *Discrete) Counters() []*int { return []*int{&l.Opt.T, &l.It} }

// Update is one DoubleDQN + CQL(H) step.
func (l *Discrete) Update(b *offline.Batch) []float64 {
	l.It++
	n := b.N
	if cap(l.aStar) < n {
		l.aStar = make([]int32, n)
	}
	l.aStar = l.aStar[:n]
	l.y, l.qd, l.gtd = nn.Grow(l.y, n), nn.Grow(l.qd, n), nn.Grow(l.gtd, n)
	// Q on s and s′ in one forward (the backward uses the s rows only).
	q := l.Q.Forward(b.BothObsMat(&l.ss))
	qs := nn.View(q.Data[:n*q.Cols], n, q.Cols)
	for i := range n {
		l.aStar[i] = int32(offline.Argmax(q.Row(n + i)))
	}
	if !l.qtHeld {
		// Qt changes only every Interval steps: its products reuse one packing.
		l.Qt.Hold()
		l.qtHeld = true
	}
	l.Qt.ForwardGather(b.NextObsMat(), l.aStar, l.y) // Q_t(s', a*) only
	for i := range n {
		l.y[i] = b.Rew[i] + l.Gamma*l.y[i]*(1-b.Done[i])
	}
	l.Q.ZeroGrad()
	var qMean float64
	for i := range n {
		l.qd[i] = qs.Data[i*qs.Cols+int(b.ActIdx[i])]
	}
	for _, v := range qs.Data {
		qMean += float64(v)
	}
	clear(l.gtd)
	td := nn.Huber(l.qd, l.y, l.gtd, l.Delta, 1)
	l.dq = nn.Grow(l.dq, len(qs.Data))
	dq := nn.View(l.dq, n, qs.Cols)
	// α·mean(logsumexp(Q(s,·)) − Q(s,a)) = α·cross-entropy of softmax(Q) at a.
	clear(l.dq)
	cql := nn.CrossEntropy(qs, b.ActIdx, dq, l.Alpha)
	var qdMean float64
	for i := range n {
		l.dq[i*qs.Cols+int(b.ActIdx[i])] += l.gtd[i]
		qdMean += float64(l.qd[i])
	}
	l.Q.Backward(dq, true, false)
	l.Opt.Step()
	if l.It%l.Interval == 0 {
		copy(l.Qt.Flat().Value, l.Q.Flat().Value)
		l.Qt.Release()
		l.qtHeld = false
	}
	l.m[0], l.m[1], l.m[2] = td+float64(l.Alpha)*cql, td, cql
	l.m[3], l.m[4] = qMean/float64(len(qs.Data)), qdMean/float64(n)
	return l.m
}

// Act is argmax Q (deterministic) or a softmax(Q) sample.
func (l *Discrete) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	offline.ActCategorical(l.Q.Forward(obs), deterministic, rng, out)
}

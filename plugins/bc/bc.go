package bc

import (
	"fmt"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Factory is behaviour cloning.
var Factory = offline.Factory{
	Name:   "bc",
	Spaces: []dataset.Kind{dataset.Discrete, dataset.Continuous},
	Params: append([]offline.Param{
		{Name: "lr", Type: algo.TypeFloat, Default: 1e-3, Help: "Adam learning rate (d3rlpy default; CORL uses 3e-4)"},
		{Name: "beta", Type: algo.TypeFloat, Default: 0.5, Help: "discrete: weight of the logit L2 penalty mean(logits²)"},
		{Name: "policy", Type: algo.TypeString, Default: "deterministic", Allowed: []string{"deterministic", "gaussian"}, Help: "continuous policy: tanh output with MSE, or Gaussian with NLL"},
	}, offline.TopFractionParams...),
	New: New,
}

// New builds a BC learner for spec.
func New(spec offline.Spec, h offline.Hyper, rng *rand.Rand) (offline.Learner, error) {
	opt := nn.DefaultAdam(h.Float("lr"))
	switch spec.Space.Kind {
	case dataset.Discrete:
		net := nn.NewMLP(rng, "net/", h.Dims(spec.InDim, spec.Space.N), nn.ReLU, nn.Identity)
		return &Discrete{Net: net, Opt: nn.NewAdam(opt, net.Flat()), Beta: float32(h.Float("beta")), m: make([]float64, 2)}, nil
	case dataset.Continuous:
		dims := h.Dims(spec.InDim, spec.Space.Dim)
		if h.String("policy") == "gaussian" {
			a := offline.NewGaussianActor(rng, "actor/", dims)
			return &Gaussian{Actor: a, Opt: nn.NewAdam(opt, a.Params()...), m: make([]float64, 1)}, nil
		}
		net := nn.NewMLP(rng, "actor/", dims, nn.ReLU, nn.Tanh)
		return &Deterministic{Net: net, Opt: nn.NewAdam(opt, net.Flat()), m: make([]float64, 1)}, nil
	}
	return nil, fmt.Errorf("bc: action space kind %q", spec.Space.Kind)
}

// Discrete is d3rlpy's DiscreteBC.
type Discrete struct {
	Net  *nn.MLP
	Opt  *nn.Adam
	Beta float32
	dl   []float32
	m    []float64
}

func (l *Discrete) MetricNames() []string { return []string{"loss", "accuracy"} }
func (l *Discrete) State() []*nn.Param    { return append(l.Net.Params(), l.Opt.State()...) }
func (l *Discrete) Counters() []*int      { return []*int{&l.Opt.T} }

// Update is one step of nll(log_softmax(logits), a) + β·mean(logits²).
func (l *Discrete) Update(b *offline.Batch) []float64 {
	l.Net.ZeroGrad()
	logits := l.Net.Forward(b.ObsMat())
	l.dl = nn.Grow(l.dl, len(logits.Data))
	clear(l.dl)
	dl := nn.View(l.dl, logits.Rows, logits.Cols)
	var hit int
	for i := 0; i < logits.Rows; i++ {
		if offline.Argmax(logits.Row(i)) == int(b.ActIdx[i]) {
			hit++
		}
	}
	loss := nn.CrossEntropy(logits, b.ActIdx, dl, 1) + float64(l.Beta)*nn.MeanSquare(logits, dl, l.Beta)
	l.Net.Backward(dl, true, false)
	l.Opt.Step()
	l.m[0], l.m[1] = loss, float64(hit)/float64(b.N)
	return l.m
}

func (l *Discrete) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	offline.ActCategorical(l.Net.Forward(obs), deterministic, rng, out)
}

// Deterministic is CORL's BC: MSE between tanh(MLP(s)) and the action.
type Deterministic struct {
	Net *nn.MLP
	Opt *nn.Adam
	d   []float32
	m   []float64
}

func (l *Deterministic) MetricNames() []string { return []string{"loss"} }
func (l *Deterministic) State() []*nn.Param    { return append(l.Net.Params(), l.Opt.State()...) }
func (l *Deterministic) Counters() []*int      { return []*int{&l.Opt.T} }

func (l *Deterministic) Update(b *offline.Batch) []float64 {
	l.Net.ZeroGrad()
	pi := l.Net.Forward(b.ObsMat())
	l.d = nn.Grow(l.d, len(pi.Data))
	clear(l.d)
	l.m[0] = nn.MSE(pi.Data, b.Act, l.d, 1)
	l.Net.Backward(nn.View(l.d, pi.Rows, pi.Cols), true, false)
	l.Opt.Step()
	return l.m
}

// Act returns the policy output; BC has no exploration noise, so sampling
// is the same as the deterministic action.
func (l *Deterministic) Act(obs nn.Mat, _ bool, _ *rand.Rand, out []float32) {
	copy(out, l.Net.Forward(obs).Data)
}

// Gaussian is BC by maximum likelihood of a Gaussian policy.
type Gaussian struct {
	Actor *offline.GaussianActor
	Opt   *nn.Adam
	m     []float64
}

func (l *Gaussian) MetricNames() []string { return []string{"loss"} }
func (l *Gaussian) State() []*nn.Param    { return append(l.Actor.State(), l.Opt.State()...) }
func (l *Gaussian) Counters() []*int      { return []*int{&l.Opt.T} }

func (l *Gaussian) Update(b *offline.Batch) []float64 {
	nn.ZeroGrad(l.Actor.Params()...)
	l.m[0] = l.Actor.WeightedNLL(b.ObsMat(), b.Act, nil)
	l.Opt.Step()
	return l.m
}

func (l *Gaussian) Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32) {
	l.Actor.Act(obs, deterministic, rng, out)
}

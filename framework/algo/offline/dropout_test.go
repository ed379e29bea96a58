package offline_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/nn"
)

// TestDropoutGradient: WeightedNLL of a Gaussian actor with hidden-layer
// dropout has the gradient of central finite differences when every
// evaluation draws the same masks (the mask stream is reseeded), and the
// masks zero about P of the hidden units.
func TestDropoutGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	a := offline.NewGaussianActor(rng, "actor/", []int{3, 16, 16, 2})
	for i := range a.LogStd.Value {
		a.LogStd.Value[i] = -0.5
	}
	maskPCG := rand.NewPCG(1, 2)
	a.Drop = &offline.Dropout{P: 0.3, Rng: rand.New(maskPCG)}
	obs := nn.NewMat(8, 3)
	nn.Normal(rng, obs.Data, 1)
	act := make([]float32, 16)
	nn.Uniform(rng, act, 0.9)
	w := make([]float32, 8)
	for i := range w {
		w[i] = 0.5 + float32(i)/8
	}
	loss := func() float64 {
		maskPCG.Seed(1, 2)
		return a.WeightedNLL(obs, act, w)
	}
	nn.ZeroGrad(a.Params()...)
	loss()
	grads := map[string][]float32{} // evaluations below accumulate into Grad
	for _, p := range a.State() {
		grads[p.Name] = append([]float32(nil), p.Grad...)
	}
	const h = 1e-3
	var checked int
	for _, p := range a.State() {
		g := grads[p.Name]
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + h
			lp := loss()
			p.Value[i] = old - h
			lm := loss()
			p.Value[i] = old
			num := (lp - lm) / (2 * h)
			checked++
			if d := math.Abs(num - float64(g[i])); d > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", p.Name, i, g[i], num)
			}
		}
	}
	if checked < 300 {
		t.Fatalf("checked %d gradient elements", checked)
	}
	// Without dropout the gradient differs: the masks matter.
	nn.ZeroGrad(a.Params()...)
	loss()
	with := append([]float32(nil), a.Net.Flat().Grad...)
	drop := a.Drop
	a.Drop = nil
	nn.ZeroGrad(a.Params()...)
	a.WeightedNLL(obs, act, w)
	a.Drop = drop
	same := true
	for i, v := range a.Net.Flat().Grad {
		same = same && v == with[i]
	}
	if same {
		t.Fatal("dropout did not change the gradient")
	}
	// Act-style forward passes are the plain network: Dropout only acts
	// through its own Forward.
	x := append([]float32(nil), a.Net.Forward(obs).Data...)
	maskPCG.Seed(1, 2)
	y := append([]float32(nil), drop.Forward(a.Net, obs).Data...)
	z := a.Net.Forward(obs).Data
	var differ bool
	for i := range x {
		differ = differ || x[i] != y[i]
		if x[i] != z[i] {
			t.Fatalf("plain forward changed after a dropout pass: %v vs %v", x[i], z[i])
		}
	}
	if !differ {
		t.Fatal("dropout forward equals the plain forward")
	}
}

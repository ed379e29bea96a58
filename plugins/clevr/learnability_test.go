package clevr

import (
	"context"
	"flag"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/nn"
)

var (
	learnEpisodes = flag.Int("learn.episodes", 0, "TestDynamicsLearnability: rollouts of the noisy expert to learn from (0: skip the test)")
	learnSteps    = flag.Int("learn.steps", 20000, "TestDynamicsLearnability: Adam steps of batch 256")
)

// TestDynamicsLearnability asks how much data one-step dynamics needs, apart
// from any language model: a plain MLP (s, one-hot a → s′ − s; three hidden
// layers of 256) is fitted to the transitions of -learn.episodes rollouts of
// the quick experiment's noisy expert and measured, as the grounding report
// measures an LM, by the median L2 of s′ on 200 held-out rollouts. Opt-in
// (minutes):
//
//	go test ./plugins/clevr -run DynamicsLearnability -v -learn.episodes 2000
func TestDynamicsLearnability(t *testing.T) {
	if *learnEpisodes == 0 {
		t.Skip("set -learn.episodes to run")
	}
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	collect := func(n int, seed uint64) *dataset.Data {
		dir := filepath.Join(t.TempDir(), "data")
		req := env.CollectRequest{Episodes: n, Policy: "expert", Params: map[string]float64{"noise": 0.05, "random_share": 0.2}, Seed: seed, Out: dir}
		if _, err := env.Collect(context.Background(), e, req, nil); err != nil {
			t.Fatal(err)
		}
		d, err := dataset.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	train, held := collect(*learnEpisodes, 0), collect(200, 99)
	const od, na, batch = 10, 40, 256
	const posScale, deltaScale = 0.3, 0.1
	rng := rand.New(rand.NewPCG(1, 2))
	mlp := nn.NewMLP(rng, "", []int{od + na, 256, 256, 256, od}, nn.ReLU, nn.Identity)
	opt := nn.NewAdam(nn.DefaultAdam(1e-3), mlp.Params()...)
	input := func(d *dataset.Data, i int, x, y []float32) {
		r := int(d.ObsRow[i])
		s, next := d.Obs[r*od:(r+1)*od], d.Obs[(r+1)*od:(r+2)*od]
		clear(x)
		for k := range od {
			x[k] = s[k] / posScale
			if y != nil {
				y[k] = (next[k] - s[k]) / deltaScale
			}
		}
		x[od+int(d.Actions[i])] = 1
	}
	x, g := nn.NewMat(batch, od+na), nn.NewMat(batch, od)
	y := make([]float32, batch*od)
	for range *learnSteps {
		for b := range batch {
			input(train, rng.IntN(train.Len()), x.Row(b), y[b*od:(b+1)*od])
		}
		nn.ZeroGrad(mlp.Params()...)
		clear(g.Data)
		nn.MSE(mlp.Forward(x).Data, y, g.Data, 1)
		mlp.Backward(g, true, false)
		opt.Step()
	}
	median := func(d *dataset.Data) float64 {
		x := nn.NewMat(d.Len(), od+na)
		for i := range d.Len() {
			input(d, i, x.Row(i), nil)
		}
		out := mlp.Forward(x)
		errs := make([]float64, d.Len())
		for i := range d.Len() {
			r := int(d.ObsRow[i])
			var s float64
			for k := range od {
				p := d.Obs[r*od+k] + out.Row(i)[k]*deltaScale
				s += math.Pow(float64(p-d.Obs[(r+1)*od+k]), 2)
			}
			errs[i] = math.Sqrt(s)
		}
		sort.Float64s(errs)
		return errs[len(errs)/2]
	}
	tr, he := median(train), median(held)
	t.Logf("%d rollouts (%d transitions), %d steps: median L2 of s′ %.4f on the training transitions, %.4f held out (the one-state floor: 0.0147, TestPositionsAreNotMarkov)",
		*learnEpisodes, train.Len(), *learnSteps, tr, he)
	if !(he < 0.25) {
		t.Errorf("held-out median %.4f: not better than predicting no motion (a push moves a ball 0.25)", he)
	}
}

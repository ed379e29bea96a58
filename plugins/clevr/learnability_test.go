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
	learnModel    = flag.String("learn.model", "mlp", "TestDynamicsLearnability: mlp (s, one-hot a → s′ − s) or interaction (an interaction network over the five balls, the action as its context)")
	learnHistory  = flag.Bool("learn.history", false, "TestDynamicsLearnability: the model also reads the previous state's change (s − s₋₁), as a model reading the rollout in context can")
)

// TestDynamicsLearnability asks how much data one-step dynamics needs, apart
// from any language model, and which inductive bias helps: a model of s′ − s
// from (s, a) is fitted to the transitions of -learn.episodes rollouts of the
// quick experiment's noisy expert and measured, as the grounding report
// measures an LM, by the median L2 of s′ on 200 held-out rollouts.
// -learn.model mlp is a plain MLP (s, one-hot a; three hidden layers of 256);
// interaction is an interaction network over the five balls
// ([nn.Interaction]: shared weights for every ball and every pair of balls,
// the ball's index one-hot, the one-hot action as the context), the
// structure tinylm's state_slots gives its state head. -learn.history adds
// the previous step's change of each ball (the velocity a one-state model
// cannot see; zero on an episode's first step). Opt-in (minutes):
//
//	go test ./plugins/clevr -run DynamicsLearnability -v -learn.episodes 2000 -learn.model interaction
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
	const od, na, batch, balls = 10, 40, 256, 5
	const posScale, deltaScale = 0.3, 0.1
	sd := 2 // numbers per ball the model reads
	if *learnHistory {
		sd = 4
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// input writes transition i's ball features (per ball: x, y and, with
	// history, the last change), its one-hot action and target.
	input := func(d *dataset.Data, i int, s, a, y []float32) {
		r := int(d.ObsRow[i])
		cur, next := d.Obs[r*od:(r+1)*od], d.Obs[(r+1)*od:(r+2)*od]
		prev := cur
		if i > 0 && d.Episode[i-1] == d.Episode[i] {
			prev = d.Obs[(r-1)*od : r*od]
		}
		for b := range balls {
			for k := range 2 {
				s[b*sd+k] = cur[2*b+k] / posScale
				if sd == 4 {
					s[b*sd+2+k] = (cur[2*b+k] - prev[2*b+k]) / deltaScale
				}
			}
		}
		clear(a)
		a[int(d.Actions[i])] = 1
		if y != nil {
			for k := range od {
				y[k] = (next[k] - cur[k]) / deltaScale
			}
		}
	}
	var forward func(s, a nn.Mat) nn.Mat
	var backward func(g nn.Mat)
	var params []*nn.Param
	switch *learnModel {
	case "mlp":
		mlp := nn.NewMLP(rng, "", []int{balls*sd + na, 256, 256, 256, od}, nn.ReLU, nn.Identity)
		var x nn.Mat
		forward = func(s, a nn.Mat) nn.Mat {
			if x.Rows != s.Rows {
				x = nn.NewMat(s.Rows, s.Cols+a.Cols)
			}
			for r := range s.Rows {
				copy(x.Row(r), s.Row(r))
				copy(x.Row(r)[s.Cols:], a.Row(r))
			}
			return mlp.Forward(x)
		}
		backward = func(g nn.Mat) { mlp.Backward(g, true, false) }
		params = mlp.Params()
	case "interaction":
		in, err := nn.NewInteraction(rng, "", balls, sd, na, 128, 2)
		if err != nil {
			t.Fatal(err)
		}
		forward = func(s, a nn.Mat) nn.Mat {
			y := in.Forward(a, s)
			if sd == 2 {
				return y
			}
			return y
		}
		backward = func(g nn.Mat) { in.Backward(g) }
		params = in.Params()
	default:
		t.Fatalf("-learn.model %q: want mlp or interaction", *learnModel)
	}
	opt := nn.NewAdam(nn.DefaultAdam(1e-3), params...)
	s, a, g := nn.NewMat(batch, balls*sd), nn.NewMat(batch, na), nn.NewMat(batch, od)
	y := make([]float32, batch*od)
	for step := range *learnSteps {
		opt.LR = nn.Cosine{Base: 1e-3, Min: 1e-5, T: *learnSteps}.At(step)
		for b := range batch {
			input(train, rng.IntN(train.Len()), s.Row(b), a.Row(b), y[b*od:(b+1)*od])
		}
		nn.ZeroGrad(params...)
		clear(g.Data)
		nn.MSE(forward(s, a).Data, y, g.Data, 1)
		backward(g)
		opt.Step()
	}
	median := func(d *dataset.Data) float64 {
		errs := make([]float64, d.Len())
		const chunk = 1024
		for lo := 0; lo < d.Len(); lo += chunk {
			n := min(chunk, d.Len()-lo)
			s, a := nn.NewMat(n, balls*sd), nn.NewMat(n, na)
			for i := range n {
				input(d, lo+i, s.Row(i), a.Row(i), nil)
			}
			out := forward(s, a)
			for i := range n {
				r := int(d.ObsRow[lo+i])
				var e float64
				for k := range od {
					p := d.Obs[r*od+k] + out.Row(i)[k]*deltaScale
					e += math.Pow(float64(p-d.Obs[(r+1)*od+k]), 2)
				}
				errs[lo+i] = math.Sqrt(e)
			}
		}
		sort.Float64s(errs)
		return errs[len(errs)/2]
	}
	tr, he := median(train), median(held)
	t.Logf("%s (history %v), %d rollouts (%d transitions), %d steps: median L2 of s′ %.4f on the training transitions, %.4f held out (the one-state floor: 0.0147, TestPositionsAreNotMarkov)",
		*learnModel, *learnHistory, *learnEpisodes, train.Len(), *learnSteps, tr, he)
	if !(he < 0.25) {
		t.Errorf("held-out median %.4f: not better than predicting no motion (a push moves a ball 0.25)", he)
	}
}

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
		forward = func(s, a nn.Mat) nn.Mat { return in.Forward(a, s) }
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

var (
	explainEpisodes = flag.Int("learn.explain", 0, "TestExplanationLearnability: rollouts of the noisy expert to learn from (0: skip the test)")
	explainSource   = flag.Bool("learn.source_only", false, "TestExplanationLearnability: the expert pushes only the label's source ball")
	explainModel    = flag.String("learn.explain_model", "mlp", "TestExplanationLearnability: mlp (the rollout's numbers → 80 relations) or interaction (an interaction network over the five balls whose ball i scores the relations with i as their source)")
)

// TestExplanationLearnability asks how much of a rollout's label a plain
// classifier can read off the rollout, apart from any language model: an MLP
// (s₀, s_T−1, s_T, the first and the last action → one of the 80 training
// relations; two hidden layers of 256) is fitted to -learn.explain rollouts
// of the quick experiment's noisy expert and scored, as the grounding report
// scores an explainer, on those rollouts and on 500 held out: the exact
// label, the label up to orientation ("A left of B" for "B right of A") and
// whether the predicted relation holds at the rollout's end. Opt-in (a
// minute):
//
//	go test ./plugins/clevr -run ExplanationLearnability -v -learn.explain 2000
func TestExplanationLearnability(t *testing.T) {
	if *explainEpisodes == 0 {
		t.Skip("set -learn.explain to run")
	}
	cfg := DefaultConfig()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := NewJudge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nb := cfg.NumBalls
	od := 2 * nb
	na := nb * NumDirections
	params := map[string]float64{"noise": 0.05, "random_share": 0.2}
	if *explainSource {
		params["source_only"] = 1
	}
	type example struct {
		x     []float32
		label Relation
		obs   []float32 // s₀ … s_T
	}
	index := func(r Relation) int { return (r.Src*nb+r.Dst)*NumRelations + r.Dir }
	relation := func(i int) Relation {
		return Relation{Src: i / NumRelations / nb, Dst: i / NumRelations % nb, Dir: i % NumRelations}
	}
	const posScale = 0.3
	collect := func(n int, seed uint64) []example {
		dir := filepath.Join(t.TempDir(), "data")
		req := env.CollectRequest{Episodes: n, Policy: "expert", Params: params, Seed: seed, Out: dir}
		if _, err := env.Collect(context.Background(), e, req, nil); err != nil {
			t.Fatal(err)
		}
		r, err := dataset.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []example
		for ep, err := range r.All() {
			if err != nil {
				t.Fatal(err)
			}
			task, err := TaskOf(ep.Goal, nb)
			if err != nil {
				t.Fatal(err)
			}
			T := len(ep.Actions)
			x := make([]float32, 3*od+2*na)
			for k, s := range [][]float32{ep.Observations[:od], ep.Observations[max(T-1, 0)*od : max(T, 1)*od], ep.Observations[T*od:]} {
				for i, v := range s {
					x[k*od+i] = v / posScale
				}
			}
			if T > 0 {
				x[3*od+int(ep.Actions[0])] = 1
				x[3*od+na+int(ep.Actions[T-1])] = 1
			}
			out = append(out, example{x: x, label: task.Relations[0], obs: ep.Observations})
		}
		return out
	}
	train, held := collect(*explainEpisodes, 0), collect(500, 99)
	rng := rand.New(rand.NewPCG(1, 2))
	in := 3*od + 2*na
	var forward func(x nn.Mat) nn.Mat
	var backward func(g nn.Mat)
	var weights []*nn.Param
	// ballSlots lays the examples x out as five slots, ball i's being its
	// (x, y) in s₀, s_T−1 and s_T (a matrix reused while the rows match).
	var slots nn.Mat
	ballSlots := func(x nn.Mat) nn.Mat {
		if slots.Rows != x.Rows {
			slots = nn.NewMat(x.Rows, nb*6)
		}
		for r := range x.Rows {
			xr, sr := x.Row(r), slots.Row(r)
			for b := range nb {
				for k := range 3 {
					sr[b*6+2*k], sr[b*6+2*k+1] = xr[k*od+2*b], xr[k*od+2*b+1]
				}
			}
		}
		return slots
	}
	switch *explainModel {
	case "mlp":
		mlp := nn.NewMLP(rng, "", []int{in, 256, 256, nb * nb * NumRelations}, nn.ReLU, nn.Identity)
		forward = mlp.Forward
		backward = func(g nn.Mat) { mlp.Backward(g, true, false) }
		weights = mlp.Params()
	case "interaction":
		// Ball i's slot is its (x, y) in s₀, s_T−1 and s_T; the actions are
		// the context; its outputs score (dst, dir) with i as the source,
		// which is the relation index's layout.
		net, err := nn.NewInteraction(rng, "", nb, 6, 2*na, 128, nb*NumRelations)
		if err != nil {
			t.Fatal(err)
		}
		var ctx nn.Mat
		forward = func(x nn.Mat) nn.Mat {
			if ctx.Rows != x.Rows {
				ctx = nn.NewMat(x.Rows, 2*na)
			}
			for r := range x.Rows {
				copy(ctx.Row(r), x.Row(r)[3*od:])
			}
			return net.Forward(ctx, ballSlots(x))
		}
		backward = func(g nn.Mat) { net.Backward(g) }
		weights = net.Params()
	case "pairs":
		// One MLP shared by every ordered pair of balls (i, j) scores the
		// four relations (i, j, dir) from both balls' (x, y) in s₀, s_T−1
		// and s_T, their differences, their indices and the actions.
		const pw = 3*6 + 2*5 + 2*40
		mlp := nn.NewMLP(rng, "", []int{pw, 128, 128, NumRelations}, nn.ReLU, nn.Identity)
		var pin nn.Mat
		var out nn.Mat
		forward = func(x nn.Mat) nn.Mat {
			pairs := x.Rows * nb * (nb - 1)
			if pin.Rows != pairs {
				pin, out = nn.NewMat(pairs, pw), nn.NewMat(x.Rows, nb*nb*NumRelations)
			}
			e := 0
			for r := range x.Rows {
				xr := x.Row(r)
				for a := range nb {
					for b := range nb {
						if a == b {
							continue
						}
						row := pin.Row(e)
						clear(row)
						for k := range 3 {
							for c := range 2 {
								va, vb := xr[k*od+2*a+c], xr[k*od+2*b+c]
								row[6*k+c], row[6*k+2+c], row[6*k+4+c] = va, vb, va-vb
							}
						}
						row[18+a], row[23+b] = 1, 1
						copy(row[28:], xr[3*od:])
						e++
					}
				}
			}
			y := mlp.Forward(pin)
			e = 0
			for r := range x.Rows {
				o := out.Row(r)
				for a := range nb {
					for b := range nb {
						dst := o[(a*nb+b)*NumRelations : (a*nb+b+1)*NumRelations]
						if a == b {
							for k := range dst {
								dst[k] = -30
							}
							continue
						}
						copy(dst, y.Row(e))
						e++
					}
				}
			}
			return out
		}
		backward = func(g nn.Mat) {
			dy := nn.NewMat(g.Rows*nb*(nb-1), NumRelations)
			e := 0
			for r := range g.Rows {
				for a := range nb {
					for b := range nb {
						if a != b {
							copy(dy.Row(e), g.Row(r)[(a*nb+b)*NumRelations:])
							e++
						}
					}
				}
			}
			mlp.Backward(dy, true, false)
		}
		weights = mlp.Params()
	case "concat":
		// The pair features of the states alone (nn.Pairs over each ball's
		// (x, y) in s₀, s_T−1 and s_T), concatenated, each pair in its own
		// place, then an MLP: what a linear projection into a
		// transformer's state token can hand on.
		pe, err := nn.NewPairs(rng, "", nb, 6, 128, 16)
		if err != nil {
			t.Fatal(err)
		}
		head := nn.NewMLP(rng, "head.", []int{pe.Width(), 256, nb * nb * NumRelations}, nn.ReLU, nn.Identity)
		forward = func(x nn.Mat) nn.Mat { return head.Forward(pe.Forward(ballSlots(x))) }
		backward = func(g nn.Mat) { pe.Backward(head.Backward(g, true, true)) }
		weights = append(pe.Params(), head.Params()...)
	default:
		t.Fatalf("-learn.explain_model %q: want mlp, interaction, pairs or concat", *explainModel)
	}
	opt := nn.NewAdam(nn.DefaultAdam(1e-3), weights...)
	const batch, steps = 128, 3000
	x := nn.NewMat(batch, in)
	y := make([]int32, batch)
	for range steps {
		for b := range batch {
			ex := train[rng.IntN(len(train))]
			copy(x.Row(b), ex.x)
			y[b] = int32(index(ex.label))
		}
		nn.ZeroGrad(weights...)
		out := forward(x)
		g := nn.NewMat(out.Rows, out.Cols)
		nn.CrossEntropy(out, y, g, 1)
		backward(g)
		opt.Step()
	}
	// ends is the first state at which relation r holds in a rollout (-1:
	// never): the step the judge ends the rollout at for goal r.
	ends := func(obs []float32, r Relation) int {
		for k := 0; k*od < len(obs); k++ {
			if j.RelationHolds(obs[k*od:(k+1)*od], r) {
				return k
			}
		}
		return -1
	}
	score := func(exs []example) (exact, mirror, holds, agrees float64) {
		for _, ex := range exs {
			out := forward(nn.View(append([]float32(nil), ex.x...), 1, in)).Row(0)
			best := -1
			for i, v := range out {
				if r := relation(i); r.Src != r.Dst && (best < 0 || v > out[best]) {
					best = i
				}
			}
			p, l := relation(best), ex.label
			if p == l {
				exact++
			}
			if p == l || (p.Src == l.Dst && p.Dst == l.Src && p.Dir == (l.Dir+2)%NumRelations) {
				mirror++
			}
			if j.RelationHolds(ex.obs[len(ex.obs)-od:], p) {
				holds++
			}
			if ends(ex.obs, p) == ends(ex.obs, l) {
				agrees++
			}
		}
		n := float64(len(exs))
		return 100 * exact / n, 100 * mirror / n, 100 * holds / n, 100 * agrees / n
	}
	te, tm, th, ta := score(train)
	he, hm, hh, ha := score(held)
	t.Logf("%s, %d rollouts (source_only %v), %d steps: exact label %.1f %% / up to orientation %.1f %% / holds at the end %.1f %% / agrees %.1f %% on the training rollouts; held out %.1f / %.1f / %.1f / %.1f %%",
		*explainModel, len(train), *explainSource, steps, te, tm, th, ta, he, hm, hh, ha)
	if hm < 10 {
		t.Errorf("held out, the label up to orientation in %.1f %% of rollouts: hardly better than a guess among the 40 unordered relations", hm)
	}
}

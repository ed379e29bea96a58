package tinylm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/nn"
)

func groundToy(t *testing.T, steps int, cfg map[string]any) (*LM, string) {
	t.Helper()
	data := toyDataPhrased(t, 120, 4, 1, 1)
	l := New()
	c := map[string]any{}
	for k, v := range small {
		c[k] = v
	}
	for k, v := range cfg {
		c[k] = v
	}
	res, err := l.Ground(context.Background(), lm.GroundRequest{Datasets: []string{data}, Steps: steps, OutDir: t.TempDir(), Seed: 3, Config: c}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l, res.Checkpoint
}

// TestOverfit: on a corpus whose rollouts are exact functions of the goal,
// the grounded model generates them exactly, explains them with one of the
// goal's phrasings and predicts the dynamics.
// With state_slots the state head is the interaction network (two slots of
// one number each here), with state_history reading the last change too.
func TestOverfit(t *testing.T) {
	for _, c := range []struct {
		slots   int
		history bool
	}{{0, false}, {2, false}, {2, true}} {
		t.Run(fmt.Sprintf("state_slots=%d,history=%v", c.slots, c.history), func(t *testing.T) { overfit(t, c.slots, c.history) })
	}
}

func overfit(t *testing.T, slots int, history bool) {
	l, ck := groundToy(t, 400, map[string]any{"eval_every": 100, "patience": 0, "state_slots": slots, "state_history": history})
	dirs := []string{"left", "right", "up", "down"}
	move := [][2]float32{{-0.1, 0}, {0.1, 0}, {0, 0.1}, {0, -0.1}}
	var goals []dataset.Goal
	var obs []float32
	for a, d := range dirs {
		goals = append(goals, dataset.Goal{Level: "train", Text: "go " + d, Vector: []float32{float32(a)}})
		obs = append(obs, 0.2, 0.1*float32(a))
	}
	out := filepath.Join(t.TempDir(), "gen")
	if _, err := l.Generate(context.Background(), lm.GenerateRequest{Checkpoint: ck, Goals: goals, Observations: obs, MaxSteps: 4, Out: out}, nil); err != nil {
		t.Fatal(err)
	}
	r, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var eps []*dataset.Episode
	for a := range dirs {
		ep, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
		x, y := obs[2*a], obs[2*a+1]
		for s := 0; s < 4; s++ {
			if got := int(ep.Actions[s]); got != a {
				t.Errorf("goal %q step %d: action %d, want %d", goals[a].Text, s, got, a)
			}
			x, y = x+move[a][0], y+move[a][1]
			gx, gy := ep.Observations[2*(s+1)], ep.Observations[2*(s+1)+1]
			if d := math.Hypot(float64(gx-x), float64(gy-y)); d > 0.02 {
				t.Errorf("goal %q step %d: state (%.3f, %.3f), want (%.3f, %.3f)", goals[a].Text, s, gx, gy, x, y)
			}
		}
	}
	ex, err := l.Explain(context.Background(), lm.ExplainRequest{Checkpoint: ck, Rollouts: eps})
	if err != nil {
		t.Fatal(err)
	}
	for a, text := range ex.Texts {
		if text != "go "+dirs[a] {
			t.Errorf("explained rollout of %q as %q", goals[a].Text, text)
		}
	}
	p, err := l.Predict(context.Background(), lm.PredictRequest{Checkpoint: ck, Observations: []float32{0.1, 0.1, 0.3, 0.2}, Actions: []float32{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.2, 0.1, 0.3, 0.3}
	for i, v := range p.Observations {
		if math.Abs(float64(v-want[i])) > 0.02 {
			t.Errorf("predicted %v, want %v", p.Observations, want)
			break
		}
	}
	// Grounding measured the same on its validation episodes, one step at a
	// time and in context.
	ld, err := load(ck)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"val/state_l2_one_step", "val/state_l2_in_context"} {
		if v, ok := ld.h.Metrics[k]; !ok || !(v < 0.02) {
			t.Errorf("metric %s = %v (recorded: %v), want below 0.02", k, v, ok)
		}
	}
}

// TestDecodeMatchesFullForward: the incremental decoder's hidden states are
// the full forward pass's, position by position, with and without pair
// tokens, and with pair features in the state inputs.
func TestDecodeMatchesFullForward(t *testing.T) {
	for _, c := range []struct{ pairs, inPairs int }{{0, 0}, {3, 0}, {3, 2}} {
		t.Run(fmt.Sprintf("pairs=%d,in_pairs=%d", c.pairs, c.inPairs), func(t *testing.T) { decodeMatchesFullForward(t, c.pairs, c.inPairs) })
	}
}

func decodeMatchesFullForward(t *testing.T, pairs, inPairs int) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := Shape{Vocab: 20, ObsDim: 4, Actions: 5, Discrete: true, Context: 12, Dim: 16, Layers: 2, Heads: 2}
	if pairs > 0 {
		shape.Slots, shape.SlotHidden, shape.Pairs, shape.InPairs = 2, 6, pairs, inPairs
	}
	m, err := NewModel(shape, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		nn.Normal(rng, p.Value, 0.3)
	}
	norm := Norm{Mean: make([]float32, 4), Std: []float32{1, 1, 1, 1}, Delta: []float32{1, 1, 1, 1}}
	bl := builder{shape: m.Shape, od: 4, ad: 1, norm: &norm}
	// Two sequences: text, state, action (with pairs: text, state, pair,
	// action) ... of lengths 7 and 5.
	var b Batch
	seqs := []seq{{}, {}}
	cycle := []int8{kindText, kindState, kindAction}
	if pairs > 0 {
		cycle = []int8{kindText, kindState, kindPair, kindAction}
	}
	random := func() []float32 { return []float32{rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32()} }
	for s, L := range []int{7, 5} {
		for p := 0; p < L; p++ {
			switch cycle[p%len(cycle)] {
			case kindText:
				seqs[s].text(int32(rng.IntN(20)))
			case kindState:
				bl.state(&seqs[s], random())
			case kindPair:
				// One pair token of a transition, as the decoder takes it.
				n := seqs[s].len()
				bl.pairs(&seqs[s], random(), random())
				keep := n + rng.IntN(shape.pairTokens())
				seqs[s].kind = append(seqs[s].kind[:n], kindPair)
				seqs[s].tok = append(seqs[s].tok[:n], seqs[s].tok[keep])
			case kindAction:
				bl.action(&seqs[s], []float32{float32(rng.IntN(5))})
			}
		}
	}
	var inputs [2][]input
	for s := range seqs {
		inputs[s] = seqs[s].inputs(&bl)
	}
	bl.lay(&b, seqs)
	full := m.Hidden(&b)
	want := append([]float32(nil), full.Data...)
	d := newDecoder(m, 2)
	for p := 0; p < 7; p++ {
		var ss []int
		var in []input
		for s := range 2 {
			if p < len(inputs[s]) {
				ss = append(ss, s)
				in = append(in, inputs[s][p])
			}
		}
		h := d.feed(ss, in)
		for i, s := range ss {
			w := want[(s*b.T+p)*16 : (s*b.T+p+1)*16]
			for j, v := range h.Row(i) {
				if math.Abs(float64(v-w[j])) > 1e-4 {
					t.Fatalf("sequence %d position %d: decoder %g, forward %g", s, p, v, w[j])
				}
			}
		}
	}
}

// TestGradients checks Model.Step's gradients of the summed losses against
// central differences, for every parameter tensor.
// With state slots the state head is an interaction network, whose many
// ReLUs a step of 1e-2 would cross: there the step is 1e-3. With pairs the
// explanation's sequences end their rollout with pair tokens. With input
// pairs every state's input has pair features too (step 1e-4: their ReLUs
// add kinks).
// With history the state head reads the slots' last changes too.
func TestGradients(t *testing.T) {
	for _, c := range []struct {
		slots, pairs, inPairs int
		history               bool
	}{{0, 0, 0, false}, {2, 0, 0, false}, {2, 3, 0, false}, {2, 0, 2, false}, {2, 0, 0, true}} {
		t.Run(fmt.Sprintf("slots=%d,pairs=%d,in_pairs=%d,history=%v", c.slots, c.pairs, c.inPairs, c.history), func(t *testing.T) {
			gradients(t, c.slots, c.pairs, c.inPairs, c.history)
		})
	}
}

func gradients(t *testing.T, slots, pairs, inPairs int, history bool) {
	rng := rand.New(rand.NewPCG(4, 2))
	shape := Shape{Vocab: 12, ObsDim: 2, Actions: 3, Discrete: true, Context: 18, Dim: 8, Layers: 1, Heads: 2, History: history}
	h := 1e-2
	if slots > 0 {
		shape.Slots, shape.SlotHidden, shape.Pairs, shape.InPairs, h = slots, 6, pairs, inPairs, 1e-3
	}
	if inPairs > 0 {
		// The pair features' ReLUs put kinks closer still.
		h = 1e-4
	}
	m, err := NewModel(shape, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		nn.Normal(rng, p.Value, 0.5)
	}
	data := toyData(t, 6, 3, 9)
	_, eps, err := loadEpisodes([]string{data})
	if err != nil {
		t.Fatal(err)
	}
	norm := computeNorm(eps, 2)
	bl := builder{shape: m.Shape, od: 2, ad: 1, norm: &norm}
	c := &corpus{}
	for _, ep := range eps {
		c.eps = append(c.eps, episode{obs: ep.Observations, act: ep.Actions, texts: [][]int32{{3, 4}, {5}}})
		c.train = append(c.train, len(c.train))
	}
	tasks := lm.Tasks
	if pairs > 0 {
		// Pair tokens are in the explanation's sequences only; the other
		// tasks are the case without pairs (whose weights here differ,
		// drawn after the pairs', and put an interaction ReLU within h
		// of its kink).
		tasks = []lm.Task{lm.RolloutToGoal}
	}
	for _, task := range tasks {
		t.Run(string(task), func(t *testing.T) {
			var b Batch
			// A vocabulary-free builder: task tokens are ids 7..11.
			bl.v = vocab{}
			b2 := buildWithoutTokenizer(&bl, c, task, rng)
			b = *b2
			loss := func() float64 { return m.Step(&b, 0, false).Total() }
			nn.ZeroGrad(m.Params()...)
			m.Step(&b, 1, true)
			for _, p := range m.Params() {
				for k := 0; k < 3; k++ {
					i := rng.IntN(len(p.Value))
					old := p.Value[i]
					p.Value[i] = old + float32(h)
					up := loss()
					p.Value[i] = old - float32(h)
					down := loss()
					p.Value[i] = old
					num := (up - down) / (2 * h)
					tol := 2e-2 * math.Max(1, math.Abs(num))
					if strings.HasPrefix(p.Name, "in_") {
						// The input pair features' gradients are ~1e-3:
						// a relative bound catches one left out.
						tol = math.Min(tol, 0.1*math.Abs(num)+3e-4)
					}
					if g := float64(p.Grad[i]); math.Abs(g-num) > tol {
						t.Errorf("%s[%d]: gradient %g, numerical %g", p.Name, i, g, num)
					}
				}
			}
		})
	}
}

// buildWithoutTokenizer builds a batch of one task with fixed special ids.
func buildWithoutTokenizer(bl *builder, c *corpus, task lm.Task, rng *rand.Rand) *Batch {
	seqs := make([]seq, 3)
	for i := range seqs {
		s := &seqs[i]
		ep := &c.eps[i]
		text := ep.texts[i%2]
		od := bl.od
		s.text(1)
		switch task {
		case lm.GoalToRollout:
			s.text(7)
			for _, id := range text {
				s.text(id)
			}
			s.text(8)
			bl.state(s, ep.obs[:od])
			for t := 0; t < ep.steps(1); t++ {
				a := ep.act[t : t+1]
				bl.predictAction(s, a)
				bl.action(s, a)
				bl.predictState(s, ep.obs[(t+1)*od:(t+2)*od], ep.obs[t*od:(t+1)*od], before(ep.obs, t, od))
				bl.state(s, ep.obs[(t+1)*od:(t+2)*od])
			}
		case lm.RolloutToGoal:
			s.text(9)
			bl.state(s, ep.obs[:od])
			bl.action(s, ep.act[:1])
			bl.state(s, ep.obs[od:2*od])
			bl.pairs(s, ep.obs[od:2*od], ep.obs[:od])
			s.text(8)
			for _, id := range text {
				bl.predictText(s, id)
				s.text(id)
			}
			bl.predictText(s, 2)
		case lm.Dynamics:
			s.text(10)
			bl.state(s, ep.obs[:od])
			bl.action(s, ep.act[:1])
			bl.predictState(s, ep.obs[od:2*od], ep.obs[:od], ep.obs[:od])
		case lm.Consequence:
			s.text(11)
			bl.state(s, ep.obs[:od])
			for _, id := range text {
				s.text(id)
			}
			s.text(8)
			T := ep.steps(1)
			bl.predictState(s, ep.obs[T*od:(T+1)*od], ep.obs[:od], ep.obs[:od])
		}
	}
	var b Batch
	bl.lay(&b, seqs)
	return &b
}

// TestCheckpointRoundTrip: a loaded checkpoint holds the trained weights
// and tokenizer; another format version and a file that is not one are
// refused with errors naming them.
func TestCheckpointRoundTrip(t *testing.T) {
	l, ck := groundToy(t, 20, nil)
	m, err := l.open(ck)
	if err != nil {
		t.Fatal(err)
	}
	again, err := load(ck)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.model.Params() {
		q := again.model.Params()[i]
		for j := range p.Value {
			if p.Value[j] != q.Value[j] {
				t.Fatalf("%s[%d]: %g after reloading, %g before", p.Name, j, q.Value[j], p.Value[j])
			}
		}
	}
	for _, w := range again.v.tok.Words() {
		ids, err := m.v.tok.Encode(w)
		if err != nil {
			t.Fatal(err)
		}
		if got := again.v.tok.Decode(ids); got != w {
			t.Errorf("tokenizer round trip: %q → %q", w, got)
		}
	}
	// Another format version.
	b, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "v9.tinylm")
	current := fmt.Sprintf(`"format":%d`, FormatVersion)
	if !strings.Contains(string(b), current) {
		t.Fatalf("the checkpoint's header has no %s", current)
	}
	os.WriteFile(other, []byte(strings.Replace(string(b), current, `"format":9`, 1)), 0o644)
	if _, err := load(other); err == nil || !strings.Contains(err.Error(), "format version 9") {
		t.Errorf("format 9: %v", err)
	}
	// Versions 1 and 2 (no state slots, no pair tokens, the same layout)
	// are still read.
	for _, v := range []int{1, 2} {
		old := filepath.Join(t.TempDir(), fmt.Sprintf("v%d.tinylm", v))
		os.WriteFile(old, []byte(strings.Replace(string(b), current, fmt.Sprintf(`"format":%d`, v), 1)), 0o644)
		if _, err := load(old); err != nil {
			t.Errorf("format %d: %v", v, err)
		}
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("hello"), 0o644)
	if _, err := load(junk); err == nil || !strings.Contains(err.Error(), "not a tinylm checkpoint") {
		t.Errorf("junk: %v", err)
	}
	trunc := filepath.Join(t.TempDir(), "trunc")
	os.WriteFile(trunc, b[:len(b)-100], 0o644)
	if _, err := load(trunc); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %v", err)
	}
}

// TestResumeExact: grounding cancelled after a checkpoint and resumed from
// it ends with the weights an uninterrupted run has, bit for bit.
func TestResumeExact(t *testing.T) {
	for _, dropout := range []float64{0, 0.1} {
		t.Run(fmt.Sprintf("dropout-%g", dropout), func(t *testing.T) { testResumeExact(t, dropout) })
	}
}

func testResumeExact(t *testing.T, dropout float64) {
	data := toyData(t, 60, 3, 2)
	cfg := map[string]any{}
	for k, v := range small {
		cfg[k] = v
	}
	cfg["patience"] = 0
	cfg["dropout"] = dropout
	req := lm.GroundRequest{Datasets: []string{data}, Steps: 40, Seed: 5, Config: cfg, CheckpointEvery: 10}
	l := New()
	req.OutDir = t.TempDir()
	full, err := l.Ground(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req.OutDir = t.TempDir()
	var last string
	_, err = l.Ground(ctx, req, func(p lm.Progress) {
		if p.Checkpoint != "" {
			last = p.Checkpoint
			if p.Step >= 20 {
				cancel()
			}
		}
	})
	if !errors.Is(err, context.Canceled) || last == "" {
		t.Fatalf("cancelled grounding: %v (last checkpoint %q)", err, last)
	}
	req.Resume = last
	res, err := l.Ground(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(full.Checkpoint)
	b, _ := os.ReadFile(res.Checkpoint)
	if string(a) != string(b) {
		t.Fatalf("resumed checkpoint differs from the uninterrupted one (%d and %d bytes)", len(a), len(b))
	}
}

// TestThreadsAgree: the gradient sum does not depend on the thread count,
// with dropout too (each task's masks have their own stream); dropout
// changes the weights.
func TestThreadsAgree(t *testing.T) {
	weights := func(path string) string {
		b, _ := os.ReadFile(path)
		return string(b[len(b)-4096:])
	}
	var first string
	for _, dropout := range []float64{0, 0.1} {
		_, a := groundToy(t, 15, map[string]any{"threads": 1, "dropout": dropout})
		_, b := groundToy(t, 15, map[string]any{"threads": 2, "dropout": dropout})
		// The headers differ in the threads setting only; the weights agree.
		if weights(a) != weights(b) {
			t.Fatalf("dropout %g: grounding with 1 and 2 threads gave different weights", dropout)
		}
		if dropout == 0 {
			first = weights(a)
		} else if weights(a) == first {
			t.Fatal("dropout 0.1 gave the weights of dropout 0")
		}
	}
}

// TestSelect: grounding ends with the weights of its lowest validation loss
// (select: best), which are those of the training checkpoint at that step,
// or with its last ones (select: last).
func TestSelect(t *testing.T) {
	const steps = 1200
	ck := map[string]string{}
	for _, sel := range []string{SelectBest, SelectLast} {
		_, ck[sel] = groundToy(t, steps, map[string]any{"eval_every": 100, "patience": 0, "select": sel})
	}
	best, err := load(ck[SelectBest])
	if err != nil {
		t.Fatal(err)
	}
	bs := int(best.h.Metrics["best_step"])
	if !(bs > 0 && bs < steps) {
		t.Fatalf("best step %v of %d: the toy grounding must turn up before its end for this test", bs, steps)
	}
	at, err := load(filepath.Join(filepath.Dir(ck[SelectBest]), fmt.Sprintf("ground-%07d.tinylm", bs)))
	if err != nil {
		t.Fatal(err)
	}
	last, err := load(ck[SelectLast])
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range best.model.Params() {
		if !slices.Equal(p.Value, at.model.Params()[i].Value) {
			t.Fatalf("select best: %s differs from the training checkpoint's at the best step %d", p.Name, bs)
		}
	}
	if p := last.model.Params()[0]; slices.Equal(p.Value, best.model.Params()[0].Value) {
		t.Errorf("select last ends with the best step's %s (step %d of %d)", p.Name, bs, steps)
	}
}

// TestGenerationReadsAsGrounding: the states Generate imagines are what the
// state head answers in a full forward pass over the goal→rollout sequence
// grounding builds from the generated rollout, so that generation reads
// what grounding taught (the state and, with state_history, its last
// change).
func TestGenerationReadsAsGrounding(t *testing.T) {
	for _, c := range []struct {
		slots   int
		history bool
	}{{0, false}, {2, false}, {2, true}} {
		t.Run(fmt.Sprintf("state_slots=%d,history=%v", c.slots, c.history), func(t *testing.T) {
			l, ck := groundToy(t, 30, map[string]any{"state_slots": c.slots, "state_history": c.history})
			goals := []dataset.Goal{{Level: "train", Text: "go left", Vector: []float32{0}}, {Level: "train", Text: "go up", Vector: []float32{2}}}
			obs := []float32{0.2, 0.1, -0.3, 0.4}
			out := filepath.Join(t.TempDir(), "gen")
			if _, err := l.Generate(context.Background(), lm.GenerateRequest{Checkpoint: ck, Goals: goals, Observations: obs, MaxSteps: 5, Temperature: 1, Seed: 4, Out: out}, nil); err != nil {
				t.Fatal(err)
			}
			r, err := dataset.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			m, err := l.lock(ck)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Unlock()
			bl := builder{v: m.v, norm: m.norm, shape: m.model.Shape, od: m.od, ad: m.ad}
			seqs := make([]seq, len(goals))
			eps := make([]episode, len(goals))
			for i, g := range goals {
				text, err := m.encodeGoal(i, g.Text)
				if err != nil {
					t.Fatal(err)
				}
				ep, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				eps[i] = episode{obs: ep.Observations, act: ep.Actions}
				bl.goalToRollout(&seqs[i], &eps[i], text)
			}
			var b Batch
			bl.lay(&b, seqs)
			y := m.model.predictStates(&b)
			od, row := m.od, 0
			want := make([]float32, od)
			for i, ep := range eps {
				for s := range ep.steps(1) {
					m.norm.out(want, y.Row(row), ep.obs[s*od:(s+1)*od])
					row++
					got := ep.obs[(s+1)*od : (s+2)*od]
					for k := range want {
						if math.Abs(float64(got[k]-want[k])) > 1e-4 {
							t.Fatalf("rollout %d step %d: generated %v, the grounding sequence's state head %v", i, s, got, want)
						}
					}
				}
			}
			if row != len(y.Data)/od || row == 0 {
				t.Fatalf("compared %d states of %d", row, len(y.Data)/od)
			}
		})
	}
}

// TestPredictReadsPrevious: with state_history Predict reads the change
// from the request's previous observations (none given: no change); without
// it they are ignored; previous observations of the wrong size are an error.
func TestPredictReadsPrevious(t *testing.T) {
	obs, acts := []float32{0.1, 0.1, 0.3, 0.2}, []float32{1, 2}
	moved := []float32{0.0, 0.1, 0.3, 0.1}
	for _, history := range []bool{false, true} {
		t.Run(fmt.Sprintf("history=%v", history), func(t *testing.T) {
			l, ck := groundToy(t, 30, map[string]any{"state_slots": 2, "state_history": history})
			predict := func(prev []float32) []float32 {
				t.Helper()
				p, err := l.Predict(context.Background(), lm.PredictRequest{Checkpoint: ck, Observations: obs, Actions: acts, Previous: prev})
				if err != nil {
					t.Fatal(err)
				}
				return p.Observations
			}
			none, still, after := predict(nil), predict(obs), predict(moved)
			if !slices.Equal(none, still) {
				t.Errorf("no previous observations: %v; the observations themselves: %v", none, still)
			}
			if history == slices.Equal(none, after) {
				t.Errorf("history %v: after a move %v, without one %v", history, after, none)
			}
			_, err := l.Predict(context.Background(), lm.PredictRequest{Checkpoint: ck, Observations: obs, Actions: acts, Previous: moved[:3]})
			if err == nil || !strings.Contains(err.Error(), "previous observations: 3 observation values for 2 rows of dim 2, want 4") {
				t.Errorf("previous observations of the wrong size: %v", err)
			}
		})
	}
}

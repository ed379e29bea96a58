package lmtest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/internal/suite"
	"github.com/kalm-go/kalm/framework/lm"
)

// Suite is a configured conformance run. Only New is required.
type Suite struct {
	// New returns the backend to check. It is called at least once per
	// check, with that check's subtest.
	New func(tb testing.TB) lm.LM
	// Config is passed to every Ground and Generate call: small models keep
	// the suite fast.
	Config map[string]any
	// Steps is the number of grounding steps (default 20).
	Steps int
	// Tasks are the tasks grounded on (default all four).
	Tasks []lm.Task
	// Seed is the base seed of every draw (default 1).
	Seed uint64
	// Tolerance bounds how far a resumed model's predictions and encodings
	// may lie from the uninterrupted model's (default 1e-4).
	Tolerance float64
	// Spaces are the action-space kinds checked, each on its own datasets
	// (default both; a backend that supports one kind lists it).
	Spaces []dataset.Kind
}

// Run checks the backend newLM returns against the contract of package lm,
// each check a subtest of t. See the package documentation for the list.
func Run(t *testing.T, newLM func(tb testing.TB) lm.LM) {
	t.Helper()
	Suite{New: newLM}.Run(t)
}

// Once returns a Suite.New that calls launch when a check first asks for
// a backend and hands every check that one backend: one plugin subprocess
// serves the whole suite. A launch error fails each check that asks.
func Once(launch func() (lm.LM, error)) func(tb testing.TB) lm.LM {
	return suite.Once("lmtest", launch)
}

// Run runs the suite, each check a subtest of t.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	s.run(realT{T: t})
}

// The suite's domain: a walk on the cells 0..Cells-1 of a line.
const (
	// Cells is the number of cells of the line.
	Cells = 6
	// Horizon is the longest episode of the suite's datasets.
	Horizon  = 8
	obsDim   = 2 // [position, target]
	goalDim  = 1 // [target / (Cells-1)]
	episodes = 36
	nActions = 3 // left, stay, right
)

// SpaceOf is the action space of the suite's datasets of kind k: three
// discrete actions (left, stay, right), or a velocity in [-1, 1].
func SpaceOf(k dataset.Kind) dataset.Space {
	if k == dataset.Continuous {
		return dataset.BoxSpace(1, -1, 1)
	}
	return dataset.DiscreteSpace(nActions)
}

// GoalText is the text of the goal "reach cell k".
func GoalText(k int) string { return fmt.Sprintf("go to cell %d", k) }

func (s Suite) withDefaults() Suite {
	if s.Steps <= 0 {
		s.Steps = 20
	}
	if len(s.Tasks) == 0 {
		s.Tasks = lm.Tasks
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.Tolerance <= 0 {
		s.Tolerance = 1e-4
	}
	if len(s.Spaces) == 0 {
		s.Spaces = []dataset.Kind{dataset.Discrete, dataset.Continuous}
	}
	return s
}

// WriteDataset writes the suite's walk dataset to dir: n episodes of an
// expert that steps towards its target, from starts drawn with seed, with
// actions of space sp (SpaceOf). With extra > 0 every observation carries
// that many more zeros (a dataset of another spec).
func WriteDataset(dir string, sp dataset.Space, n int, seed uint64, extra int) error {
	od := obsDim + extra
	w, err := dataset.Create(dir, dataset.Meta{Env: "lmtest-walk", Source: dataset.Real, ObsDim: od, GoalDim: goalDim, ActionSpace: sp})
	if err != nil {
		return err
	}
	defer w.Abort()
	rng := rand.New(rand.NewPCG(seed, 0x1e57))
	obs := func(pos float64, target int) []float32 {
		o := make([]float32, od)
		o[0], o[1] = float32(pos), float32(target)
		return o
	}
	for e := range n {
		target := e % Cells
		pos := rng.IntN(Cells)
		for pos == target {
			pos = rng.IntN(Cells)
		}
		ep := &dataset.Episode{Goal: dataset.Goal{Level: "train", Text: GoalText(target),
			Vector: []float32{float32(target) / (Cells - 1)}}}
		p := float64(pos)
		ep.Observations = append(ep.Observations, obs(p, target)...)
		for k := 0; k < Horizon; k++ {
			var a float32
			if sp.Kind == dataset.Continuous {
				v := min(1, max(-1, float64(target)-p))
				if rng.IntN(5) == 0 { // a little noise, off the expert's path
					v = 2*rng.Float64() - 1
				}
				v = math.Round(v*8) / 8 // exact in float32
				p = min(Cells-1, max(0, p+v))
				a = float32(v)
			} else {
				d := 1
				switch {
				case p < float64(target):
					d = 2
				case p > float64(target):
					d = 0
				}
				if rng.IntN(5) == 0 { // a little noise, so that every action occurs off the expert's path
					d = rng.IntN(nActions)
				}
				p = min(Cells-1, max(0, p+float64(d-1)))
				a = float32(d)
			}
			ep.Actions = append(ep.Actions, a)
			ep.Observations = append(ep.Observations, obs(p, target)...)
			done := math.Abs(p-float64(target)) < 0.25
			ep.Rewards = append(ep.Rewards, b2f(done))
			ep.Terminals = append(ep.Terminals, done)
			ep.Timeouts = append(ep.Timeouts, !done && k == Horizon-1)
			if done {
				ep.Success = true
				break
			}
		}
		if err := w.Write(ep); err != nil {
			return err
		}
	}
	return w.Close()
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// fixture is what the checks share: datasets and a grounded checkpoint.
type fixture struct {
	space    dataset.Space
	dir      string
	data     string // the walk dataset
	loaded   *dataset.Data
	ckpt     string // the uninterrupted grounding's checkpoint
	progress []lm.Progress
}

func (s Suite) run(t tester) {
	s = s.withDefaults()
	if s.New == nil {
		t.Fatalf("lmtest: Suite.New is nil")
	}
	for _, k := range s.Spaces {
		t.Run(string(k), func(t tester) { s.runSpace(t, SpaceOf(k)) })
	}
}

// runSpace runs every check on datasets of action space sp.
func (s Suite) runSpace(t tester, sp dataset.Space) {
	f := &fixture{space: sp, dir: t.TempDir()}
	f.data = filepath.Join(f.dir, "walk")
	if err := WriteDataset(f.data, sp, episodes, s.Seed, 0); err != nil {
		t.Fatalf("writing the test dataset: %v", err)
	}
	var err error
	if f.loaded, err = dataset.Load(f.data); err != nil {
		t.Fatalf("reading the test dataset back: %v", err)
	}
	t.Run("Ground", func(t tester) { s.checkGround(t, f) })
	if f.ckpt == "" {
		t.Errorf("grounding failed; the checks that need a grounded model did not run")
		return
	}
	checks := []struct {
		name string
		f    func(tester, *fixture)
	}{
		{"Resume", s.checkResume},
		{"Generate", s.checkGenerate},
		{"GenerateJudged", s.checkGenerateJudged},
		{"GenerateSeeded", s.checkGenerateSeeded},
		{"Explain", s.checkExplain},
		{"Predict", s.checkPredict},
		{"Encode", s.checkEncode},
		{"Act", s.checkAct},
		{"BadInput", s.checkBadInput},
	}
	for _, c := range checks {
		t.Run(c.name, func(t tester) { c.f(t, f) })
	}
}

func (s Suite) newLM(t tester) lm.LM {
	t.Helper()
	m := s.New(t)
	if m == nil {
		t.Fatalf("New returned a nil backend")
	}
	return m
}

func (s Suite) groundRequest(data []string, out string) lm.GroundRequest {
	return lm.GroundRequest{Datasets: data, Tasks: s.Tasks, Config: s.Config, Steps: s.Steps, OutDir: out, Seed: s.Seed,
		CheckpointEvery: max(1, s.Steps/4)}
}

// ground runs one Ground, recording its progress and checking each
// progress checkpoint exists when it is reported.
func ground(ctx context.Context, m lm.LM, req lm.GroundRequest, each func(lm.Progress)) (*lm.GroundResponse, []lm.Progress, []string, error) {
	var (
		ps      []lm.Progress
		missing []string
	)
	res, err := suite.Call(func() (*lm.GroundResponse, error) {
		return m.Ground(ctx, req, func(p lm.Progress) {
			ps = append(ps, p)
			if p.Checkpoint != "" {
				if _, err := os.Stat(p.Checkpoint); err != nil {
					missing = append(missing, fmt.Sprintf("step %d: %v", p.Step, err))
				}
			}
			if each != nil {
				each(p)
			}
		})
	})
	return res, ps, missing, err
}

// under reports whether path lies inside dir.
func under(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}

func (s Suite) checkGround(t tester, f *fixture) {
	m := s.newLM(t)
	out := filepath.Join(f.dir, "ground")
	req := s.groundRequest([]string{f.data}, out)
	res, ps, missing, err := ground(t.Context(), m, req, nil)
	if err != nil {
		t.Fatalf("Ground: %v", err)
	}
	if res == nil || res.Checkpoint == "" {
		t.Fatalf("Ground returned no checkpoint")
	}
	if !under(out, res.Checkpoint) {
		t.Errorf("Ground wrote its checkpoint %s outside OutDir %s", res.Checkpoint, out)
	}
	if _, err := os.Stat(res.Checkpoint); err != nil {
		t.Fatalf("Ground's checkpoint: %v", err)
	}
	for _, msg := range missing {
		t.Errorf("a progress checkpoint was missing when reported: %s", msg)
	}
	checkProgress(t, ps, 0, s.Steps)
	ckpts := 0
	for _, p := range ps {
		if p.Checkpoint != "" {
			ckpts++
			if !under(out, p.Checkpoint) {
				t.Errorf("progress checkpoint %s of step %d is outside OutDir %s", p.Checkpoint, p.Step, out)
			}
		}
	}
	if ckpts == 0 {
		t.Errorf("Ground of %d steps with CheckpointEvery %d reported no Progress.Checkpoint: an interrupted grounding could not resume",
			s.Steps, req.CheckpointEvery)
	}
	for k, v := range res.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("final metric %q = %g", k, v)
		}
	}
	f.ckpt, f.progress = res.Checkpoint, ps
}

// checkProgress checks progress reports of a grounding of total steps that
// starts after step from.
func checkProgress(t tester, ps []lm.Progress, from, total int) {
	t.Helper()
	if len(ps) == 0 {
		t.Errorf("Ground reported no progress")
		return
	}
	prev := from
	for _, p := range ps {
		if p.Step < prev || p.Step > total || p.Total != total {
			t.Errorf("progress at step %d of %d after step %d; grounding runs %d steps from step %d", p.Step, p.Total, prev, total, from)
		}
		prev = p.Step
		for k, v := range p.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("step %d: metric %q = %g", p.Step, k, v)
			}
		}
	}
	if last := ps[len(ps)-1]; last.Step != total {
		t.Errorf("last progress at step %d, grounding runs %d steps", last.Step, total)
	}
}

func (s Suite) checkResume(t tester, f *fixture) {
	m := s.newLM(t)
	out := filepath.Join(f.dir, "resume")
	req := s.groundRequest([]string{f.data}, out)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var first lm.Progress
	_, _, _, err := ground(ctx, m, req, func(p lm.Progress) {
		if first.Checkpoint == "" && p.Checkpoint != "" && p.Step < s.Steps {
			first = p
			cancel()
		}
	})
	if first.Checkpoint == "" {
		t.Fatalf("Ground of %d steps with CheckpointEvery %d reported no checkpoint before its last step", s.Steps, req.CheckpointEvery)
	}
	// A backend in another process may have finished before the
	// cancellation reached it (err == nil): the checkpoint must still be
	// there to resume from, as after a kill.
	_ = err
	if _, err := os.Stat(first.Checkpoint); err != nil {
		t.Fatalf("the checkpoint of step %d is gone after the interruption: %v", first.Step, err)
	}
	req.Resume = first.Checkpoint
	res, ps, _, err := ground(t.Context(), s.newLM(t), req, nil)
	if err != nil {
		t.Fatalf("Ground resumed from the checkpoint of step %d: %v", first.Step, err)
	}
	if len(ps) > 0 && ps[0].Step <= first.Step {
		t.Errorf("Ground resumed from the checkpoint of step %d reported step %d first: it started over", first.Step, ps[0].Step)
	}
	checkProgress(t, ps, first.Step+1, s.Steps)
	if res == nil || res.Checkpoint == "" {
		t.Fatalf("resumed Ground returned no checkpoint")
	}
	if !under(out, res.Checkpoint) {
		t.Errorf("resumed Ground wrote its checkpoint %s outside OutDir %s", res.Checkpoint, out)
	}
	// The resumed model is the uninterrupted one.
	obs, acts := transitions(f.loaded, 12)
	texts := []string{GoalText(0), GoalText(3), GoalText(5)}
	a, errA := predict(t.Context(), m, f.ckpt, obs, acts)
	b, errB := predict(t.Context(), m, res.Checkpoint, obs, acts)
	if errA != nil || errB != nil {
		t.Fatalf("Predict: %v; %v", errA, errB)
	}
	if i, ok := differ(a, b, s.Tolerance); ok {
		t.Errorf("a grounding resumed at step %d predicts %g at value %d, the uninterrupted one %g", first.Step, b[i], i, a[i])
	}
	ea, errA := encode(t.Context(), m, f.ckpt, texts)
	eb, errB := encode(t.Context(), m, res.Checkpoint, texts)
	if errA != nil || errB != nil {
		t.Fatalf("Encode: %v; %v", errA, errB)
	}
	if i, ok := differ(ea.Vectors, eb.Vectors, s.Tolerance); ok {
		t.Errorf("a grounding resumed at step %d encodes %g at value %d, the uninterrupted one %g", first.Step, eb.Vectors[i], i, ea.Vectors[i])
	}
}

// differ returns the first index where a and b differ by more than tol, or
// where one is shorter.
func differ(a, b []float32, tol float64) (int, bool) {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || math.Abs(float64(a[i]-b[i])) > tol || math.IsNaN(float64(a[i]-b[i])) {
			return min(i, len(a)-1, len(b)-1), true
		}
	}
	return 0, false
}

// transitions returns the first n transitions of d.
func transitions(d *dataset.Data, n int) (obs, acts []float32) {
	od, ad := d.Meta.ObsDim, d.Meta.ActionSpace.Dim
	for i := range min(n, d.Len()) {
		r := int(d.ObsRow[i])
		obs = append(obs, d.Obs[r*od:(r+1)*od]...)
		acts = append(acts, d.Actions[i*ad:(i+1)*ad]...)
	}
	return obs, acts
}

func predict(ctx context.Context, m lm.LM, ckpt string, obs, acts []float32) ([]float32, error) {
	r, err := suite.Call(func() (*lm.PredictResponse, error) {
		return m.Predict(ctx, lm.PredictRequest{Checkpoint: ckpt, Observations: obs, Actions: acts})
	})
	if err != nil {
		return nil, err
	}
	return r.Observations, nil
}

func encode(ctx context.Context, m lm.LM, ckpt string, texts []string) (*lm.EncodeResponse, error) {
	return suite.Call(func() (*lm.EncodeResponse, error) {
		return m.Encode(ctx, lm.EncodeRequest{Checkpoint: ckpt, Texts: texts})
	})
}

// generateGoals are the goals the Generate checks imagine rollouts for,
// from the observations starts returns.
func generateGoals() []dataset.Goal {
	var gs []dataset.Goal
	for i := range 7 {
		k := (i * 5) % Cells
		gs = append(gs, dataset.Goal{Level: "novel", Text: GoalText(k), Vector: []float32{float32(k) / (Cells - 1)}})
	}
	return gs
}

func starts(goals []dataset.Goal) []float32 {
	var obs []float32
	for i, g := range goals {
		obs = append(obs, float32((i*2+1)%Cells), g.Vector[0]*(Cells-1))
	}
	return obs
}

// generated reads back a generated dataset and checks what every
// generation must satisfy.
func generated(t tester, sp dataset.Space, out string, req lm.GenerateRequest, res *lm.GenerateResponse) []*dataset.Episode {
	t.Helper()
	r, err := dataset.Open(out)
	if err != nil {
		t.Fatalf("Generate wrote no readable dataset at Out %s: %v", out, err)
	}
	defer r.Close()
	meta := r.Meta()
	if meta.ObsDim != obsDim || meta.ActionSpace.Kind != sp.Kind || meta.ActionSpace.N != sp.N || meta.ActionSpace.Dim != sp.Dim {
		t.Errorf("generated dataset has obs dim %d and action space %+v, the grounding data %d and %+v", meta.ObsDim, meta.ActionSpace, obsDim, sp)
	}
	if meta.Episodes != len(req.Goals) {
		t.Errorf("generated dataset has %d episodes for %d goals", meta.Episodes, len(req.Goals))
	}
	if res != nil && res.Meta.Episodes != meta.Episodes {
		t.Errorf("Generate's response says %d episodes, the dataset holds %d", res.Meta.Episodes, meta.Episodes)
	}
	var eps []*dataset.Episode
	for ep, err := range r.All() {
		if err != nil {
			t.Fatalf("reading the generated dataset: %v", err)
		}
		i := len(eps)
		eps = append(eps, ep)
		if i >= len(req.Goals) {
			continue
		}
		if ep.Goal.Text != req.Goals[i].Text {
			t.Errorf("episode %d has goal %q, request goal %d is %q", i, ep.Goal.Text, i, req.Goals[i].Text)
		}
		if n := ep.Len(); n < 1 || n > req.MaxSteps {
			t.Errorf("episode %d (%q) has %d steps, want 1..MaxSteps = %d", i, ep.Goal.Text, n, req.MaxSteps)
		}
		if len(ep.Observations) >= obsDim && !slices.Equal(ep.Observations[:obsDim], req.Observations[i*obsDim:(i+1)*obsDim]) {
			t.Errorf("episode %d starts at %v, the request gave %v", i, ep.Observations[:obsDim], req.Observations[i*obsDim:(i+1)*obsDim])
		}
		if err := sp.Check(ep.Actions); err != nil {
			t.Errorf("episode %d: %v", i, err)
		}
	}
	return eps
}

func (s Suite) generate(t tester, m lm.LM, req lm.GenerateRequest, judge lm.Judge) (*lm.GenerateResponse, error) {
	t.Helper()
	return suite.Call(func() (*lm.GenerateResponse, error) { return m.Generate(t.Context(), req, judge) })
}

func (s Suite) generateRequest(f *fixture, out string, temperature float64, seed uint64) lm.GenerateRequest {
	gs := generateGoals()
	return lm.GenerateRequest{Checkpoint: f.ckpt, Goals: gs, Observations: starts(gs), MaxSteps: Horizon, Temperature: temperature,
		Seed: seed, Out: out, Config: s.Config}
}

func (s Suite) checkGenerate(t tester, f *fixture) {
	m := s.newLM(t)
	for _, temp := range []float64{0, 1} {
		t.Run(fmt.Sprintf("temperature=%g", temp), func(t tester) {
			out := filepath.Join(f.dir, fmt.Sprintf("generate-%g", temp))
			req := s.generateRequest(f, out, temp, s.Seed)
			res, err := s.generate(t, m, req, nil)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			for i, ep := range generated(t, f.space, out, req, res) {
				if ep.Len() != req.MaxSteps {
					t.Errorf("episode %d has %d steps; without a judge a rollout runs to MaxSteps = %d", i, ep.Len(), req.MaxSteps)
				}
			}
		})
	}
}

func (s Suite) checkGenerateJudged(t tester, f *fixture) {
	m := s.newLM(t)
	out := filepath.Join(f.dir, "judged")
	req := s.generateRequest(f, out, 0, s.Seed)
	// Rollout i is done after step i%4+1; the judge records what it saw.
	doneAt := func(i int) int { return i%4 + 1 }
	seenObs := make([][]float32, len(req.Goals))
	seenAct := make([][]float32, len(req.Goals))
	for i := range seenObs {
		seenObs[i] = append([]float32(nil), req.Observations[i*obsDim:(i+1)*obsDim]...)
	}
	var problems []string
	last := 0
	judge := func(_ context.Context, st lm.GenerateStep) (*lm.Verdict, error) {
		if st.Step != last+1 {
			problems = append(problems, fmt.Sprintf("step %d reported after step %d", st.Step, last))
		}
		last = st.Step
		if len(st.Observations) != len(st.Index)*obsDim || len(st.Actions) != len(st.Index)*f.space.Dim {
			return nil, fmt.Errorf("lmtest: step %d reports %d rollouts with %d observation and %d action values", st.Step, len(st.Index),
				len(st.Observations), len(st.Actions))
		}
		v := &lm.Verdict{Done: make([]bool, len(st.Index))}
		for k, i := range st.Index {
			if i < 0 || int(i) >= len(req.Goals) {
				return nil, fmt.Errorf("lmtest: step %d reports rollout %d of %d", st.Step, i, len(req.Goals))
			}
			if st.Step > doneAt(int(i)) {
				problems = append(problems, fmt.Sprintf("rollout %d got step %d after the judge called it done at step %d", i, st.Step, doneAt(int(i))))
			}
			seenObs[i] = append(seenObs[i], st.Observations[k*obsDim:(k+1)*obsDim]...)
			seenAct[i] = append(seenAct[i], st.Actions[k*f.space.Dim:(k+1)*f.space.Dim]...)
			v.Done[k] = st.Step >= doneAt(int(i))
		}
		return v, nil
	}
	res, err := s.generate(t, m, req, judge)
	if err != nil {
		t.Fatalf("Generate with a judge: %v", err)
	}
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	for i, ep := range generated(t, f.space, out, req, res) {
		if i >= len(req.Goals) {
			break
		}
		if ep.Len() != doneAt(i) {
			t.Errorf("episode %d has %d steps; the judge called it done at step %d", i, ep.Len(), doneAt(i))
		}
		if !slices.Equal(ep.Observations, seenObs[i]) || !slices.Equal(ep.Actions, seenAct[i]) {
			t.Errorf("episode %d holds observations %v and actions %v; the judge was shown %v and %v", i, ep.Observations, ep.Actions,
				seenObs[i], seenAct[i])
		}
	}
}

func (s Suite) checkGenerateSeeded(t tester, f *fixture) {
	m := s.newLM(t)
	for _, temp := range []float64{0, 1} {
		t.Run(fmt.Sprintf("temperature=%g", temp), func(t tester) {
			var runs [2][]*dataset.Episode
			for k := range runs {
				out := filepath.Join(f.dir, fmt.Sprintf("seeded-%g-%d", temp, k))
				req := s.generateRequest(f, out, temp, s.Seed+7)
				res, err := s.generate(t, m, req, nil)
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				runs[k] = generated(t, f.space, out, req, res)
			}
			if len(runs[0]) != len(runs[1]) {
				t.Fatalf("the same request gave %d and %d rollouts", len(runs[0]), len(runs[1]))
			}
			for i := range runs[0] {
				a, b := runs[0][i], runs[1][i]
				if !slices.Equal(a.Actions, b.Actions) || !slices.Equal(a.Observations, b.Observations) {
					t.Errorf("rollout %d with seed %d and temperature %g: actions %v, then %v", i, s.Seed+7, temp, a.Actions, b.Actions)
				}
			}
		})
	}
}

// rollouts returns the first n episodes of the walk dataset.
func rollouts(t tester, path string, n int) []*dataset.Episode {
	t.Helper()
	r, err := dataset.Open(path)
	if err != nil {
		t.Fatalf("reading the test dataset: %v", err)
	}
	defer r.Close()
	var eps []*dataset.Episode
	for len(eps) < n {
		ep, err := r.Next()
		if err != nil {
			t.Fatalf("reading the test dataset: %v", err)
		}
		eps = append(eps, ep)
	}
	return eps
}

func (s Suite) checkExplain(t tester, f *fixture) {
	m := s.newLM(t)
	eps := rollouts(t, f.data, 8)
	r, err := suite.Call(func() (*lm.ExplainResponse, error) {
		return m.Explain(t.Context(), lm.ExplainRequest{Checkpoint: f.ckpt, Rollouts: eps, Seed: s.Seed})
	})
	if err != nil {
		t.Fatalf("Explain: %v", err)
	}
	if len(r.Texts) != len(eps) {
		t.Fatalf("Explain of %d rollouts gave %d texts", len(eps), len(r.Texts))
	}
	for i, txt := range r.Texts {
		if txt == "" {
			t.Errorf("Explain gave rollout %d (goal %q) an empty text", i, eps[i].Goal.Text)
		}
	}
}

func (s Suite) checkPredict(t tester, f *fixture) {
	m := s.newLM(t)
	const n = 10
	obs, acts := transitions(f.loaded, n)
	out, err := predict(t.Context(), m, f.ckpt, obs, acts)
	if err != nil {
		t.Fatalf("Predict: %v", err)
	}
	if len(out) != n*obsDim {
		t.Fatalf("Predict of %d transitions gave %d values, want %d", n, len(out), n*obsDim)
	}
	if i, ok := nonFinite(out); ok {
		t.Errorf("Predict: value %d is %g", i, out[i])
	}
	// Previous observations equal to the observations (an episode's first
	// step) answer as none given.
	r, err := suite.Call(func() (*lm.PredictResponse, error) {
		return m.Predict(t.Context(), lm.PredictRequest{Checkpoint: f.ckpt, Observations: obs, Actions: acts, Previous: obs})
	})
	if err != nil {
		t.Fatalf("Predict given previous observations: %v", err)
	}
	if len(r.Observations) != len(out) {
		t.Fatalf("Predict of %d transitions given previous observations gave %d values, want %d", n, len(r.Observations), len(out))
	}
	if i, ok := differ(out, r.Observations, s.Tolerance); ok {
		t.Errorf("Predict given each observation as its previous one answers %g at value %d, given none %g", r.Observations[i], i, out[i])
	}
}

func (s Suite) checkEncode(t tester, f *fixture) {
	m := s.newLM(t)
	texts := []string{GoalText(1), GoalText(4), "go to cell 4", GoalText(0)}
	a, err := encode(t.Context(), m, f.ckpt, texts)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if a.Dim < 1 {
		t.Fatalf("Encode: Dim = %d, want ≥ 1", a.Dim)
	}
	if len(a.Vectors) != len(texts)*a.Dim {
		t.Fatalf("Encode of %d texts gave %d values with Dim %d", len(texts), len(a.Vectors), a.Dim)
	}
	if i, ok := nonFinite(a.Vectors); ok {
		t.Errorf("Encode: value %d is %g", i, a.Vectors[i])
	}
	if !slices.Equal(a.Vectors[a.Dim:2*a.Dim], a.Vectors[2*a.Dim:3*a.Dim]) {
		t.Errorf("one text in one batch encodes as %v and %v", a.Vectors[a.Dim:2*a.Dim], a.Vectors[2*a.Dim:3*a.Dim])
	}
	b, err := encode(t.Context(), s.newLM(t), f.ckpt, texts)
	if err != nil {
		t.Fatalf("second Encode: %v", err)
	}
	if b.Dim != a.Dim || !slices.Equal(a.Vectors, b.Vectors) {
		t.Errorf("Encode is not deterministic: %v, then %v", a.Vectors, b.Vectors)
	}
}

func (s Suite) checkAct(t tester, f *fixture) {
	m := s.newLM(t)
	gs := generateGoals()
	obs := starts(gs)
	texts := make([]string, len(gs))
	for i, g := range gs {
		texts[i] = g.Text
	}
	act := func(t tester, req lm.ActRequest) {
		t.Helper()
		r, err := suite.Call(func() (*lm.ActResponse, error) { return m.Act(t.Context(), req) })
		if err != nil {
			t.Fatalf("Act: %v", err)
		}
		if len(r.Actions) != len(gs)*f.space.Dim {
			t.Fatalf("Act for %d goals gave %d action values, want %d", len(gs), len(r.Actions), len(gs)*f.space.Dim)
		}
		if err := f.space.Check(r.Actions); err != nil {
			t.Errorf("Act: %v", err)
		}
	}
	t.Run("NoHistory", func(t tester) {
		act(t, lm.ActRequest{Checkpoint: f.ckpt, Observations: obs, Goals: texts, Seed: s.Seed})
	})
	t.Run("History", func(t tester) {
		req := lm.ActRequest{Checkpoint: f.ckpt, Observations: obs, Goals: texts, Seed: s.Seed, Temperature: 1}
		for i := range gs {
			n := i % 3
			req.HistoryLengths = append(req.HistoryLengths, n)
			for range n {
				req.HistoryObservations = append(req.HistoryObservations, obs[i*obsDim:(i+1)*obsDim]...)
				req.HistoryActions = append(req.HistoryActions, 1)
			}
		}
		act(t, req)
	})
}

func (s Suite) checkBadInput(t tester, f *fixture) {
	m := s.newLM(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.ckpt")
	if err := os.WriteFile(garbage, []byte("this is not a checkpoint\n"), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	missing := filepath.Join(dir, "no-such-checkpoint")
	t.Run("Ground", func(t tester) {
		empty := filepath.Join(dir, "empty")
		if err := WriteDataset(empty, f.space, 0, s.Seed, 0); err != nil {
			t.Fatalf("writing an empty dataset: %v", err)
		}
		wide := filepath.Join(dir, "wide")
		if err := WriteDataset(wide, f.space, episodes, s.Seed+1, 1); err != nil {
			t.Fatalf("writing a dataset of obs dim %d: %v", obsDim+1, err)
		}
		cases := []struct {
			name string
			req  lm.GroundRequest
		}{
			{"EmptyDataset", s.groundRequest([]string{empty}, filepath.Join(dir, "g-empty"))},
			{"NoDataset", s.groundRequest(nil, filepath.Join(dir, "g-none"))},
			{"MissingDataset", s.groundRequest([]string{filepath.Join(dir, "no-such-dataset")}, filepath.Join(dir, "g-missing"))},
			{"TwoSpecs", s.groundRequest([]string{f.data, wide}, filepath.Join(dir, "g-two"))},
			{"ResumeGarbage", func() lm.GroundRequest {
				r := s.groundRequest([]string{f.data}, filepath.Join(dir, "g-garbage"))
				r.Resume = garbage
				return r
			}()},
		}
		for _, c := range cases {
			t.Run(c.name, func(t tester) {
				suite.Rejects(t, "Ground "+c.name, func() (*lm.GroundResponse, error) {
					res, _, _, err := ground(t.Context(), m, c.req, nil)
					return res, err
				})
			})
		}
	})
	gs := generateGoals()
	obs := starts(gs)
	texts := []string{GoalText(1), GoalText(2)}
	outs := 0
	generate := func(mut func(*lm.GenerateRequest)) func() (*lm.GenerateResponse, error) {
		outs++
		req := s.generateRequest(f, filepath.Join(dir, fmt.Sprintf("gen-%d", outs)), 0, s.Seed)
		mut(&req)
		return func() (*lm.GenerateResponse, error) { return m.Generate(t.Context(), req, nil) }
	}
	for _, c := range []struct{ name, ckpt string }{{"GarbageCheckpoint", garbage}, {"MissingCheckpoint", missing}} {
		t.Run(c.name, func(t tester) {
			suite.Rejects(t, "Generate with "+c.name, generate(func(r *lm.GenerateRequest) { r.Checkpoint = c.ckpt }))
			suite.Rejects(t, "Explain with "+c.name, func() (*lm.ExplainResponse, error) {
				return m.Explain(t.Context(), lm.ExplainRequest{Checkpoint: c.ckpt, Rollouts: rollouts(t, f.data, 2)})
			})
			suite.Rejects(t, "Predict with "+c.name, func() (*lm.PredictResponse, error) {
				return m.Predict(t.Context(), lm.PredictRequest{Checkpoint: c.ckpt, Observations: obs[:obsDim], Actions: []float32{1}})
			})
			suite.Rejects(t, "Encode with "+c.name, func() (*lm.EncodeResponse, error) {
				return m.Encode(t.Context(), lm.EncodeRequest{Checkpoint: c.ckpt, Texts: texts})
			})
			suite.Rejects(t, "Act with "+c.name, func() (*lm.ActResponse, error) {
				return m.Act(t.Context(), lm.ActRequest{Checkpoint: c.ckpt, Observations: obs[:obsDim], Goals: texts[:1]})
			})
		})
	}
	t.Run("EmptyGoalText", func(t tester) {
		suite.Rejects(t, "Encode of an empty text", func() (*lm.EncodeResponse, error) {
			return m.Encode(t.Context(), lm.EncodeRequest{Checkpoint: f.ckpt, Texts: []string{GoalText(1), ""}})
		})
		suite.Rejects(t, "Generate for an empty goal text", generate(func(r *lm.GenerateRequest) { r.Goals[2].Text = "" }))
		suite.Rejects(t, "Act for an empty goal text", func() (*lm.ActResponse, error) {
			return m.Act(t.Context(), lm.ActRequest{Checkpoint: f.ckpt, Observations: obs[:obsDim], Goals: []string{""}})
		})
	})
	t.Run("WrongLengths", func(t tester) {
		suite.Rejects(t, "Generate with one observation value short", generate(func(r *lm.GenerateRequest) {
			r.Observations = r.Observations[:len(r.Observations)-1]
		}))
		suite.Rejects(t, "Generate with observations of obs dim + 1", generate(func(r *lm.GenerateRequest) {
			r.Observations = append(r.Observations, make([]float32, len(r.Goals))...)
		}))
		suite.Rejects(t, "Generate with MaxSteps 0", generate(func(r *lm.GenerateRequest) { r.MaxSteps = 0 }))
		suite.Rejects(t, "Predict with one action too many", func() (*lm.PredictResponse, error) {
			return m.Predict(t.Context(), lm.PredictRequest{Checkpoint: f.ckpt, Observations: obs[:2*obsDim], Actions: []float32{1, 1, 1}})
		})
		suite.Rejects(t, "Predict with an out-of-range action", func() (*lm.PredictResponse, error) {
			return m.Predict(t.Context(), lm.PredictRequest{Checkpoint: f.ckpt, Observations: obs[:obsDim], Actions: []float32{nActions}})
		})
		suite.Rejects(t, "Predict with a NaN action", func() (*lm.PredictResponse, error) {
			return m.Predict(t.Context(), lm.PredictRequest{Checkpoint: f.ckpt, Observations: obs[:obsDim], Actions: []float32{float32(math.NaN())}})
		})
		suite.Rejects(t, "Act with one goal for two observations", func() (*lm.ActResponse, error) {
			return m.Act(t.Context(), lm.ActRequest{Checkpoint: f.ckpt, Observations: obs[:2*obsDim], Goals: texts[:1]})
		})
		suite.Rejects(t, "Act with a history longer than given", func() (*lm.ActResponse, error) {
			return m.Act(t.Context(), lm.ActRequest{Checkpoint: f.ckpt, Observations: obs[:obsDim], Goals: texts[:1], HistoryLengths: []int{3},
				HistoryObservations: obs[:obsDim], HistoryActions: []float32{1}})
		})
		suite.Rejects(t, "Explain of a rollout of obs dim + 1", func() (*lm.ExplainResponse, error) {
			ep := rollouts(t, f.data, 1)[0]
			wide := *ep
			wide.Observations = append(append([]float32(nil), ep.Observations...), make([]float32, ep.Len()+1)...)
			return m.Explain(t.Context(), lm.ExplainRequest{Checkpoint: f.ckpt, Rollouts: []*dataset.Episode{&wide}})
		})
	})
}

func nonFinite(v []float32) (int, bool) {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i, true
		}
	}
	return 0, false
}

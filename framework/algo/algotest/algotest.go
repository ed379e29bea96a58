package algotest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/internal/suite"
)

// Suite is a configured conformance run. Only New is required.
type Suite struct {
	// New returns the algorithm to check. It is called at least once per
	// check, with that check's subtest.
	New func(tb testing.TB) algo.Algo
	// Hyper is passed to every Train call: small networks keep the suite fast.
	Hyper map[string]any
	// Steps is the number of training steps per run (default 20).
	Steps int
	// Batch is the minibatch size (default 16).
	Batch int
	// Seed is the base seed of every draw (default 1).
	Seed uint64
	// StopWithin bounds how long Train may run on after its context is
	// cancelled before the Cancel check fails (default 10 s). It is a
	// liveness bound, not a performance assertion.
	StopWithin time.Duration
}

// Run checks the algorithm newAlgo returns against the contract of package
// algo, each check a subtest of t. See the package documentation for the list.
func Run(t *testing.T, newAlgo func(tb testing.TB) algo.Algo) {
	t.Helper()
	Suite{New: newAlgo}.Run(t)
}

// Run runs the suite, each check a subtest of t.
func (s Suite) Run(t *testing.T) {
	t.Helper()
	s.run(realT{T: t})
}

// The tiny datasets the suite trains on.
const (
	obsDim   = 3
	goalDim  = 2
	episodes = 16
	length   = 8 // steps per episode
)

func (s Suite) withDefaults() Suite {
	if s.Steps <= 0 {
		s.Steps = 20
	}
	if s.Batch <= 0 {
		s.Batch = 16
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.StopWithin <= 0 {
		s.StopWithin = 10 * time.Second
	}
	return s
}

func (s Suite) run(t tester) {
	s = s.withDefaults()
	if s.New == nil {
		t.Fatalf("algotest: Suite.New is nil")
	}
	var sc algo.Schema
	ok := t.Run("Schema", func(t tester) { sc = s.checkSchema(t) })
	t.Run("Hyper", s.checkHyper)
	if !ok {
		return
	}
	for _, k := range sc.Spaces {
		if k != dataset.Discrete && k != dataset.Continuous {
			continue
		}
		t.Run(string(k), func(t tester) { s.checkSpace(t, k) })
	}
}

func (s Suite) schema(t tester, a algo.Algo) algo.Schema {
	t.Helper()
	sc, err := suite.Call(func() (*algo.Schema, error) { return a.Schema(t.Context(), algo.SchemaRequest{}) })
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	if sc == nil {
		t.Fatalf("Schema returned neither a schema nor an error")
	}
	return *sc
}

func (s Suite) checkSchema(t tester) algo.Schema {
	a := s.New(t)
	if a == nil {
		t.Fatalf("New returned a nil algorithm")
	}
	sc := s.schema(t, a)
	if sc.Name == "" {
		t.Errorf("schema has no name")
	}
	if len(sc.Spaces) == 0 {
		t.Errorf("schema lists no action-space kinds")
	}
	for _, k := range sc.Spaces {
		if k != dataset.Discrete && k != dataset.Continuous {
			t.Errorf("schema lists action-space kind %q, want %q or %q", k, dataset.Discrete, dataset.Continuous)
		}
	}
	seen := map[string]bool{}
	for _, p := range sc.Params {
		if p.Name == "" {
			t.Errorf("a parameter has no name: %+v", p)
		}
		if seen[p.Name] {
			t.Errorf("parameter %q declared twice", p.Name)
		}
		seen[p.Name] = true
		if err := checkDefault(p); err != nil {
			t.Errorf("parameter %q: %v", p.Name, err)
		}
	}
	return sc
}

// checkDefault reports a default that is not of its parameter's type. A
// default that crossed a process boundary as JSON arrives as float64, so an
// integral float64 counts as an int.
func checkDefault(p algo.Param) error {
	if len(p.Allowed) > 0 && p.Type != algo.TypeString {
		return fmt.Errorf("type %s with Allowed values %q; Allowed is for strings", p.Type, p.Allowed)
	}
	bad := func() error { return fmt.Errorf("default %v (%T) is not of type %s", p.Default, p.Default, p.Type) }
	switch p.Type {
	case algo.TypeFloat:
		var f float64
		switch v := p.Default.(type) {
		case float64:
			f = v
		case float32:
			f = float64(v)
		default:
			return bad()
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("default %v is not finite", f)
		}
	case algo.TypeInt:
		switch v := p.Default.(type) {
		case int, int32, int64:
		case float64:
			if v != math.Trunc(v) {
				return bad()
			}
		default:
			return bad()
		}
	case algo.TypeBool:
		if _, ok := p.Default.(bool); !ok {
			return bad()
		}
	case algo.TypeString:
		v, ok := p.Default.(string)
		if !ok {
			return bad()
		}
		if len(p.Allowed) > 0 && !slices.Contains(p.Allowed, v) {
			return fmt.Errorf("default %q is not among the allowed values %q", v, p.Allowed)
		}
	default:
		return fmt.Errorf("type %q, want float, int, bool or string", p.Type)
	}
	return nil
}

// space returns the action space the suite's datasets use for kind k.
func space(k dataset.Kind) dataset.Space {
	if k == dataset.Discrete {
		return dataset.DiscreteSpace(4)
	}
	return dataset.BoxSpace(2, -1, 1)
}

// expertAction is the action the datasets record for an observation: a
// simple function an algorithm can learn.
func expertAction(sp dataset.Space, obs []float32) []float32 {
	if sp.Kind == dataset.Discrete {
		a := 0
		if obs[0] > 0 {
			a++
		}
		if obs[1] > 0 {
			a += 2
		}
		return []float32{float32(a)}
	}
	return []float32{0.8 * obs[0], 0.8 * float32(math.Tanh(float64(obs[1]+obs[2])))}
}

// writeDataset writes a tiny dataset of the given dimensions to dir.
func writeDataset(dir string, sp dataset.Space, od, gd int, seed uint64) error {
	w, err := dataset.Create(dir, dataset.Meta{Env: "algotest", Source: dataset.Real, ObsDim: od, GoalDim: gd, ActionSpace: sp})
	if err != nil {
		return err
	}
	defer w.Abort()
	rng := rand.New(rand.NewPCG(seed, 11))
	for e := range episodes {
		ep := &dataset.Episode{Goal: dataset.Goal{Level: "train", Text: fmt.Sprintf("goal %d", e%max(gd, 1)), Vector: make([]float32, gd)}}
		if gd > 0 {
			ep.Goal.Vector[e%gd] = 1
		}
		obs := make([]float32, od)
		for i := range obs {
			obs[i] = 2*rng.Float32() - 1
		}
		ep.Observations = append(ep.Observations, obs...)
		for k := range length {
			ep.Actions = append(ep.Actions, expertAction(sp, obs)...)
			for i := range obs {
				obs[i] = float32(math.Max(-1, math.Min(1, float64(obs[i]+0.3*(2*rng.Float32()-1)))))
			}
			ep.Observations = append(ep.Observations, obs...)
			last := k == length-1
			success := last && e%2 == 0
			ep.Rewards = append(ep.Rewards, b2f(success))
			ep.Terminals = append(ep.Terminals, success)
			ep.Timeouts = append(ep.Timeouts, last && !success)
			ep.Success = ep.Success || success
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

// run is the record of one training run.
type trainRun struct {
	res      *algo.TrainResult
	progress []algo.Progress
}

func (s Suite) request(datasets []algo.Source, out string, seed uint64) algo.TrainRequest {
	return algo.TrainRequest{Datasets: datasets, Hyper: s.Hyper, Steps: s.Steps, Batch: s.Batch,
		CheckpointEvery: (s.Steps + 1) / 2, OutDir: out, Seed: seed}
}

func train(ctx context.Context, a algo.Algo, req algo.TrainRequest) (trainRun, error) {
	var r trainRun
	res, err := suite.Call(func() (*algo.TrainResult, error) {
		return a.Train(ctx, req, func(p algo.Progress) { r.progress = append(r.progress, p) })
	})
	r.res = res
	return r, err
}

func (s Suite) checkHyper(t tester) {
	a := s.New(t)
	if a == nil {
		t.Fatalf("New returned a nil algorithm")
	}
	sc := s.schema(t, a)
	if len(sc.Spaces) == 0 {
		t.Fatalf("schema lists no action-space kinds")
	}
	sp := space(sc.Spaces[0])
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeDataset(data, sp, obsDim, goalDim, s.Seed); err != nil {
		t.Fatalf("writing the test dataset: %v", err)
	}
	with := func(k string, v any) map[string]any {
		h := map[string]any{}
		for k, v := range s.Hyper {
			h[k] = v
		}
		h[k] = v
		return h
	}
	t.Run("Unknown", func(t tester) {
		req := s.request([]algo.Source{{Path: data, Weight: 1}}, filepath.Join(dir, "unknown"), s.Seed)
		req.Hyper = with("no_such_hyper_parameter_algotest", 1.0)
		suite.Rejects(t, "Train with an unknown hyper-parameter", func() (trainRun, error) { return train(t.Context(), a, req) })
	})
	for _, p := range sc.Params {
		var wrong any
		switch p.Type {
		case algo.TypeFloat, algo.TypeInt, algo.TypeBool:
			wrong = "not-a-" + string(p.Type)
		case algo.TypeString:
			wrong = []int{1, 2}
		default:
			continue
		}
		t.Run("WrongType/"+p.Name, func(t tester) {
			req := s.request([]algo.Source{{Path: data, Weight: 1}}, filepath.Join(dir, "wrong-"+p.Name), s.Seed)
			req.Hyper = with(p.Name, wrong)
			suite.Rejects(t, fmt.Sprintf("Train with %s = %v (a %s parameter)", p.Name, wrong, p.Type), func() (trainRun, error) {
				return train(t.Context(), a, req)
			})
		})
		break // one parameter is enough; every parameter goes through the same check
	}
}

func (s Suite) checkSpace(t tester, k dataset.Kind) {
	a := s.New(t)
	if a == nil {
		t.Fatalf("New returned a nil algorithm")
	}
	sp := space(k)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeDataset(data, sp, obsDim, goalDim, s.Seed); err != nil {
		t.Fatalf("writing the test dataset: %v", err)
	}
	d, err := dataset.Load(data)
	if err != nil {
		t.Fatalf("reading the test dataset back: %v", err)
	}
	// A batch of observations and goals to act on.
	const n = 5
	obs := d.Obs[:n*obsDim]
	goals := d.GoalVectors[:n*goalDim]

	var run trainRun
	if !t.Run("Train", func(t tester) {
		var err error
		run, err = train(t.Context(), a, s.request([]algo.Source{{Path: data, Weight: 1}}, filepath.Join(dir, "train"), s.Seed))
		if err != nil {
			t.Fatalf("Train: %v", err)
		}
		s.checkRun(t, run)
	}) {
		t.Fatalf("training failed; the checks that need a policy did not run")
	}
	last := run.res.Checkpoints[len(run.res.Checkpoints)-1].Path

	load := func(t tester, a algo.Algo, ckpt string) algo.Policy {
		t.Helper()
		r, err := suite.Call(func() (*algo.LoadResponse, error) { return a.Load(t.Context(), algo.LoadRequest{Checkpoint: ckpt}) })
		if err != nil {
			t.Fatalf("Load(%s): %v", ckpt, err)
		}
		if r == nil {
			t.Fatalf("Load(%s) returned neither a policy nor an error", ckpt)
		}
		return r.Policy
	}
	act := func(t tester, a algo.Algo, p algo.Policy, det bool, seed uint64) []float32 {
		t.Helper()
		r, err := suite.Call(func() (*algo.ActResponse, error) {
			return a.Act(t.Context(), algo.ActRequest{Policy: p, Observations: obs, Goals: goals, Deterministic: det, Seed: seed})
		})
		if err != nil {
			t.Fatalf("Act: %v", err)
		}
		if r == nil {
			t.Fatalf("Act returned neither actions nor an error")
		}
		out := r.Actions
		if len(out) != n*sp.Dim {
			t.Fatalf("Act on %d observations gave %d action values, want %d", n, len(out), n*sp.Dim)
		}
		if err := sp.Check(out); err != nil {
			t.Fatalf("Act: %v (action space %+v)", err, sp)
		}
		return out
	}

	t.Run("Act", func(t tester) {
		for _, c := range run.res.Checkpoints {
			p := load(t, a, c.Path)
			act(t, a, p, true, s.Seed)
			act(t, a, p, false, s.Seed)
		}
	})
	t.Run("ActDeterministic", func(t tester) {
		p := load(t, a, last)
		x, y := act(t, a, p, true, s.Seed), act(t, a, p, true, s.Seed+1)
		if !slices.Equal(x, y) {
			t.Errorf("Deterministic Act gave %v, then %v", x, y)
		}
		q := load(t, a, last)
		if z := act(t, a, q, true, s.Seed); !slices.Equal(x, z) {
			t.Errorf("the same checkpoint loaded twice acts %v and %v", x, z)
		}
	})
	t.Run("ActSeeded", func(t tester) {
		p := load(t, a, last)
		if x, y := act(t, a, p, false, s.Seed), act(t, a, p, false, s.Seed); !slices.Equal(x, y) {
			t.Errorf("sampling Act with the same seed gave %v, then %v", x, y)
		}
	})
	t.Run("BadInput", func(t tester) {
		p := load(t, a, last)
		suite.Rejects(t, "Load of a missing checkpoint", func() (*algo.LoadResponse, error) {
			return a.Load(t.Context(), algo.LoadRequest{Checkpoint: filepath.Join(dir, "no-such-checkpoint")})
		})
		bad := []struct {
			name string
			req  algo.ActRequest
		}{
			{"UnknownPolicy", algo.ActRequest{Policy: p + "-no-such-policy", Observations: obs, Goals: goals, Deterministic: true}},
			{"ObservationsWrongLength", algo.ActRequest{Policy: p, Observations: obs[:len(obs)-1], Goals: goals, Deterministic: true}},
			{"GoalsWrongLength", algo.ActRequest{Policy: p, Observations: obs, Goals: goals[:len(goals)-1], Deterministic: true}},
		}
		for _, c := range bad {
			t.Run(c.name, func(t tester) {
				suite.Rejects(t, "Act "+c.name, func() (*algo.ActResponse, error) { return a.Act(t.Context(), c.req) })
			})
		}
	})
	t.Run("Seeded", func(t tester) {
		b := s.New(t)
		again, err := train(t.Context(), b, s.request([]algo.Source{{Path: data, Weight: 1}}, filepath.Join(dir, "again"), s.Seed))
		if err != nil {
			t.Fatalf("Train: %v", err)
		}
		if len(again.res.Checkpoints) == 0 {
			t.Fatalf("Train wrote no checkpoint")
		}
		x := act(t, a, load(t, a, last), true, s.Seed)
		y := act(t, b, load(t, b, again.res.Checkpoints[len(again.res.Checkpoints)-1].Path), true, s.Seed)
		for i := range x {
			if math.Abs(float64(x[i]-y[i])) > 1e-4 {
				t.Fatalf("two trainings with seed %d act differently: %v and %v", s.Seed, x, y)
			}
		}
	})
	t.Run("Mixed", func(t tester) {
		other := filepath.Join(dir, "other")
		if err := writeDataset(other, sp, obsDim, goalDim, s.Seed+1); err != nil {
			t.Fatalf("writing the second dataset: %v", err)
		}
		mixed, err := train(t.Context(), a, s.request([]algo.Source{{Path: data, Weight: 0.5}, {Path: other, Weight: 0.5}}, filepath.Join(dir, "mixed"), s.Seed))
		if err != nil {
			t.Fatalf("Train on two datasets: %v", err)
		}
		s.checkRun(t, mixed)
		wide := filepath.Join(dir, "wide")
		if err := writeDataset(wide, sp, obsDim+1, goalDim, s.Seed+2); err != nil {
			t.Fatalf("writing a dataset of obs dim %d: %v", obsDim+1, err)
		}
		suite.Rejects(t, fmt.Sprintf("Train on datasets of obs dim %d and %d", obsDim, obsDim+1), func() (trainRun, error) {
			return train(t.Context(), a, s.request([]algo.Source{{Path: data, Weight: 0.5}, {Path: wide, Weight: 0.5}}, filepath.Join(dir, "mismatch"), s.Seed))
		})
		suite.Rejects(t, "Train on a missing dataset", func() (trainRun, error) {
			return train(t.Context(), a, s.request([]algo.Source{{Path: filepath.Join(dir, "no-such-dataset"), Weight: 1}}, filepath.Join(dir, "missing"), s.Seed))
		})
	})
	t.Run("Cancel", func(t tester) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req := s.request([]algo.Source{{Path: data, Weight: 1}}, filepath.Join(dir, "cancel"), s.Seed)
		req.Steps, req.CheckpointEvery = 100_000_000, 0
		done := make(chan error, 1)
		go func() {
			_, err := train(ctx, a, req)
			done <- err
		}()
		time.AfterFunc(50*time.Millisecond, cancel)
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Train cancelled after 50 ms returned %v, want an error wrapping context.Canceled", err)
			}
		case <-time.After(s.StopWithin + 50*time.Millisecond):
			t.Errorf("Train still running %v after its context was cancelled", s.StopWithin)
		}
	})
}

// checkRun checks what one training run reported.
func (s Suite) checkRun(t tester, r trainRun) {
	t.Helper()
	if r.res == nil {
		t.Fatalf("Train returned no result")
	}
	if len(r.progress) == 0 {
		t.Errorf("Train reported no progress")
	}
	prev := -1
	for _, p := range r.progress {
		if p.Step < prev || p.Step > s.Steps || p.Total != s.Steps {
			t.Errorf("progress at step %d of %d after step %d; training runs %d steps", p.Step, p.Total, prev, s.Steps)
		}
		prev = p.Step
		for k, v := range p.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("step %d: metric %q = %g", p.Step, k, v)
			}
		}
	}
	for k, v := range r.res.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("final metric %q = %g", k, v)
		}
	}
	cs := r.res.Checkpoints
	if len(cs) == 0 {
		t.Fatalf("Train wrote no checkpoint")
	}
	if len(cs) < 2 {
		t.Errorf("Train wrote %d checkpoint for %d steps with checkpoints every %d, want 2", len(cs), s.Steps, (s.Steps+1)/2)
	}
	for i, c := range cs {
		if i > 0 && c.Step <= cs[i-1].Step {
			t.Errorf("checkpoints out of step order: %v", cs)
		}
		if _, err := os.Stat(c.Path); err != nil {
			t.Errorf("checkpoint of step %d: %v", c.Step, err)
		}
	}
	if last := cs[len(cs)-1]; last.Step != s.Steps {
		t.Errorf("last checkpoint at step %d, training ran %d steps", last.Step, s.Steps)
	}
}

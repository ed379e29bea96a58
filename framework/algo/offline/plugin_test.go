package offline_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/bc"
	"github.com/kalm-go/kalm/plugins/cql"
	"github.com/kalm-go/kalm/plugins/iql"
	"github.com/kalm-go/kalm/plugins/td3bc"
)

// datasets writes one small discrete and one small continuous dataset.
func datasets(t *testing.T) (discrete, continuous string) {
	t.Helper()
	dir := t.TempDir()
	discrete, continuous = filepath.Join(dir, "line"), filepath.Join(dir, "point")
	if err := offlinetest.DefaultLine.Write(discrete, 40, 0.5, 1); err != nil {
		t.Fatal(err)
	}
	if err := offlinetest.DefaultPoint.Write(continuous, 40, 0.2, 0.3, 1); err != nil {
		t.Fatal(err)
	}
	return discrete, continuous
}

type variant struct {
	name  string
	f     offline.Factory
	data  string // "discrete" or "continuous"
	hyper map[string]any
}

var variants = []variant{
	{"bc/discrete", bc.Factory, "discrete", nil},
	{"bc/gaussian", bc.Factory, "continuous", map[string]any{"policy": "gaussian"}},
	{"bc/top-fraction", bc.Factory, "continuous", map[string]any{"top_fraction": 0.3}},
	{"cql/discrete", cql.Factory, "discrete", map[string]any{"target_update_interval": 7}},
	{"cql/continuous", cql.Factory, "continuous", map[string]any{"n_actions": 2}},
	{"cql/continuous-lagrange", cql.Factory, "continuous", map[string]any{"n_actions": 2, "lagrange": true, "max_target_backup": true, "backup_entropy": true}},
	{"iql/discrete", iql.Factory, "discrete", nil},
	{"iql/continuous", iql.Factory, "continuous", nil},
	{"iql/continuous-dropout", iql.Factory, "continuous", map[string]any{"actor_dropout": 0.1}},
	{"iql/discrete-dropout", iql.Factory, "discrete", map[string]any{"actor_dropout": 0.1}},
	{"td3bc", td3bc.Factory, "continuous", nil},
}

// TestCheckpointRoundTrip trains each algorithm for 30 steps in one go and
// for 15 + 15 steps resumed from the step-15 checkpoint: the two final
// checkpoints hold bit-identical tensors, and the loaded policies act
// identically, deterministically and when sampling with the same seed.
func TestCheckpointRoundTrip(t *testing.T) {
	disc, cont := datasets(t)
	ctx := context.Background()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			data := disc
			if v.data == "continuous" {
				data = cont
			}
			hyper := map[string]any{"hidden": 16}
			for k, x := range v.hyper {
				hyper[k] = x
			}
			req := algo.TrainRequest{Datasets: []algo.Source{{Path: data, Weight: 1}}, Hyper: hyper, Steps: 30, Batch: 8,
				CheckpointEvery: 15, OutDir: filepath.Join(t.TempDir(), "a"), Seed: 3}
			p := offline.NewPlugin(v.f)
			straight, err := p.Train(ctx, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(straight.Checkpoints) != 2 {
				t.Fatalf("%d checkpoints, want 2", len(straight.Checkpoints))
			}
			req.OutDir, req.Resume = filepath.Join(t.TempDir(), "b"), straight.Checkpoints[0].Path
			resumed, err := p.Train(ctx, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			a, b := straight.Checkpoints[1].Path, resumed.Checkpoints[len(resumed.Checkpoints)-1].Path
			ca, err := offline.ReadCheckpoint(a)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := offline.ReadCheckpoint(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, ti := range ca.Tensors {
				x, _ := ca.Tensor(ti.Name)
				y, ok := cb.Tensor(ti.Name)
				if !ok || !offlinetest.BitEqual(x, y) {
					t.Fatalf("tensor %s differs after resuming", ti.Name)
				}
			}
			if ca.Step != 30 || cb.Step != 30 {
				t.Fatalf("steps %d and %d, want 30", ca.Step, cb.Step)
			}
			// Acting: the same observations through both loaded policies.
			pa, err := p.Load(ctx, algo.LoadRequest{Checkpoint: a})
			if err != nil {
				t.Fatal(err)
			}
			q := offline.NewPlugin(v.f) // a fresh process would have nothing loaded
			pb, err := q.Load(ctx, algo.LoadRequest{Checkpoint: b})
			if err != nil {
				t.Fatal(err)
			}
			obs, goals := observations(ca)
			for _, det := range []bool{true, false} {
				x, err := p.Act(ctx, algo.ActRequest{Policy: pa.Policy, Observations: obs, Goals: goals, Deterministic: det, Seed: 9})
				if err != nil {
					t.Fatal(err)
				}
				y, err := q.Act(ctx, algo.ActRequest{Policy: pb.Policy, Observations: obs, Goals: goals, Deterministic: det, Seed: 9})
				if err != nil {
					t.Fatal(err)
				}
				if !offlinetest.BitEqual(x.Actions, y.Actions) {
					t.Fatalf("deterministic=%v: actions %v and %v differ", det, x.Actions, y.Actions)
				}
			}
		})
	}
}

func observations(c *offline.Checkpoint) ([]float32, []float32) {
	const n = 5
	obs, goals := make([]float32, n*c.ObsDim), make([]float32, n*c.GoalDim)
	for i := range obs {
		obs[i] = float32(math.Sin(float64(i)))
	}
	for i := range goals {
		goals[i] = float32(i % 2)
	}
	return obs, goals
}

// TestLoadedPolicyMatchesLearner: a learner's actions before saving equal the
// restored learner's, bit for bit.
func TestLoadedPolicyMatchesLearner(t *testing.T) {
	disc, cont := datasets(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			data := disc
			if v.data == "continuous" {
				data = cont
			}
			h, err := offline.Resolve(v.f.Schema(), mergeHyper(map[string]any{"hidden": 16}, v.hyper))
			if err != nil {
				t.Fatal(err)
			}
			ds, err := offline.LoadSources(v.f, []algo.Source{{Path: data, Weight: 1}})
			if err != nil {
				t.Fatal(err)
			}
			tr := offline.NewTransform(ds, true)
			pcg := rand.NewPCG(5, 5)
			l, err := v.f.New(offline.Spec{InDim: tr.InDim(), Space: tr.Space, Steps: 10}, h, rand.New(pcg))
			if err != nil {
				t.Fatal(err)
			}
			sp := offline.NewSampler(ds, []float64{1}, 8, tr, rand.New(rand.NewPCG(6, 6)))
			b := offline.NewBatch(8, tr.InDim(), len(ds[0].Actions)/ds[0].Len())
			for range 10 {
				sp.Fill(b)
				l.Update(b)
			}
			obs := b.ObsMat()
			want := make([]float32, obs.Rows*b.ActDim)
			l.Act(obs, true, nil, want)

			c := &offline.Checkpoint{Algo: v.f.Name, Hyper: h, ObsDim: tr.ObsDim, GoalDim: tr.GoalDim, Space: tr.Space, Step: 10, Total: 10}
			for _, p := range l.Counters() {
				c.Counters = append(c.Counters, *p)
			}
			c.LearnerRNG, _ = pcg.MarshalBinary()
			c.SamplerRNG = c.LearnerRNG
			norm := []*nn.Param{{Name: "transform/mean", Value: tr.Mean}, {Name: "transform/std", Value: tr.Std}}
			path := filepath.Join(t.TempDir(), "x.ckpt")
			if err := offline.WriteCheckpoint(path, c, append(norm, l.State()...)); err != nil {
				t.Fatal(err)
			}
			c2, err := offline.ReadCheckpoint(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := offline.Restore(v.f, c2, path)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			r.Learner.Act(obs, true, nil, got)
			if !offlinetest.BitEqual(got, want) {
				t.Fatalf("restored policy acts %v, original %v", got, want)
			}
			if !offlinetest.BitEqual(r.Transform.Mean, tr.Mean) || !offlinetest.BitEqual(r.Transform.Std, tr.Std) {
				t.Fatal("normaliser not restored")
			}
		})
	}
}

func mergeHyper(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// TestBadInput: each bad input stops with an error naming what and where.
func TestBadInput(t *testing.T) {
	disc, cont := datasets(t)
	ctx := context.Background()
	out := t.TempDir()
	req := func(data string, hyper map[string]any) algo.TrainRequest {
		return algo.TrainRequest{Datasets: []algo.Source{{Path: data, Weight: 1}}, Hyper: hyper, Steps: 5, Batch: 4, OutDir: out, Seed: 1}
	}
	// A checkpoint of another algorithm, a foreign file and a newer format.
	bcCkpt, err := offline.NewPlugin(bc.Factory).Train(ctx, req(disc, map[string]any{"hidden": 8}), nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(out, "foreign.ckpt")
	os.WriteFile(foreign, []byte("not a checkpoint at all"), 0o644)
	newer := filepath.Join(out, "newer.ckpt")
	raw, _ := os.ReadFile(bcCkpt.Checkpoints[0].Path)
	raw = bytes.Replace(raw, []byte(`"format":1`), []byte(`"format":9`), 1)
	os.WriteFile(newer, raw, 0o644)
	// A dataset with a NaN observation.
	nan := filepath.Join(t.TempDir(), "nan")
	if err := os.CopyFS(nan, os.DirFS(cont)); err != nil {
		t.Fatal(err)
	}
	obs, _ := os.ReadFile(filepath.Join(nan, "obs.f32"))
	binary.LittleEndian.PutUint32(obs[4*7:], math.Float32bits(float32(math.NaN())))
	os.WriteFile(filepath.Join(nan, "obs.f32"), obs, 0o644)

	td3 := offline.NewPlugin(td3bc.Factory)
	for _, tc := range []struct {
		name string
		run  func() error
		want []string
	}{
		{"discrete data to td3bc", func() error { _, err := td3.Train(ctx, req(disc, nil), nil); return err }, []string{"td3bc", "discrete", disc}},
		{"NaN in dataset", func() error { _, err := td3.Train(ctx, req(nan, nil), nil); return err }, []string{"NaN", nan, "episode 0"}},
		{"unknown hyper-parameter", func() error { _, err := td3.Train(ctx, req(cont, map[string]any{"alpah": 1.0}), nil); return err }, []string{`"alpah"`, "unknown"}},
		{"ill-typed hyper-parameter", func() error { _, err := td3.Train(ctx, req(cont, map[string]any{"alpha": "big"}), nil); return err }, []string{`"alpha"`, "float"}},
		{"non-integer int", func() error { _, err := td3.Train(ctx, req(cont, map[string]any{"policy_freq": 1.5}), nil); return err }, []string{`"policy_freq"`, "integer"}},
		{"value not allowed", func() error {
			_, err := offline.NewPlugin(bc.Factory).Train(ctx, req(cont, map[string]any{"policy": "beta"}), nil)
			return err
		}, []string{`"policy"`, "deterministic"}},
		{"top_fraction out of range", func() error {
			_, err := offline.NewPlugin(bc.Factory).Train(ctx, req(cont, map[string]any{"top_fraction": 0.0}), nil)
			return err
		}, []string{"bc", "top_fraction = 0", "(0, 1]"}},
		{"checkpoint of another algorithm", func() error {
			_, err := td3.Load(ctx, algo.LoadRequest{Checkpoint: bcCkpt.Checkpoints[0].Path})
			return err
		}, []string{`"bc"`, `"td3bc"`}},
		{"foreign file", func() error { _, err := td3.Load(ctx, algo.LoadRequest{Checkpoint: foreign}); return err }, []string{foreign, "not a kalm"}},
		{"newer format", func() error {
			_, err := offline.NewPlugin(bc.Factory).Load(ctx, algo.LoadRequest{Checkpoint: newer})
			return err
		}, []string{newer, "version 9"}},
		{"diverging training", func() error {
			_, err := td3.Train(ctx, req(cont, map[string]any{"lr": 1e30, "hidden": 8}), nil)
			var d *offline.DivergenceError
			if err != nil && !errors.As(err, &d) {
				t.Errorf("error %v is not a DivergenceError", err)
			}
			return err
		}, []string{"diverged at step", "last finite metrics"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

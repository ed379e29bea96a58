package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/dataset/npz"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/results"
)

// userData writes a dataset of the line env the way a user brings one:
// collected elsewhere, exported to .npz, imported with kalm dataset import.
func userData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	collected, file, imported := filepath.Join(dir, "collected"), filepath.Join(dir, "line.npz"), filepath.Join(dir, "imported")
	if _, err := env.Collect(context.Background(), &lineEnv{}, env.CollectRequest{Episodes: 30, Level: "near", Policy: "scripted",
		Seed: 7, Out: collected}, func(env.Progress) {}); err != nil {
		t.Fatal(err)
	}
	if err := npz.Export(collected, file); err != nil {
		t.Fatal(err)
	}
	if _, err := npz.Import(file, imported, npz.Options{}); err != nil {
		t.Fatal(err)
	}
	return imported
}

const userDataExperiment = `name: userdata
env:
  plugin: line
dataset:
  path: %s
algo: bc
train:
  steps: 200
  checkpoint_every: 100
eval:
  episodes: 8
  checkpoints: 1
seeds: 1
`

// TestUserDataset trains bc through the runner on an imported dataset named
// by dataset.path: the collect stage copies it, keyed by its content, so an
// edited dataset is never trained on through an old artifact.
func TestUserDataset(t *testing.T) {
	data := userData(t)
	text := strings.Replace(userDataExperiment, "%s", data, 1)
	ctx := context.Background()
	r, s := newRunner(t, t.TempDir())
	plan := planFor(t, text)
	collect := plan.Stage(plan.Cells[0].Stages[experiments.Collect])
	digest, err := dataset.Digest(data)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := collect.Config.(experiments.CollectConfig); cfg.Dataset != digest || len(collect.Plugins) != 0 {
		t.Fatalf("collect stage %+v, want the digest %s and no plugin", collect, digest)
	}
	sum, err := r.Run(ctx, plan)
	if err != nil || sum.Ran != 3 {
		t.Fatalf("run: %+v, %v", sum, err)
	}
	ev, err := s.Evaluations(ctx, plan.Experiment.Hash)
	if err != nil || len(ev) != 2 {
		t.Fatalf("%d evaluations, %v", len(ev), err)
	}
	for _, e := range ev {
		// The scripted data moves right; bc learns to and always succeeds.
		if e.SuccessRate != 1 {
			t.Errorf("evaluation %+v", e)
		}
	}
	if sum, err := r.Run(ctx, planFor(t, text)); err != nil || sum.Reused != 3 {
		t.Fatalf("rerun on the same data: %+v, %v", sum, err)
	}

	// One reward changed: another collect key, and every stage runs again.
	p := filepath.Join(data, "rewards.f32")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	changed := planFor(t, text)
	if k := changed.Cells[0].Stages[experiments.Collect]; k == collect.Key {
		t.Fatal("the collect key did not change with the dataset's content")
	}
	// Changed again after planning: the stage refuses the new content.
	b[len(b)-1] ^= 0x02
	os.WriteFile(p, b, 0o644)
	sum, err = r.Run(ctx, changed)
	if err == nil || sum.Failed == 0 || !strings.Contains(err.Error()+failures(t, s), "changed since it was planned") {
		t.Fatalf("a dataset changed after planning was used: %+v, %v", sum, err)
	}
}

// failures returns the errors the store recorded for failed stages.
func failures(t *testing.T, s *results.Store) string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT error FROM stages WHERE status='failed'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		rows.Scan(&e)
		out = append(out, e)
	}
	return strings.Join(out, "\n")
}

func TestUserDatasetRejected(t *testing.T) {
	good := userData(t)
	wrongEnv := filepath.Join(t.TempDir(), "other")
	m, _ := dataset.ReadMeta(good)
	m.Env = "clevr"
	w, err := dataset.Create(wrongEnv, m)
	if err != nil {
		t.Fatal(err)
	}
	e := &dataset.Episode{Observations: []float32{0, 1}, Actions: []float32{1}, Rewards: []float32{0}, Terminals: []bool{true},
		Timeouts: []bool{false}, Goal: dataset.Goal{Vector: []float32{1}}}
	if err := w.Write(e); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(t.TempDir(), "missing"), "no meta.json: not a kalm dataset directory"},
		{wrongEnv, `holds data of env "clevr"`},
	} {
		text := strings.Replace(userDataExperiment, "%s", tc.path, 1)
		file := filepath.Join(t.TempDir(), "exp.yaml")
		os.WriteFile(file, []byte(text), 0o644)
		ex, err := experiments.Load(file, experiments.Options{})
		if err == nil {
			_, err = ex.Plan(context.Background(), &fakePlugins{})
		}
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "exp.yaml:5") || !strings.Contains(err.Error(), "dataset.path") ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.path, err, tc.want)
		}
	}
}

package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// ranLine runs the line experiment in a new work directory.
func ranLine(t *testing.T) (string, *Runner, *results.Store, *experiments.Plan) {
	t.Helper()
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment)
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	return work, r, s, plan
}

// TestRemoveArtifact discards a done train stage's artifact: it runs again
// on the next run, and nothing else does.
func TestRemoveArtifact(t *testing.T) {
	ctx := context.Background()
	work, r, s, plan := ranLine(t)
	var train *experiments.Stage
	for _, st := range plan.Stages {
		if st.Kind == experiments.Train {
			train = st
			break
		}
	}
	os.MkdirAll(filepath.Join(work, "partial", "train", train.Key), 0o755)
	removed, err := RemoveArtifact(ctx, s, work, train.Key[:8])
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, x := range removed {
		paths = append(paths, x.Path)
	}
	want := []string{filepath.Join("artifacts", "train", train.Key), filepath.Join("partial", "train", train.Key)}
	if !slices.Equal(paths, want) || removed[0].Bytes == 0 {
		t.Fatalf("removed %+v, want %q", removed, want)
	}
	st, _ := s.Stages(ctx, []string{train.Key})
	if st[train.Key].Status != results.Pending {
		t.Errorf("stage is %s after rm, want pending", st[train.Key].Status)
	}
	if m, _ := s.Metrics(ctx, plan.Experiment.Hash, "train", "loss"); len(m) != 3*20 {
		t.Errorf("%d loss points after rm, want the other 3 stages' 60", len(m))
	}
	sum, err := r.Run(ctx, plan)
	if err != nil || sum.Ran != 1 || sum.Reused != 8 {
		t.Fatalf("after rm: %+v, %v; want the one stage to run again", sum, err)
	}
	for _, ref := range []string{"zz", "nosuchkey"} {
		if _, err := RemoveArtifact(ctx, s, work, ref); err == nil {
			t.Errorf("rm %s: no error", ref)
		}
	}
}

// TestCollectGarbage removes the partial directories of done and
// unrecorded stages and keeps those a later attempt continues from.
func TestCollectGarbage(t *testing.T) {
	ctx := context.Background()
	work, _, s, plan := ranLine(t)
	var done, pending string
	for _, st := range plan.Stages {
		if st.Kind == experiments.Train {
			if done == "" {
				done = st.Key
			} else {
				pending = st.Key
				break
			}
		}
	}
	if err := s.ResetStage(ctx, pending); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{done, pending, "0123456789abcdef"} {
		d := filepath.Join(work, "partial", "train", key)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "ckpt"), []byte("12345"), 0o644)
	}
	want := []Removed{
		{Path: filepath.Join("partial", "train", "0123456789abcdef"), Bytes: 5, Why: "partial, stage not recorded"},
		{Path: filepath.Join("partial", "train", done), Bytes: 5, Why: "partial, stage done"},
	}
	slices.SortFunc(want, func(a, b Removed) int {
		if a.Path < b.Path {
			return -1
		}
		return 1
	})
	for _, dry := range []bool{true, false} {
		got, err := CollectGarbage(ctx, s, work, dry)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("dry run %v: removed %+v, want %+v", dry, got, want)
		}
		_, err = os.Stat(filepath.Join(work, want[0].Path))
		if gone := errors.Is(err, os.ErrNotExist); gone == dry {
			t.Errorf("dry run %v: %s gone = %v", dry, want[0].Path, gone)
		}
	}
	if !exists(filepath.Join(work, "partial", "train", pending)) {
		t.Error("gc removed the partial directory of a pending stage")
	}
}

// TestSharedDatabase: a second work directory on one database is refused,
// where it would have run every stage again.
func TestSharedDatabase(t *testing.T) {
	ctx := context.Background()
	_, _, s, plan := ranLine(t)
	other := &Runner{Store: s, WorkDir: t.TempDir(), Launcher: &fakePlugins{}, KalmVersion: "test"}
	if _, err := other.Run(ctx, plan); !errors.Is(err, results.ErrOtherWorkDir) {
		t.Fatalf("a second work directory on one database: %v, want %v", err, results.ErrOtherWorkDir)
	}
	if _, err := CollectGarbage(ctx, s, other.WorkDir, true); !errors.Is(err, results.ErrOtherWorkDir) {
		t.Fatalf("gc in a second work directory: %v, want %v", err, results.ErrOtherWorkDir)
	}
}

package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// versionedPlugins are fakePlugins whose installed versions are given.
type versionedPlugins struct {
	fakePlugins
	version string
}

func (v *versionedPlugins) Version(context.Context, string) (string, error) { return v.version, nil }

// A worker runs a stage from its stored description alone, publishes its
// artifact and report without the database, does not run it twice, and
// refuses plugins of another version than planned; Sync then records what
// it did.
func TestWorkerAndSync(t *testing.T) {
	ctx := context.Background()
	plan := planFor(t, lineExperiment)
	work := t.TempDir()
	store, err := results.Open(ctx, filepath.Join(work, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	abs, _ := filepath.Abs(work)
	if err := store.BindWorkDir(ctx, abs); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Store: store}
	if err := r.record(ctx, plan); err != nil {
		t.Fatal(err)
	}
	collect := plan.Stages[0]
	if collect.Kind != experiments.Collect {
		t.Fatalf("first stage %s", collect.Kind)
	}
	if err := WriteDescription(abs, plan, collect); err != nil {
		t.Fatal(err)
	}
	if err := store.StartStage(ctx, collect.Key, "elsewhere:1"); err != nil {
		t.Fatal(err)
	}

	stale := &Worker{WorkDir: abs, Launcher: &versionedPlugins{version: "v0"}}
	rep, err := stale.Exec(ctx, collect.Key)
	if err != nil || rep.Status != ReportFailed || !strings.Contains(rep.Error, "plugin line is version v0 on ") || !strings.Contains(rep.Error, "planned with version v1") {
		t.Fatalf("a node with another plugin version: %+v %v", rep, err)
	}

	starts := filepath.Join(work, "starts.log")
	w := &Worker{WorkDir: abs, Launcher: &versionedPlugins{version: "v1"}, Executors: trivialExecutors(starts, 0)}
	for range 2 {
		if rep, err := w.Exec(ctx, collect.Key); err != nil || rep.Status != ReportDone {
			t.Fatalf("exec: %+v %v", rep, err)
		}
	}
	if b, _ := os.ReadFile(starts); strings.Count(string(b), "\n") != 1 {
		t.Fatalf("the stage ran %d times, want once", strings.Count(string(b), "\n"))
	}
	var onDisk Report
	if err := ReadJSON(ReportPath(abs, collect.Key), &onDisk); err != nil || onDisk.Status != ReportDone {
		t.Fatalf("report file: %+v %v", onDisk, err)
	}
	if st, _ := store.Stages(ctx, []string{collect.Key}); st[collect.Key].Status != results.Running {
		t.Fatalf("the worker touched the database: %+v", st[collect.Key])
	}

	// A second stage whose worker failed.
	train := plan.Stages[1]
	if err := WriteDescription(abs, plan, train); err != nil {
		t.Fatal(err)
	}
	store.StartStage(ctx, train.Key, "elsewhere:1")
	if rep, _ := (&Worker{WorkDir: abs}).Exec(ctx, train.Key); rep.Status != ReportFailed {
		t.Fatalf("a worker without plugins: %+v", rep)
	}

	sum, err := Sync(ctx, store, work)
	if err != nil || sum.Done != 1 || sum.Failed != 1 {
		t.Fatalf("sync: %+v %v", sum, err)
	}
	st, _ := store.Stages(ctx, []string{collect.Key, train.Key})
	if st[collect.Key].Status != results.Done || st[train.Key].Status != results.Failed || !strings.Contains(st[train.Key].Error, "no plugin launcher") {
		t.Fatalf("after sync: %+v", st)
	}
}

package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// TestWorkDirFull runs a grid in a work directory on a tiny tmpfs that fills
// up: the stages that cannot write fail with a clear error, the database
// still opens with every finished stage intact, and once space is freed a
// run with RetryFailed completes the grid. It needs root (mount); it is
// skipped where tmpfs cannot be mounted.
func TestWorkDirFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	work := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", work).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", work).Run() })
	ctx := context.Background()
	s, err := results.Open(ctx, filepath.Join(work, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	plan := planFor(t, lineExperiment)
	// Leave room for the database and a few artifacts only.
	filler := filepath.Join(work, "filler")
	if err := os.WriteFile(filler, make([]byte, 700<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	ex := trivialExecutors("", 0)
	innerTrain := ex[experiments.Train]
	ex[experiments.Train] = func(ctx context.Context, j *Job) (*Output, error) {
		out, err := innerTrain(ctx, j)
		if err != nil {
			return nil, err
		}
		// A checkpoint of 100 KiB.
		return out, os.WriteFile(filepath.Join(j.Dir, "ckpt"), bytes.Repeat([]byte{1}, 100<<10), 0o644)
	}
	r := &Runner{Store: s, WorkDir: work, Workers: 1, Executors: ex}
	sum, err := r.Run(ctx, plan)
	if err == nil {
		t.Fatalf("the grid fit in the tiny work directory: %+v", sum)
	}
	if !strings.Contains(err.Error(), "no space left on device") && !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("error does not say the disk is full: %v", err)
	}
	done := sum.Ran
	t.Logf("disk full after %d stages: %v", done, err)
	if done == 0 {
		t.Fatalf("no stage finished before the disk filled up: %+v", sum)
	}
	// Free the space; the database is intact and a retry completes the grid.
	os.Remove(filler)
	s.Close()
	s, err = results.Open(ctx, filepath.Join(work, "results.db"))
	if err != nil {
		t.Fatalf("database after a full disk: %v", err)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM stages WHERE status='done'`).Scan(&n)
	if n != done {
		t.Fatalf("%d stages done in the database, %d reported", n, done)
	}
	r.Store = s
	r.RetryFailed = true
	sum, err = r.Run(ctx, plan)
	if err != nil || sum.CellsDone != len(plan.Cells) || sum.Reused != done {
		t.Fatalf("after freeing space: %+v %v", sum, err)
	}
}

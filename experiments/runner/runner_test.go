package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/results"
)

func newRunner(t *testing.T, work string) (*Runner, *results.Store) {
	t.Helper()
	s, err := results.Open(context.Background(), filepath.Join(work, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &Runner{Store: s, WorkDir: work, Launcher: &fakePlugins{}, Workers: 2, KalmVersion: "test"}, s
}

func TestRunEndToEndWithPlugins(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	var log bytes.Buffer
	r.Display = NewDisplay(&log)
	plan := planFor(t, lineExperiment)
	sum, err := r.Run(context.Background(), plan)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	// 1 collect + 4 train + 4 evaluate.
	if sum.Ran != 9 || sum.CellsDone != 4 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	ev, err := s.Evaluations(context.Background(), plan.Experiment.Hash)
	if err != nil {
		t.Fatal(err)
	}
	// 4 cells × 2 checkpoints × 2 levels
	if len(ev) != 16 {
		t.Fatalf("%d evaluations", len(ev))
	}
	for _, e := range ev {
		// The scripted data moves right 2/3 of the time, so the policy moves right and always succeeds.
		if e.SuccessRate != 1 || e.Episodes != 8 {
			t.Errorf("evaluation %+v", e)
		}
	}
	m, err := s.Metrics(context.Background(), plan.Experiment.Hash, "train", "loss")
	if err != nil || len(m) != 4*20 {
		t.Fatalf("%d loss points, %v", len(m), err)
	}
	if !strings.Contains(log.String(), "done   train") || !strings.Contains(log.String(), "start  collect") {
		t.Errorf("plain display:\n%s", log.String())
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "tmp")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}

	// A second run reuses every stage and starts no plugin.
	fp := &fakePlugins{}
	r.Launcher = fp
	sum, err = r.Run(context.Background(), plan)
	if err != nil || sum.Reused != 9 || sum.Ran != 0 || fp.launches.Load() != 0 {
		t.Fatalf("rerun: %+v, %d launches, %v", sum, fp.launches.Load(), err)
	}
}

func TestFailureIsolation(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment, "hyper.count2.fail=true")
	sum, err := r.Run(context.Background(), plan)
	if !errors.Is(err, ErrCellsFailed) {
		t.Fatalf("err = %v", err)
	}
	if sum.CellsDone != 2 || sum.CellsFailed != 2 || sum.Failed != 2 || sum.Blocked != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(err.Error(), "diverged: loss is NaN") {
		t.Errorf("error does not say why: %v", err)
	}
	cells, _ := s.CellStates(context.Background(), plan.Experiment.Hash)
	var failed int
	for _, c := range cells {
		if c.Status == results.Failed {
			failed++
			if !strings.Contains(c.Error, "diverged") || !strings.HasPrefix(c.ID, "algo=count2") {
				t.Errorf("failed cell %s: %s", c.ID, c.Error)
			}
		}
	}
	if failed != 2 {
		t.Fatalf("%d failed cells", failed)
	}
	var tail string
	s.DB().QueryRow(`SELECT log_tail FROM stages WHERE status='failed' LIMIT 1`).Scan(&tail)
	if !strings.Contains(tail, "count2: warn: count2 is a fake") {
		t.Errorf("log tail = %q", tail)
	}

	// Without --retry-failed the failed stages are not run again.
	var calls atomic.Int64
	r.Executors = map[experiments.StageKind]Executor{experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
		calls.Add(1)
		return trainStage(ctx, j)
	}}
	sum, _ = r.Run(context.Background(), plan)
	if calls.Load() != 0 || sum.Failed != 2 {
		t.Fatalf("rerun without retry: %d train calls, %+v", calls.Load(), sum)
	}
	sum, _ = r.Run(context.Background(), planFor(t, lineExperiment, "hyper.count2.fail=true"))
	r.RetryFailed = true
	sum, _ = r.Run(context.Background(), plan)
	if calls.Load() != 2 || sum.Failed != 2 {
		t.Fatalf("retry: %d train calls, %+v", calls.Load(), sum)
	}
}

func TestInterruptAndResume(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 8)
	r.Executors = map[experiments.StageKind]Executor{experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
		os.WriteFile(filepath.Join(j.Dir, "partial"), []byte("half"), 0o644)
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	go func() { <-started; cancel() }()
	sum, err := r.Run(ctx, plan)
	if !errors.Is(err, ErrInterrupted) || sum.Interrupted == 0 {
		t.Fatalf("err = %v, %+v", err, sum)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM stages WHERE status='interrupted' AND kind='train'`).Scan(&n)
	if n != sum.Interrupted {
		t.Errorf("%d interrupted stages recorded, %d reported", n, sum.Interrupted)
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "tmp")); len(entries) != 0 {
		t.Errorf("partial files visible after interrupt: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(work, "artifacts", "train")); err == nil {
		t.Errorf("an interrupted train stage published an artifact")
	}
	r.Executors = nil
	sum, err = r.Run(context.Background(), plan)
	if err != nil || sum.Reused != 1 || sum.Ran != 8 {
		t.Fatalf("resume: %+v, %v", sum, err)
	}
}

func TestReadOnlyWorkDir(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, filepath.Join(work, "db"))
	plan := planFor(t, lineExperiment)
	r.WorkDir = "/proc/kalm-work" // not writable, even for root
	_, err := r.Run(context.Background(), plan)
	if err == nil || !strings.Contains(err.Error(), "/proc/kalm-work") {
		t.Fatalf("err = %v", err)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM experiments`).Scan(&n)
	if n != 0 {
		t.Errorf("a refused run recorded %d experiments", n)
	}
	ro := filepath.Join(work, "ro")
	os.Mkdir(ro, 0o555)
	if os.Geteuid() == 0 {
		// Root ignores permissions: make it a read-only file system instead.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro).CombinedOutput(); err != nil {
			t.Logf("cannot mount a read-only tmpfs (%v %s); only /proc was tried", err, out)
			return
		}
		t.Cleanup(func() { exec.Command("umount", ro).Run() })
	}
	r.WorkDir = ro
	if _, err := r.Run(context.Background(), plan); err == nil || !strings.Contains(err.Error(), ro) {
		t.Fatalf("read-only dir: %v", err)
	} else {
		t.Logf("read-only work directory: %v", err)
	}
	s.DB().QueryRow(`SELECT count(*) FROM experiments`).Scan(&n)
	if n != 0 {
		t.Errorf("a refused run recorded %d experiments", n)
	}
}

func TestWorkDirLocked(t *testing.T) {
	work := t.TempDir()
	unlock, err := prepareWorkDir(work)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r, _ := newRunner(t, work)
	_, err = r.Run(context.Background(), planFor(t, lineExperiment))
	if err == nil || !strings.Contains(err.Error(), "in use by another kalm run") {
		t.Fatalf("err = %v", err)
	}
}

func TestAdoptPublishedArtifact(t *testing.T) {
	// A stage whose artifact was renamed into place just before a crash is
	// recorded without running again.
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment)
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	key := plan.Cells[0].Stages[experiments.Evaluate]
	s.DB().Exec(`UPDATE stages SET status='running' WHERE key=?`, key)
	s.DB().Exec(`DELETE FROM evaluations WHERE stage_key=?`, key)
	var calls atomic.Int64
	r.Executors = map[experiments.StageKind]Executor{experiments.Evaluate: func(ctx context.Context, j *Job) (*Output, error) {
		calls.Add(1)
		return nil, errors.New("must not run")
	}}
	sum, err := r.Run(context.Background(), plan)
	if err != nil || calls.Load() != 0 || sum.Adopted != 1 {
		t.Fatalf("%+v, %d calls, %v", sum, calls.Load(), err)
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM evaluations WHERE stage_key=?`, key).Scan(&n)
	if n != 4 {
		t.Errorf("%d evaluations after adoption, want 4", n)
	}
}

func TestTermDisplay(t *testing.T) {
	var b bytes.Buffer
	d := newTermDisplay(&b, time.Hour)
	st := &experiments.Stage{Key: "0123456789abcdef", Kind: experiments.Train, Plugins: []experiments.PluginRef{{Name: "bc"}}, Cells: []string{"algo=bc seed=0"}}
	d.Start(st)
	d.Progress(st, 50, 100, map[string]float64{"loss": 0.25})
	d.mu.Lock()
	d.redraw()
	d.mu.Unlock()
	d.Finish(st, nil, time.Second)
	d.Close()
	out := b.String()
	for _, want := range []string{"████████████░░░░░░░░░░░░] 50/100", "loss=0.25", "train    bc (algo=bc seed=0) 0123456789ab", "\x1b[1A", "done"} {
		if !strings.Contains(out, want) {
			t.Errorf("display output lacks %q:\n%q", want, out)
		}
	}
}

func TestPrintPlan(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment)
	var b bytes.Buffer
	if err := PrintPlan(context.Background(), &b, plan, s, work); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "4 cells, 9 stages (1 collect, 4 train, 4 evaluate)") || !strings.Contains(b.String(), "shared by 4 cells  [pending]") ||
		!strings.Contains(b.String(), "0 of 9 stages already done; 9 to run") {
		t.Fatalf("plan before running:\n%s", b.String())
	}
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	PrintPlan(context.Background(), &b, plan, s, work)
	if !strings.Contains(b.String(), "9 of 9 stages already done; 0 to run") {
		t.Fatalf("plan after running:\n%s", b.String())
	}
}

func TestSeriesThinning(t *testing.T) {
	var s series
	for step := 1; step <= 100000; step++ {
		s.add(step, 100000, map[string]float64{"loss": float64(step), "q": 1})
	}
	if n := len(s.points); n < 2*maxPoints || n > 2*maxPoints+2 {
		t.Fatalf("%d points for 2 metrics", n)
	}
	last := s.points[len(s.points)-1]
	if last.Step != 100000 {
		t.Fatalf("last point %+v", last)
	}
	var few series
	for step := 1; step <= 10; step++ {
		few.add(step, 10, map[string]float64{"loss": 1})
	}
	if len(few.points) != 10 {
		t.Fatalf("short run thinned to %d points", len(few.points))
	}
}

func TestFullChainWithLM(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := planFor(t, lineExperiment, "lm.plugin=parrot", "lm.ground.steps=5", "imagine.rollouts=12", "train.imagined_ratio=0.5")
	counts := plan.KindCounts()
	if counts[experiments.Ground] != 1 || counts[experiments.Imagine] != 1 || counts[experiments.Train] != 4 {
		t.Fatalf("stages %v", counts)
	}
	sum, err := r.Run(context.Background(), plan)
	if err != nil || sum.Ran != 12 || sum.CellsDone != 4 { // 4 train, 4 evaluate, collect, ground, imagine, assess
		t.Fatalf("%+v %v", sum, err)
	}
	im := plan.Cells[0].Imagine[0]
	d, err := dataset.Load(filepath.Join(work, "artifacts", "imagine", im, "dataset"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Meta.Episodes != 12 || d.Meta.Source != dataset.Imagined {
		t.Fatalf("imagined dataset meta %+v", d.Meta)
	}
	for i, ok := range d.Success {
		if !ok {
			t.Fatalf("imagined episode %d not judged a success", i)
		}
	}
	var judged float64
	s.DB().QueryRow(`SELECT value FROM metrics WHERE stage_key=? AND name='judged_success'`, im).Scan(&judged)
	if judged != 1 {
		t.Errorf("judged_success = %g", judged)
	}
	var oob float64 = -1
	s.DB().QueryRow(`SELECT value FROM metrics WHERE stage_key=? AND name='plausibility/out_of_bounds'`, im).Scan(&oob)
	if oob != 0 {
		t.Errorf("plausibility/out_of_bounds = %g, want 0 (the parrot stays on the line)", oob)
	}
	tc := plan.Stage(plan.Cells[0].Stages[experiments.Train]).Config.(experiments.TrainConfig)
	if len(tc.Datasets) != 2 || tc.Datasets[0].Weight != 0.5 || tc.Datasets[1].Stage != im {
		t.Errorf("train datasets %+v", tc.Datasets)
	}
}

// TestTrainContinuesFromCheckpoint interrupts train stages after their
// second checkpoint: the next run continues each from that checkpoint
// instead of starting over, and records exactly what an uninterrupted run
// does, down to the checkpoint files' bytes. The real bc algorithm resumes
// bit for bit; the fake count algorithm ignores the checkpoint and starts
// over, which the runner notices; a checkpoint that cannot be read makes
// the runner start over.
func TestTrainContinuesFromCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name, algo string
		corrupt    bool
		debris     bool // files an attempt killed while writing leaves behind
		next       int  // the first step trained after the interruption
	}{
		{"bc", "bc", false, false, 25}, // bc logs every 5 steps
		{"ignores-resume", "count", false, false, 1},
		{"corrupt-checkpoint", "bc", true, false, 5},
		{"debris", "bc", false, true, 25},
	} {
		algo := tc.algo
		t.Run(tc.name, func(t *testing.T) {
			set := []string{"algo=" + algo, "train.steps=50", "train.checkpoint_every=10", "grid.axes=[]"}
			if algo == "bc" {
				set = append(set, "hyper.bc.log_every=5")
			}
			plan := planFor(t, lineExperiment, set...)
			ref := t.TempDir()
			r, _ := newRunner(t, ref)
			if _, err := r.Run(context.Background(), plan); err != nil {
				t.Fatal(err)
			}

			work := t.TempDir()
			r, _ = newRunner(t, work)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Both seeds' stages wait at step 25 until both are there.
			var waiting atomic.Int64
			r.Executors = map[experiments.StageKind]Executor{experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
				progress, stopped := j.Progress, false
				j.Progress = func(step, total int, m map[string]float64) {
					progress(step, total, m)
					if step >= 25 && !stopped {
						stopped = true
						if waiting.Add(1) == 2 {
							cancel()
						}
						<-ctx.Done()
					}
				}
				return trainStage(ctx, j)
			}}
			if _, err := r.Run(ctx, plan); !errors.Is(err, ErrInterrupted) {
				t.Fatalf("interrupted run: %v", err)
			}
			journals, _ := filepath.Glob(filepath.Join(work, "partial", "train", "*", journalFile))
			if len(journals) != 2 {
				t.Fatalf("%d train journals after the interrupt, want 2 (one per seed)", len(journals))
			}
			var j trainJournal
			for _, jf := range journals {
				if err := ReadJSON(jf, &j); err != nil || len(j.Checkpoints) != 2 || j.Checkpoints[1].Step != 20 {
					t.Fatalf("journal: %+v, %v", j, err)
				}
			}

			var shown strings.Builder
			if err := PrintPlan(context.Background(), &shown, plan, r.Store, work); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(shown.String(), "[interrupted; continues from its checkpoint at step 20]"); n != 2 {
				t.Errorf("kalm plan shows %d stages continuing from step 20, want 2:\n%s", n, shown.String())
			}
			if tc.corrupt {
				for _, jf := range journals {
					dir := filepath.Dir(jf)
					ReadJSON(jf, &j)
					if err := os.WriteFile(filepath.Join(dir, j.Checkpoints[1].Path), []byte("torn"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tc.debris {
				// A checkpoint's temporary file, and a checkpoint written
				// after the journal's last (torn: the kill came mid-write).
				for _, jf := range journals {
					dir := filepath.Join(filepath.Dir(jf), ckptDir)
					for name, data := range map[string]string{".ckpt-123456": "", "bc-step00000030.ckpt": "torn"} {
						if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			// Each stage reports the checkpoint it continues from, then the
			// next step the plugin trains.
			next := tc.next
			var mu sync.Mutex
			r.Executors = map[experiments.StageKind]Executor{experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
				progress := j.Progress
				var steps []int
				j.Progress = func(step, total int, m map[string]float64) {
					if len(steps) < 2 {
						steps = append(steps, step)
						if len(steps) == 2 && (steps[0] != 20 || steps[1] != next) {
							mu.Lock()
							t.Errorf("a stage reported steps %v first, want [20 %d]", steps, next)
							mu.Unlock()
						}
					}
					progress(step, total, m)
				}
				return trainStage(ctx, j)
			}}
			if _, err := r.Run(context.Background(), plan); err != nil {
				t.Fatal(err)
			}
			if got, want := dump(t, filepath.Join(work, "results.db")), dump(t, filepath.Join(ref, "results.db")); got != want {
				t.Fatalf("the continued runs recorded other results than uninterrupted ones:\n--- got\n%s\n--- want\n%s", got, want)
			}
			sameCheckpoints(t, ref, work, 10)
			if left, _ := os.ReadDir(filepath.Join(work, "partial", "train")); len(left) != 0 {
				t.Errorf("partial state left after the stages finished: %v", left)
			}
		})
	}
}

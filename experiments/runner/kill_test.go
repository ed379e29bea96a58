package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// TestMain lets the kill test re-execute the test binary as a runner process.
func TestMain(m *testing.M) {
	if os.Getenv("KALM_RUNNER_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

const killExperiment = `name: killme
env:
  plugin: line
dataset:
  episodes: 10
  policy: scripted
algo: count
train:
  steps: 6
eval:
  episodes: 4
seeds: 3
grid:
  axes:
    - key: algo
      values: [count, count2]
    - key: train.steps
      values: [6, 12]
`

// trainKillExperiment trains the real bc algorithm (in process) long
// enough for kills to land mid-training.
const trainKillExperiment = `name: killtrain
env:
  plugin: line
dataset:
  episodes: 30
  policy: scripted
algo: bc
hyper:
  bc:
    log_every: 10
train:
  steps: 600
  checkpoint_every: 50
eval:
  episodes: 4
  checkpoints: 2
seeds: 2
`

// groundKillExperiment grounds the parrot LM for long enough for kills to
// land mid-grounding.
const groundKillExperiment = `name: killground
env:
  plugin: line
dataset:
  episodes: 10
  policy: scripted
lm:
  plugin: parrot
  ground:
    steps: 400
    checkpoint_every: 20
  assess:
    episodes: 5
imagine:
  rollouts: 6
algo: count
train:
  steps: 6
  imagined_ratio: 0.5
eval:
  episodes: 4
seeds: 1
`

// child runs killExperiment with trivial deterministic executors in the
// work directory $KALM_RUNNER_CHILD; exit code 0 means the run finished.
// With KALM_RUNNER_CHILD_TRAIN set it runs trainKillExperiment with the
// built-in executors instead, logging every progress report of a train
// stage to progress.log as "KEY STEP".
func child() int {
	work := os.Getenv("KALM_RUNNER_CHILD")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	text, executors := killExperiment, trivialExecutors(filepath.Join(work, "starts.log"), 3*time.Millisecond)
	logProgress := func(kind experiments.StageKind, stage Executor) map[experiments.StageKind]Executor {
		return map[experiments.StageKind]Executor{kind: func(ctx context.Context, j *Job) (*Output, error) {
			progress := j.Progress
			j.Progress = func(step, total int, m map[string]float64) {
				if f, err := os.OpenFile(filepath.Join(work, "progress.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
					fmt.Fprintln(f, j.Stage.Key, step)
					f.Close()
				}
				progress(step, total, m)
			}
			return stage(ctx, j)
		}}
	}
	if os.Getenv("KALM_RUNNER_CHILD_GROUND") != "" {
		text, executors = groundKillExperiment, logProgress(experiments.Ground, groundStage)
	}
	if os.Getenv("KALM_RUNNER_CHILD_TRAIN") != "" {
		text, executors = trainKillExperiment, map[experiments.StageKind]Executor{experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
			progress := j.Progress
			j.Progress = func(step, total int, m map[string]float64) {
				if f, err := os.OpenFile(filepath.Join(work, "progress.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
					fmt.Fprintln(f, j.Stage.Key, step)
					f.Close()
				}
				progress(step, total, m)
			}
			return trainStage(ctx, j)
		}}
	}
	e, err := experiments.Parse("killme.yaml", []byte(text), experiments.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	plan, err := e.Plan(ctx, &fakePlugins{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := results.Open(ctx, filepath.Join(work, "results.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer s.Close()
	r := &Runner{Store: s, WorkDir: work, Workers: 2, KalmVersion: "test", Host: "test",
		Launcher: &fakePlugins{}, Executors: executors}
	if _, err := r.Run(ctx, plan); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, ErrInterrupted) {
			return 130
		}
		return 1
	}
	return 0
}

// hash01 maps a string to [0, 1) deterministically.
func hash01(s string) float64 {
	h := sha256.Sum256([]byte(s))
	return float64(binary.LittleEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// trivialExecutors do no real work: they sleep a little, write small files
// and report results that depend only on the stage key. Every start is
// appended to startLog (if set).
func trivialExecutors(startLog string, tick time.Duration) map[experiments.StageKind]Executor {
	logStart := func(key string) error {
		if startLog == "" {
			return nil
		}
		f, err := os.OpenFile(startLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(key + "\n")
		return err
	}
	work := func(ctx context.Context, j *Job, steps int) (*Output, error) {
		if err := logStart(j.Stage.Key); err != nil {
			return nil, err
		}
		for in, dir := range j.Inputs {
			if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
				return nil, fmt.Errorf("input %s: %w", in, err)
			}
		}
		out := &Output{}
		for step := 1; step <= steps; step++ {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(tick):
			}
			v := hash01(fmt.Sprint(j.Stage.Key, step))
			out.Metrics = append(out.Metrics, results.Metric{Step: step, Name: "loss", Value: v})
			j.Progress(step, steps, map[string]float64{"loss": v})
		}
		if err := os.WriteFile(filepath.Join(j.Dir, "data"), []byte(j.Stage.Key), 0o644); err != nil {
			return nil, err
		}
		return out, nil
	}
	return map[experiments.StageKind]Executor{
		experiments.Collect: func(ctx context.Context, j *Job) (*Output, error) { return work(ctx, j, 4) },
		experiments.Train: func(ctx context.Context, j *Job) (*Output, error) {
			return work(ctx, j, j.Stage.Config.(experiments.TrainConfig).Steps)
		},
		experiments.Evaluate: func(ctx context.Context, j *Job) (*Output, error) {
			out, err := work(ctx, j, 2)
			if err != nil {
				return nil, err
			}
			for _, l := range j.Stage.Config.(experiments.EvalConfig).Levels {
				out.Evaluations = append(out.Evaluations, results.Evaluation{Checkpoint: 1, Level: l, Episodes: 4,
					SuccessRate: float64(int(hash01(j.Stage.Key+l)*5)) / 4, MeanReturn: hash01(l + j.Stage.Key)})
			}
			return out, nil
		},
	}
}

// dump renders the deterministic content of a results database.
func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	queries := []string{
		`SELECT id, name, config, kalm_version, host FROM experiments ORDER BY id`,
		`SELECT experiment_id, key, value FROM environment ORDER BY 1, 2`,
		`SELECT key, kind, plugin, plugin_version, config, inputs, seed, status, error, log_tail FROM stages ORDER BY key`,
		`SELECT experiment_id, id, grp, params, seed FROM cells ORDER BY 1, 2`,
		`SELECT experiment_id, cell_id, kind, stage_key FROM cell_stages ORDER BY 1, 2, 3`,
		`SELECT stage_key, path, bytes, files FROM artifacts ORDER BY 1`,
		`SELECT kind, name, version, checksum, path FROM plugins ORDER BY 1, 2`,
		`SELECT stage_key, step, name, value FROM metrics ORDER BY 1, 3, 2`,
		`SELECT stage_key, checkpoint, level, episodes, success_rate, mean_return FROM evaluations ORDER BY 1, 2, 3`,
	}
	var b strings.Builder
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		fmt.Fprintf(&b, "== %s\n", q)
		for rows.Next() {
			rows.Scan(ptrs...)
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// completed lists the stages whose work is finished in work: recorded done,
// or published with an outcome (which a restart records without running).
func completed(t *testing.T, work string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if db, err := sql.Open("sqlite3", "file:"+filepath.Join(work, "results.db")+"?mode=ro"); err == nil {
		rows, err := db.Query(`SELECT key FROM stages WHERE status='done'`)
		if err == nil {
			for rows.Next() {
				var k string
				rows.Scan(&k)
				out[k] = true
			}
			rows.Close()
		}
		db.Close()
	}
	matches, _ := filepath.Glob(filepath.Join(work, "artifacts", "*", "*", outcomeFile))
	for _, m := range matches {
		out[filepath.Base(filepath.Dir(m))] = true
	}
	return out
}

func startChild(t *testing.T, work string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "KALM_RUNNER_CHILD="+work), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// killWhen waits for the child cmd to exit, or for reached to report true
// (polled every poll), and then kills it with SIGKILL after a further
// delay. It returns whether the kill landed and, when the child exited by
// itself, how.
func killWhen(cmd *exec.Cmd, reached func() bool, poll, delay time.Duration) (killed bool, err error) {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err = <-exited:
			return false, err
		case <-time.After(poll):
		}
		if reached() {
			break
		}
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	err = <-exited
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
		return true, nil
	}
	return false, err
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// TestSIGKILLAtRandomPoints kills the runner process at random moments of a
// small grid, restarts it until it finishes, and checks that the database
// equals an uninterrupted run's and that no completed stage ran again.
func TestSIGKILLAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the runner as a subprocess many times")
	}
	ref := t.TempDir()
	t0 := time.Now()
	if err := startChild(t, ref).Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	span := time.Since(t0)
	want := dump(t, filepath.Join(ref, "results.db"))
	if n := len(readLines(filepath.Join(ref, "starts.log"))); n != 25 {
		t.Fatalf("uninterrupted run started %d stages, want 25", n)
	}

	work := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 14))
	kills := 0
	for attempt := 0; ; attempt++ {
		if attempt == 40 {
			t.Fatal("the runner never finished")
		}
		done := completed(t, work)
		before := len(readLines(filepath.Join(work, "starts.log")))
		// Kill after the child has started a random number of stages and a
		// random few milliseconds more: mid-stage, mid-rename or mid-commit.
		target := before + 1 + rng.IntN(4)
		if kills >= 20 {
			target = 1 << 30 // enough: let it finish
		}
		killed, err := killWhen(startChild(t, work), func() bool {
			return len(readLines(filepath.Join(work, "starts.log"))) >= target
		}, time.Millisecond, time.Duration(rng.IntN(8000))*time.Microsecond)
		if killed {
			kills++
		}
		finished := !killed
		for _, key := range readLines(filepath.Join(work, "starts.log"))[before:] {
			if done[key] {
				t.Errorf("attempt %d: stage %s ran again although it had completed", attempt, key)
			}
		}
		if finished {
			if err != nil {
				t.Fatalf("attempt %d: runner failed: %v", attempt, err)
			}
			break
		}
	}
	if kills < 5 {
		t.Fatalf("only %d kills landed; the test did not exercise recovery", kills)
	}
	got := dump(t, filepath.Join(work, "results.db"))
	if got != want {
		t.Fatalf("after %d kills the database differs from an uninterrupted run's:\n--- got\n%s\n--- want\n%s", kills, got, want)
	}
	t.Logf("%d kills, %d stage starts in total (25 stages; an uninterrupted run takes %s)", kills, len(readLines(filepath.Join(work, "starts.log"))), span.Round(time.Millisecond))
}

// TestCtrlC interrupts the runner process with SIGINT: it exits cleanly,
// the stages it was running are recorded as interrupted, no partial files
// are visible, and a restart finishes with the same database as an
// uninterrupted run.
func TestCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the runner as a subprocess")
	}
	ref := t.TempDir()
	if err := startChild(t, ref).Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	work := t.TempDir()
	cmd := startChild(t, work)
	for len(readLines(filepath.Join(work, "starts.log"))) < 3 {
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT the runner exited with %v, want status 130 (interrupted)", err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(work, "results.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var interrupted, running int
	db.QueryRow(`SELECT count(*) FROM stages WHERE status='interrupted'`).Scan(&interrupted)
	db.QueryRow(`SELECT count(*) FROM stages WHERE status='running'`).Scan(&running)
	db.Close()
	if interrupted == 0 || running != 0 {
		t.Errorf("after SIGINT: %d stages interrupted, %d still running", interrupted, running)
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "tmp")); len(entries) != 0 {
		t.Errorf("partial files left visible: %v", entries)
	}
	if err := startChild(t, work).Wait(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if got, want := dump(t, filepath.Join(work, "results.db")), dump(t, filepath.Join(ref, "results.db")); got != want {
		t.Fatalf("after Ctrl-C and resume the database differs from an uninterrupted run's:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestSIGKILLDuringTraining kills the runner process at random moments while
// it trains the real bc algorithm (mid-step, mid-checkpoint, mid-journal),
// restarts it until it finishes, and checks that stages continued from
// their checkpoints and that the database and every checkpoint file equal
// an uninterrupted run's.
func TestSIGKILLDuringTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the runner as a subprocess many times")
	}
	const train = "KALM_RUNNER_CHILD_TRAIN=1"
	ref := t.TempDir()
	if err := startChild(t, ref, train).Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	want := dump(t, filepath.Join(ref, "results.db"))

	work := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 8))
	progress := filepath.Join(work, "progress.log")
	kills, continued := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt == 30 {
			t.Fatal("the runner never finished")
		}
		before := len(readLines(progress)) / 2
		// Kill after a random number of progress reports, plus a random
		// fraction of a millisecond.
		target := before + 1 + rng.IntN(40)
		if kills >= 10 {
			target = 1 << 30
		}
		killed, err := killWhen(startChild(t, work, train), func() bool {
			return len(readLines(progress))/2 >= target
		}, 200*time.Microsecond, time.Duration(rng.IntN(1000))*time.Microsecond)
		if killed {
			kills++
		}
		finished := !killed
		// A stage's first report in this attempt is where it went on from.
		seen := map[string]bool{}
		lines := readLines(progress)
		for i := 2 * before; i+1 < len(lines); i += 2 {
			if key := lines[i]; !seen[key] {
				seen[key] = true
				if lines[i+1] != "10" {
					continued++
				}
			}
		}
		if finished {
			if err != nil {
				t.Fatalf("attempt %d: runner failed: %v", attempt, err)
			}
			break
		}
	}
	if kills < 5 || continued == 0 {
		t.Fatalf("%d kills landed and %d stages continued from a checkpoint; the test did not exercise recovery", kills, continued)
	}
	if got := dump(t, filepath.Join(work, "results.db")); got != want {
		t.Fatalf("after %d kills the database differs from an uninterrupted run's:\n--- got\n%s\n--- want\n%s", kills, got, want)
	}
	sameCheckpoints(t, ref, work, 24)
	t.Logf("%d kills; %d times a stage went on from a checkpoint", kills, continued)
}

// TestSIGKILLDuringGrounding kills the runner process at random moments
// while it grounds the parrot LM, restarts it until it finishes, and checks
// that the ground stage continued from its journaled checkpoint and that
// the database equals an uninterrupted run's.
func TestSIGKILLDuringGrounding(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the runner as a subprocess many times")
	}
	const ground = "KALM_RUNNER_CHILD_GROUND=1"
	ref := t.TempDir()
	if err := startChild(t, ref, ground).Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	want := dump(t, filepath.Join(ref, "results.db"))
	work := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 9))
	progress := filepath.Join(work, "progress.log")
	kills, continued := 0, 0
	for attempt := 0; ; attempt++ {
		if attempt == 30 {
			t.Fatal("the runner never finished")
		}
		before := len(readLines(progress)) / 2
		target := before + 1 + rng.IntN(120)
		if kills >= 8 {
			target = 1 << 30
		}
		killed, err := killWhen(startChild(t, work, ground), func() bool {
			return len(readLines(progress))/2 >= target
		}, 200*time.Microsecond, time.Duration(rng.IntN(1000))*time.Microsecond)
		if killed {
			kills++
		}
		// The stage's first report in an attempt is where it went on from:
		// step 1 when it started over, a checkpoint's step when it continued.
		lines := readLines(progress)
		if 2*before+1 < len(lines) && lines[2*before+1] != "1" {
			continued++
		}
		if !killed {
			if err != nil {
				t.Fatalf("attempt %d: runner failed: %v", attempt, err)
			}
			break
		}
	}
	if kills < 4 || continued == 0 {
		t.Fatalf("%d kills landed and the ground stage continued %d times; the test did not exercise recovery", kills, continued)
	}
	if got := dump(t, filepath.Join(work, "results.db")); got != want {
		t.Fatalf("after %d kills the database differs from an uninterrupted run's:\n--- got\n%s\n--- want\n%s", kills, got, want)
	}
	t.Logf("%d kills; the ground stage went on from a checkpoint %d times", kills, continued)
}

// sameCheckpoints checks that the train artifacts in work hold the same n
// checkpoint files, byte for byte, as those in ref.
func sameCheckpoints(t *testing.T, ref, work string, n int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(ref, "artifacts", "train", "*", ckptDir, "*"))
	if len(files) != n {
		t.Fatalf("%d checkpoints in the reference run, want %d", len(files), n)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(ref, f)
		a, _ := os.ReadFile(f)
		if b, err := os.ReadFile(filepath.Join(work, rel)); err != nil || !bytes.Equal(a, b) {
			t.Errorf("checkpoint %s differs from the uninterrupted run's (%v)", rel, err)
		}
	}
}

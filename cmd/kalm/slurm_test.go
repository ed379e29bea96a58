package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/experiments/runner/slurm"
)

// slurmCluster skips the test when no Slurm cluster answers, unless
// KALM_TEST_SLURM is set (.ci/run sets it after starting one): then a
// missing cluster fails it.
func slurmCluster(t *testing.T) {
	t.Helper()
	if _, err := clusterUp(); err == nil {
		return
	} else if os.Getenv("KALM_TEST_SLURM") != "" {
		t.Fatalf("KALM_TEST_SLURM is set but no Slurm cluster answers (start one with .ci/slurm-up): %v", err)
	} else {
		t.Skipf("no Slurm cluster (%v); .ci/slurm-up starts one", err)
	}
}

// clusterUp asks sinfo for a node that takes jobs.
func clusterUp() (string, error) {
	// sinfo retries for a minute when it finds no configuration.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sinfo", "--noheader", "--format=%T").CombinedOutput()
	s := string(bytes.TrimSpace(out))
	if err != nil {
		return s, fmt.Errorf("sinfo: %w: %s", err, s)
	}
	for _, st := range []string{"idle", "mix", "alloc"} {
		if strings.Contains(s, st) {
			return s, nil
		}
	}
	return s, fmt.Errorf("sinfo: no node takes jobs: %s", s)
}

// slurmGrid is quick's offline-RL chain, small, with training long enough
// for a job to be killed mid-way.
func slurmGrid(work string) []string {
	return []string{"run", "quick", "-workdir", work, "--set", "dataset.episodes=24", "--set", "train.steps=8000",
		"--set", "train.checkpoint_every=500", "--set", "lm.plugin=", "--set", "grid.axes=[{key: algo, values: [bc, cql]}]",
		"--set", "seeds=1", "--set", "eval.episodes=4", "--set", "executor.slurm.poll=0.3"}
}

// outcomes are the recorded results of a work directory, to the last digit.
func outcomes(t *testing.T, work string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT group_concat(stage_key || ' ' || checkpoint || ' ' || level || ' ' || episodes || ' ' || success_rate || ' ' || mean_return, char(10)) FROM (SELECT * FROM evaluations ORDER BY 1, 2, 3)`,
		`SELECT group_concat(stage_key || ' ' || name || ' ' || step || ' ' || value, char(10)) FROM (SELECT * FROM metrics ORDER BY 1, 3, 2)`,
		`SELECT group_concat(key || ' ' || status, char(10)) FROM (SELECT * FROM stages ORDER BY 1)`,
	} {
		b.WriteString(query(t, work, q) + "\n")
	}
	return b.String()
}

// squeue lists the jobs of work's runs (other tests may share the cluster).
func squeue(t *testing.T, work string) string {
	out, _ := exec.Command("squeue", "--noheader", "--me", "--format=%i %j %T").CombinedOutput()
	var mine []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && strings.HasPrefix(f[1], slurm.JobPrefix(work)) {
			mine = append(mine, l)
		}
	}
	return strings.Join(mine, "\n")
}

// waitFor polls cond every 100 ms for up to a minute.
func waitFor(t *testing.T, work, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited a minute for %s; squeue:\n%s", what, squeue(t, work))
}

// lastCheckpoint is the step of the last checkpoint a train stage's
// unfinished attempt journaled, or 0.
func lastCheckpoint(work string) (key string, step int) {
	dirs, _ := filepath.Glob(filepath.Join(work, "partial", "train", "*"))
	for _, d := range dirs {
		var j struct {
			Checkpoints []struct{ Step int }
		}
		if runner.ReadJSON(filepath.Join(d, "journal.json"), &j) == nil && len(j.Checkpoints) > 0 {
			return filepath.Base(d), j.Checkpoints[len(j.Checkpoints)-1].Step
		}
	}
	return "", 0
}

// TestSlurm runs a small grid through a real Slurm cluster: its results
// equal the local executor's to the last digit, also when a training job
// is cancelled mid-way (it is submitted again and continues from its
// checkpoint), when the host is killed and a second kalm run adopts its
// jobs, and Ctrl-C of the host leaves no job queued.
func TestSlurm(t *testing.T) {
	slurmCluster(t)
	ctx := context.Background()
	local := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, append(slurmGrid(local), "-j", "2"), &stdout, &stderr); code != 0 {
		t.Fatalf("local run: exit %d\n%s\n%s", code, &stdout, &stderr)
	}
	want := outcomes(t, local)

	t.Run("a cancelled job continues from its checkpoint", func(t *testing.T) {
		work := t.TempDir()
		done := make(chan int)
		var stdout, stderr bytes.Buffer
		go func() { done <- run(ctx, append(slurmGrid(work), "--executor", "slurm"), &stdout, &stderr) }()
		var key string
		var step int
		waitFor(t, work, "a training job's checkpoint", func() bool { key, step = lastCheckpoint(work); return step > 0 })
		job := query(t, work, fmt.Sprintf(`SELECT job FROM stages WHERE key='%s'`, key))
		if job == "" {
			t.Fatalf("stage %s has no job recorded", key)
		}
		if out, err := exec.Command("scancel", job).CombinedOutput(); err != nil {
			t.Fatalf("scancel %s: %v %s", job, err, out)
		}
		if code := <-done; code != 0 {
			t.Fatalf("slurm run: exit %d\n%s\n%s", code, &stdout, &stderr)
		}
		if !strings.Contains(stderr.String(), "job "+job+" of train") || !strings.Contains(stderr.String(), "continues it from its checkpoint") {
			t.Fatalf("no resubmission of job %s in the log:\n%s", job, &stderr)
		}
		// The new job's first progress line is at or past the checkpoint
		// the cancelled one journaled.
		again := query(t, work, fmt.Sprintf(`SELECT job FROM stages WHERE key='%s'`, key))
		logs, _ := filepath.Glob(filepath.Join(work, "slurm", "train-"+key[:12]+"-"+again+".log"))
		if again == job || len(logs) != 1 {
			t.Fatalf("stage %s: job %s after %s, logs %v", key, again, job, logs)
		}
		b, _ := os.ReadFile(logs[0])
		m := regexp.MustCompile(` (\d+)/8000`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no progress line:\n%s", logs[0], b)
		}
		if first, _ := strconv.Atoi(string(m[1])); first < step {
			t.Fatalf("job %s started at step %d, before the checkpoint at %d the cancelled job %s journaled", again, first, step, job)
		}
		if got := outcomes(t, work); got != want {
			t.Fatalf("slurm results differ from local ones:\n%s\nwant\n%s", got, want)
		}
		var ls bytes.Buffer
		run(ctx, []string{"ls", "-v", "-workdir", work}, &ls, &ls)
		if !strings.Contains(ls.String(), "job "+again) || !strings.Contains(ls.String(), "COMPLETED") {
			t.Errorf("kalm ls -v shows no job ids and states:\n%s", &ls)
		}
	})

	t.Run("a second run adopts the jobs of a killed host", func(t *testing.T) {
		work := t.TempDir()
		host := exec.Command(os.Args[0], append(slurmGrid(work), "--executor", "slurm")...)
		host.Env = append(os.Environ(), "KALM_TEST_MAIN=1")
		var hostOut bytes.Buffer
		host.Stdout, host.Stderr = &hostOut, &hostOut
		if err := host.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, work, "a running training job", func() bool {
			q := squeue(t, work)
			return strings.Contains(q, "-train-") && strings.Contains(q, "RUNNING")
		})
		host.Process.Signal(syscall.SIGKILL)
		host.Wait()
		var stdout, stderr bytes.Buffer
		if code := run(ctx, append(slurmGrid(work), "--executor", "slurm"), &stdout, &stderr); code != 0 {
			t.Fatalf("second run: exit %d\n%s\n%s\nfirst host:\n%s", code, &stdout, &stderr, &hostOut)
		}
		if !strings.Contains(stderr.String(), "adopted job") {
			t.Fatalf("the second run adopted no job:\n%s", &stderr)
		}
		if strings.Contains(stderr.String(), "submitted train") {
			t.Fatalf("the second run submitted a train job again:\n%s", &stderr)
		}
		if got := outcomes(t, work); got != want {
			t.Fatalf("slurm results differ from local ones:\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("Ctrl-C leaves no job queued", func(t *testing.T) {
		work := t.TempDir()
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan int)
		var stdout, stderr bytes.Buffer
		go func() { done <- run(cctx, append(slurmGrid(work), "--executor", "slurm"), &stdout, &stderr) }()
		waitFor(t, work, "queued evaluate jobs", func() bool { return strings.Contains(squeue(t, work), "-evaluate-") })
		cancel()
		if code := <-done; code != 130 {
			t.Fatalf("exit %d, want 130\n%s\n%s", code, &stdout, &stderr)
		}
		if q := squeue(t, work); q != "" {
			t.Fatalf("jobs left after Ctrl-C:\n%s", q)
		}
		if n := query(t, work, `SELECT count(*) FROM stages WHERE status='running'`); n != "0" {
			t.Fatalf("%s stages still recorded running after Ctrl-C", n)
		}
	})
}

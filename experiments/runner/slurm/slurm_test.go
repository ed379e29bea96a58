package slurm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
)

// fakeSlurm is a Client whose queue the test drives.
type fakeSlurm struct {
	mu        sync.Mutex
	next      int
	queue     []Queued
	submitted []Job
	after     map[string][]string // SetAfter calls
	cancelled []string
	ended     map[string]string // id → state once it left the queue
	submits   func(n int)       // called after each submission (may be nil)
}

func (f *fakeSlurm) Submit(_ context.Context, j Job) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := strconv.Itoa(100 + f.next)
	f.submitted = append(f.submitted, j)
	f.queue = append(f.queue, Queued{ID: id, Name: j.Name, State: "PENDING"})
	if f.submits != nil {
		f.submits(len(f.submitted))
	}
	return id, nil
}

func (f *fakeSlurm) Queue(_ context.Context, prefix string) ([]Queued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var q []Queued
	for _, j := range f.queue {
		if strings.HasPrefix(j.Name, prefix) {
			q = append(q, j)
		}
	}
	return q, nil
}

func (f *fakeSlurm) Cancel(_ context.Context, ids []string) error {
	for _, id := range ids {
		f.leave(id, "CANCELLED")
	}
	f.mu.Lock()
	f.cancelled = append(f.cancelled, ids...)
	f.mu.Unlock()
	return nil
}

func (f *fakeSlurm) SetAfter(_ context.Context, id string, after []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.after == nil {
		f.after = map[string][]string{}
	}
	f.after[id] = after
	return nil
}

func (f *fakeSlurm) State(_ context.Context, id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended[id]
}

// leave takes job id off the queue, ending in state.
func (f *fakeSlurm) leave(id, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = slices.DeleteFunc(f.queue, func(j Queued) bool { return j.ID == id })
	if f.ended == nil {
		f.ended = map[string]string{}
	}
	f.ended[id] = state
}

// finish ends a stage's job as its worker would: artifact published (done),
// or a report of failure.
func finish(t *testing.T, f *fakeSlurm, work string, task *runner.Task, status string) {
	t.Helper()
	st := task.Stage
	switch status {
	case runner.ReportDone:
		dir := filepath.Join(work, "artifacts", string(st.Kind), st.Key)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "outcome.json"), []byte(`{}`), 0o644)
		f.leave(task.Job, "COMPLETED")
	case runner.ReportFailed:
		os.MkdirAll(filepath.Join(work, "stages"), 0o755)
		os.WriteFile(runner.ReportPath(work, st.Key), []byte(`{"status":"failed","error":"the plugin crashed"}`), 0o644)
		f.leave(task.Job, "FAILED")
	default: // killed: no report
		f.leave(task.Job, status)
	}
}

func chain(work string, retries int) (*Dispatcher, *fakeSlurm, *runner.Task, *runner.Task) {
	f := &fakeSlurm{}
	spec := experiments.SlurmSpec{Retries: retries, Poll: 0.001, Default: experiments.SlurmResources{Mem: "2G", Partition: "cpu"},
		Train: experiments.SlurmResources{CPUs: 4, Time: "1:00:00", Extra: []string{"--qos=low"}}}
	d := &Dispatcher{Client: f, WorkDir: work, Kalm: "/shared/kalm", Spec: spec}
	a := &runner.Task{Stage: &experiments.Stage{Key: "aaaaaaaaaaaaaaaa", Kind: experiments.Collect}}
	b := &runner.Task{Stage: &experiments.Stage{Key: "bbbbbbbbbbbbbbbb", Kind: experiments.Train, Inputs: []string{a.Stage.Key}}, After: []*runner.Task{a}}
	return d, f, a, b
}

func dispatch(t *testing.T, d *Dispatcher, ts ...*runner.Task) {
	t.Helper()
	for _, x := range ts {
		if err := d.Dispatch(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSubmitChains(t *testing.T) {
	work := t.TempDir()
	d, f, a, b := chain(work, 2)
	dispatch(t, d, a, b)
	if len(f.submitted) != 2 || len(f.submitted[0].After) != 0 || !slices.Equal(f.submitted[1].After, []string{a.Job}) {
		t.Fatalf("submitted %+v, want b after a's job %s", f.submitted, a.Job)
	}
	j := f.submitted[1]
	wantFlags := []string{"--cpus-per-task=4", "--mem=2G", "--time=1:00:00", "--partition=cpu", "--qos=low"}
	if !slices.Equal(j.Flags, wantFlags) {
		t.Errorf("train flags %v, want %v", j.Flags, wantFlags)
	}
	wantCmd := []string{"/shared/kalm", "stage", "exec", "--workdir", work, "--tmpdir", filepath.Join(work, "jobtmp"), b.Stage.Key}
	if !slices.Equal(j.Command, wantCmd) || !strings.HasPrefix(j.Name, Prefix) || !strings.HasSuffix(j.Name, "-train-"+b.Stage.Key) {
		t.Errorf("job %+v", j)
	}
	finish(t, f, work, a, runner.ReportDone)
	if got, rep := d.Next(context.Background()); got != a || rep.Status != runner.ReportDone {
		t.Fatalf("Next: %v %+v, want a done", got.Stage.Key, rep)
	}
}

func TestRetryFromCheckpoint(t *testing.T) {
	work := t.TempDir()
	var log bytes.Buffer
	d, f, a, b := chain(work, 1)
	d.Log = &log
	dispatch(t, d, a, b)
	first := a.Job
	finish(t, f, work, a, "PREEMPTED")
	// Nothing ends: a is submitted again and b waits for the new job.
	if d.poll(context.Background()); len(d.ended) != 0 {
		t.Fatalf("ended %+v after a preemption", d.ended[0].rep)
	}
	finish(t, f, work, a, runner.ReportDone)
	got, rep := d.Next(context.Background())
	if got != a || rep.Status != runner.ReportDone || a.Job == first {
		t.Fatalf("Next: %s %+v (job %s, first %s)", got.Stage.Kind, rep, a.Job, first)
	}
	if len(f.submitted) != 3 || !slices.Equal(f.after[b.Job], []string{a.Job}) {
		t.Fatalf("submitted %d jobs, b after %v; want 3 and b after %s", len(f.submitted), f.after[b.Job], a.Job)
	}
	if !strings.Contains(log.String(), "job "+first+" of collect aaaaaaaaaaaa ended PREEMPTED without finishing; job "+a.Job+" continues it from its checkpoint (retry 1 of 1)") {
		t.Errorf("log:\n%s", &log)
	}
}

func TestFailureBlocksDependents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		end   []string // how a's successive jobs end
		error string
	}{
		{"stage failed", []string{runner.ReportFailed}, "the plugin crashed"},
		{"retries used up", []string{"NODE_FAIL", "CANCELLED"}, "ended CANCELLED without finishing the stage, after 2 attempts (executor.slurm.retries: 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			d, f, a, b := chain(work, 1)
			dispatch(t, d, a, b)
			for _, e := range tc.end {
				finish(t, f, work, a, e)
				d.poll(context.Background())
			}
			got, rep := d.Next(context.Background())
			if got != a || rep.Status != runner.ReportFailed || !strings.Contains(rep.Error, tc.error) {
				t.Fatalf("a: %+v, want failed with %q", rep, tc.error)
			}
			got, rep = d.Next(context.Background())
			if got != b || rep.Status != runner.Blocked || !slices.Contains(f.cancelled, b.Job) {
				t.Fatalf("b: %+v, cancelled %v; want blocked and its job %s cancelled", rep, f.cancelled, b.Job)
			}
		})
	}
}

func TestAdoptAndCancel(t *testing.T) {
	work := t.TempDir()
	d, f, a, b := chain(work, 2)
	// A job of an earlier run of this work directory is still running.
	f.queue = []Queued{{ID: "7", Name: d.JobName(a.Stage), State: "RUNNING"}}
	dispatch(t, d, a, b)
	if a.Job != "7" || len(f.submitted) != 1 || !slices.Equal(f.submitted[0].After, []string{"7"}) {
		t.Fatalf("a's job %s, submitted %+v; want a adopted and only b submitted, after 7", a.Job, f.submitted)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 {
		if _, rep := d.Next(ctx); rep.Status != runner.ReportInterrupted {
			t.Fatalf("after cancel: %+v", rep)
		}
	}
	if q, _ := f.Queue(ctx, Prefix); len(q) != 0 || len(f.cancelled) != 2 {
		t.Fatalf("queue %v, cancelled %v after Ctrl-C", q, f.cancelled)
	}
}

// A job that completed before its files show on the shared filesystem is
// waited for, not submitted again.
func TestCompletedFilesLate(t *testing.T) {
	work := t.TempDir()
	d, f, a, _ := chain(work, 0)
	dispatch(t, d, a)
	f.leave(a.Job, "COMPLETED")
	if d.poll(context.Background()); len(d.ended) != 0 || len(f.submitted) != 1 {
		t.Fatalf("ended %d, submitted %d: the job was not waited for", len(d.ended), len(f.submitted))
	}
	f.queue = append(f.queue, Queued{ID: a.Job, Name: d.JobName(a.Stage), State: "COMPLETING"}) // gone again below
	finish(t, f, work, a, runner.ReportDone)
	if got, rep := d.Next(context.Background()); got != a || rep.Status != runner.ReportDone {
		t.Fatalf("Next: %+v", rep)
	}
}

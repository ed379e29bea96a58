package slurm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
)

// Dispatcher runs each stage as a Slurm batch job of `kalm stage exec` on
// the shared work directory; it implements runner.Dispatcher. Stages are
// submitted as soon as their inputs are submitted, with
// --dependency=afterok on the inputs' jobs. A job already queued or
// running for a stage (from an earlier `kalm run` of the same work
// directory) is adopted instead of submitted again.
type Dispatcher struct {
	Client Client
	// WorkDir is the absolute work directory, shared by the host and the
	// nodes.
	WorkDir string
	// Kalm is the kalm binary on the nodes (default: this process's) and
	// Args the flags its `stage exec` gets besides --workdir (plugin
	// directories, pins, threads): a job runs
	// KALM stage exec ARGS --workdir WORKDIR --tmpdir WORKDIR/jobtmp KEY.
	Kalm string
	Args []string
	// Spec gives the resources per stage kind, the retries and the poll
	// interval.
	Spec experiments.SlurmSpec
	// Log receives a line per submission, adoption, retry and
	// cancellation (may be nil).
	Log io.Writer

	tasks   map[*runner.Task]*entry
	order   []*runner.Task    // tasks in dispatch order
	queue   map[string]Queued // by job name, from the first Dispatch
	ended   []ending
	stopped bool
	watch   func(*runner.Task)
}

type entry struct {
	attempts int
	done     bool
	// completed is when the host first saw the job gone as COMPLETED
	// without its files: a shared filesystem may show them late.
	completed time.Time
}

// lag is how long the host waits for the files of a job that completed
// to appear on the shared filesystem (NFS caches attributes for up to a
// minute) before it takes the job for one that ended unfinished.
const lag = time.Minute

type ending struct {
	t   *runner.Task
	rep *runner.Report
}

// Prefix starts the name of every job kalm submits.
const Prefix = "kalm-"

// JobPrefix starts the names of the jobs of a work directory (absolute).
func JobPrefix(work string) string {
	sum := sha256.Sum256([]byte(work))
	return Prefix + hex.EncodeToString(sum[:4]) + "-"
}

func (d *Dispatcher) prefix() string { return JobPrefix(d.WorkDir) }

// JobName is the name of a stage's job, by which a later run on the same
// work directory finds it: kalm-WORKDIRHASH-KIND-KEY.
func (d *Dispatcher) JobName(st *experiments.Stage) string {
	return d.prefix() + string(st.Kind) + "-" + st.Key
}

// Capacity implements runner.Dispatcher: no limit, and stages chain.
func (d *Dispatcher) Capacity() (int, bool) { return 0, true }

// Watch implements runner.Watched.
func (d *Dispatcher) Watch(f func(*runner.Task)) { d.watch = f }

func (d *Dispatcher) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, "slurm: "+format+"\n", args...)
	}
}

func (d *Dispatcher) changed(t *runner.Task) {
	if d.watch != nil {
		d.watch(t)
	}
}

// Dispatch implements runner.Dispatcher.
func (d *Dispatcher) Dispatch(ctx context.Context, t *runner.Task) error {
	if d.tasks == nil {
		// Without the queue, jobs of an earlier run could be submitted
		// twice: every stage fails until squeue answers.
		q, err := d.Client.Queue(ctx, d.prefix())
		if err != nil {
			return fmt.Errorf("slurm: %w", err)
		}
		d.tasks = map[*runner.Task]*entry{}
		d.queue = map[string]Queued{}
		for _, j := range q {
			d.queue[j.Name] = j
		}
	}
	e := &entry{}
	d.tasks[t] = e
	d.order = append(d.order, t)
	if j, ok := d.queue[d.JobName(t.Stage)]; ok {
		t.Job, t.State = j.ID, j.State
		d.logf("adopted job %s (%s) of %s %.12s", j.ID, j.State, t.Stage.Kind, t.Stage.Key)
		d.changed(t)
		return nil
	}
	if err := d.submit(ctx, t, e); err != nil {
		delete(d.tasks, t)
		d.order = d.order[:len(d.order)-1]
		return err
	}
	return nil
}

// after lists the jobs of t's inputs still in flight.
func (d *Dispatcher) after(t *runner.Task) []string {
	var ids []string
	for _, in := range t.After {
		if e, ok := d.tasks[in]; ok && !e.done && in.Job != "" {
			ids = append(ids, in.Job)
		}
	}
	return ids
}

func (d *Dispatcher) submit(ctx context.Context, t *runner.Task, e *entry) error {
	st := t.Stage
	os.Remove(runner.ReportPath(d.WorkDir, st.Key))
	logs := filepath.Join(d.WorkDir, "slurm")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	kalm := d.Kalm
	if kalm == "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("slurm: the kalm binary for the nodes: %w (set executor.slurm.kalm)", err)
		}
		kalm = self
	}
	cmd := append(append([]string{kalm, "stage", "exec"}, d.Args...), "--workdir", d.WorkDir,
		"--tmpdir", filepath.Join(d.WorkDir, "jobtmp"), st.Key)
	// An sbatch killed after the controller took the job would leave a
	// job whose id kalm never learnt: let it finish.
	id, err := d.Client.Submit(context.WithoutCancel(ctx), Job{Name: d.JobName(st), Command: cmd, After: d.after(t),
		Output: filepath.Join(logs, fmt.Sprintf("%s-%.12s-%%j.log", st.Kind, st.Key)), Flags: Flags(d.Spec.Resources(st.Kind))})
	if err != nil {
		return fmt.Errorf("slurm: %w", err)
	}
	e.attempts++
	e.completed = time.Time{}
	t.Job, t.State = id, "PENDING"
	d.logf("submitted %s %.12s as job %s", st.Kind, st.Key, id)
	d.changed(t)
	return nil
}

// Flags turns resources into sbatch flags.
func Flags(r experiments.SlurmResources) []string {
	var f []string
	if r.CPUs > 0 {
		f = append(f, "--cpus-per-task="+strconv.Itoa(r.CPUs))
	}
	if r.Mem != "" {
		f = append(f, "--mem="+r.Mem)
	}
	if r.Time != "" {
		f = append(f, "--time="+r.Time)
	}
	if r.Partition != "" {
		f = append(f, "--partition="+r.Partition)
	}
	if r.Account != "" {
		f = append(f, "--account="+r.Account)
	}
	if r.GPUs > 0 {
		f = append(f, "--gpus="+strconv.Itoa(r.GPUs))
	}
	return append(f, r.Extra...)
}

// Next implements runner.Dispatcher: it polls squeue until a job leaves
// the queue, then reads what its worker reported. When ctx is cancelled it
// cancels every job in flight and waits for them to leave the queue.
func (d *Dispatcher) Next(ctx context.Context) (*runner.Task, *runner.Report) {
	bg := context.WithoutCancel(ctx)
	poll := time.Duration(d.Spec.Poll * float64(time.Second))
	if poll <= 0 {
		poll = 5 * time.Second
	}
	for {
		if len(d.ended) > 0 {
			x := d.ended[0]
			d.ended = d.ended[1:]
			return x.t, x.rep
		}
		if ctx.Err() != nil && !d.stopped {
			d.stop(bg, poll)
			continue
		}
		if d.poll(bg) {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// inflight lists the tasks not ended.
func (d *Dispatcher) inflight() []*runner.Task {
	var ts []*runner.Task
	for _, t := range d.order {
		if !d.tasks[t].done {
			ts = append(ts, t)
		}
	}
	return ts
}

func (d *Dispatcher) end(t *runner.Task, rep *runner.Report) {
	d.tasks[t].done = true
	d.ended = append(d.ended, ending{t, rep})
}

// stop cancels every job in flight and waits (a minute at most) until
// they have left the queue, so that their workers have stopped writing.
func (d *Dispatcher) stop(ctx context.Context, poll time.Duration) {
	d.stopped = true
	var ids []string
	for _, t := range d.inflight() {
		ids = append(ids, t.Job)
	}
	// Every job of this work directory is this run's (the directory is
	// locked), also one whose submission was cut short.
	if q, err := d.Client.Queue(ctx, d.prefix()); err == nil {
		for _, j := range q {
			if !slices.Contains(ids, j.ID) {
				ids = append(ids, j.ID)
			}
		}
	}
	if len(ids) > 0 {
		d.logf("cancelling %d jobs", len(ids))
		if err := d.Client.Cancel(ctx, ids); err != nil {
			d.logf("%v", err)
		}
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(min(poll, time.Second)) {
		q, err := d.Client.Queue(ctx, d.prefix())
		if err != nil {
			continue
		}
		left := map[string]bool{}
		for _, j := range q {
			left[j.ID] = true
		}
		gone := true
		for _, id := range ids {
			if left[id] {
				gone = false
			}
		}
		if gone {
			break
		}
	}
	for _, t := range d.inflight() {
		rep := d.report(t)
		if rep.Status != runner.ReportDone {
			rep = &runner.Report{Status: runner.ReportInterrupted, Error: fmt.Sprintf("interrupted: job %s cancelled", t.Job), LogTail: rep.LogTail}
		}
		t.State = "CANCELLED"
		d.changed(t)
		d.end(t, rep)
	}
}

// report reads what a stage's worker reported; a published artifact is
// done whatever the report says.
func (d *Dispatcher) report(t *runner.Task) *runner.Report {
	var rep runner.Report
	err := runner.ReadJSON(runner.ReportPath(d.WorkDir, t.Stage.Key), &rep)
	if _, serr := os.Stat(filepath.Join(d.WorkDir, "artifacts", string(t.Stage.Kind), t.Stage.Key, "outcome.json")); serr == nil {
		rep.Status = runner.ReportDone
		return &rep
	}
	if err != nil {
		return &runner.Report{}
	}
	return &rep
}

// poll asks squeue about the jobs in flight and handles those that left
// it; it reports whether any did.
func (d *Dispatcher) poll(ctx context.Context) bool {
	q, err := d.Client.Queue(ctx, d.prefix())
	if err != nil {
		d.logf("%v (asking again)", err)
		return false
	}
	byID := map[string]Queued{}
	for _, j := range q {
		byID[j.ID] = j
	}
	any := false
	for _, t := range d.inflight() {
		if j, ok := byID[t.Job]; ok {
			if j.State != t.State {
				t.State = j.State
				d.changed(t)
			}
			continue
		}
		if d.left(ctx, t) {
			any = true
		}
	}
	return any
}

// left handles a job that left the queue: done, failed (and its dependents
// blocked), or submitted again. It reports false while it waits for the
// files of a job that completed.
func (d *Dispatcher) left(ctx context.Context, t *runner.Task) bool {
	e := d.tasks[t]
	rep := d.report(t)
	state := d.Client.State(ctx, t.Job)
	if state == "" {
		state = "ENDED"
	}
	if state == "COMPLETED" && rep.Status == "" {
		if e.completed.IsZero() {
			e.completed = time.Now()
		}
		if time.Since(e.completed) < lag {
			return false
		}
	}
	old := t.Job
	t.State = state
	switch {
	case rep.Status == runner.ReportDone:
		t.State = "COMPLETED"
		d.changed(t)
		d.end(t, rep)
		return true
	case rep.Status == runner.ReportFailed && (state == "FAILED" || state == "COMPLETED" || state == "ENDED"):
		// The stage itself failed: running it again gives the same error.
		d.changed(t)
		d.end(t, rep)
		d.block(ctx, t)
		return true
	}
	if e.attempts > d.Spec.Retries {
		d.changed(t)
		msg := fmt.Sprintf("job %s ended %s without finishing the stage, after %d attempts (executor.slurm.retries: %d)", old, state, e.attempts, d.Spec.Retries)
		if rep.Error != "" {
			msg += ": " + rep.Error
		}
		d.end(t, &runner.Report{Status: runner.ReportFailed, Error: msg, LogTail: rep.LogTail})
		d.block(ctx, t)
		return true
	}
	if err := d.submit(ctx, t, e); err != nil {
		d.end(t, &runner.Report{Status: runner.ReportFailed, Error: err.Error()})
		d.block(ctx, t)
		return true
	}
	d.logf("job %s of %s %.12s ended %s without finishing; job %s continues it from its checkpoint (retry %d of %d)",
		old, t.Stage.Kind, t.Stage.Key, state, t.Job, e.attempts-1, d.Spec.Retries)
	// Jobs waiting for the old one wait for the new one instead.
	for _, o := range d.inflight() {
		for _, in := range o.After {
			if in == t && o.State == "PENDING" {
				if err := d.Client.SetAfter(ctx, o.Job, d.after(o)); err != nil {
					d.logf("%v", err)
				}
			}
		}
	}
	return true
}

// block cancels the jobs that need t's stage, which failed.
func (d *Dispatcher) block(ctx context.Context, failed *runner.Task) {
	for _, t := range d.inflight() {
		for _, in := range t.After {
			if in == failed && !d.tasks[t].done {
				if err := d.Client.Cancel(ctx, []string{t.Job}); err != nil {
					d.logf("%v", err)
				}
				t.State = "CANCELLED"
				d.changed(t)
				d.end(t, &runner.Report{Status: runner.Blocked, Error: fmt.Sprintf("not run: its input %s %.12s failed", failed.Stage.Kind, failed.Stage.Key)})
				d.block(ctx, t)
				break
			}
		}
	}
}

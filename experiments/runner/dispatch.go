package runner

import (
	"context"

	"github.com/kalm-go/kalm/experiments"
)

// Task is a stage the scheduler hands to a dispatcher.
type Task struct {
	Stage *experiments.Stage
	// After are the tasks of the stage's inputs that were dispatched and
	// have not ended; only a dispatcher that chains (Capacity) gets any.
	After []*Task
	// Job is the dispatcher's name for the task's current attempt (a Slurm
	// job id), or empty; State is what the dispatcher last saw of it.
	Job, State string
}

// Dispatcher runs stages somewhere, each through a Worker: in this process
// (LocalDispatcher) or as batch jobs (package slurm). The scheduler knows
// only the stage DAG and hands a dispatcher the stages that are ready.
type Dispatcher interface {
	// Capacity is how many tasks may be in flight at once (0: no limit)
	// and whether a stage may be dispatched while its inputs are still in
	// flight (the dispatcher then makes it wait for them).
	Capacity() (slots int, chain bool)
	// Dispatch starts t; the stage's description is stored in the work
	// directory. An error fails the stage.
	Dispatch(ctx context.Context, t *Task) error
	// Next waits until a dispatched task ends and returns it and its
	// report. Once ctx is cancelled the dispatcher stops every task in
	// flight; each still ends, as interrupted.
	Next(ctx context.Context) (*Task, *Report)
}

// Watched is implemented by dispatchers whose tasks change while in flight
// (a queued job starts running): the scheduler records each change.
type Watched interface {
	Watch(changed func(*Task))
}

// Blocked is the status of a report a dispatcher gives a task it stopped
// because one of its inputs failed.
const Blocked = "blocked"

// LocalDispatcher runs stages in this process, Workers at a time.
type LocalDispatcher struct {
	Worker  *Worker
	Workers int
	done    chan localDone
}

type localDone struct {
	t   *Task
	rep *Report
}

// Capacity implements Dispatcher.
func (l *LocalDispatcher) Capacity() (int, bool) { return max(1, l.Workers), false }

// Dispatch implements Dispatcher.
func (l *LocalDispatcher) Dispatch(ctx context.Context, t *Task) error {
	if l.done == nil {
		l.done = make(chan localDone)
	}
	go func() {
		rep, err := l.Worker.Exec(ctx, t.Stage.Key)
		if rep == nil {
			rep = &Report{Status: ReportFailed, Error: err.Error()}
		}
		l.done <- localDone{t, rep}
	}()
	return nil
}

// Next implements Dispatcher: the goroutines of cancelled stages end by
// themselves.
func (l *LocalDispatcher) Next(context.Context) (*Task, *Report) {
	d := <-l.done
	return d.t, d.rep
}

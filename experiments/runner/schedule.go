package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// schedule runs the plan's pending stages on disp in DAG order and records
// each as it ends: a stage is dispatched once its inputs are done (or in
// flight, for a dispatcher that chains), and a stage whose input failed is
// blocked. It returns when nothing is in flight and nothing more can start
// (or ctx is cancelled and everything in flight has stopped).
func (r *Runner) schedule(ctx context.Context, work string, plan *experiments.Plan, disp Dispatcher, state map[string]results.Status, sum *Summary) {
	bg := context.WithoutCancel(ctx)
	slots, chain := disp.Capacity()
	// A dispatcher that chains queues stages long before they run: the
	// display shows them from when they start running.
	shown := map[string]bool{}
	show := func(st *experiments.Stage) {
		if r.Display != nil && !shown[st.Key] {
			shown[st.Key] = true
			r.Display.Start(st)
		}
	}
	job := func(t *Task) {
		if t.Job != "" {
			r.Store.SetStageJob(bg, t.Stage.Key, t.Job, t.State)
		}
		if t.State == "RUNNING" {
			show(t.Stage)
		}
	}
	if w, ok := disp.(Watched); ok {
		w.Watch(job)
	}
	inflight := map[string]*Task{}
	started := map[string]time.Time{}
	var pending []*experiments.Stage
	for _, st := range plan.Stages {
		if state[st.Key] == results.Pending {
			pending = append(pending, st)
		}
	}
	ready := func(st *experiments.Stage) (ok, blocked bool) {
		for _, in := range st.Inputs {
			switch state[in] {
			case results.Done:
			case results.Running:
				if !chain {
					return false, false
				}
			case results.Failed, results.Interrupted, blockedStatus:
				return false, true
			default:
				return false, false
			}
		}
		return true, false
	}
	failed := func(st *experiments.Stage, err error, tail []string) {
		r.fail(bg, st, err, tail)
		state[st.Key] = results.Failed
		sum.Failed++
		sum.Errors = append(sum.Errors, fmt.Sprintf("%s %s: %v", st.Kind, short(st.Key), err))
	}
	dispatch := func(st *experiments.Stage) {
		t := &Task{Stage: st}
		if chain {
			for _, in := range st.Inputs {
				if it, ok := inflight[in]; ok {
					t.After = append(t.After, it)
				}
			}
		}
		if err := WriteDescription(work, plan, st); err != nil {
			failed(st, fmt.Errorf("store its description: %w", err), nil)
			return
		}
		if err := r.Store.StartStage(bg, st.Key, owner()); err != nil {
			failed(st, err, nil)
			return
		}
		if !chain {
			show(st)
		}
		started[st.Key] = time.Now()
		if err := disp.Dispatch(ctx, t); err != nil {
			failed(st, err, nil)
			return
		}
		inflight[st.Key] = t
		state[st.Key] = results.Running
	}
	finish := func(t *Task, rep *Report) {
		st := t.Stage
		took := time.Since(started[st.Key])
		show(st)
		switch rep.Status {
		case ReportDone:
			if err := r.adopt(bg, work, st, artifactDir(work, st), rep.Seconds); err != nil {
				failed(st, err, rep.LogTail)
				return
			}
			state[st.Key] = results.Done
			sum.Ran++
			if r.Display != nil {
				r.Display.Finish(st, nil, took)
			}
		case ReportInterrupted, Blocked:
			if r.Display != nil {
				r.Display.Finish(st, ErrInterrupted, took)
			}
			r.Store.FailStage(bg, st.Key, results.Interrupted, rep.Error, logText(rep.LogTail))
			if rep.Status == Blocked {
				state[st.Key] = blockedStatus
				sum.Blocked++
				return
			}
			state[st.Key] = results.Interrupted
			sum.Interrupted++
		default:
			failed(st, errors.New(rep.Error), rep.LogTail)
		}
	}
	for {
		if ctx.Err() == nil {
			keep := pending[:0]
			for _, st := range pending {
				if state[st.Key] != results.Pending {
					continue
				}
				if ctx.Err() != nil {
					keep = append(keep, st)
					continue
				}
				if slots > 0 && len(inflight) >= slots {
					keep = append(keep, st)
					continue
				}
				ok, blocked := ready(st)
				switch {
				case blocked:
					state[st.Key] = blockedStatus
					sum.Blocked++
				case ok:
					dispatch(st)
				default:
					keep = append(keep, st)
				}
			}
			pending = keep
		}
		if len(inflight) == 0 {
			return
		}
		t, rep := disp.Next(ctx)
		delete(inflight, t.Stage.Key)
		finish(t, rep)
	}
}

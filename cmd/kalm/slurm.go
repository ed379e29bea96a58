package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/experiments/runner/slurm"
)

// dispatcher is where kalm run sends stages: nil (this process) or Slurm,
// by --executor or the file's executor.kind.
func (p *pluginFlags) dispatcher(e *experiments.Experiment, flag, work string, log io.Writer) (runner.Dispatcher, error) {
	kind := e.Spec.Executor.Kind
	if flag != "" {
		kind = flag
	}
	switch kind {
	case experiments.ExecLocal, "":
		return nil, nil
	case experiments.ExecSlurm:
	default:
		return nil, fmt.Errorf("--executor %q: want %s or %s", kind, experiments.ExecLocal, experiments.ExecSlurm)
	}
	abs, err := filepath.Abs(work)
	if err != nil {
		return nil, err
	}
	// The workers find plugins as this process does.
	var args []string
	for _, d := range p.dirs {
		if a, err := filepath.Abs(d); err == nil {
			d = a
		}
		args = append(args, "-plugin-dir", d)
	}
	for _, pin := range p.pins {
		args = append(args, "-pin", pin)
	}
	args = append(args, "-plugin-threads", strconv.Itoa(p.threads))
	return &slurm.Dispatcher{Client: slurm.Commands{}, WorkDir: abs, Kalm: e.Spec.Executor.Slurm.Kalm, Args: args,
		Spec: e.Spec.Executor.Slurm, Log: log}, nil
}

// cmdSync records what batch jobs finished while no kalm run waited.
func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("sync", "[flags]", stdout)
	var wf workFlags
	wf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return badUsage(fs, "takes no arguments, got %q", fs.Args())
	}
	store, err := wf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := runner.Sync(ctx, store, wf.work)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d stages recorded done, %d failed; %d still queued or running\n", sum.Done, sum.Failed, sum.Waiting)
	return nil
}

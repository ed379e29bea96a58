package slurm

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Client is what the dispatcher needs of a Slurm cluster. Commands is the
// real one; tests of the scheduling logic use a fake.
type Client interface {
	// Submit queues a job and returns its id.
	Submit(ctx context.Context, j Job) (string, error)
	// Queue lists the user's queued and running jobs whose name starts
	// with prefix.
	Queue(ctx context.Context, prefix string) ([]Queued, error)
	// Cancel cancels jobs.
	Cancel(ctx context.Context, ids []string) error
	// SetAfter makes a queued job wait for the jobs after instead of the
	// ones it was submitted with.
	SetAfter(ctx context.Context, id string, after []string) error
	// State is what the controller remembers of a job that left the
	// queue (COMPLETED, FAILED, CANCELLED, PREEMPTED...), or "".
	State(ctx context.Context, id string) string
}

// Job is one sbatch submission.
type Job struct {
	Name string
	// Command is the program and its arguments.
	Command []string
	// Output is the job's log file (%j is its id).
	Output string
	// After are job ids that must complete successfully first.
	After []string
	// Flags are further sbatch flags (resources).
	Flags []string
}

// Queued is a job in squeue.
type Queued struct {
	ID, Name, State, Reason string
}

// Commands runs sbatch, squeue, scancel and scontrol.
type Commands struct {
	// Dir, when set, is the directory of the Slurm commands (else $PATH).
	Dir string
}

func (c Commands) cmd(ctx context.Context, name string, args ...string) ([]byte, error) {
	if c.Dir != "" {
		name = c.Dir + "/" + name
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Submit implements Client with sbatch --parsable.
func (c Commands) Submit(ctx context.Context, j Job) (string, error) {
	args := []string{"--parsable", "--job-name=" + j.Name, "--output=" + j.Output, "--open-mode=append"}
	if len(j.After) > 0 {
		args = append(args, "--dependency=afterok:"+strings.Join(j.After, ":"))
	}
	args = append(args, j.Flags...)
	args = append(args, "--wrap=exec "+shellJoin(j.Command))
	out, err := c.cmd(ctx, "sbatch", args...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if id == "" {
		return "", fmt.Errorf("sbatch printed no job id")
	}
	return id, nil
}

// Queue implements Client with squeue.
func (c Commands) Queue(ctx context.Context, prefix string) ([]Queued, error) {
	out, err := c.cmd(ctx, "squeue", "--noheader", "--me", "--format=%i|%j|%T|%r")
	if err != nil {
		return nil, err
	}
	var q []Queued
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 4)
		if len(f) == 4 && strings.HasPrefix(f[1], prefix) {
			q = append(q, Queued{ID: f[0], Name: f[1], State: f[2], Reason: f[3]})
		}
	}
	return q, nil
}

// Cancel implements Client with scancel.
func (c Commands) Cancel(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := c.cmd(ctx, "scancel", ids...)
	return err
}

// SetAfter implements Client with scontrol update.
func (c Commands) SetAfter(ctx context.Context, id string, after []string) error {
	dep := ""
	if len(after) > 0 {
		dep = "afterok:" + strings.Join(after, ":")
	}
	_, err := c.cmd(ctx, "scontrol", "update", "JobId="+id, "Dependency="+dep)
	return err
}

// State implements Client with scontrol show job (sacct needs an
// accounting database many clusters lack).
func (c Commands) State(ctx context.Context, id string) string {
	out, err := c.cmd(ctx, "scontrol", "show", "job", "--oneliner", id)
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "JobState="); ok {
			return v
		}
	}
	return ""
}

// shellJoin quotes words for sh.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

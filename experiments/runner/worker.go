package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kalm-go/kalm/experiments"
)

// Worker runs one stage from its stored description, in a work directory
// shared with the host: it writes the artifact into a temporary directory
// with its outcome.json and renames it to WorkDir/artifacts/KIND/KEY when
// complete. It never opens the results database; the host records what it
// did (Runner.Run as it goes, Sync later). Both dispatchers run stages
// through it: LocalDispatcher in this process, the Slurm dispatcher as
// `kalm stage exec` in a batch job.
type Worker struct {
	// WorkDir is the absolute work directory.
	WorkDir string
	// TmpDir holds the stage's temporary directory (default WorkDir/tmp).
	TmpDir string
	// Launcher starts the stage's plugins.
	Launcher Launcher
	// Executors overrides the executor of a stage kind (tests, benchmarks).
	Executors map[experiments.StageKind]Executor
	// Progress reports how far a stage has come (may be nil).
	Progress func(st *experiments.Stage, step, total int, metrics map[string]float64)
	// Display, when set, shows the stage's start, progress and end (the
	// log of `kalm stage exec`).
	Display Display
}

// versioner is a Launcher that tells which version of a plugin it starts.
type versioner interface {
	Version(ctx context.Context, name string) (string, error)
}

// Report is how a stage attempt ended, as a worker writes it to
// WorkDir/stages/KEY.result.json for a host that did not run it.
type Report struct {
	// Status is "done", "failed" or "interrupted".
	Status  string   `json:"status"`
	Error   string   `json:"error,omitempty"`
	LogTail []string `json:"log_tail,omitempty"`
	Seconds float64  `json:"seconds"`
	Host    string   `json:"host,omitempty"`
}

// Report statuses.
const (
	ReportDone        = "done"
	ReportFailed      = "failed"
	ReportInterrupted = "interrupted"
)

// Err is the report as an error: nil when done, wrapping ErrInterrupted
// when interrupted.
func (r *Report) Err() error {
	switch r.Status {
	case ReportDone:
		return nil
	case ReportInterrupted:
		return fmt.Errorf("%w: %s", ErrInterrupted, r.Error)
	}
	return errors.New(r.Error)
}

// DescriptionPath is where a stage's description is stored.
func DescriptionPath(work, key string) string {
	return filepath.Join(work, "stages", key+".json")
}

// ReportPath is where a worker writes how its last attempt at a stage ended.
func ReportPath(work, key string) string {
	return filepath.Join(work, "stages", key+".result.json")
}

// WriteDescription stores the plan's stage st for a worker, atomically.
func WriteDescription(work string, plan *experiments.Plan, st *experiments.Stage) error {
	d, err := plan.Describe(st)
	if err != nil {
		return err
	}
	// Not synced: a run writes it again before it dispatches the stage.
	return writeFileAtomic(DescriptionPath(work, st.Key), d, false)
}

// ReadDescription reads a stored stage description and rebuilds the stage.
func ReadDescription(work, key string) (*experiments.Stage, *experiments.StageDescription, error) {
	var d experiments.StageDescription
	if err := ReadJSON(DescriptionPath(work, key), &d); err != nil {
		return nil, nil, fmt.Errorf("stage %s: %w", key, err)
	}
	st, err := d.Stage()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", DescriptionPath(work, key), err)
	}
	return st, &d, nil
}

// writeFileAtomic writes v as JSON to path through a temporary file and a
// rename, creating path's directory; with sync, the file is on disk before
// the rename.
func writeFileAtomic(path string, v any, sync bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	write := writeJSON
	if !sync {
		write = func(path string, v any) error {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return os.WriteFile(path, b, 0o644)
		}
	}
	if err := write(tmp, v); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Exec runs the stage whose description is stored under key and returns how
// it ended; it also writes that to ReportPath. A stage whose artifact is
// already published is not run again. The error is only for what kept it
// from reporting (no description, an unwritable work directory).
func (w *Worker) Exec(ctx context.Context, key string) (*Report, error) {
	st, d, err := ReadDescription(w.WorkDir, key)
	if err != nil {
		return nil, err
	}
	if w.Display != nil {
		w.Display.Start(st)
		progress := w.Progress
		w.Progress = func(st *experiments.Stage, step, total int, m map[string]float64) {
			w.Display.Progress(st, step, total, m)
			if progress != nil {
				progress(st, step, total, m)
			}
		}
	}
	rep := w.exec(ctx, st, d)
	if w.Display != nil {
		w.Display.Finish(st, rep.Err(), time.Duration(rep.Seconds*float64(time.Second)))
		w.Display.Close()
	}
	host, _ := os.Hostname()
	rep.Host = host
	// Not synced: the published artifact is what counts; a report lost to
	// a crash only makes a Slurm job look unfinished, and it runs again.
	if err := writeFileAtomic(ReportPath(w.WorkDir, key), rep, false); err != nil {
		return rep, fmt.Errorf("stage %s: write its report: %w", key, err)
	}
	return rep, nil
}

func (w *Worker) exec(ctx context.Context, st *experiments.Stage, d *experiments.StageDescription) *Report {
	start := time.Now()
	failed := func(err error, tail []string) *Report {
		return &Report{Status: ReportFailed, Error: err.Error(), LogTail: tail, Seconds: time.Since(start).Seconds()}
	}
	final := artifactDir(w.WorkDir, st)
	if exists(filepath.Join(final, outcomeFile)) {
		return &Report{Status: ReportDone}
	}
	exec := w.Executors[st.Kind]
	if exec == nil {
		exec = builtin[st.Kind]
	}
	if exec == nil {
		return failed(fmt.Errorf("no executor for %s stages", st.Kind), nil)
	}
	// A stage's key names its plugins' versions: a node whose plugins
	// differ from the host's must not record their results under it.
	if v, ok := w.Launcher.(versioner); ok {
		for _, p := range st.Plugins {
			got, err := v.Version(ctx, p.Name)
			if err != nil {
				return failed(err, nil)
			}
			if got != p.Version {
				host, _ := os.Hostname()
				return failed(fmt.Errorf("plugin %s is version %s on %s, but the stage was planned with version %s: install the same plugins wherever stages run", p.Name, got, host, p.Version), nil)
			}
		}
	}
	tmpRoot := w.TmpDir
	if tmpRoot == "" {
		tmpRoot = filepath.Join(w.WorkDir, "tmp")
	}
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return failed(fmt.Errorf("work directory: %w", err), nil)
	}
	tmp, err := os.MkdirTemp(tmpRoot, string(st.Kind)+"-"+short(st.Key)+"-")
	if err != nil {
		return failed(fmt.Errorf("work directory: %w", err), nil)
	}
	defer os.RemoveAll(tmp)
	inputs := map[string]string{}
	for _, in := range d.Inputs {
		inputs[in.Key] = filepath.Join(w.WorkDir, "artifacts", string(in.Kind), in.Key)
	}
	var (
		mu      sync.Mutex
		handles []*Handle
	)
	job := &Job{
		Stage:  st,
		Dir:    tmp,
		State:  partialDir(w.WorkDir, st),
		Inputs: inputs,
		Launch: func(ctx context.Context, p experiments.PluginRef) (*Handle, error) {
			if w.Launcher == nil {
				return nil, fmt.Errorf("no plugin launcher to start %s plugin %s", p.Kind, p.Name)
			}
			var (
				h   *Handle
				err error
			)
			if tl, ok := w.Launcher.(ThreadLauncher); ok && p.Threads > 0 {
				h, err = tl.LaunchThreads(ctx, p.Kind, p.Name, p.Threads)
			} else {
				h, err = w.Launcher.Launch(ctx, p.Kind, p.Name)
			}
			if err != nil {
				return nil, err
			}
			mu.Lock()
			handles = append(handles, h)
			mu.Unlock()
			return h, nil
		},
		Progress: func(step, total int, metrics map[string]float64) {
			if w.Progress != nil {
				w.Progress(st, step, total, metrics)
			}
		},
	}
	logTail := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var lines []string
		for _, h := range handles {
			if h.Logs != nil {
				for _, l := range h.Logs() {
					lines = append(lines, h.Name+": "+l)
				}
			}
		}
		if len(lines) > 20 {
			lines = lines[len(lines)-20:]
		}
		return lines
	}
	closeAll := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range handles {
			if h.Close != nil {
				h.Close()
			}
		}
		handles = nil
	}
	out, err := runExecutor(ctx, exec, job)
	tail := logTail()
	closeAll()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if ctx.Err() != nil {
			return &Report{Status: ReportInterrupted, Error: "interrupted: " + err.Error(), LogTail: tail, Seconds: time.Since(start).Seconds()}
		}
		return failed(err, tail)
	}
	if out == nil {
		out = &Output{}
	}
	outcome := outcomeJSON{Metrics: out.Metrics, Evaluations: out.Evaluations}
	if err := writeJSON(filepath.Join(tmp, outcomeFile), outcome); err != nil {
		return failed(fmt.Errorf("write %s: %w", outcomeFile, err), tail)
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return failed(err, tail)
	}
	os.RemoveAll(final) // a stale artifact whose record was lost
	if err := os.Rename(tmp, final); err != nil {
		return failed(fmt.Errorf("publish artifact: %w", err), tail)
	}
	return &Report{Status: ReportDone, LogTail: tail, Seconds: time.Since(start).Seconds()}
}

// logText joins a report's log tail as the database records it.
func logText(tail []string) string { return strings.Join(tail, "\n") }

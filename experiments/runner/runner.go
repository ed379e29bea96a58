package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// Job is one stage to execute: where to write, where its inputs are, and
// how to start plugins and report progress.
type Job struct {
	Stage *experiments.Stage
	// Dir is an empty temporary directory for the artifact. It becomes the
	// stage's artifact directory, by rename, only if the executor succeeds.
	Dir string
	// State is a directory that outlives failed and interrupted attempts
	// at the stage (WorkDir/partial/KIND/KEY, created by the executor if it
	// wants it) and is removed once the stage succeeds: where an executor
	// keeps what lets a later attempt continue instead of starting over.
	State string
	// Inputs maps each input stage key to its artifact directory.
	Inputs map[string]string
	// Launch starts a plugin for this stage; the runner closes it when the
	// stage ends and keeps its last log lines for the error report.
	Launch func(ctx context.Context, kind experiments.PluginRef) (*Handle, error)
	// Progress reports how far the stage has come, with metrics.
	Progress func(step, total int, metrics map[string]float64)
}

// Output is what an executor hands back besides the files in Job.Dir.
type Output struct {
	Metrics     []results.Metric
	Evaluations []results.Evaluation
}

// Executor runs one kind of stage.
type Executor func(ctx context.Context, job *Job) (*Output, error)

// Runner executes plans: a memoised DAG of stages over a work directory
// and a results store.
type Runner struct {
	// Store records everything; required.
	Store *results.Store
	// WorkDir holds artifacts (WorkDir/artifacts/KIND/KEY), temporary
	// directories (WorkDir/tmp) and what unfinished stages keep to continue
	// from (WorkDir/partial/KIND/KEY). Default ./.kalm.
	WorkDir string
	// Launcher starts plugins for the built-in executors.
	Launcher Launcher
	// Workers is the number of stages run at once (-j); default 1.
	Workers int
	// RetryFailed re-runs stages that failed in an earlier run; otherwise
	// their cells stay failed.
	RetryFailed bool
	// Display shows progress; nil shows nothing.
	Display Display
	// Executors overrides the executor of a stage kind (tests, benchmarks).
	Executors map[experiments.StageKind]Executor
	// Dispatcher runs the stages; nil runs them in this process, Workers
	// at a time, with Launcher and Executors.
	Dispatcher Dispatcher
	// KalmVersion and Host are recorded with the experiment.
	KalmVersion, Host string
}

// Summary counts what a run did.
type Summary struct {
	Stages      int // stages in the plan
	Ran         int // executed and done
	Reused      int // already done before this run
	Adopted     int // artifact complete on disk from a killed run, recorded now
	Failed      int // executed and failed (or failed earlier, without --retry-failed)
	Blocked     int // not run because an input failed
	Interrupted int // stopped by cancellation
	CellsDone   int
	CellsFailed int
	// Errors lists the failed stages' errors.
	Errors []string
}

// ErrInterrupted is returned by Run when its context was cancelled.
var ErrInterrupted = errors.New("interrupted")

// ErrCellsFailed is returned by Run when at least one cell failed; the
// others ran to completion.
var ErrCellsFailed = errors.New("some cells failed")

const outcomeFile = "outcome.json"

// outcomeJSON is the outcome.json every artifact carries: what the
// database records for the stage, so that an artifact published just before
// a crash can be recorded without running the stage again.
type outcomeJSON struct {
	Metrics     []results.Metric     `json:"metrics"`
	Evaluations []results.Evaluation `json:"evaluations"`
}

// blockedStatus marks, during a run, a stage whose input failed.
const blockedStatus results.Status = "blocked"

// Run executes every stage of plan that is not done yet and records the
// results. Stages whose inputs are done run in parallel on Workers workers.
// A failing stage fails only the cells that need it; the rest go on. When
// ctx is cancelled, running stages stop and are recorded as interrupted;
// their partial files are removed.
func (r *Runner) Run(ctx context.Context, plan *experiments.Plan) (*Summary, error) {
	if r.Store == nil {
		return nil, errors.New("runner: no results store")
	}
	work := r.WorkDir
	if work == "" {
		work = ".kalm"
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return nil, err
	}
	unlock, err := prepareWorkDir(work)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The database records artifacts of one work directory: with another,
	// every stage would run again.
	if err := r.Store.BindWorkDir(ctx, work); err != nil {
		return nil, err
	}
	if r.Display != nil {
		defer r.Display.Close()
	}
	workers := r.Workers
	if workers < 1 {
		workers = 1
	}
	bg := context.WithoutCancel(ctx)
	if _, err := r.Store.MarkInterrupted(bg, ownerAlive); err != nil {
		return nil, err
	}
	if err := r.record(bg, plan); err != nil {
		return nil, err
	}
	keys := make([]string, len(plan.Stages))
	for i, st := range plan.Stages {
		keys[i] = st.Key
	}
	known, err := r.Store.Stages(bg, keys)
	if err != nil {
		return nil, err
	}

	sum := &Summary{Stages: len(plan.Stages)}
	state := map[string]results.Status{}
	for _, st := range plan.Stages {
		rec := known[st.Key]
		dir := artifactDir(work, st)
		switch {
		case rec.Status == results.Done && exists(dir):
			state[st.Key] = results.Done
			sum.Reused++
		case exists(filepath.Join(dir, outcomeFile)):
			// The artifact was published but the process died before
			// recording it: record it now instead of running again.
			if err := r.adopt(bg, work, st, dir, 0); err != nil {
				return nil, err
			}
			state[st.Key] = results.Done
			sum.Adopted++
		case rec.Status == results.Failed && !r.RetryFailed:
			state[st.Key] = results.Failed
			sum.Failed++
			sum.Errors = append(sum.Errors, fmt.Sprintf("%s %s (earlier run; --retry-failed runs it again): %s", st.Kind, short(st.Key), rec.Error))
		default:
			state[st.Key] = results.Pending
		}
	}

	disp := r.Dispatcher
	if disp == nil {
		disp = &LocalDispatcher{Workers: workers, Worker: &Worker{WorkDir: work, Launcher: r.Launcher, Executors: r.Executors,
			Progress: func(st *experiments.Stage, step, total int, m map[string]float64) {
				if r.Display != nil {
					r.Display.Progress(plan.Stage(st.Key), step, total, m)
				}
			}}}
	}
	r.schedule(ctx, work, plan, disp, state, sum)

	for _, c := range plan.Cells {
		ok := true
		for _, k := range cellKeys(c) {
			if state[k] != results.Done {
				ok = false
			}
		}
		if ok {
			sum.CellsDone++
		} else if cellFailed(c, state) {
			sum.CellsFailed++
		}
	}
	switch {
	case ctx.Err() != nil:
		return sum, fmt.Errorf("run %s: %w: %d stages stopped and recorded as interrupted; run again to resume", plan.Experiment.Spec.Name, ErrInterrupted, sum.Interrupted)
	case sum.CellsFailed > 0:
		return sum, fmt.Errorf("run %s: %w: %d of %d cells failed:\n  %s", plan.Experiment.Spec.Name, ErrCellsFailed, sum.CellsFailed, len(plan.Cells), strings.Join(sum.Errors, "\n  "))
	}
	return sum, nil
}

// owner names this process for the stages it runs: "host:pid".
func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// ownerAlive reports whether the process that started a stage still runs:
// a process of this host that exists and is not this one (this run has not
// started any stage yet when it looks), or any process of another host
// (which this host cannot check, so its stages are left alone).
func ownerAlive(o string) bool {
	host, pid, ok := strings.Cut(o, ":")
	if !ok {
		return false
	}
	me, _ := os.Hostname()
	if host != me {
		return true
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 || n == os.Getpid() {
		return false
	}
	return syscall.Kill(n, 0) == nil
}

func cellKeys(c experiments.PlannedCell) []string {
	var keys []string
	for _, k := range experiments.StageKinds {
		if key, ok := c.Stages[k]; ok {
			keys = append(keys, key)
		}
	}
	return append(append(keys, c.Imagine...), c.Encode...)
}

func cellFailed(c experiments.PlannedCell, state map[string]results.Status) bool {
	for _, k := range cellKeys(c) {
		if s := state[k]; s == results.Failed || s == blockedStatus {
			return true
		}
	}
	return false
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// artifactDir is where a stage's artifact lives once complete.
func artifactDir(work string, st *experiments.Stage) string {
	return filepath.Join(work, "artifacts", string(st.Kind), st.Key)
}

// partialDir is a stage's Job.State.
func partialDir(work string, st *experiments.Stage) string {
	return filepath.Join(work, "partial", string(st.Kind), st.Key)
}

// prepareWorkDir creates the work directory, checks it is writable, takes
// its lock and clears temporary directories left by killed runs.
func prepareWorkDir(work string) (func(), error) {
	for _, d := range []string{work, filepath.Join(work, "tmp"), filepath.Join(work, "artifacts")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("work directory %s is not usable (read-only, full, or not a directory?): %w", work, err)
		}
	}
	probe := filepath.Join(work, "tmp", fmt.Sprintf(".probe-%d", os.Getpid()))
	if err := os.WriteFile(probe, []byte("kalm"), 0o644); err != nil {
		return nil, fmt.Errorf("work directory %s is not writable (read-only or full?): %w", work, err)
	}
	os.Remove(probe)
	lock, err := os.OpenFile(filepath.Join(work, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("work directory %s: %w", work, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("work directory %s is in use by another kalm run (%w); wait for it or use another --workdir", work, err)
	}
	entries, _ := os.ReadDir(filepath.Join(work, "tmp"))
	for _, e := range entries {
		os.RemoveAll(filepath.Join(work, "tmp", e.Name()))
	}
	return func() {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	}, nil
}

// record writes the experiment, its cells and its stages (pending unless known).
func (r *Runner) record(ctx context.Context, plan *experiments.Plan) error {
	e := plan.Experiment
	host := r.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	rec := results.Experiment{
		ID: e.Hash, Name: e.Spec.Name, Source: e.Source, Given: string(e.Given), Config: string(e.Resolved),
		KalmVersion: r.KalmVersion, Host: host, Environment: Facts(), Overrides: e.Overrides,
	}
	var cells []results.Cell
	for _, c := range plan.Cells {
		params := map[string]any{}
		for _, p := range c.Params {
			params[p.Key] = p.Value
		}
		pj, _ := json.Marshal(params)
		stages := map[string]string{}
		for k, key := range c.Stages {
			stages[string(k)] = key
		}
		for _, key := range c.Imagine {
			cfg := plan.Stage(key).Config.(experiments.ImagineConfig)
			stages["imagine/"+cfg.Level] = key
		}
		for _, key := range c.Encode {
			in := plan.Stage(plan.Stage(key).Config.(experiments.EncodeConfig).Dataset)
			label := "encode/" + string(in.Kind)
			if ic, ok := in.Config.(experiments.ImagineConfig); ok {
				label += "/" + ic.Level
			}
			stages[label] = key
		}
		cells = append(cells, results.Cell{ID: c.ID, Group: c.Group, Params: string(pj), Seed: c.Seed, Stages: stages})
	}
	var stages []results.Stage
	for _, st := range plan.Stages {
		cfg, _ := json.Marshal(st.Config)
		var pl, ver []string
		for _, p := range st.Plugins {
			pl = append(pl, p.Name)
			ver = append(ver, p.Version)
		}
		stages = append(stages, results.Stage{Key: st.Key, Kind: string(st.Kind), Plugin: strings.Join(pl, "+"),
			PluginVersion: strings.Join(ver, "+"), Config: string(cfg), Inputs: st.Inputs, Seed: st.Seed})
	}
	var plugins []results.Plugin
	for _, p := range plan.Plugins {
		plugins = append(plugins, results.Plugin{Kind: string(p.Kind), Name: p.Name, Version: p.Version, Checksum: p.Checksum, Path: p.Path})
	}
	return r.Store.PutExperiment(ctx, rec, cells, stages, plugins)
}

// Facts are environment facts recorded with each experiment to help
// reproduce it.
func Facts() map[string]string {
	f := map[string]string{
		"go":         runtime.Version(),
		"os":         runtime.GOOS,
		"arch":       runtime.GOARCH,
		"cpus":       fmt.Sprint(runtime.NumCPU()),
		"gomaxprocs": fmt.Sprint(runtime.GOMAXPROCS(0)),
	}
	for _, k := range []string{"OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "KALM_PLUGIN_PATH"} {
		if v := os.Getenv(k); v != "" {
			f["env."+k] = v
		}
	}
	return f
}

// runExecutor turns an executor's panic into an error for its stage.
func runExecutor(ctx context.Context, exec Executor, job *Job) (out *Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s executor: %v", job.Stage.Kind, p)
		}
	}()
	return exec(ctx, job)
}

func (r *Runner) fail(ctx context.Context, st *experiments.Stage, err error, tail []string) error {
	if r.Display != nil {
		r.Display.Finish(st, err, 0)
	}
	if ferr := r.Store.FailStage(ctx, st.Key, results.Failed, err.Error(), strings.Join(tail, "\n")); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

// adopt records a published artifact: its size, outcome, metrics and
// evaluations, and marks its stage done, in one transaction.
func (r *Runner) adopt(ctx context.Context, work string, st *experiments.Stage, dir string, seconds float64) error {
	var oj outcomeJSON
	b, err := os.ReadFile(filepath.Join(dir, outcomeFile))
	if err != nil {
		return fmt.Errorf("artifact %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &oj); err != nil {
		return fmt.Errorf("artifact %s: %s: %w", dir, outcomeFile, err)
	}
	o := results.Outcome{Metrics: oj.Metrics, Evaluations: oj.Evaluations, Seconds: seconds}
	rel, _ := filepath.Rel(work, dir)
	o.Artifact = results.Artifact{Path: rel}
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				o.Artifact.Bytes += fi.Size()
				o.Artifact.Files++
			}
		}
		return nil
	})
	sort.Slice(o.Metrics, func(i, j int) bool {
		if o.Metrics[i].Name != o.Metrics[j].Name {
			return o.Metrics[i].Name < o.Metrics[j].Name
		}
		return o.Metrics[i].Step < o.Metrics[j].Step
	})
	if err := r.Store.FinishStage(ctx, st.Key, o); err != nil {
		return err
	}
	// What earlier attempts kept to continue from is no longer needed.
	os.RemoveAll(partialDir(work, st))
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadJSON reads a JSON file of an artifact.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

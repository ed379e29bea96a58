package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/results"
	"github.com/kalm-go/kalm/results/plot"
	"github.com/kalm-go/kalm/results/report"
)

// workFlags locate the work directory and the results database.
type workFlags struct {
	work, db string
}

func (w *workFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("KALM_WORKDIR")
	if def == "" {
		def = ".kalm"
	}
	fs.StringVar(&w.work, "workdir", def, "work directory for artifacts (env KALM_WORKDIR)")
	fs.StringVar(&w.db, "db", "", "results database (default WORKDIR/results.db)")
}

func (w *workFlags) open(ctx context.Context) (*results.Store, error) {
	path := w.db
	if path == "" {
		path = filepath.Join(w.work, "results.db")
	}
	return results.Open(ctx, path)
}

// openReadOnly opens an existing results database, or says how to make one.
func (w *workFlags) openExisting(ctx context.Context) (*results.Store, error) {
	path := w.db
	if path == "" {
		path = filepath.Join(w.work, "results.db")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no results database at %s: run an experiment first (kalm run quick), or pass -db / -workdir", path)
	}
	return results.Open(ctx, path)
}

// loadFlags are the layers above an experiment file.
type loadFlags struct{ set stringList }

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.Var(&l.set, "set", "override a field: --set train.steps=100, --set seeds=3 (repeatable; applied after the file and KALM_* variables)")
}

func (l *loadFlags) load(name string) (*experiments.Experiment, error) {
	return experiments.Open(name, experiments.Options{Environ: os.Environ(), Set: l.set})
}

// loadRun loads name as load does, or, when it is neither a file nor a
// shipped experiment, as the recorded run of that id or name in the
// results database of wf: its file as given, with its overrides, and the
// --set flags of this command on top.
func (l *loadFlags) loadRun(ctx context.Context, name string, wf *workFlags) (*experiments.Experiment, error) {
	e, err := l.load(name)
	if err == nil || wf == nil {
		return e, err
	}
	if _, serr := os.Stat(name); serr == nil {
		return nil, err
	}
	for _, s := range experiments.Shipped() {
		if s.Name == name {
			return nil, err
		}
	}
	store, serr := wf.openExisting(ctx)
	if serr != nil {
		return nil, err
	}
	defer store.Close()
	rec, ferr := store.FindExperiment(ctx, name)
	if ferr != nil {
		return nil, fmt.Errorf("%w; nor is it a recorded run (%v)", err, ferr)
	}
	opts := experiments.OverrideOptions(rec.Overrides)
	opts.Set = append(opts.Set, l.set...)
	return experiments.Parse(rec.Source, []byte(rec.Given), opts)
}

// plan starts a registry and plans e against its plugins. done stops every
// plugin the registry started.
func (p *pluginFlags) plan(ctx context.Context, e *experiments.Experiment, stderr io.Writer) (*experiments.Plan, *runner.Registry, func(), error) {
	reg, err := p.registry(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	cat := runner.NewRegistry(reg)
	plan, err := e.Plan(ctx, cat)
	if err != nil {
		reg.Close()
		return nil, nil, nil, err
	}
	return plan, cat, reg.Close, nil
}

// parse parses the flags and the one experiment argument, and loads it;
// with wf, the argument may name a recorded run too (see loadRun).
func (l *loadFlags) parse(ctx context.Context, fs *flag.FlagSet, args []string, wf *workFlags) (*experiments.Experiment, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, badUsage(fs, "want one experiment file or shipped name (kalm run --list lists them), got %d", len(pos))
	}
	return l.loadRun(ctx, pos[0], wf)
}

// parseInterleaved parses flags that may come after the positional argument
// (kalm run quick -j 2).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("validate", "[flags] FILE|NAME", stdout)
	var lf loadFlags
	var pf pluginFlags
	lf.register(fs)
	pf.register(fs)
	offline := fs.Bool("offline", false, "check only what needs no plugin (keys, types, ranges, the grid): for a file meant for another machine")
	e, err := lf.parse(ctx, fs, args, nil)
	if err != nil {
		return err
	}
	if *offline {
		cells, err := e.Cells()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: valid without its plugins, experiment %q, %d cells (kalm validate without -offline checks them too)\n", e.Source, e.Spec.Name, len(cells))
		return nil
	}
	// Planning checks the plugins too: installed, goal levels, behaviour
	// policies, action spaces, hyper-parameters against each schema.
	plan, _, done, err := pf.plan(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(stdout, "%s: valid, experiment %q, %d cells, %d stages\n", e.Source, e.Spec.Name, len(plan.Cells), len(plan.Stages))
	return nil
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("plan", "[flags] FILE|NAME|RUN", stdout)
	var lf loadFlags
	var pf pluginFlags
	var wf workFlags
	lf.register(fs)
	pf.register(fs)
	wf.register(fs)
	e, err := lf.parse(ctx, fs, args, &wf)
	if err != nil {
		return err
	}
	plan, _, done, err := pf.plan(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer done()
	var store *results.Store
	if s, err := wf.openExisting(ctx); err == nil {
		store = s
		defer s.Close()
	}
	return runner.PrintPlan(ctx, stdout, plan, store, wf.work)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("run", "[flags] FILE|NAME|RUN", stdout)
	var lf loadFlags
	var pf pluginFlags
	var wf workFlags
	lf.register(fs)
	pf.register(fs)
	wf.register(fs)
	list := fs.Bool("list", false, "list the shipped experiments and exit")
	workers := fs.Int("j", 1, "stages run at once")
	retry := fs.Bool("retry-failed", false, "run again the stages that failed in an earlier run")
	executor := fs.String("executor", "", "where the stages run: local or slurm (default: the file's executor.kind, else local)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *list {
		for _, s := range experiments.Shipped() {
			fmt.Fprintf(stdout, "%-18s %s\n", s.Name, s.Description)
		}
		return nil
	}
	if len(pos) != 1 {
		return badUsage(fs, "want one experiment file or shipped name (kalm run --list lists them), got %d", len(pos))
	}
	if *workers < 1 {
		return badUsage(fs, "-j %d: want at least 1", *workers)
	}
	e, err := lf.loadRun(ctx, pos[0], &wf)
	if err != nil {
		return err
	}
	plan, cat, done, err := pf.plan(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer done()
	if err := os.MkdirAll(wf.work, 0o755); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	store, err := wf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	host, _ := os.Hostname()
	disp, err := pf.dispatcher(e, *executor, wf.work, stderr)
	if err != nil {
		return badUsage(fs, "%v", err)
	}
	r := &runner.Runner{Store: store, WorkDir: wf.work, Launcher: cat, Workers: *workers, RetryFailed: *retry,
		Display: runner.NewDisplay(stdout), KalmVersion: version(), Host: host, Dispatcher: disp}
	sum, runErr := r.Run(ctx, plan)
	if sum != nil {
		fmt.Fprintf(stdout, "\n%s: %d stages: %d ran, %d reused, %d failed, %d blocked, %d interrupted; cells: %d done, %d failed\n",
			e.Spec.Name, sum.Stages, sum.Ran, sum.Reused+sum.Adopted, sum.Failed, sum.Blocked, sum.Interrupted, sum.CellsDone, sum.CellsFailed)
		for _, msg := range sum.Errors {
			fmt.Fprintf(stderr, "  %s\n", strings.ReplaceAll(msg, "\n", "\n  "))
		}
	}
	if errors.Is(runErr, runner.ErrInterrupted) {
		return fmt.Errorf("%w: run the same command again to resume", context.Canceled)
	}
	if sum != nil && sum.CellsDone > 0 {
		fmt.Fprintln(stdout)
		if err := report.Write(ctx, stdout, store, report.Options{Experiment: e.Hash}); err != nil {
			return err
		}
	}
	return runErr
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("report", "[flags] [EXPERIMENT]", stdout)
	var wf workFlags
	wf.register(fs)
	format := fs.String("format", "table", "table, markdown, csv or json")
	var by, where stringList
	fs.Var(&by, "by", "group cells by this axis (repeatable; default every axis)")
	fs.Var(&where, "where", "keep cells matching axis=value or axis!=value (repeatable)")
	metric := fs.String("metric", "success", "success or return")
	what := fs.String("what", "success", "success (per goal level) or grounding (what the grounded LM knows of the env)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return badUsage(fs, "want at most one experiment name or run id, got %d", len(pos))
	}
	if *what != "success" && *what != "grounding" {
		return badUsage(fs, "-what %q: want success or grounding", *what)
	}
	store, err := wf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := report.Options{Format: *format, By: splitAll(by), Where: where, Metric: report.Metric(*metric)}
	if len(pos) == 1 {
		opts.Experiment = pos[0]
	}
	if *what == "grounding" {
		return report.WriteGrounding(ctx, stdout, store, opts)
	}
	return report.Write(ctx, stdout, store, opts)
}

func cmdPlot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("plot", "[flags] [EXPERIMENT]", stdout)
	var wf workFlags
	wf.register(fs)
	dir := fs.String("o", "plots", "output directory")
	formats := fs.String("formats", "png,svg", "file formats")
	kinds := fs.String("kinds", "", "figures to draw (default every kind the data allows)")
	curve := fs.String("curve", "loss", "training metric for learning curves")
	var by, where stringList
	fs.Var(&by, "by", "group cells by this axis (repeatable)")
	fs.Var(&where, "where", "keep cells matching axis=value or axis!=value (repeatable)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	store, err := wf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := plot.Options{Dir: *dir, Formats: splitAll([]string{*formats}), Curve: *curve, By: splitAll(by), Where: where}
	if *kinds != "" {
		opts.Kinds = splitAll([]string{*kinds})
	}
	if len(pos) == 1 {
		opts.Experiment = pos[0]
	}
	files, err := plot.Write(ctx, store, opts)
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return err
}

func cmdLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("ls", "[flags] [NAME|RUN]", stdout)
	var wf workFlags
	wf.register(fs)
	verbose := fs.Bool("v", false, "list every cell of the runs listed, with its status")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return badUsage(fs, "want at most one experiment name or run id, got %d", len(pos))
	}
	store, err := wf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := report.ListOptions{Verbose: *verbose}
	if len(pos) == 1 {
		opts.Experiment = pos[0]
	}
	return report.List(ctx, stdout, store, opts)
}

// splitAll splits comma-separated flag values.
func splitAll(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

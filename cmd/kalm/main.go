// Command kalm runs KALM experiments: it loads environment, language-model and
// offline RL plugins as subprocesses, runs declarative experiment grids,
// records everything in SQLite and reports tables and plots.
//
// Run `kalm help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kalm-go/kalm/internal/suggest"
	"github.com/kalm-go/kalm/registry"
)

// command is one kalm subcommand.
type command struct {
	name, args, help string
	run              func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// example is what `kalm help NAME` shows last: command lines, one a line.
	example string
	// helpArgs make run print the command's help (its flags); nil means
	// the command has no flags and help prints name, args, help and example.
	helpArgs []string
}

func commands() []command {
	h := []string{"-h"}
	return []command{
		{"run", "[flags] FILE|NAME|RUN", "run an experiment grid (a file, a shipped experiment, or a recorded run again)", cmdRun,
			"kalm run quick -j 2 --set seeds=5\nkalm run my.yaml --set name=big --set train.steps=20000", h},
		{"validate", "[flags] FILE|NAME", "check an experiment file without running anything", cmdValidate,
			"kalm validate my.yaml\nkalm validate -offline paper-clevr", h},
		{"plan", "[flags] FILE|NAME|RUN", "print an experiment's cells, the stages they share and what is done", cmdPlan,
			"kalm plan quick --set seeds=3\nkalm plan 8b7103   # a recorded run, by id (kalm ls lists them)", h},
		{"report", "[flags] [NAME|RUN]", "print success per goal level, aggregated over seeds", cmdReport,
			"kalm report -format markdown -by algo\nkalm report 8b7103 -where algo=bc", h},
		{"plot", "[flags] [NAME|RUN]", "write learning curves and bar charts as PNG and SVG", cmdPlot,
			"kalm plot -o plots\nkalm plot quick -kinds success", h},
		{"ls", "[flags] [NAME|RUN]", "list recorded runs with their overrides and progress (-v: their cells)", cmdLs,
			"kalm ls\nkalm ls quick\nkalm ls -v 8b7103", h},
		{"artifacts", "rm|gc [flags] ...", "discard a stage's artifact so that it runs again; remove what no run uses", cmdArtifacts,
			"kalm artifacts rm 3f2a9c01d4e7   # a stage key from kalm plan (a unique prefix will do)\nkalm artifacts gc -n            # what gc would remove", nil},
		{"plugins", "[flags] [NAME]", "list the plugins found; with NAME, one plugin and its hyper-parameters", cmdPlugins,
			"kalm plugins\nkalm plugins cql", h},
		{"sync", "[flags]", "record what batch jobs (kalm run --executor slurm) finished while no kalm run waited", cmdSync,
			"kalm sync --workdir /shared/kalm", []string{"-h"}},
		{"stage", "exec [flags] KEY", "run one stage from its description in the work directory (what a Slurm job runs; not for people)", cmdStage,
			"kalm stage exec --workdir /shared/kalm 3f2a9c01d4e7...", nil},
		{"plugin", "serve NAME", "serve a built-in plugin (the registry starts this; not for people)", cmdPlugin,
			"kalm plugin serve clevr", nil},
		{"serve-lm", "[flags] CHECKPOINT", "serve a grounded tinylm through the OpenAI HTTP API (chat completions, embeddings, models)", cmdServeLM,
			"kalm serve-lm afdd8a071b23   # a tinylm ground stage's key (kalm plan lm-compare shows them)\nkalm serve-lm -addr 127.0.0.1:0 -api-key-env MY_KEY model.ckpt", h},
		{"dataset", "SUBCOMMAND ...", "import, export and summarise datasets", cmdDataset,
			"kalm dataset import ../shared/data/kalm-clevr-toy.json toy\nkalm dataset inspect toy", nil},
		{"render", "[flags]", "draw an environment state as PNG, or an episode as GIF", cmdRender,
			"kalm render -level unseen-hard -o state.png -gif episode.gif", h},
		{"bench", "algos [flags]", "measure gradient steps/s of every algorithm at the PyTorch peer's shapes", cmdBench,
			"kalm bench algos -seconds 2 -only bc_discrete,iql", []string{"algos", "-h"}},
		{"version", "", "print kalm's version (also kalm --version)", cmdVersion, "kalm version", nil},
		{"help", "[COMMAND]", "print the commands, or one command's flags and an example", nil, "kalm help run", nil},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := 0
	func() {
		defer func() {
			// No plugin outlives the host, even if the host panics.
			if r := recover(); r != nil {
				registry.Cleanup()
				panic(r)
			}
		}()
		code = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}()
	stop()
	registry.Cleanup()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	case "help":
		return help(ctx, args[1:], stdout, stderr)
	}
	c, ok := lookup(args[0])
	if !ok || c.run == nil {
		fmt.Fprintf(stderr, "kalm: unknown command %q%s\nRun 'kalm help' for the commands.\n", args[0], didYouMean(args[0]))
		return 2
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "kalm %s: %v\nUsage: kalm %s %s\nRun 'kalm help %s' for its flags and an example.\n", ue.cmd, ue.err, c.name, c.args, c.name)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "kalm: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "kalm %s: %v\n", c.name, err)
	return 1
}

// help prints the command list, or one command's help, on stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	c, ok := lookup(args[0])
	if !ok || len(args) > 1 {
		fmt.Fprintf(stderr, "kalm help %s: unknown command%s\nRun 'kalm help' for the commands.\n", strings.Join(args, " "), didYouMean(args[0]))
		return 2
	}
	if c.helpArgs == nil {
		fmt.Fprintf(stdout, "Usage: kalm %s %s\n\n%s.\n", c.name, c.args, capitalize(c.help))
		printExample(stdout, c.example)
		return 0
	}
	return run(ctx, append([]string{c.name}, c.helpArgs...), stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kalm: knowledgeable agents from offline RL on language-model rollouts\n\nUsage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  kalm %-9s %-22s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nRun 'kalm help COMMAND' for a command's flags and an example.")
}

func didYouMean(name string) string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	s := suggest.Closest(name, names)
	for _, n := range names {
		// "plugin-list" is plugin's
		if s == "" && len(n) > 2 && strings.HasPrefix(name, n) {
			s = n
		}
	}
	if s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func printExample(w io.Writer, example string) {
	if example == "" {
		return
	}
	fmt.Fprintln(w, "\nExample:")
	for _, l := range strings.Split(example, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
}

// usageError is a command line that does not parse (an unknown flag, a bad
// value, missing arguments): run reports it once, says how to get help and
// exits 2.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// badUsage returns a usageError for the command of fs.
func badUsage(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{cmd: strings.TrimPrefix(fs.Name(), "kalm "), err: fmt.Errorf(format, args...)}
}

// parseFlags parses args with fs, turning a flag error into a usageError
// (-h stays flag.ErrHelp: its help is printed already).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{cmd: strings.TrimPrefix(fs.Name(), "kalm "), err: err}
}

// flags returns a flag set for a subcommand. -h prints the command's help
// (usage, what it does, its flags, an example) on help, which is standard
// output; a flag error is returned, not printed, so that it is reported once.
func flags(name, args string, help io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kalm "+name, flag.ContinueOnError)
	out := &flagOutput{}
	fs.SetOutput(out)
	fs.Usage = func() {
		if out.failed {
			return // the error is returned to run, which reports it
		}
		c, _ := lookup(strings.Fields(name)[0])
		fmt.Fprintf(help, "Usage: kalm %s %s\n\n%s.\n\nFlags:\n", name, args, capitalize(c.help))
		fs.SetOutput(help)
		fs.PrintDefaults()
		fs.SetOutput(out)
		printExample(help, c.example)
	}
	return fs
}

// flagOutput swallows what package flag prints about a bad flag and notes
// that it did: the same error comes back from Parse.
type flagOutput struct{ failed bool }

func (o *flagOutput) Write(p []byte) (int, error) {
	o.failed = true
	return len(p), nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

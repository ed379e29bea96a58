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
	"sort"
	"strings"
	"syscall"

	"github.com/kalm-go/kalm/registry"
)

// command is one kalm subcommand.
type command struct {
	name, args, help string
	run              func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "[flags] FILE|NAME", "run an experiment grid (a file, or a shipped experiment; --list lists those)", cmdRun},
		{"validate", "FILE|NAME", "check an experiment file without running anything", cmdValidate},
		{"plan", "[flags] FILE|NAME", "print an experiment's cells, the stages they share and what is done", cmdPlan},
		{"report", "[flags] [EXPERIMENT]", "print success per goal level, aggregated over seeds", cmdReport},
		{"plot", "[flags] [EXPERIMENT]", "write learning curves and bar charts as PNG and SVG", cmdPlot},
		{"ls", "[flags]", "list recorded experiments and their progress", cmdLs},
		{"plugins", "[flags] [NAME]", "list the plugins found; with NAME, one plugin and its hyper-parameters", cmdPlugins},
		{"plugin", "serve NAME", "serve a built-in plugin (the registry starts this; not for people)", cmdPlugin},
		{"dataset", "import|inspect ...", "import the KALM authors' data; summarise a dataset", cmdDataset},
		{"render", "[flags]", "draw an environment state as PNG, or an episode as GIF", cmdRender},
		{"bench", "algos [flags]", "measure gradient steps/s of every algorithm at the PyTorch peer's shapes", cmdBench},
		{"version", "", "print kalm's version", cmdVersion},
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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			if errors.Is(err, context.Canceled) {
				fmt.Fprintln(stderr, "kalm: interrupted")
				return 130
			}
			fmt.Fprintf(stderr, "kalm %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "kalm: unknown command %q%s\n\n", args[0], suggest(args[0]))
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kalm: knowledgeable agents from offline RL on language-model rollouts\n\nUsage:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  kalm %-9s %-22s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nRun `kalm COMMAND -h` for a command's flags.")
}

func suggest(name string) string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, c := range commands() {
		d := distance(name, c.name)
		if strings.HasPrefix(name, c.name) || strings.HasPrefix(c.name, name) {
			d = min(d, 1)
		}
		if d <= 3 {
			cs = append(cs, cand{c.name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	if len(cs) == 0 {
		return ""
	}
	names := []string{cs[0].name}
	if len(cs) > 1 && cs[1].d == cs[0].d {
		names = append(names, cs[1].name)
	}
	return " (did you mean " + strings.Join(names, " or ") + "?)"
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// flags returns a flag set for a subcommand that prints its usage to stderr.
func flags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kalm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kalm %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

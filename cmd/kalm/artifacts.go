package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kalm-go/kalm/experiments/runner"
)

// cmdArtifacts discards a stage's artifact (kalm artifacts rm KEY) or
// removes what no run can use (kalm artifacts gc).
func cmdArtifacts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rm" && args[0] != "gc") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			help(ctx, []string{"artifacts"}, stdout, stderr)
			return nil
		}
		return &usageError{cmd: "artifacts", err: fmt.Errorf("want rm KEY... or gc")}
	}
	sub := args[0]
	fs := flags("artifacts "+sub, map[string]string{"rm": "[flags] KEY...", "gc": "[flags]"}[sub], stdout)
	var wf workFlags
	wf.register(fs)
	dry := fs.Bool("n", false, "gc: list what would be removed, remove nothing")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	store, err := wf.openExisting(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var removed []runner.Removed
	switch {
	case sub == "rm" && len(pos) == 0:
		return badUsage(fs, "want the key of the stage whose artifact to discard (kalm plan shows the keys; a unique prefix will do)")
	case sub == "rm":
		for _, key := range pos {
			r, err := runner.RemoveArtifact(ctx, store, wf.work, key)
			if err != nil {
				return err
			}
			if len(r) == 0 {
				fmt.Fprintf(stdout, "stage %s: nothing on disk; marked pending\n", key)
			}
			removed = append(removed, r...)
		}
	case len(pos) > 0:
		return badUsage(fs, "gc takes no arguments, got %q", pos)
	default:
		removed, err = runner.CollectGarbage(ctx, store, wf.work, *dry)
		if err != nil {
			return err
		}
	}
	var total int64
	verb := "removed"
	if *dry {
		verb = "would remove"
	}
	for _, r := range removed {
		fmt.Fprintf(stdout, "%s %s (%s, %s)\n", verb, r.Path, r.Why, bytesText(r.Bytes))
		total += r.Bytes
	}
	if sub == "gc" {
		fmt.Fprintf(stdout, "%s %d directories, %s\n", verb, len(removed), bytesText(total))
	} else if len(removed) > 0 {
		fmt.Fprintln(stdout, "the next run that needs the stage runs it again")
	}
	return nil
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

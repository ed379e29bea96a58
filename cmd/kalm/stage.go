package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/experiments/runner"
)

// cmdStage is the worker entry point: `kalm stage exec KEY` runs one stage
// from its description in the work directory (what a Slurm job runs).
func cmdStage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "exec" {
		return &usageError{cmd: "stage", err: fmt.Errorf("want the subcommand exec, got %q", args)}
	}
	fs := flags("stage exec", "[flags] KEY", stdout)
	var pf pluginFlags
	pf.register(fs)
	def := os.Getenv("KALM_WORKDIR")
	if def == "" {
		def = ".kalm"
	}
	workDir := fs.String("workdir", def, "work directory shared with the host (env KALM_WORKDIR)")
	tmp := fs.String("tmpdir", "", "directory for the stage's temporary directory (default WORKDIR/tmp)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badUsage(fs, "want one stage key (its description is WORKDIR/stages/KEY.json), got %d", len(pos))
	}
	work, err := filepath.Abs(*workDir)
	if err != nil {
		return err
	}
	reg, err := pf.registry(stderr)
	if err != nil {
		return err
	}
	w := &runner.Worker{WorkDir: work, TmpDir: *tmp, Launcher: runner.NewRegistry(reg), Display: runner.NewDisplay(stdout)}
	rep, err := w.Exec(ctx, pos[0])
	if err != nil {
		return err
	}
	if rep.Status != runner.ReportDone {
		return rep.Err()
	}
	return nil
}

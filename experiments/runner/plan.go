package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/results"
)

// PrintPlan writes what `kalm plan` shows: the cells, the stages they need
// and share, and which stages are already done in store (nil: none known)
// with their artifacts under workDir.
func PrintPlan(ctx context.Context, w io.Writer, plan *experiments.Plan, store *results.Store, workDir string) error {
	known := map[string]results.Stage{}
	if store != nil {
		keys := make([]string, len(plan.Stages))
		for i, st := range plan.Stages {
			keys[i] = st.Key
		}
		var err error
		if known, err = store.Stages(ctx, keys); err != nil {
			return err
		}
	}
	if workDir == "" {
		workDir = ".kalm"
	}
	e := plan.Experiment
	fmt.Fprintf(w, "experiment %s (%s) from %s\n", e.Spec.Name, e.Hash, e.Source)
	counts := plan.KindCounts()
	var parts []string
	for _, k := range experiments.StageKinds {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	fmt.Fprintf(w, "%d cells, %d stages (%s)\n", len(plan.Cells), len(plan.Stages), strings.Join(parts, ", "))
	fmt.Fprintln(w, "\ncells:")
	for _, c := range plan.Cells {
		fmt.Fprintf(w, "  %s\n", c.ID)
	}
	fmt.Fprintln(w, "\nstages (in run order):")
	done := 0
	for _, st := range plan.Stages {
		status := string(results.Pending)
		if rec, ok := known[st.Key]; ok {
			status = string(rec.Status)
			if rec.Status == results.Done {
				if _, err := os.Stat(filepath.Join(workDir, "artifacts", string(st.Kind), st.Key)); err != nil {
					status = "done, artifact missing: will run again"
				} else {
					done++
				}
			}
			if rec.Status == results.Failed {
				status += ": " + firstLine(rec.Error)
			}
		}
		if st.Kind == experiments.Train && status != string(results.Done) {
			var j trainJournal
			if j.load(partialDir(workDir, st)); len(j.Checkpoints) > 0 {
				status += fmt.Sprintf("; continues from its checkpoint at step %d", j.Checkpoints[len(j.Checkpoints)-1].Step)
			}
		}
		if st.Kind == experiments.Ground && status != string(results.Done) {
			var j groundJournal
			if j.load(partialDir(workDir, st)); j.Checkpoint != "" {
				status += fmt.Sprintf("; continues from its checkpoint at step %d", j.Step)
			}
		}
		share := ""
		if len(st.Cells) > 1 {
			share = fmt.Sprintf(" shared by %d cells", len(st.Cells))
		}
		fmt.Fprintf(w, "  %-12s %-8s %-14s%s  [%s]\n", short(st.Key), st.Kind, pluginNames(st), share, status)
	}
	fmt.Fprintf(w, "\n%d of %d stages already done; %d to run\n", done, len(plan.Stages), len(plan.Stages)-done)
	return nil
}

func pluginNames(st *experiments.Stage) string {
	var names []string
	for _, p := range st.Plugins {
		names = append(names, p.Name+"@"+p.Version)
	}
	return strings.Join(names, "+")
}

package report

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/results"
)

// ListOptions select what List prints.
type ListOptions struct {
	// Experiment is a run's name or id (or a unique id prefix): only the
	// runs of that name, or only that run. Empty lists every run.
	Experiment string
	// Verbose lists every cell of the runs listed, with its status and,
	// for a failed or interrupted cell, the error.
	Verbose bool
}

// List prints the recorded runs, most recent first, each with its id, the
// KALM_* variables and --set flags it was given (what tells apart runs of
// one experiment file) and its progress (kalm ls).
func List(ctx context.Context, w io.Writer, s *results.Store, opts ListOptions) error {
	sums, err := s.ExperimentSummaries(ctx)
	if err != nil {
		return err
	}
	if len(sums) == 0 {
		fmt.Fprintf(w, "no experiments in %s yet (run one with kalm run quick)\n", s.Path())
		return nil
	}
	if ref := opts.Experiment; ref != "" {
		var named []results.Summary
		for _, x := range sums {
			if x.Name == ref {
				named = append(named, x)
			}
		}
		if len(named) == 0 {
			e, err := s.FindExperiment(ctx, ref)
			if err != nil {
				return err
			}
			for _, x := range sums {
				if x.ID == e.ID {
					named = append(named, x)
				}
			}
		}
		sums = named
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}}),
	)
	t.Header("experiment", "run", "overrides", "cells", "done", "failed", "running", "updated", "source")
	for _, x := range sums {
		upd := x.UpdatedAt
		if len(upd) > 19 {
			upd = strings.Replace(upd[:19], "T", " ", 1)
		}
		if err := t.Append(x.Name, x.ID, Overrides(x.Overrides), x.Cells, x.Done, x.Failed, x.Running, upd, x.Source); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if !opts.Verbose {
		return nil
	}
	for _, x := range sums {
		cells, err := s.CellStates(ctx, x.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s %s:\n", x.Name, x.ID)
		for _, c := range cells {
			fmt.Fprintf(w, "  %-11s %s", c.Status, c.ID)
			if c.Error != "" {
				fmt.Fprintf(w, ": %s", c.Error)
			}
			fmt.Fprintln(w)
		}
		jobs, err := s.StageJobs(ctx, x.ID)
		if err != nil {
			return err
		}
		if len(jobs) > 0 {
			fmt.Fprintf(w, "\n%s %s: batch jobs (the state kalm last saw):\n", x.Name, x.ID)
			for _, j := range jobs {
				fmt.Fprintf(w, "  %-8s %.12s  %-11s job %-8s %s\n", j.Kind, j.Key, j.Status, j.Job, j.JobState)
			}
		}
	}
	return nil
}

// Overrides is how a run's overrides read in a table: "-" for none.
func Overrides(o []string) string {
	if len(o) == 0 {
		return "-"
	}
	return strings.Join(o, " ")
}

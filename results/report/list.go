package report

import (
	"context"
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/results"
)

// List prints the recorded experiments, most recent first, with their
// progress (kalm ls). With verbose, the failed cells follow with their errors.
func List(ctx context.Context, w io.Writer, s *results.Store, verbose bool) error {
	sums, err := s.ExperimentSummaries(ctx)
	if err != nil {
		return err
	}
	if len(sums) == 0 {
		fmt.Fprintf(w, "no experiments in %s yet (run one with kalm run quick)\n", s.Path())
		return nil
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}}),
	)
	t.Header("experiment", "id", "cells", "done", "failed", "running", "updated", "source")
	for _, x := range sums {
		upd := x.UpdatedAt
		if len(upd) > 19 {
			upd = upd[:19]
		}
		if err := t.Append(x.Name, x.ID, x.Cells, x.Done, x.Failed, x.Running, upd, x.Source); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if !verbose {
		return nil
	}
	for _, x := range sums {
		cells, err := s.CellStates(ctx, x.ID)
		if err != nil {
			return err
		}
		for _, c := range cells {
			if c.Status == results.Failed {
				fmt.Fprintf(w, "%s: cell %s failed: %s\n", x.Name, c.ID, c.Error)
			}
		}
	}
	return nil
}

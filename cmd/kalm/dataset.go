package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/plugins/clevr"
)

func cmdDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: kalm dataset import [-format kalm-clevr-toy] FILE OUTDIR | kalm dataset inspect DIR")
	}
	switch args[0] {
	case "import":
		return cmdDatasetImport(args[1:], stdout, stderr)
	case "inspect":
		return cmdDatasetInspect(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown dataset command %q: want import or inspect", args[0])
}

func cmdDatasetImport(args []string, stdout, stderr io.Writer) error {
	fs := flags("dataset import", "[-format F] FILE OUTDIR", stderr)
	format := fs.String("format", "kalm-clevr-toy", "input format: kalm-clevr-toy (the KALM authors' clevr_robot.npy as JSON)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want FILE and OUTDIR, got %d arguments", fs.NArg())
	}
	if *format != "kalm-clevr-toy" {
		return fmt.Errorf("-format %q: want kalm-clevr-toy", *format)
	}
	m, err := clevr.ImportToy(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d episodes (%d steps) from %s into %s\n", m.Episodes, m.Steps, fs.Arg(0), fs.Arg(1))
	return nil
}

func cmdDatasetInspect(args []string, stdout, stderr io.Writer) error {
	fs := flags("dataset inspect", "DIR", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one dataset directory, got %d arguments", fs.NArg())
	}
	s, err := dataset.Summarize(fs.Arg(0))
	if err != nil {
		return err
	}
	m := s.Meta
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("field", "value")
	space := fmt.Sprintf("%s, dim %d", m.ActionSpace.Kind, m.ActionSpace.Dim)
	if m.ActionSpace.Kind == dataset.Discrete {
		space = fmt.Sprintf("discrete, %d actions", m.ActionSpace.N)
	}
	var levels []string
	for _, l := range s.LevelNames() {
		levels = append(levels, fmt.Sprintf("%s %d", l, s.Levels[l]))
	}
	var attrs []string
	for k, v := range m.Attrs {
		attrs = append(attrs, k+"="+v)
	}
	sort.Strings(attrs)
	rows := [][]any{
		{"path", fs.Arg(0)},
		{"env", m.Env},
		{"source", string(m.Source)},
		{"format version", m.Version},
		{"observation dim", m.ObsDim},
		{"goal vector dim", m.GoalDim},
		{"action space", space},
		{"episodes", s.Episodes},
		{"transitions", s.Steps},
		{"episode length", fmt.Sprintf("%.2f ± %.2f (min %g, max %g)", s.Length.Mean, s.Length.Std, s.Length.Min, s.Length.Max)},
		{"return", fmt.Sprintf("%.3f ± %.3f (min %.3g, max %.3g)", s.Return.Mean, s.Return.Std, s.Return.Min, s.Return.Max)},
		{"success rate", fmt.Sprintf("%.1f%%", 100*s.SuccessRate)},
		{"terminals / timeouts", fmt.Sprintf("%d / %d", s.Terminals, s.Timeouts)},
		{"goal levels", strings.Join(levels, ", ")},
		{"distinct goal texts", s.Goals},
		{"attributes", strings.Join(attrs, " ")},
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}

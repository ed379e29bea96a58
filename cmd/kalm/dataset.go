package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/dataset/hdf5"
	"github.com/kalm-go/kalm/framework/dataset/npz"
	"github.com/kalm-go/kalm/plugins/clevr"
)

const datasetUsage = "usage: kalm dataset import [flags] FILE OUTDIR | kalm dataset export DIR FILE.npz | kalm dataset inspect DIR"

func cmdDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", datasetUsage)
	}
	switch args[0] {
	case "import":
		return cmdDatasetImport(args[1:], stdout, stderr)
	case "export":
		return cmdDatasetExport(args[1:], stdout, stderr)
	case "inspect":
		return cmdDatasetInspect(args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown dataset command %q: want import, export or inspect (%s)", args[0], datasetUsage)
}

// importFormats are the formats dataset import reads, by name, with the file
// extensions that choose them.
var importFormats = []struct {
	name string
	exts []string
	help string
}{
	{"npz", []string{".npz"}, "NumPy arrays in d3rlpy/D4RL style (observations, actions, rewards, terminals, ...)"},
	{"hdf5", []string{".hdf5", ".h5"}, "a D4RL or Minari HDF5 file"},
	{"kalm-clevr-toy", []string{".json"}, "the KALM authors' clevr_robot.npy as JSON"},
}

func formatNames() string {
	var names []string
	for _, f := range importFormats {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

func cmdDatasetImport(args []string, stdout, stderr io.Writer) error {
	fs := flags("dataset import", "[flags] FILE OUTDIR", stdout)
	format := fs.String("format", "", "input format: "+formatNames()+" (default: from FILE's extension)")
	env := fs.String("env", "", "npz, hdf5: the environment the data comes from (meta.json's env; an experiment checks it)")
	level := fs.String("level", "train", "npz, hdf5: the goal level of every episode")
	actions := fs.Int("actions", 0, "npz, hdf5: the number of discrete actions (0: integer actions of one column are discrete with max+1 actions, float actions continuous)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("want FILE and OUTDIR, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	if *format == "" {
		ext := strings.ToLower(filepath.Ext(in))
		for _, f := range importFormats {
			for _, e := range f.exts {
				if e == ext {
					*format = f.name
				}
			}
		}
		if *format == "" {
			return fmt.Errorf("%s: extension %q names no format: give -format (%s)", in, ext, formatNames())
		}
	}
	opt := npz.Options{Env: *env, Level: *level, Actions: *actions}
	var rep npz.Report
	switch *format {
	case "kalm-clevr-toy":
		rep.Meta, err = clevr.ImportToy(in, out)
	case "npz":
		rep, err = npz.Import(in, out, opt)
	case "hdf5":
		rep, err = hdf5.Import(in, out, opt)
	default:
		return fmt.Errorf("-format %q: want one of %s", *format, formatNames())
	}
	if err != nil {
		return err
	}
	m := rep.Meta
	fmt.Fprintf(stdout, "imported %d episodes (%d steps) from %s into %s\n", m.Episodes, m.Steps, in, out)
	fmt.Fprintf(stdout, "observation dim %d, goal vector dim %d, action space %s\n", m.ObsDim, m.GoalDim, spaceString(m.ActionSpace))
	if c := rep.Cut; c.Repeated > 0 || c.Dropped > 0 {
		fmt.Fprintf(stdout, "no next_observations: terminal episodes repeating their last observation: %d; steps dropped for want of a next observation: %d (one-step episodes dropped whole: %d)\n",
			c.Repeated, c.Dropped, c.DroppedEpisodes)
	}
	if len(rep.Ignored) > 0 {
		fmt.Fprintf(stdout, "not read: %s\n", strings.Join(rep.Ignored, ", "))
	}
	if m.Env == "" && *format != "kalm-clevr-toy" {
		fmt.Fprintf(stdout, "no -env given: an experiment using it checks only dimensions and action space\n")
	}
	return nil
}

func cmdDatasetExport(args []string, stdout, stderr io.Writer) error {
	fs := flags("dataset export", "DIR FILE.npz", stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want a dataset directory and a .npz file, got %d arguments", fs.NArg())
	}
	if ext := strings.ToLower(filepath.Ext(fs.Arg(1))); ext != ".npz" {
		return fmt.Errorf("%s: export writes .npz files, not %q", fs.Arg(1), ext)
	}
	if err := npz.Export(fs.Arg(0), fs.Arg(1)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s (numpy: d = np.load(%q); d[\"observations\"], d[\"actions\"], ...)\n", fs.Arg(0), fs.Arg(1), fs.Arg(1))
	return nil
}

func spaceString(s dataset.Space) string {
	if s.Kind == dataset.Discrete {
		return fmt.Sprintf("discrete, %d actions", s.N)
	}
	return fmt.Sprintf("%s, dim %d", s.Kind, s.Dim)
}

func cmdDatasetInspect(args []string, stdout, stderr io.Writer) error {
	fs := flags("dataset inspect", "DIR", stdout)
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
		{"action space", spaceString(m.ActionSpace)},
		{"episodes", s.Episodes},
		{"transitions", s.Steps},
		{"episode length", fmt.Sprintf("%.2f ± %.2f (min %g, max %g)", s.Length.Mean, s.Length.Std, s.Length.Min, s.Length.Max)},
		{"return", fmt.Sprintf("%.3f ± %.3f (min %.3g, max %.3g)", s.Return.Mean, s.Return.Std, s.Return.Min, s.Return.Max)},
		{"success rate", fmt.Sprintf("%.1f%%", 100*s.SuccessRate)},
		{"terminals / timeouts", fmt.Sprintf("%d / %d", s.Terminals, s.Timeouts)},
		{"goal levels", strings.Join(levels, ", ")},
		{"distinct goal texts", s.Goals},
		{"attributes", strings.Join(attrs, " ")},
		{"NaN / Inf", nonFinite(s)},
	}
	if s.OutOfSpace > 0 {
		rows = append(rows, []any{"actions outside the space", s.OutOfSpace})
	}
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(s.NonFinite) > 0 || s.OutOfSpace > 0 {
		return fmt.Errorf("dataset %s holds values training refuses (see NaN / Inf and actions outside the space above)", fs.Arg(0))
	}
	return nil
}

// nonFinite says "none", or per column how many NaN and Inf values there
// are and the first row holding one.
func nonFinite(s *dataset.Summary) string {
	if len(s.NonFinite) == 0 {
		return "none"
	}
	var cols []string
	for c := range s.NonFinite {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	var out []string
	for _, c := range cols {
		n := s.NonFinite[c]
		out = append(out, fmt.Sprintf("%s: %d NaN, %d Inf (first at row %d)", c, n.NaN, n.Inf, n.First))
	}
	return strings.Join(out, "; ")
}

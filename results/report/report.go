package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/results"
)

// Formats are the output formats of Write.
var Formats = []string{"table", "markdown", "csv", "json"}

// Options select what Write reports and how.
type Options struct {
	// Experiment is a run's name (its latest run), id or unique id prefix;
	// empty means the most recent run.
	Experiment string
	// Format is table (default), markdown, csv or json.
	Format string
	// By lists the grid axes (or seed) to group by; empty means every axis.
	By []string
	// Where filters cells: "algo=bc", "level!=train".
	Where []string
	// Metric is success (default) or return.
	Metric Metric
	// Resamples is the number of bootstrap resamples (default 2000).
	Resamples int
}

// Write prints, for every cell group of an experiment, the success rate
// (or mean return) per goal level aggregated over seeds.
func Write(ctx context.Context, w io.Writer, s *results.Store, opts Options) error {
	exp, err := s.FindExperiment(ctx, opts.Experiment)
	if err != nil {
		return err
	}
	axes, err := Axes(exp)
	if err != nil {
		return err
	}
	filters, err := ParseFilters(opts.Where)
	if err != nil {
		return err
	}
	evals, err := s.Evaluations(ctx, exp.ID)
	if err != nil {
		return err
	}
	if opts.Resamples == 0 {
		opts.Resamples = 2000
	}
	rows, err := Aggregate(evals, axes, opts.By, filters, opts.Metric, opts.Resamples)
	if err != nil {
		return err
	}
	by := opts.By
	if len(by) == 0 {
		by = axes
	}
	cells, err := s.CellStates(ctx, exp.ID)
	if err != nil {
		return err
	}
	note := progressNote(cells)
	metric := opts.Metric
	if metric == "" {
		metric = Success
	}
	others, err := otherRuns(ctx, s, exp)
	if err != nil {
		return err
	}
	switch opts.Format {
	case "", "table", "markdown":
		switch {
		case len(evals) == 0:
			fmt.Fprintf(w, "%s: no evaluations yet%s\n", RunTitle(exp), note)
		case len(rows) == 0:
			fmt.Fprintf(w, "%s: no evaluations match %s (%s)\n", RunTitle(exp), whereText(opts.Where), valuesText(evals, filters))
		default:
			what := "success rate (%)"
			if metric == Return {
				what = "mean return"
			}
			fmt.Fprintf(w, "%s: %s per goal level, mean ± std [95%% bootstrap CI] over seeds\n", RunTitle(exp), what)
			if err := Table(w, rows, by, metric, opts.Format == "markdown"); err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintln(w, strings.TrimPrefix(note, "; "))
			}
		}
		if others != "" {
			fmt.Fprintln(w, others)
		}
		return nil
	case "csv":
		return CSV(w, rows, by, metric)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []Row{}
		}
		overrides := exp.Overrides
		if overrides == nil {
			overrides = []string{}
		}
		return enc.Encode(struct {
			Experiment string   `json:"experiment"`
			ID         string   `json:"id"`
			Overrides  []string `json:"overrides"`
			Metric     Metric   `json:"metric"`
			Rows       []Row    `json:"rows"`
		}{exp.Name, exp.ID, overrides, metric, rows})
	}
	return fmt.Errorf("--format %q: want one of %s", opts.Format, strings.Join(Formats, ", "))
}

// RunTitle names a run for the first line of a report: "experiment quick,
// run 8b71030765d235c2 (--set seeds=3)".
func RunTitle(e results.Experiment) string {
	t := fmt.Sprintf("experiment %s, run %s", e.Name, e.ID)
	if len(e.Overrides) > 0 {
		t += " (" + strings.Join(e.Overrides, " ") + ")"
	}
	return t
}

// otherRuns says, when other runs share e's name, how many and how to pick
// one of them, or "".
func otherRuns(ctx context.Context, s *results.Store, e results.Experiment) (string, error) {
	runs, err := s.RunsNamed(ctx, e.Name)
	if err != nil {
		return "", err
	}
	if len(runs) < 2 {
		return "", nil
	}
	which := "an earlier run"
	if runs[0].ID == e.ID {
		which = "the latest run"
	}
	other := runs[0].ID
	if other == e.ID {
		other = runs[1].ID
	}
	return fmt.Sprintf("(%s of %d named %s: kalm ls %s lists them with their overrides; pick one by its run id, e.g. kalm report %s)",
		which, len(runs), e.Name, e.Name, other[:min(8, len(other))]), nil
}

func whereText(where []string) string {
	var parts []string
	for _, w := range where {
		parts = append(parts, "-where "+w)
	}
	return strings.Join(parts, " ")
}

// valuesText lists, for each filtered key, the values the evaluations have.
func valuesText(evals []results.CellEvaluation, filters []Filter) string {
	var parts []string
	seen := map[string]bool{}
	for _, f := range filters {
		if seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		var vals []string
		for _, e := range evals {
			v := ValueString(e.Params[f.Key])
			switch f.Key {
			case "level":
				v = e.Level
			case "seed":
				v = strconv.Itoa(e.Seed)
			}
			if !contains(vals, v) {
				vals = append(vals, v)
			}
		}
		parts = append(parts, fmt.Sprintf("%s is one of %s", f.Key, strings.Join(vals, ", ")))
	}
	return strings.Join(parts, "; ")
}

// Axes returns the grid axis keys of a recorded experiment.
func Axes(e results.Experiment) ([]string, error) {
	var cfg struct {
		Grid struct {
			Axes []struct {
				Key string `json:"key"`
			} `json:"axes"`
		} `json:"grid"`
	}
	if err := json.Unmarshal([]byte(e.Config), &cfg); err != nil {
		return nil, fmt.Errorf("experiment %s: recorded configuration: %w", e.Name, err)
	}
	var axes []string
	for _, a := range cfg.Grid.Axes {
		axes = append(axes, a.Key)
	}
	return axes, nil
}

func progressNote(cells []results.CellState) string {
	var failed, other int
	for _, c := range cells {
		switch c.Status {
		case results.Done:
		case results.Failed:
			failed++
		default:
			other++
		}
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d cells failed", failed, len(cells)))
	}
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d cells not finished", other, len(cells)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ") + " (see kalm ls)"
}

// scale turns a rate into percent for display.
func scale(m Metric) float64 {
	if m == Return {
		return 1
	}
	return 100
}

func cellText(r Row, m Metric) string {
	k := scale(m)
	if math.IsNaN(r.Mean) {
		return "-"
	}
	return fmt.Sprintf("%.1f ± %.1f [%.1f, %.1f]", r.Mean*k, r.Std*k, r.CILow*k, r.CIHigh*k)
}

// Table renders rows pivoted: one line per group, one column per level.
func Table(w io.Writer, rows []Row, by []string, m Metric, markdown bool) error {
	var levels []string
	type line struct {
		group []Param
		cells map[string]Row
	}
	var lines []*line
	index := map[string]*line{}
	for _, r := range rows {
		if !contains(levels, r.Level) {
			levels = append(levels, r.Level)
		}
		key := groupKey(r.Group)
		l, ok := index[key]
		if !ok {
			l = &line{group: r.Group, cells: map[string]Row{}}
			index[key] = l
			lines = append(lines, l)
		}
		l.cells[r.Level] = r
	}
	header := append([]any{}, toAny(by)...)
	if len(by) == 0 {
		header = append(header, "group")
	}
	for _, lv := range levels {
		header = append(header, lv)
	}
	header = append(header, "seeds")
	align := make([]tw.Align, len(header))
	for i := range align {
		align[i] = tw.AlignRight
		if i < max(1, len(by)) {
			align[i] = tw.AlignLeft
		}
	}
	var rend tw.Renderer = renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})
	if markdown {
		rend = renderer.NewMarkdown()
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(rend),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}),
	)
	t.Header(header...)
	for _, l := range lines {
		var rec []any
		for _, p := range l.group {
			rec = append(rec, p.Value)
		}
		if len(by) == 0 {
			rec = append(rec, "all")
		}
		seeds := map[int]bool{}
		for _, lv := range levels {
			r, ok := l.cells[lv]
			if !ok {
				rec = append(rec, "-")
				continue
			}
			seeds[r.Seeds] = true
			rec = append(rec, cellText(r, m))
		}
		rec = append(rec, seedText(seeds))
		if err := t.Append(rec...); err != nil {
			return err
		}
	}
	return t.Render()
}

func seedText(seeds map[int]bool) string {
	lo, hi := math.MaxInt, 0
	for n := range seeds {
		lo, hi = min(lo, n), max(hi, n)
	}
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// CSV renders rows in long form: one record per group and level, rates as
// fractions.
func CSV(w io.Writer, rows []Row, by []string, m Metric) error {
	cw := csv.NewWriter(w)
	header := append(append([]string{}, by...), "level", "metric", "mean", "std", "ci_low", "ci_high", "seeds")
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for _, r := range rows {
		var rec []string
		for _, p := range r.Group {
			rec = append(rec, p.Value)
		}
		rec = append(rec, r.Level, string(m), f(r.Mean), f(r.Std), f(r.CILow), f(r.CIHigh), strconv.Itoa(r.Seeds))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func groupKey(g []Param) string {
	var parts []string
	for _, p := range g {
		parts = append(parts, p.Key+"="+p.Value)
	}
	return strings.Join(parts, " ")
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

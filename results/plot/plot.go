package plot

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/kalm-go/kalm/results"
	"github.com/kalm-go/kalm/results/report"
)

// Kinds are the figures Write can draw.
var Kinds = []string{"bars", "curves", "size"}

// SizeAxis is the grid axis success-vs-dataset-size figures use.
const SizeAxis = "dataset.episodes"

// Options select what Write draws.
type Options struct {
	// Experiment is a run's name (its latest run), id or unique id prefix;
	// empty means the most recent run.
	Experiment string
	// Dir receives the files (created if needed).
	Dir string
	// Formats are file extensions: png, svg (default both).
	Formats []string
	// Kinds are the figures to draw (default: every kind the data allows).
	Kinds []string
	// Curve is the training metric of learning curves (default "loss").
	Curve string
	// By and Where group and filter cells as in report.Options.
	By, Where []string
}

// Write draws the figures of an experiment and returns the files written.
func Write(ctx context.Context, s *results.Store, opts Options) ([]string, error) {
	exp, err := s.FindExperiment(ctx, opts.Experiment)
	if err != nil {
		return nil, err
	}
	axes, err := report.Axes(exp)
	if err != nil {
		return nil, err
	}
	filters, err := report.ParseFilters(opts.Where)
	if err != nil {
		return nil, err
	}
	formats := opts.Formats
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	for _, f := range formats {
		if f != "png" && f != "svg" && f != "pdf" {
			return nil, fmt.Errorf("plot format %q: want png, svg or pdf", f)
		}
	}
	kinds := opts.Kinds
	explicit := len(kinds) > 0
	if !explicit {
		kinds = Kinds
	}
	for _, k := range kinds {
		if !contains(Kinds, k) {
			return nil, fmt.Errorf("plot kind %q: want one of %s", k, strings.Join(Kinds, ", "))
		}
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot directory: %w", err)
	}
	evals, err := s.Evaluations(ctx, exp.ID)
	if err != nil {
		return nil, err
	}
	var files []string
	// Files and titles name the run: runs of one experiment differ in
	// their overrides, not their name.
	run := exp.Name + "-" + shortID(exp.ID)
	title := exp.Name + " (run " + shortID(exp.ID) + ")"
	save := func(p *plot.Plot, name string, w vg.Length) error {
		for _, f := range formats {
			path := filepath.Join(dir, run+"-"+name+"."+f)
			if err := p.Save(w, 4*vg.Inch, path); err != nil {
				return fmt.Errorf("plot %s: %w", path, err)
			}
			files = append(files, path)
		}
		return nil
	}
	for _, kind := range kinds {
		switch kind {
		case "bars":
			rows, err := report.Aggregate(evals, axes, opts.By, filters, report.Success, 2000)
			if err != nil {
				return nil, err
			}
			if len(rows) == 0 {
				if explicit {
					return nil, fmt.Errorf("experiment %s: no evaluations to plot yet", exp.Name)
				}
				continue
			}
			p, err := Bars(rows, title+": success per goal level (mean ± std over seeds)")
			if err != nil {
				return nil, err
			}
			if err := save(p, "success", 8*vg.Inch); err != nil {
				return nil, err
			}
		case "size":
			if !contains(axes, SizeAxis) {
				if explicit {
					return nil, fmt.Errorf("experiment %s has no %s axis: success vs dataset size needs one", exp.Name, SizeAxis)
				}
				continue
			}
			by := opts.By
			if len(by) == 0 {
				by = axes
			} else if !contains(by, SizeAxis) {
				by = append(append([]string(nil), by...), SizeAxis)
			}
			rows, err := report.Aggregate(evals, axes, by, filters, report.Success, 2000)
			if err != nil {
				return nil, err
			}
			p, err := Size(rows, title+": success vs real dataset size")
			if err != nil {
				return nil, err
			}
			if err := save(p, "size", 7*vg.Inch); err != nil {
				return nil, err
			}
		case "curves":
			name := opts.Curve
			if name == "" {
				name = "loss"
			}
			pts, err := s.Metrics(ctx, exp.ID, "train", name)
			if err != nil {
				return nil, err
			}
			if len(pts) == 0 {
				if explicit {
					names, _ := s.MetricNames(ctx, exp.ID, "train")
					return nil, fmt.Errorf("experiment %s: no train metric %q recorded (recorded: %v)", exp.Name, name, names)
				}
				continue
			}
			p, err := Curves(pts, axes, opts.By, filters, title+": "+name+" during training (mean over seeds)", name)
			if err != nil {
				return nil, err
			}
			if err := save(p, "curve-"+name, 7*vg.Inch); err != nil {
				return nil, err
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("experiment %s: nothing to plot yet", exp.Name)
	}
	return files, nil
}

type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// Bars draws grouped bars: goal levels along x, one bar per cell group,
// with error bars of one standard deviation.
func Bars(rows []report.Row, title string) (*plot.Plot, error) {
	var levels, groups []string
	val := map[[2]string]report.Row{}
	for _, r := range rows {
		g := groupLabel(r.Group)
		if !contains(levels, r.Level) {
			levels = append(levels, r.Level)
		}
		if !contains(groups, g) {
			groups = append(groups, g)
		}
		val[[2]string{g, r.Level}] = r
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "success rate (%)"
	p.Y.Min = 0
	n := float64(len(groups))
	slot := 0.8 / n
	// Bar width in drawing units: the plot area spans len(levels) data units.
	width := vg.Length(6.2*float64(vg.Inch)) / vg.Length(len(levels)) * vg.Length(slot) * 0.9
	for gi, g := range groups {
		vs := make(plotter.Values, len(levels))
		pts := errPoints{XYs: make(plotter.XYs, len(levels)), YErrors: make(plotter.YErrors, len(levels))}
		shift := (float64(gi) - (n-1)/2) * slot
		for li, l := range levels {
			r, ok := val[[2]string{g, l}]
			if ok && !math.IsNaN(r.Mean) {
				vs[li] = 100 * r.Mean
				pts.YErrors[li].Low, pts.YErrors[li].High = 100*r.Std, 100*r.Std
			}
			pts.XYs[li] = plotter.XY{X: float64(li) + shift, Y: vs[li]}
		}
		bars, err := plotter.NewBarChart(vs, width)
		if err != nil {
			return nil, err
		}
		bars.XMin = shift
		bars.Color = plotutil.Color(gi)
		bars.LineStyle.Width = 0
		eb, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return nil, err
		}
		p.Add(bars, eb)
		p.Legend.Add(g, bars)
	}
	top := 0.0
	for _, r := range rows {
		if !math.IsNaN(r.Mean) {
			top = max(top, 100*(r.Mean+r.Std))
		}
	}
	// Headroom for the legend, which has one line per group.
	p.Y.Max = max(top, 1) * (1.15 + 0.06*n)
	legend(p, false)
	p.NominalX(levels...)
	p.X.Min, p.X.Max = -0.5, float64(len(levels))-0.5
	return p, nil
}

// Size draws success against the real dataset size: one line per goal
// level and group of the other axes, with ±1 std error bars.
func Size(rows []report.Row, title string) (*plot.Plot, error) {
	type key struct{ group, level string }
	series := map[key]plotter.XYs{}
	errs := map[key]plotter.YErrors{}
	var order []key
	for _, r := range rows {
		var rest []report.Param
		x := math.NaN()
		for _, p := range r.Group {
			if p.Key == SizeAxis {
				x, _ = strconv.ParseFloat(p.Value, 64)
				continue
			}
			rest = append(rest, p)
		}
		if math.IsNaN(x) || math.IsNaN(r.Mean) {
			continue
		}
		k := key{groupLabel(rest), r.Level}
		if _, ok := series[k]; !ok {
			order = append(order, k)
		}
		series[k] = append(series[k], plotter.XY{X: x, Y: 100 * r.Mean})
		errs[k] = append(errs[k], struct{ Low, High float64 }{100 * r.Std, 100 * r.Std})
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "real rollouts (" + SizeAxis + ", log scale)"
	p.Y.Label.Text = "success rate (%)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	for i, k := range order {
		pts := series[k]
		e := errs[k]
		sort.Sort(byX{pts, e})
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		s.Color = plotutil.Color(i)
		s.Shape = plotutil.Shape(i)
		eb, err := plotter.NewYErrorBars(errPoints{pts, e})
		if err != nil {
			return nil, err
		}
		eb.Color = plotutil.Color(i)
		p.Add(l, s, eb)
		label := k.level
		if k.group != "all" {
			label = k.group + ", " + k.level
		}
		p.Legend.Add(label, l, s)
	}
	legend(p, true)
	return p, nil
}

type byX struct {
	xy plotter.XYs
	e  plotter.YErrors
}

func (b byX) Len() int           { return len(b.xy) }
func (b byX) Less(i, j int) bool { return b.xy[i].X < b.xy[j].X }
func (b byX) Swap(i, j int) {
	b.xy[i], b.xy[j] = b.xy[j], b.xy[i]
	b.e[i], b.e[j] = b.e[j], b.e[i]
}

// Curves draws a training metric against the step, averaged over the seeds
// of each group.
func Curves(pts []results.CellMetric, axes, by []string, filters []report.Filter, title, metric string) (*plot.Plot, error) {
	if by == nil {
		by = axes
	}
	type key struct {
		group string
		step  int
	}
	sum := map[key]float64{}
	cnt := map[key]int{}
	var groups []string
	for _, m := range pts {
		get := func(k string) string {
			if k == "seed" {
				return strconv.Itoa(m.Seed)
			}
			return report.ValueString(m.Params[k])
		}
		pass := true
		for _, f := range filters {
			if f.Key != "level" && !f.Match(get(f.Key)) {
				pass = false
			}
		}
		if !pass {
			continue
		}
		var parts []string
		for _, k := range by {
			parts = append(parts, k+"="+get(k))
		}
		g := strings.Join(parts, " ")
		if g == "" {
			g = "all"
		}
		if !contains(groups, g) {
			groups = append(groups, g)
		}
		k := key{g, m.Step}
		sum[k] += m.Value
		cnt[k]++
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "training step"
	p.Y.Label.Text = metric
	sort.Strings(groups)
	for i, g := range groups {
		var xy plotter.XYs
		for k, s := range sum {
			if k.group == g {
				xy = append(xy, plotter.XY{X: float64(k.step), Y: s / float64(cnt[k])})
			}
		}
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		// A line needs two points: a short run's one or few recorded
		// steps show as marks.
		if len(xy) <= fewPoints {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, err
			}
			s.Color = plotutil.Color(i)
			s.Shape = draw.CircleGlyph{}
			s.Radius = vg.Points(3)
			p.Add(s)
			thumbs = append(thumbs, s)
		}
		p.Legend.Add(g, thumbs...)
	}
	legend(p, false)
	return p, nil
}

// fewPoints is the most points a learning curve marks one by one.
const fewPoints = 10

// legend puts the legend in the top corner of the plot area, clear of its
// edge: gonum draws it flush with the canvas, where PNG viewers crop the
// thumbnails.
func legend(p *plot.Plot, left bool) {
	p.Legend.Top = true
	p.Legend.Left = left
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.XOffs = -vg.Points(10)
	if left {
		p.Legend.XOffs = vg.Points(10)
	}
}

func shortID(id string) string { return id[:min(8, len(id))] }

func groupLabel(g []report.Param) string {
	if len(g) == 0 {
		return "all"
	}
	var parts []string
	for _, p := range g {
		parts = append(parts, p.Key+"="+p.Value)
	}
	return strings.Join(parts, " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

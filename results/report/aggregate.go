package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/kalm-go/kalm/internal/suggest"
	"github.com/kalm-go/kalm/results"
)

// Param is one grouping key and its value.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Row is one group's result on one goal level, over its cells (seeds).
type Row struct {
	Group []Param `json:"group"`
	Level string  `json:"level"`
	// Values are the per-cell values (one per seed), in seed order.
	Values []float64 `json:"values"`
	Mean   float64   `json:"mean"`
	Std    float64   `json:"std"`
	// CILow and CIHigh bound the 95% bootstrap confidence interval of the mean.
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	Seeds  int     `json:"seeds"`
}

// Metric selects the evaluated quantity.
type Metric string

const (
	Success Metric = "success"
	Return  Metric = "return"
)

// Filter is one --where condition: key=value or key!=value.
type Filter struct {
	Key, Value string
	Not        bool
}

// ParseFilters reads "key=value" and "key!=value" conditions.
func ParseFilters(where []string) ([]Filter, error) {
	var out []Filter
	for _, w := range where {
		if k, v, ok := strings.Cut(w, "!="); ok {
			out = append(out, Filter{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Not: true})
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--where %q: want key=value or key!=value, e.g. --where algo=bc", w)
		}
		out = append(out, Filter{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
	}
	return out, nil
}

// Aggregate groups evaluations by the keys in by (nil: every axis of the
// experiment), keeps those passing the filters, and summarises each group
// and level over its cells: a cell's value is its mean over the evaluated
// checkpoints; a group's mean, sample standard deviation and 95% bootstrap
// confidence interval are over its cells. resamples bootstrap resamples are
// drawn from a fixed seed, so reports are reproducible.
func Aggregate(evals []results.CellEvaluation, axes []string, by []string, filters []Filter, metric Metric, resamples int) ([]Row, error) {
	known := append(append([]string(nil), axes...), "level", "seed")
	if by == nil {
		by = axes
	}
	for _, k := range by {
		if !contains(axes, k) && k != "seed" {
			return nil, fmt.Errorf("--by %s: not a grid axis of the experiment%s (axes: %s)", k, suggest.DidYouMean(k, known), orNone(axes))
		}
	}
	for _, f := range filters {
		if !contains(known, f.Key) {
			return nil, fmt.Errorf("--where %s: not a grid axis, level or seed%s (axes: %s)", f.Key, suggest.DidYouMean(f.Key, known), orNone(axes))
		}
	}
	if metric == "" {
		metric = Success
	}
	if metric != Success && metric != Return {
		return nil, fmt.Errorf("metric %q: want success or return", metric)
	}
	type cellLevel struct{ cell, level string }
	sums := map[cellLevel]float64{}
	counts := map[cellLevel]int{}
	type groupLevel struct{ group, level string }
	groups := map[groupLevel][]string{} // cells in order
	groupParams := map[string][]Param{}
	var order []groupLevel
	for _, e := range evals {
		get := func(k string) string {
			switch k {
			case "level":
				return e.Level
			case "seed":
				return strconv.Itoa(e.Seed)
			}
			return ValueString(e.Params[k])
		}
		pass := true
		for _, f := range filters {
			if !f.Match(get(f.Key)) {
				pass = false
			}
		}
		if !pass {
			continue
		}
		var gp []Param
		var parts []string
		for _, k := range by {
			gp = append(gp, Param{k, get(k)})
			parts = append(parts, k+"="+get(k))
		}
		g := strings.Join(parts, " ")
		groupParams[g] = gp
		cl := cellLevel{e.CellID, e.Level}
		v := e.SuccessRate
		if metric == Return {
			v = e.MeanReturn
		}
		if counts[cl] == 0 {
			gl := groupLevel{g, e.Level}
			if _, ok := groups[gl]; !ok {
				order = append(order, gl)
			}
			groups[gl] = append(groups[gl], e.CellID)
		}
		sums[cl] += v
		counts[cl]++
	}
	var rows []Row
	for _, gl := range order {
		var vals []float64
		for _, c := range groups[gl] {
			cl := cellLevel{c, gl.level}
			vals = append(vals, sums[cl]/float64(counts[cl]))
		}
		r := Row{Group: groupParams[gl.group], Level: gl.level, Values: vals, Seeds: len(vals)}
		r.Mean, r.Std = meanStd(vals)
		r.CILow, r.CIHigh = bootstrapCI(vals, resamples, 0.95)
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if c := compareGroups(rows[i].Group, rows[j].Group); c != 0 {
			return c < 0
		}
		return false // keep level order of appearance
	})
	return rows, nil
}

// Match reports whether a cell whose value for f.Key is v passes f.
func (f Filter) Match(v string) bool { return sameValue(v, f.Value) != f.Not }

// sameValue compares a cell's value with a --where value, numbers by value
// (0.5 matches 0.50).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	return ea == nil && eb == nil && fa == fb
}

func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}

// bootstrapCI is the percentile bootstrap interval of the mean.
func bootstrapCI(v []float64, resamples int, level float64) (lo, hi float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	if len(v) == 1 || resamples < 1 {
		m, _ := meanStd(v)
		return m, m
	}
	rng := rand.New(rand.NewPCG(0x6b616c6d, uint64(len(v))))
	means := make([]float64, resamples)
	for i := range means {
		s := 0.0
		for range v {
			s += v[rng.IntN(len(v))]
		}
		means[i] = s / float64(len(v))
	}
	sort.Float64s(means)
	a := (1 - level) / 2
	return quantile(means, a), quantile(means, 1-a)
}

func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i]*(1-f) + sorted[i+1]*f
}

// compareGroups orders groups key by key, numbers numerically.
func compareGroups(a, b []Param) int {
	for i := range min(len(a), len(b)) {
		x, y := a[i].Value, b[i].Value
		fx, ex := strconv.ParseFloat(x, 64)
		fy, ey := strconv.ParseFloat(y, 64)
		switch {
		case ex == nil && ey == nil && fx != fy:
			if fx < fy {
				return -1
			}
			return 1
		case x != y:
			return strings.Compare(x, y)
		}
	}
	return len(a) - len(b)
}

// ValueString renders an axis value as reports show it.
func ValueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if x == "" {
			return `""`
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = ValueString(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

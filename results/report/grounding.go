package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/kalm-go/kalm/results"
)

// The paper's figures for CLEVR-Robot (Pang et al. 2024): the match rate
// of generated rollouts with their goal (Table 1, KALM with every task),
// the explanation accuracy after fine-tuning (Fig. 7), and the shares of
// unrealistic transitions in imagined rollouts (Table 4).
var (
	paperMatch = map[string]string{"rephrase": "85", "unseen-easy": "36", "unseen-hard": "28"}
)

// paperShareOrder is the order of the paper's plausibility columns.
var paperShareOrder = []string{"out_of_bounds", "beyond_dynamics"}

// paperShares names CLEVR's plausibility shares in the report and gives the
// paper's figures per level (for the clevr env only); other shares appear
// under their own names.
var paperShares = map[string]struct {
	measure string
	paper   map[string]string
}{
	"out_of_bounds":   {"out of workbench (%)", map[string]string{"rephrase": "18.4", "unseen-easy": "0.0", "unseen-hard": "4.3"}},
	"beyond_dynamics": {"exceed dynamics (%)", map[string]string{"rephrase": "0.1", "unseen-easy": "0.2", "unseen-hard": "0.2"}},
}

const paperExplain = "> 85"

// GroundingRow is one line of the grounding report.
type GroundingRow struct {
	LM      string  `json:"lm"`      // plugin@version
	Ground  string  `json:"ground"`  // the ground stage's key
	Measure string  `json:"measure"` // e.g. "explanation accuracy (%)"
	Level   string  `json:"level"`   // goal level, or "held-out" for the dynamics error
	Value   float64 `json:"value"`   // NaN when not measured
	N       int     `json:"n"`       // rollouts or transitions measured (-1: not recorded)
	Paper   string  `json:"paper"`   // the paper's figure ("" where it has none)
}

// GroundingRows turns an experiment's grounding records into report rows:
// the one-step dynamics error, the explanation accuracy per level (the
// training rollouts, then the successful imagined rollouts of each novel
// level) and the share of explanations the env could read at all, the
// generation match rate per novel level and the plausibility shares, each
// beside the paper's figure.
func GroundingRows(gs []results.Grounding) []GroundingRow {
	var out []GroundingRow
	for _, g := range gs {
		lmName, envName, _ := strings.Cut(g.Plugin, "+")
		version, _, _ := strings.Cut(g.PluginVersion, "+")
		row := func(measure, level string, v float64, n int, paper string) {
			out = append(out, GroundingRow{LM: lmName + "@" + version, Ground: g.Ground, Measure: measure, Level: level, Value: v, N: n, Paper: paper})
		}
		get := func(m map[string]float64, name string) float64 {
			if v, ok := m[name]; ok {
				return v
			}
			return math.NaN()
		}
		count := func(m map[string]float64, name string) int {
			if v, ok := m[name]; ok {
				return int(v)
			}
			return -1
		}
		transitions := count(g.Metrics, "dynamics/transitions")
		row("dynamics error, median L2", "held-out", get(g.Metrics, "dynamics/median_l2"), transitions, "")
		row("dynamics error, mean L2", "held-out", get(g.Metrics, "dynamics/mean_l2"), transitions, "")
		// The LM's own measure on its validation episodes, where it reports
		// one (tinylm): one step at a time, and every state of a goal →
		// rollout sequence after the real history, which shows velocities.
		if v, ok := g.GroundMetrics["val/state_l2_in_context"]; ok {
			row("dynamics error, median L2", "validation, one step", get(g.GroundMetrics, "val/state_l2_one_step"), -1, "")
			row("dynamics error, median L2", "validation, in context", v, -1, "")
		}
		// The training level is the one explained that was not imagined.
		var levels []string
		for name := range g.Metrics {
			if l, ok := strings.CutPrefix(name, "explain/"); ok {
				l = strings.TrimSuffix(l, "/rollouts")
				if _, imagined := g.Imagine[l]; !imagined && !strings.Contains(l, "/") && !contains(levels, l) {
					levels = append(levels, l)
				}
			}
		}
		sort.Strings(levels)
		novel := make([]string, 0, len(g.Imagine))
		for l := range g.Imagine {
			novel = append(novel, l)
		}
		sort.Strings(novel)
		for _, l := range append(levels, novel...) {
			n := count(g.Metrics, "explain/"+l+"/rollouts")
			row("explanation accuracy (%)", l, 100*get(g.Metrics, "explain/"+l+"/accuracy"), n, paperExplain)
		}
		// How many explanations the env's judge says the rollout reaches: true
		// of the rollout, whether or not they name its label.
		for _, l := range append(levels, novel...) {
			row("explanation holds (%)", l, 100*get(g.Metrics, "explain/"+l+"/holds"), count(g.Metrics, "explain/"+l+"/rollouts"), "")
		}
		// How many explanations the judge ends the rollout on at the same
		// step as its label: the label's equal on the rollout, in whatever
		// words ("B right of A" for "A left of B").
		for _, l := range append(levels, novel...) {
			if _, ok := g.Metrics["explain/"+l+"/agrees"]; ok {
				row("explanation agrees (%)", l, 100*get(g.Metrics, "explain/"+l+"/agrees"), count(g.Metrics, "explain/"+l+"/rollouts"), "")
			}
		}
		// How many explanations name a goal at all: accuracy's ceiling.
		for _, l := range append(levels, novel...) {
			row("explanation parsed (%)", l, 100*get(g.Metrics, "explain/"+l+"/parsed"), count(g.Metrics, "explain/"+l+"/rollouts"), "")
		}
		for _, l := range novel {
			row("generation match (%)", l, 100*get(g.Imagine[l], "judged_success"), -1, paperMatch[l])
		}
		// The env's named plausibility shares: the paper's in its order, then the rest by name.
		var shares []string
		for _, l := range novel {
			for name := range g.Imagine[l] {
				if sh, ok := strings.CutPrefix(name, "plausibility/"); ok && !contains(shares, sh) {
					shares = append(shares, sh)
				}
			}
		}
		sort.Slice(shares, func(i, j int) bool {
			a, b := slices.Index(paperShareOrder, shares[i]), slices.Index(paperShareOrder, shares[j])
			if a < 0 && b < 0 {
				return shares[i] < shares[j]
			}
			return a >= 0 && (b < 0 || a < b)
		})
		for _, sh := range shares {
			measure, paper := sh+" (%)", map[string]string(nil)
			if p, ok := paperShares[sh]; ok && envName == "clevr" {
				measure, paper = p.measure, p.paper
			}
			for _, l := range novel {
				row(measure, l, 100*get(g.Imagine[l], "plausibility/"+sh), -1, paper[l])
			}
		}
	}
	return out
}

func (r GroundingRow) valueText() string {
	switch {
	case math.IsNaN(r.Value):
		return "-"
	case strings.HasPrefix(r.Measure, "dynamics"):
		return fmt.Sprintf("%.4f", r.Value)
	}
	return fmt.Sprintf("%.1f", r.Value)
}

func (r GroundingRow) nText() string {
	if r.N < 0 {
		return ""
	}
	return fmt.Sprint(r.N)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteGrounding prints the grounding report of an experiment (kalm report
// -what grounding): per grounded LM, what it knows of the env beside the
// paper's figures.
func WriteGrounding(ctx context.Context, w io.Writer, s *results.Store, opts Options) error {
	exp, err := s.FindExperiment(ctx, opts.Experiment)
	if err != nil {
		return err
	}
	gs, err := s.Grounding(ctx, exp.ID)
	if err != nil {
		return err
	}
	rows := GroundingRows(gs)
	switch opts.Format {
	case "", "table", "markdown":
		if len(gs) == 0 {
			fmt.Fprintf(w, "%s: no grounding report (the experiment grounds no LM, or lm.assess.episodes is 0)\n", RunTitle(exp))
			return nil
		}
		fmt.Fprintf(w, "%s: grounding report\n", RunTitle(exp))
		for _, g := range gs {
			if g.Status != results.Done {
				fmt.Fprintf(w, "(assess stage %s is %s: its figures are missing)\n", shortKey(g.Assess), g.Status)
			}
		}
		if err := GroundingTable(w, rows, opts.Format == "markdown"); err != nil {
			return err
		}
		if slices.ContainsFunc(gs, func(g results.Grounding) bool { return !strings.HasSuffix(g.Plugin, "+clevr") }) {
			fmt.Fprintln(w, "dynamics error: held-out real transitions; plausibility: the env's own named shares; paper: Pang et al. 2024, Table 1 (match), Fig. 7 (explanation), Table 4 (plausibility, CLEVR-Robot's)")
			return nil
		}
		fmt.Fprintln(w, "dynamics error: held-out real transitions (the env itself is within 0.012 of MuJoCo); paper: Pang et al. 2024, Table 1 (match), Fig. 7 (explanation), Table 4 (plausibility)")
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"lm", "ground", "measure", "level", "value", "n", "paper"})
		for _, r := range rows {
			v := ""
			if !math.IsNaN(r.Value) {
				v = fmt.Sprintf("%.6g", r.Value)
			}
			cw.Write([]string{r.LM, r.Ground, r.Measure, r.Level, v, r.nText(), r.Paper})
		}
		cw.Flush()
		return cw.Error()
	case "json":
		type jsonRow struct {
			GroundingRow
			Value *float64 `json:"value"` // null when not measured
		}
		js := []jsonRow{}
		for _, r := range rows {
			jr := jsonRow{GroundingRow: r}
			if !math.IsNaN(r.Value) {
				v := r.Value
				jr.Value = &v
			}
			js = append(js, jr)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Experiment string    `json:"experiment"`
			ID         string    `json:"id"`
			Rows       []jsonRow `json:"rows"`
		}{exp.Name, exp.ID, js})
	}
	return fmt.Errorf("--format %q: want one of %s", opts.Format, strings.Join(Formats, ", "))
}

// GroundingTable renders grounding rows, one line each.
func GroundingTable(w io.Writer, rows []GroundingRow, markdown bool) error {
	header := []any{"lm", "measure", "level", "kalm", "n", "paper"}
	var rend tw.Renderer = renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})
	if markdown {
		rend = renderer.NewMarkdown()
	}
	tbl := tablewriter.NewTable(w,
		tablewriter.WithRenderer(rend),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight}}),
	)
	tbl.Header(header...)
	for _, r := range rows {
		if err := tbl.Append(r.LM, r.Measure, r.Level, r.valueText(), r.nText(), orDash(r.Paper)); err != nil {
			return err
		}
	}
	return tbl.Render()
}

func shortKey(k string) string {
	if len(k) > 12 {
		return k[:12]
	}
	return k
}

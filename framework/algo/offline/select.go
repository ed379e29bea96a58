package offline

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TopFractionParams declare return-based trajectory filtering (CORL's
// "BC-10%", any_percent_bc.py). An algorithm that lists them among its
// Params trains only on the best trajectories of each dataset; see
// SelectTop.
var TopFractionParams = []Param{
	{Name: "top_fraction", Type: algo.TypeFloat, Default: 1.0,
		Help: "train on the transitions of the top fraction of trajectories by discounted return, in (0, 1]; 1 keeps all (CORL any_percent_bc.py frac: 0.1 for BC-10%)"},
	{Name: "filter_discount", Type: algo.TypeFloat, Default: 0.99,
		Help: "γ of the discounted return that ranks trajectories for top_fraction, in [0, 1] (CORL discount)"},
}

// Trajectory is a run of consecutive transitions [Start, End) of one dataset
// and its discounted return Σ_t γ^t·r_t.
type Trajectory struct {
	Start, End int
	Return     float64
}

// Trajectories splits d into trajectories as CORL's keep_best_trajectories
// does: a trajectory ends after a terminal transition or at the end of an
// episode (CORL's D4RL data has no episode boundaries and cuts at 1000 steps
// instead; our datasets store them).
func Trajectories(d *dataset.Data, gamma float64) []Trajectory {
	var out []Trajectory
	cur := Trajectory{}
	scale := 1.0
	for i := range d.Len() {
		cur.Return += scale * float64(d.Rewards[i])
		scale *= gamma
		end := d.Terminals[i] != 0 || i+1 == d.Len() || d.Episode[i+1] != d.Episode[i]
		if end {
			cur.End = i + 1
			out = append(out, cur)
			cur, scale = Trajectory{Start: i + 1}, 1
		}
	}
	return out
}

// TopTrajectories returns the max(1, ⌊frac·N⌋) of the N trajectories with
// the highest return, best first; equal returns keep dataset order (CORL's
// np.argsort leaves the order of ties unspecified). frac·N is computed in
// float64 and truncated, as CORL's int(frac * len(...)).
func TopTrajectories(ts []Trajectory, frac float64) []Trajectory {
	s := slices.Clone(ts)
	slices.SortStableFunc(s, func(a, b Trajectory) int { return cmp.Compare(b.Return, a.Return) })
	return s[:min(len(s), max(1, int(frac*float64(len(s)))))]
}

// Subset returns a view of d holding only the transitions idx (ascending):
// the per-step columns are copied, observations, goals and episode data are
// shared with d.
func Subset(d *dataset.Data, idx []int) *dataset.Data {
	v := &dataset.Data{Meta: d.Meta, Obs: d.Obs, GoalVectors: d.GoalVectors, Goals: d.Goals, Success: d.Success}
	v.Meta.Steps = len(idx)
	ad := len(d.Actions) / max(1, d.Len())
	v.Actions = make([]float32, 0, len(idx)*ad)
	for _, i := range idx {
		v.Actions = append(v.Actions, d.Actions[i*ad:(i+1)*ad]...)
		v.Rewards = append(v.Rewards, d.Rewards[i])
		v.Terminals = append(v.Terminals, d.Terminals[i])
		v.Timeouts = append(v.Timeouts, d.Timeouts[i])
		v.ObsRow = append(v.ObsRow, d.ObsRow[i])
		v.Episode = append(v.Episode, d.Episode[i])
	}
	return v
}

// KeepTop returns, for each dataset, a view with the transitions of its top
// fraction of trajectories by discounted return (CORL BC-10%), in dataset
// order. frac must be in (0, 1] and gamma in [0, 1]; frac 1 returns ds
// itself.
func KeepTop(ds []*dataset.Data, frac, gamma float64) ([]*dataset.Data, error) {
	if !(frac > 0 && frac <= 1) {
		return nil, fmt.Errorf("top_fraction = %v, want in (0, 1]", frac)
	}
	if !(gamma >= 0 && gamma <= 1) {
		return nil, fmt.Errorf("filter_discount = %v, want in [0, 1]", gamma)
	}
	if frac == 1 {
		return ds, nil
	}
	out := make([]*dataset.Data, len(ds))
	for k, d := range ds {
		top := TopTrajectories(Trajectories(d, gamma), frac)
		slices.SortFunc(top, func(a, b Trajectory) int { return cmp.Compare(a.Start, b.Start) })
		var idx []int
		for _, t := range top {
			for i := t.Start; i < t.End; i++ {
				idx = append(idx, i)
			}
		}
		out[k] = Subset(d, idx)
	}
	return out, nil
}

// selectData applies the filtering parameters of f's schema, if it declares
// them, to the loaded datasets.
func selectData(f Factory, h Hyper, ds []*dataset.Data) ([]*dataset.Data, error) {
	if _, ok := h["top_fraction"]; !ok {
		return ds, nil
	}
	out, err := KeepTop(ds, h.Float("top_fraction"), h.Float("filter_discount"))
	if err != nil {
		return nil, fmt.Errorf("%s: hyper-parameter %w", f.Name, err)
	}
	return out, nil
}

package offline_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// ep is one hand-built episode: its rewards and the steps that are terminal.
type ep struct {
	rew  []float32
	term []int
}

// handData builds an in-memory dataset (1-d observations numbered by row,
// action = the transition's index) from episodes.
func handData(eps ...ep) *dataset.Data {
	d := &dataset.Data{Meta: dataset.Meta{ObsDim: 1, GoalDim: 1, ActionSpace: dataset.BoxSpace(1, -1e6, 1e6)}}
	for e, x := range eps {
		row := int32(len(d.Obs))
		for t, r := range x.rew {
			d.Obs = append(d.Obs, float32(row)+float32(t))
			d.Actions = append(d.Actions, float32(d.Len()))
			d.Rewards = append(d.Rewards, r)
			term := float32(0)
			if slices.Contains(x.term, t) {
				term = 1
			}
			d.Terminals = append(d.Terminals, term)
			d.Timeouts = append(d.Timeouts, 0)
			d.ObsRow = append(d.ObsRow, row+int32(t))
			d.Episode = append(d.Episode, int32(e))
		}
		d.Obs = append(d.Obs, float32(row)+float32(len(x.rew))) // final observation
		d.GoalVectors = append(d.GoalVectors, float32(e))
		d.Goals = append(d.Goals, dataset.Goal{})
		d.Success = append(d.Success, false)
	}
	d.Meta.Steps, d.Meta.Episodes = d.Len(), len(eps)
	return d
}

func TestTrajectories(t *testing.T) {
	d := handData(
		ep{rew: []float32{1, 1, 1}},
		ep{rew: []float32{2, 3, 4}, term: []int{1}}, // a terminal inside the episode cuts it
		ep{rew: []float32{0, 0, 10}},
	)
	for _, tc := range []struct {
		gamma float64
		want  []offline.Trajectory
	}{
		{0.5, []offline.Trajectory{{0, 3, 1.75}, {3, 5, 3.5}, {5, 6, 4}, {6, 9, 2.5}}},
		{1, []offline.Trajectory{{0, 3, 3}, {3, 5, 5}, {5, 6, 4}, {6, 9, 10}}},
		{0, []offline.Trajectory{{0, 3, 1}, {3, 5, 2}, {5, 6, 4}, {6, 9, 0}}},
	} {
		if got := offline.Trajectories(d, tc.gamma); !slices.Equal(got, tc.want) {
			t.Errorf("γ=%v: %v, want %v", tc.gamma, got, tc.want)
		}
	}
}

// TestTopTrajectories: the kept count is max(1, int(frac·N)) with CORL's
// float truncation, ranking is by return, ties keep dataset order.
func TestTopTrajectories(t *testing.T) {
	traj := func(returns ...float64) []offline.Trajectory {
		ts := make([]offline.Trajectory, len(returns))
		for i, r := range returns {
			ts[i] = offline.Trajectory{Start: i, End: i + 1, Return: r}
		}
		return ts
	}
	starts := func(ts []offline.Trajectory) []int {
		var s []int
		for _, t := range ts {
			s = append(s, t.Start)
		}
		return s
	}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i)
	}
	for _, tc := range []struct {
		name    string
		returns []float64
		frac    float64
		want    []int // starts, best first
		wantN   int   // when want is nil: only the count
	}{
		{"ranked by return", []float64{1, 5, -2, 3}, 0.5, []int{1, 3}, 0},
		{"ties keep dataset order", []float64{1, 2, 2, 1}, 0.5, []int{1, 2}, 0},
		{"one of a tie", []float64{1, 2, 2, 1}, 0.25, []int{1}, 0},
		{"tie at the cut", []float64{2, 1, 1, 0}, 0.5, []int{0, 1}, 0},
		{"at least one", []float64{3, 4, 1}, 0.1, []int{1}, 0},
		{"all", []float64{3, 4, 1}, 1, []int{1, 0, 2}, 0},
		{"0.1 of 10", hundred[:10], 0.1, []int{9}, 0},
		{"0.7·10 = 7.000000000000001 → 7", hundred[:10], 0.7, nil, 7},
		{"0.29·100 = 28.999999999999996 → 28", hundred, 0.29, nil, 28},
		{"0.57·100 = 56.99999999999999 → 56", hundred, 0.57, nil, 56},
		{"0.1·25 = 2.5 → 2", hundred[:25], 0.1, []int{24, 23}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := offline.TopTrajectories(traj(tc.returns...), tc.frac)
			if tc.want != nil && !slices.Equal(starts(got), tc.want) {
				t.Fatalf("kept %v, want %v", starts(got), tc.want)
			}
			if tc.want == nil && len(got) != tc.wantN {
				t.Fatalf("kept %d, want %d", len(got), tc.wantN)
			}
			// CORL's count, computed independently of TopTrajectories.
			if n := max(1, int(tc.frac*float64(len(tc.returns)))); len(got) != n {
				t.Fatalf("kept %d, CORL keeps %d", len(got), n)
			}
		})
	}
}

// TestKeepTop: the view holds exactly the transitions of the best
// trajectories of each dataset, in dataset order, with their observations.
func TestKeepTop(t *testing.T) {
	a := handData(
		ep{rew: []float32{1, 1, 1}},                 // γ=0.5: 1.75
		ep{rew: []float32{2, 3, 4}, term: []int{1}}, // 3.5, then 4
		ep{rew: []float32{0, 0, 10}},                // 2.5
	)
	b := handData(ep{rew: []float32{-1}}, ep{rew: []float32{5, 5}})
	got, err := offline.KeepTop([]*dataset.Data{a, b}, 0.5, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range [][]int{{3, 4, 5}, {1, 2}} { // a: top 2 of 4 = returns 4 and 3.5; b: top 1 of 2
		v := got[k]
		if v.Len() != len(want) || v.Meta.Steps != len(want) {
			t.Fatalf("dataset %d: %d transitions, want %d", k, v.Len(), len(want))
		}
		src := []*dataset.Data{a, b}[k]
		for j, i := range want {
			if v.Actions[j] != float32(i) || v.Rewards[j] != src.Rewards[i] || v.ObsRow[j] != src.ObsRow[i] ||
				v.Episode[j] != src.Episode[i] || v.Terminals[j] != src.Terminals[i] {
				t.Errorf("dataset %d row %d is transition %v, want %d", k, j, v.Actions[j], i)
			}
			if next := v.Obs[v.ObsRow[j]+1]; next != src.Obs[src.ObsRow[i]+1] {
				t.Errorf("dataset %d row %d: next observation %v", k, j, next)
			}
		}
	}
	// frac 1 is plain training: the datasets themselves.
	all, err := offline.KeepTop([]*dataset.Data{a, b}, 1, 0.99)
	if err != nil || all[0] != a || all[1] != b {
		t.Fatalf("frac 1: %v, %v", all, err)
	}
	for _, tc := range []struct {
		frac, gamma float64
		want        string
	}{
		{0, 0.99, "top_fraction = 0, want in (0, 1]"},
		{1.5, 0.99, "top_fraction = 1.5, want in (0, 1]"},
		{-0.1, 0.99, "top_fraction = -0.1"},
		{math.NaN(), 0.99, "top_fraction = NaN"},
		{0.1, 1.01, "filter_discount = 1.01, want in [0, 1]"},
		{0.1, -1, "filter_discount = -1"},
	} {
		_, err := offline.KeepTop([]*dataset.Data{a}, tc.frac, tc.gamma)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("KeepTop(%v, %v): error %v, want %q", tc.frac, tc.gamma, err, tc.want)
		}
	}
}

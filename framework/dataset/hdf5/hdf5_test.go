//go:build hdf5

package hdf5

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/dataset/npz"
)

func d4rl() []*npz.Array {
	return []*npz.Array{
		{Name: "observations", Shape: []int{5, 2}, Float: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{Name: "next_observations", Shape: []int{5, 2}, Float: []float64{2, 3, 4, 5, 40, 50, 8, 9, 80, 90}},
		{Name: "actions", Shape: []int{5, 1}, Float: []float64{0.5, -0.5, 0.25, 0, 1}},
		{Name: "rewards", Shape: []int{5}, Float: []float64{0, 0, 1, 0, 2}},
		{Name: "terminals", Shape: []int{5}, Bool: []bool{false, false, true, false, false}},
		{Name: "timeouts", Shape: []int{5}, Bool: []bool{false, false, false, false, true}},
		{Name: "infos/goal", Shape: []int{5, 1}, Float: []float64{7, 7, 7, 8, 8}},
		{Name: "infos/qpos", Shape: []int{5, 3}, Int: make([]int64, 15)},
	}
}

// TestImportD4RL: an HDF5 file in D4RL's layout, gzip-compressed in chunks,
// imports as the same arrays do from a .npz.
func TestImportD4RL(t *testing.T) {
	dir := t.TempDir()
	h5, fromH5, fromNpz := filepath.Join(dir, "d4rl.hdf5"), filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := Write(h5, d4rl()); err != nil {
		t.Fatal(err)
	}
	rep, err := Import(h5, fromH5, npz.Options{From: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Ignored, []string{"infos/qpos"}) || rep.Meta.Episodes != 2 || rep.Meta.GoalDim != 1 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := npz.ImportArrays(d4rl(), fromNpz, npz.Options{From: "x"}); err != nil {
		t.Fatal(err)
	}
	a, _ := dataset.Digest(fromH5)
	b, _ := dataset.Digest(fromNpz)
	if a != b {
		t.Fatal("the HDF5 import differs from the .npz import of the same arrays")
	}
	d, err := dataset.Load(fromH5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{0, 1, 2, 3, 4, 5, 40, 50, 6, 7, 8, 9, 80, 90}; !reflect.DeepEqual(d.Obs, want) {
		t.Fatalf("obs = %v, want %v", d.Obs, want)
	}
	if want := []float32{7, 8}; !reflect.DeepEqual(d.GoalVectors, want) {
		t.Fatalf("goal vectors = %v, want %v", d.GoalVectors, want)
	}
}

// TestImportMinari: one group per episode, T+1 observations each, a dict
// observation with a desired goal, and an episode without a final flag.
func TestImportMinari(t *testing.T) {
	dir := t.TempDir()
	h5 := filepath.Join(dir, "main_data.hdf5")
	var arrays []*npz.Array
	for k, ep := range []struct {
		t          int
		terminated bool
	}{{3, true}, {2, false}} {
		p := "episode_" + string(rune('0'+k)) + "/"
		obs := make([]float64, 2*(ep.t+1))
		for i := range obs {
			obs[i] = float64(10*k + i)
		}
		term := make([]bool, ep.t)
		term[ep.t-1] = ep.terminated
		arrays = append(arrays,
			&npz.Array{Name: p + "observations/observation", Shape: []int{ep.t + 1, 2}, Float: obs},
			&npz.Array{Name: p + "observations/desired_goal", Shape: []int{ep.t + 1}, Float: make([]float64, ep.t+1)},
			&npz.Array{Name: p + "actions", Shape: []int{ep.t}, Int: make([]int64, ep.t)},
			&npz.Array{Name: p + "rewards", Shape: []int{ep.t}, Float: make([]float64, ep.t)},
			&npz.Array{Name: p + "terminations", Shape: []int{ep.t}, Bool: term},
			&npz.Array{Name: p + "truncations", Shape: []int{ep.t}, Bool: make([]bool, ep.t)},
		)
	}
	if err := Write(h5, arrays); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ds")
	rep, err := Import(h5, out, npz.Options{Actions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Meta.Episodes != 2 || rep.Meta.Steps != 5 || rep.Meta.GoalDim != 1 || rep.Meta.ActionSpace.N != 4 || rep.Cut.Dropped != 0 {
		t.Fatalf("report %+v", rep)
	}
	d, err := dataset.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	// Every episode keeps all of its T+1 observations.
	if want := []float32{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15}; !reflect.DeepEqual(d.Obs, want) {
		t.Fatalf("obs = %v, want %v", d.Obs, want)
	}
	if want := []float32{0, 0, 1, 0, 0}; !reflect.DeepEqual(d.Terminals, want) {
		t.Fatalf("terminals = %v", d.Terminals)
	}
	if want := []float32{0, 0, 0, 0, 1}; !reflect.DeepEqual(d.Timeouts, want) {
		t.Fatalf("timeouts = %v: the unflagged last episode is truncated at its end", d.Timeouts)
	}
}

func TestImportRejects(t *testing.T) {
	dir := t.TempDir()
	notH5 := filepath.Join(dir, "x.hdf5")
	os.WriteFile(notH5, []byte("PK\x03\x04 not hdf5"), 0o644)
	short := filepath.Join(dir, "short.hdf5")
	a := d4rl()
	a[2] = &npz.Array{Name: "actions", Shape: []int{4}, Float: make([]float64, 4)}
	if err := Write(short, a); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{notH5, "not an HDF5 file"},
		{short, "actions: shape [4], want [5, 1]"},
		{filepath.Join(dir, "missing.hdf5"), "no such file"},
	} {
		_, err := Import(tc.path, filepath.Join(dir, "out"), npz.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// TestH5py reads files h5py 3.7 wrote (testdata/make.py): D4RL's layout
// gzip-compressed with h5py's boolean enums, and Minari's episode groups with
// a dict observation.
func TestH5py(t *testing.T) {
	for _, tc := range []struct {
		file                string
		opt                 npz.Options
		obs, goals, rewards []float32
		actions             []float32
		terminals, timeouts []float32
		ignored             []string
	}{
		{
			file: "testdata/d4rl-h5py.hdf5",
			// Rows 0..6 of obs are (3i, 3i+1, 3i+2)/4; no next_observations.
			obs:       []float32{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 4.25, 4.5, 4.75, 5},
			goals:     []float32{1, 2, 3, 4, 3, 4},
			rewards:   []float32{0, 0, 1, 0, 0.5},
			actions:   []float32{0.5, -0.5, 0.25, 0, -1},
			terminals: []float32{0, 0, 1, 0, 0},
			timeouts:  []float32{0, 0, 0, 1, 1},
			ignored:   []string{"infos/qpos", "metadata/algorithm"},
		},
		{
			file:      "testdata/minari-h5py.hdf5",
			opt:       npz.Options{Actions: 4},
			obs:       []float32{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15},
			goals:     []float32{0, 1},
			rewards:   []float32{1, 1, 1, 1, 1},
			actions:   []float32{0, 1, 2, 0, 1},
			terminals: []float32{0, 0, 1, 0, 0},
			timeouts:  []float32{0, 0, 0, 0, 1},
		},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ds")
			rep, err := Import(tc.file, out, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Ignored, tc.ignored) {
				t.Errorf("ignored %v, want %v", rep.Ignored, tc.ignored)
			}
			d, err := dataset.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"obs", d.Obs, tc.obs}, {"goal vectors", d.GoalVectors, tc.goals}, {"rewards", d.Rewards, tc.rewards},
				{"actions", d.Actions, tc.actions}, {"terminals", d.Terminals, tc.terminals}, {"timeouts", d.Timeouts, tc.timeouts}} {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

package npz

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
)

func readAll(t *testing.T, dir string) []*dataset.Episode {
	t.Helper()
	r, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*dataset.Episode
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, e)
	}
	return out
}

// TestImportD4RL reads a file numpy wrote (testdata/d4rl.npz, by testdata/make.py):
// float64 observations without next_observations, int64 actions, bool
// flags, unicode goal texts and an array kalm does not read.
func TestImportD4RL(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	rep, err := Import("testdata/d4rl.npz", out, Options{Env: "clevr"})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Meta
	if m.Env != "clevr" || m.ObsDim != 3 || !reflect.DeepEqual(m.ActionSpace, dataset.DiscreteSpace(4)) || m.Episodes != 3 || m.Steps != 5 {
		t.Fatalf("meta = %+v", m)
	}
	if want := (dataset.Cut{Episodes: 3, Repeated: 1, Dropped: 2}); rep.Cut != want {
		t.Fatalf("cut = %+v, want %+v", rep.Cut, want)
	}
	if !reflect.DeepEqual(rep.Ignored, []string{"infos/qpos"}) {
		t.Fatalf("ignored = %v", rep.Ignored)
	}
	eps := readAll(t, out)
	// observations[i] = (3i, 3i+1, 3i+2)/4.
	row := func(i int) []float32 { return []float32{float32(3*i) / 4, float32(3*i+1) / 4, float32(3*i+2) / 4} }
	cat := func(rows ...int) []float32 {
		var v []float32
		for _, r := range rows {
			v = append(v, row(r)...)
		}
		return v
	}
	for i, want := range []struct {
		obs       []float32
		actions   []float32
		rewards   []float32
		terminals []bool
		timeouts  []bool
		text      string
		success   bool
	}{
		{cat(0, 1, 2, 2), []float32{0, 1, 2}, []float32{0, 0, 1}, []bool{false, false, true}, []bool{false, false, false}, "push the red ball", true},
		{cat(3, 4), []float32{3}, []float32{0}, []bool{false}, []bool{true}, "größer", false},
		{cat(5, 6), []float32{1}, []float32{0.5}, []bool{false}, []bool{true}, "x", false},
	} {
		e := eps[i]
		if !reflect.DeepEqual(e.Observations, want.obs) || !reflect.DeepEqual(e.Actions, want.actions) ||
			!reflect.DeepEqual(e.Rewards, want.rewards) || !reflect.DeepEqual(e.Terminals, want.terminals) ||
			!reflect.DeepEqual(e.Timeouts, want.timeouts) || e.Goal.Text != want.text || e.Success != want.success || e.Goal.Level != "train" {
			t.Errorf("episode %d = %+v\nwant %+v", i, e, want)
		}
	}
}

// TestLayouts reads the other layouts numpy writes (testdata/layouts.npz):
// Fortran order, big-endian float32 and int32, float16, uint8 flags, stored
// rather than deflated.
func TestLayouts(t *testing.T) {
	arrays, err := Read("testdata/layouts.npz")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Array{}
	for _, a := range arrays {
		got[a.Name] = a
	}
	obs, _ := got["observations"].Float32s()
	for i, x := range obs {
		if x != float32(i)/4 {
			t.Fatalf("observations[%d] = %g, want %g (Fortran order, big-endian)", i, x, float32(i)/4)
		}
	}
	if a := got["actions"]; !reflect.DeepEqual(a.Shape, []int{7, 2}) || a.Float[0] != 0.5 || a.Float[1] != -0.5 {
		t.Fatalf("float16 actions = %v %v", a.Shape, a.Float)
	}
	if a := got["rewards"]; a.Int[6] != 6 || a.Descr != ">i4" {
		t.Fatalf("big-endian rewards = %v %s", a.Int, a.Descr)
	}
	out := filepath.Join(t.TempDir(), "ds")
	rep, err := ImportArrays(arrays, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Meta.ActionSpace; s.Kind != dataset.Continuous || s.Dim != 2 || s.Low[0] != -1 || s.High[1] != 1 {
		t.Fatalf("space = %+v, want the box [-1, 1]²", s)
	}
	if rep.Meta.Episodes != 1 || rep.Meta.Steps != 7 || rep.Cut.Repeated != 1 {
		t.Fatalf("meta %+v, cut %+v: want one terminal episode of 7 steps", rep.Meta, rep.Cut)
	}
}

// TestRoundTrip: import → export → import gives the same dataset, byte for
// byte, and exporting that again gives the same file.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if _, err := Import("testdata/d4rl.npz", a, Options{Env: "clevr", Level: "rephrase"}); err != nil {
		t.Fatal(err)
	}
	x, y := filepath.Join(dir, "x.npz"), filepath.Join(dir, "y.npz")
	if err := Export(a, x); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(x, b, Options{Env: "other", Level: "ignored"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"meta.json", "episodes.jsonl", "lengths.i32", "obs.f32", "actions.f32", "rewards.f32", "terminals.u8", "timeouts.u8", "goal_vectors.f32"} {
		da, _ := os.ReadFile(filepath.Join(a, name))
		db, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs after import → export → import:\n%s\n%s", name, da, db)
		}
	}
	if err := Export(b, y); err != nil {
		t.Fatal(err)
	}
	bx, _ := os.ReadFile(x)
	by, _ := os.ReadFile(y)
	if !bytes.Equal(bx, by) {
		t.Error("the second export differs from the first")
	}
}

// TestNumpyReadsExport checks that numpy loads what Export writes.
func TestNumpyReadsExport(t *testing.T) {
	py := ""
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import numpy").Run() == nil {
			py = path
			break
		}
	}
	if py == "" {
		t.Skip("python3 with numpy not found")
	}
	dir := t.TempDir()
	ds, x := filepath.Join(dir, "ds"), filepath.Join(dir, "x.npz")
	if _, err := Import("testdata/d4rl.npz", ds, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Export(ds, x); err != nil {
		t.Fatal(err)
	}
	script := `import sys, json, numpy as np
d = np.load(sys.argv[1])
print(d["observations"].shape, d["actions"].dtype, d["terminals"].dtype, d["goal_texts"][3], json.loads(str(d["kalm_meta"]))["obs_dim"], len(d["kalm_episodes"]))`
	out, err := exec.Command(py, "-c", script, x).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "(5, 3) int64 bool größer 3 3"; got != want {
		t.Fatalf("numpy read %q, want %q", got, want)
	}
}

func TestImportRejects(t *testing.T) {
	f := func(name string, shape []int, v ...float64) *Array { return &Array{Name: name, Shape: shape, Float: v} }
	good := func() []*Array {
		return []*Array{
			f("observations", []int{2, 2}, 0, 1, 2, 3),
			f("actions", []int{2}, 0.5, -0.5),
			f("rewards", []int{2}, 0, 1),
			f("terminals", []int{2}, 0, 1),
		}
	}
	for _, tc := range []struct {
		name   string
		change func([]*Array) []*Array
		want   string
	}{
		{"no rewards", func(a []*Array) []*Array { return append(a[:2], a[3]) }, `no array "rewards" (have: actions, observations, terminals)`},
		{"NaN", func(a []*Array) []*Array { a[0].Float[3] = nan(); return a }, "observations: row 1, column 1 is NaN"},
		{"short actions", func(a []*Array) []*Array { a[1] = f("actions", []int{1}, 0); return a }, "actions: shape [1], want [2, 1]"},
		{"flag 2", func(a []*Array) []*Array { a[3].Float[0] = 2; return a }, "terminals: element 0 = 2, want 0 or 1"},
		{"string observations", func(a []*Array) []*Array {
			a[0] = &Array{Name: "observations", Descr: "<U1", Shape: []int{2}, String: []string{"a", "b"}}
			return a
		}, "observations: dtype <U1 holds strings, want numbers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImportArrays(tc.change(good()), filepath.Join(t.TempDir(), "ds"), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func nan() float64 { return math.NaN() }

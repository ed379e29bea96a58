package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/dataset/hdf5"
	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// TestDatasetCommands runs kalm dataset import, export and inspect on the
// .npz file numpy wrote (framework/dataset/npz/testdata), and import on an
// HDF5 file where this build reads HDF5.
func TestDatasetCommands(t *testing.T) {
	dir := t.TempDir()
	d4rl := filepath.Join("..", "..", "framework", "dataset", "npz", "testdata", "d4rl.npz")
	a, b, x := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "x.npz")
	bad := filepath.Join(dir, "bad")
	h5 := filepath.Join(dir, "d.hdf5")
	h5want, h5code := []string{"imported 1 episodes (2 steps)"}, 0
	if err := hdf5.Write(h5, []*npz.Array{
		{Name: "observations", Shape: []int{2, 1}, Float: []float64{0, 1}},
		{Name: "actions", Shape: []int{2}, Int: []int64{0, 1}},
		{Name: "rewards", Shape: []int{2}, Float: []float64{0, 1}},
		{Name: "terminals", Shape: []int{2}, Bool: []bool{false, true}},
	}); err != nil {
		h5want, h5code = []string{"built without HDF5 support"}, 1
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"import npz", []string{"dataset", "import", d4rl, a, "-env", "clevr", "-level", "rephrase"}, 0,
			[]string{"imported 3 episodes (5 steps)", "discrete, 4 actions", "terminal episodes repeating their last observation: 1", "steps dropped for want of a next observation: 2", "not read: infos/qpos"}},
		{"export", []string{"dataset", "export", a, x}, 0, []string{"exported"}},
		{"import export", []string{"dataset", "import", x, b}, 0, []string{"imported 3 episodes (5 steps)"}},
		{"inspect", []string{"dataset", "inspect", b}, 0, []string{"rephrase 3", "NaN / Inf", "none"}},
		{"export to npy", []string{"dataset", "export", a, filepath.Join(dir, "x.npy")}, 1, []string{`export writes .npz files, not ".npy"`}},
		{"unknown extension", []string{"dataset", "import", filepath.Join(dir, "data.csv"), filepath.Join(dir, "c")}, 1, []string{`extension ".csv" names no format`}},
		{"unknown command", []string{"dataset", "convert"}, 1, []string{`unknown dataset command "convert"`}},
		{"hdf5", []string{"dataset", "import", h5, filepath.Join(dir, "h")}, h5code, h5want},
		{"inspect NaN", []string{"dataset", "inspect", bad}, 1, []string{"obs.f32: 1 NaN, 0 Inf (first at row 2)", "holds values training refuses"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "inspect NaN" {
				nanCopy(t, a, bad)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			all := out.String() + errOut.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
	da, _ := dataset.Digest(a)
	db, _ := dataset.Digest(b)
	if da != db {
		t.Error("import → export → import changed the dataset")
	}
}

// nanCopy copies the dataset at src to dst with a NaN in observation row 2.
func nanCopy(t *testing.T, src, dst string) {
	t.Helper()
	if _, err := dataset.Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "obs.f32")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[4*3*2:], []byte{0, 0, 0xc0, 0x7f}) // row 2, column 0 (obs_dim 3): a quiet NaN
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

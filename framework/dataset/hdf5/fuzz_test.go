//go:build hdf5

package hdf5

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// FuzzImport feeds arbitrary bytes to Import as an HDF5 file: it must
// return an error or a dataset, never panic or allocate beyond what the file
// can hold. The seeds are files in D4RL's and Minari's layouts, as h5py and
// as Write write them.
func FuzzImport(f *testing.F) {
	for _, p := range []string{"testdata/d4rl-h5py.hdf5", "testdata/minari-h5py.hdf5"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	for i, arrays := range [][]*npz.Array{d4rl(), {
		{Name: "episode_0/observations", Shape: []int{3, 1}, Float: []float64{1, 2, 3}},
		{Name: "episode_0/actions", Shape: []int{2}, Int: []int64{0, 1}},
		{Name: "episode_0/rewards", Shape: []int{2}, Float: []float64{0, 1}},
		{Name: "episode_0/terminations", Shape: []int{2}, Bool: []bool{false, true}},
	}} {
		p := filepath.Join(dir, string(rune('a'+i))+".hdf5")
		if err := Write(p, arrays); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "in.hdf5")
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		Import(p, filepath.Join(dir, "ds"), npz.Options{})
	})
}

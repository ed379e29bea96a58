package npz

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary bytes to Import as a .npz file: it must return
// an error or a dataset, never panic or allocate beyond what the file can
// hold. The seeds are numpy's own files and an export.
func FuzzImport(f *testing.F) {
	for _, p := range []string{"testdata/d4rl.npz", "testdata/layouts.npz"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	if _, err := Import("testdata/d4rl.npz", filepath.Join(dir, "ds"), Options{}); err != nil {
		f.Fatal(err)
	}
	if err := Export(filepath.Join(dir, "ds"), filepath.Join(dir, "x.npz")); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "x.npz"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "in.npz")
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Import(p, filepath.Join(dir, "ds"), Options{}); err == nil {
			if err := Export(filepath.Join(dir, "ds"), filepath.Join(dir, "out.npz")); err != nil {
				t.Fatalf("an imported dataset does not export: %v", err)
			}
		}
	})
}

// FuzzNpy feeds arbitrary bytes to ReadNpy, the .npy parser under Import.
func FuzzNpy(f *testing.F) {
	for _, a := range []*Array{
		{Name: "f", Shape: []int{2, 3}, Float: []float64{1, 2, 3, 4, 5, 6}},
		{Name: "s", Shape: []int{2}, String: []string{"größer", "x"}},
		{Name: "b", Shape: []int{}, Bool: []bool{true}},
	} {
		var buf bytes.Buffer
		if err := WriteNpy(&buf, a); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("\x93NUMPY\x01\x00v\x00{'descr': '>i2', 'fortran_order': True, 'shape': (2, 2), }                                                           \n\x00\x01\x00\x02\x00\x03\x00\x04"))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadNpy(bytes.NewReader(in), "x", int64(len(in)))
		if err == nil && a.Len() > len(in) {
			t.Fatalf("%d elements from %d bytes", a.Len(), len(in))
		}
	})
}

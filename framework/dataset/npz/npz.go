package npz

import (
	"archive/zip"
	"fmt"

	"os"
	"path/filepath"
	"strings"
)

// Read reads every array of the .npz file at path (a zip of .npy files,
// stored or deflated, as np.savez and np.savez_compressed write them), in
// the archive's order, named without the .npy suffix.
func Read(path string) ([]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%s: not a .npz (zip) file: %w", path, err)
	}
	defer zr.Close()
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	// Deflate expands at most 1032:1: no entry can honestly hold more.
	limit := max(st.Size(), 1<<10) * 1032
	var out []*Array
	seen := map[string]bool{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		if seen[name] {
			return nil, fmt.Errorf("%s: array %q appears twice", path, name)
		}
		seen[name] = true
		a, err := readEntry(f, name, limit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func readEntry(f *zip.File, name string, limit int64) (*Array, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rc.Close()
	a, err := ReadNpy(rc, name, limit)
	if err != nil {
		return nil, err
	}
	var one [1]byte
	if n, _ := rc.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("%s: bytes follow the %v elements its header declares", name, a.Shape)
	}
	return a, nil
}

// Write writes arrays to a new .npz file at path, stored uncompressed as
// np.savez does (deflating a million-step dataset takes longer than writing
// it). It writes a temporary sibling and renames it into place.
func Write(path string, arrays []*Array) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	for _, a := range arrays {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
		if err != nil {
			tmp.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := WriteNpy(w, a); err != nil {
			tmp.Close()
			return fmt.Errorf("%s: %s: %w", path, a.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

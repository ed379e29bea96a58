//go:build !hdf5

package hdf5

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// TestUnsupported: a build without the hdf5 tag says how to get HDF5 support.
func TestUnsupported(t *testing.T) {
	if Available {
		t.Fatal("Available without the hdf5 tag")
	}
	_, err := Import("testdata/d4rl-h5py.hdf5", filepath.Join(t.TempDir(), "ds"), npz.Options{})
	if !errors.Is(err, ErrUnsupported) || err.Error() != "testdata/d4rl-h5py.hdf5: "+ErrUnsupported.Error() {
		t.Fatalf("err = %v", err)
	}
}

//go:build !hdf5

package hdf5

import (
	"fmt"

	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// Available reports whether this build reads HDF5.
const Available = false

// Read reads the arrays of an HDF5 file.
func Read(path string) ([]*npz.Array, error) {
	return nil, fmt.Errorf("%s: %w", path, ErrUnsupported)
}

// Import converts the HDF5 file at path into a dataset at outDir.
func Import(path, outDir string, opt npz.Options) (npz.Report, error) {
	return npz.Report{}, fmt.Errorf("%s: %w", path, ErrUnsupported)
}

// Write writes arrays to a new HDF5 file at path.
func Write(path string, arrays []*npz.Array) error {
	return fmt.Errorf("%s: %w", path, ErrUnsupported)
}

package hdf5

import "errors"

// ErrUnsupported is returned by Read, Import and Write in a build without
// the hdf5 tag.
var ErrUnsupported = errors.New("this kalm was built without HDF5 support: install libhdf5-dev and rebuild with `make` (or go build -tags hdf5)")

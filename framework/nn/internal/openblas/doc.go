// Package openblas links the binary against the system OpenBLAS when built
// with `-tags openblas` (gonum/netlib declares no linker flags of its own).
// It is a separate package because package nn holds Go assembly, which a cgo
// package may not.
package openblas

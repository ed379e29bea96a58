package registry

import "golang.org/x/sys/cpu"

// hasAVX512 reports whether OpenBLAS may be told to use its AVX-512 kernels.
func hasAVX512() bool { return cpu.X86.HasAVX512F }

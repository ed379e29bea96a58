package registry

import "golang.org/x/sys/cpu"

// coreType is the OpenBLAS kernel family plugin processes should use:
// SkylakeX (AVX-512) or Haswell (AVX2), or "" to let OpenBLAS choose.
func coreType() string {
	switch {
	case cpu.X86.HasAVX512F:
		return "SkylakeX"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return "Haswell"
	}
	return ""
}

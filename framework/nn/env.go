package nn

import "golang.org/x/sys/cpu"

// PluginEnv returns the environment variables a host should set for an
// algorithm plugin process: one BLAS thread (plugins run one per core; two
// thread pools spinning on a 2-core machine halve throughput), and an
// OPENBLAS_CORETYPE matching the CPU's vector units: SkylakeX with AVX-512,
// Haswell with AVX2+FMA. OpenBLAS 0.3.21 (Debian 12) does not recognise
// recent CPUs: on an AVX-512 Zen 5 it picks its AVX2 kernels (1.5–2.4× slower
// SGEMM), and on an Emerald Rapids Xeon it falls back to SSE3 "Prescott"
// kernels (about 4× slower). Variables already set by the user should win.
func PluginEnv() []string {
	env := []string{"OPENBLAS_NUM_THREADS=1"}
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL:
		env = append(env, "OPENBLAS_CORETYPE=SkylakeX")
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		env = append(env, "OPENBLAS_CORETYPE=Haswell")
	}
	return env
}

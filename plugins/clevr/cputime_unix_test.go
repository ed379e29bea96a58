//go:build unix

package clevr

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used: benchmarks report throughput per CPU second
// as well as per wall second, because the machine is shared and wall time includes waiting.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

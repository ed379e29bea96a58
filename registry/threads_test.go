package registry

import (
	"fmt"
	"testing"
)

// TestLaunchThreads checks that WithThreads replaces Config.Threads in the
// launched plugin's environment, and that 0 keeps it.
func TestLaunchThreads(t *testing.T) {
	r := New(Config{Threads: 1})
	for _, tc := range []struct{ opt, want int }{{0, 1}, {2, 2}, {7, 7}} {
		env := r.pluginEnv(r.launchOptions([]LaunchOption{WithThreads(tc.opt)}).threads)
		for _, k := range []string{"GOMAXPROCS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"} {
			if kv := fmt.Sprintf("%s=%d", k, tc.want); !contains(env, kv) {
				t.Errorf("WithThreads(%d): plugin env lacks %s: %v", tc.opt, kv, env)
			}
		}
	}
}

package envtest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// plugins are the envs the test binary serves as plugin subprocesses.
var plugins = map[string]func() env.Env{
	"line":                 func() env.Env { return &line{} },
	"line-bare":            func() env.Env { return bare{&line{name: "line-bare"}} },
	"line-batch-reversed":  func() env.Env { return &line{name: "line-batch-reversed", bugs: bugs{batchReversed: true}} },
	"line-batch-unindexed": func() env.Env { return &line{name: "line-batch-unindexed", bugs: bugs{batchUnindexed: true}} },
}

// The test binary doubles as the plugin binary: run as `TEST plugin serve
// NAME` it serves one of plugins.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		newEnv, ok := plugins[os.Args[3]]
		if !ok {
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		env.Serve(newEnv(), env.WithArgs(os.Args[4:]), env.WithVersion("test"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runSubprocess runs the suite over the plugin name in a real subprocess.
func runSubprocess(t *testing.T, rec tester, name string) {
	t.Helper()
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	reg := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: names, StartTimeout: 20 * time.Second})
	t.Cleanup(func() { reg.Close() })
	Suite{New: Once(func() (env.Env, error) {
		in, err := reg.Launch(t.Context(), name, plugin.Env)
		if err != nil {
			return nil, err
		}
		return in.Env()
	})}.run(rec)
}

// TestSubprocess runs the suite over the line served by a plugin
// subprocess, with its own JudgeBatch and without (the server then calls
// Judge per rollout): both pass. A plugin whose JudgeBatch is broken fails
// the check meant to catch it across the process boundary too.
func TestSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin subprocesses")
	}
	for _, tt := range []struct {
		name string
		fail string // the check that must fail; "" for none
	}{
		{"line", ""},
		{"line-bare", ""},
		{"line-batch-reversed", "JudgeBatch/Mixed"},
		{"line-batch-unindexed", "JudgeBatch/Malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec, rep := newRecorder(t)
			runSubprocess(t, rec, tt.name)
			switch {
			case tt.fail == "" && rec.Failed():
				t.Errorf("a correct plugin failed: %v", rep.Failures())
			case tt.fail != "" && !rep.Failed(tt.fail):
				t.Errorf("check %s passed a broken plugin; failures: %v", tt.fail, keys(rep.Failures()))
			}
		})
	}
}

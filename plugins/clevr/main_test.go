package clevr

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// The test binary doubles as the plugin binary: run as `TEST plugin serve clevr` it serves
// the environment exactly as `kalm plugin serve clevr` does.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if os.Args[3] != EnvName {
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		e, err := New(DefaultConfig())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		env.Serve(e, env.WithArgs(os.Args[4:]), env.WithVersion("test"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestConformanceSubprocess runs the env conformance suite against the plugin in a real
// subprocess, through the registry and gRPC (including Collect inside the plugin).
func TestConformanceSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin subprocess")
	}
	reg := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: []string{EnvName}, StartTimeout: 20 * time.Second})
	defer reg.Close()
	envtest.Run(t, envtest.Once(func() (env.Env, error) {
		in, err := reg.Launch(t.Context(), EnvName, plugin.Env)
		if err != nil {
			return nil, err
		}
		return in.Env()
	}))
}

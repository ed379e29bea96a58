package gridgoal_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/plugins/contrib/gridgoal"
	"github.com/kalm-go/kalm/registry"
)

// TestPlugin builds the plugin binary, finds it on a plugin directory as
// kalm does, launches it as a subprocess and runs the conformance suite
// against it across the process boundary.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	ctx := context.Background()
	reg, in := launch(t)

	p, err := reg.Find(ctx, "gridgoal")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != plugin.Env || p.ProtocolVersion != plugin.ProtocolVersion || p.Builtin {
		t.Errorf("describe: %+v, want an external env plugin of protocol %d", p.Description, plugin.ProtocolVersion)
	}
	for _, c := range []string{"action:discrete", "level:train", "level:unseen", "policy:expert", "configure"} {
		if !slices.Contains(p.Capabilities, c) {
			t.Errorf("capabilities %v lack %q", p.Capabilities, c)
		}
	}
	e, err := in.Env()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Configure", func(t *testing.T) {
		if _, err := e.Configure(ctx, env.ConfigureRequest{Config: map[string]string{"size": "9"}}); err == nil {
			t.Errorf("Configure with an unknown key returned no error")
		}
		if _, err := e.Configure(ctx, env.ConfigureRequest{Config: map[string]string{"horizon": "30"}}); err != nil {
			t.Fatal(err)
		}
		sp, err := e.Spec(ctx, env.SpecRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if sp.Horizon != 30 {
			t.Errorf("horizon %d after configuring 30", sp.Horizon)
		}
	})
	t.Run("Conformance", func(t *testing.T) {
		envtest.Run(t, func(testing.TB) env.Env { return e })
	})
	t.Run("Cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := e.Collect(ctx, env.CollectRequest{Episodes: 1000, Policy: "expert", Out: filepath.Join(t.TempDir(), "ds")}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("collect with a cancelled context: %v, want context.Canceled", err)
		}
	})
	if in.Exited() {
		t.Errorf("plugin exited during the test; logs: %v", in.Logs())
	}
}

// launch builds the plugin binary into a fresh plugin directory and
// launches it through kalm's registry, as `kalm --plugin-dir DIR` would.
func launch(tb testing.TB) (*registry.Registry, *registry.Instance) {
	tb.Helper()
	dir := tb.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kalm-plugin-gridgoal"), "./cmd/kalm-plugin-gridgoal")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	reg := registry.New(registry.Config{Dirs: []string{dir}})
	in, err := reg.Launch(context.Background(), "gridgoal", plugin.Env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { in.Close() })
	return reg, in
}

// BenchmarkStep measures one batched Step in-process and through the
// plugin subprocess; the difference is the cost of the plugin boundary.
func BenchmarkStep(b *testing.B) {
	_, in := launch(b)
	remote, err := in.Env()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 64, 1024} {
		for _, c := range []struct {
			name string
			e    env.Env
		}{{"inprocess", gridgoal.New()}, {"plugin", remote}} {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, n), func(b *testing.B) {
				ctx := context.Background()
				if _, err := c.e.(env.Configurer).Configure(ctx, env.ConfigureRequest{Config: map[string]string{"horizon": "1000"}}); err != nil {
					b.Fatal(err)
				}
				gr, err := c.e.Goals(ctx, env.GoalsRequest{Level: "train", N: n, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				gs := gr.Goals
				acts := make([]float32, n) // all "up": episodes hardly ever end
				reset := func() {
					if _, err := c.e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: gs}); err != nil {
						b.Fatal(err)
					}
				}
				reset()
				k := 0
				for b.Loop() {
					if k++; k%900 == 0 {
						reset()
					}
					if _, err := c.e.Step(ctx, env.StepRequest{Actions: acts}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

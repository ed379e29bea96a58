package gridgoal_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// TestPlugin builds the plugin binary, finds it on a plugin directory as
// kalm does, launches it as a subprocess and runs the conformance suite
// against it across the process boundary.
func TestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "kalm-plugin-gridgoal"), "./cmd/kalm-plugin-gridgoal")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	defer registry.Cleanup()
	reg := registry.New(registry.Config{Dirs: []string{dir}})
	ctx := context.Background()

	p, err := reg.Find(ctx, "gridgoal")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != plugin.Env || p.ProtocolVersion != plugin.ProtocolVersion || p.Builtin {
		t.Errorf("describe: %+v, want an external env plugin of protocol %d", p.Description, plugin.ProtocolVersion)
	}
	for _, c := range []string{"action:discrete", "level:train", "level:unseen", "policy:scripted", "configure"} {
		if !slices.Contains(p.Capabilities, c) {
			t.Errorf("capabilities %v lack %q", p.Capabilities, c)
		}
	}

	in, err := reg.Launch(ctx, "gridgoal", plugin.Env)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	e, err := in.Env()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Configure", func(t *testing.T) {
		if err := e.Configure(ctx, map[string]string{"size": "9"}); err == nil {
			t.Errorf("Configure with an unknown key returned no error")
		}
		if err := e.Configure(ctx, map[string]string{"horizon": "30"}); err != nil {
			t.Fatal(err)
		}
		sp, err := e.Spec(ctx)
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
		_, err := e.Collect(ctx, env.CollectRequest{Episodes: 1000, Policy: "scripted", Out: filepath.Join(t.TempDir(), "ds")}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("collect with a cancelled context: %v, want context.Canceled", err)
		}
	})
	if in.Exited() {
		t.Errorf("plugin exited during the test; logs: %v", in.Logs())
	}
}

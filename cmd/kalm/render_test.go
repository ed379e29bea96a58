package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
)

// blind is CLEVR-Robot under another name and without its Renderer: a
// third-party env that cannot draw. The test binary serves it when started
// as `TEST plugin serve blind` (TestMain).
type blind struct{ env.Env }

func (b blind) Spec(ctx context.Context, req env.SpecRequest) (*env.Spec, error) {
	s, err := b.Env.Spec(ctx, req)
	if err != nil {
		return nil, err
	}
	s.Name = "blind"
	return s, nil
}

// serveBlind serves blind when args (os.Args[1:]) ask for it.
func serveBlind(args []string) bool {
	if len(args) < 3 || args[0] != "plugin" || args[1] != "serve" || args[2] != "blind" {
		return false
	}
	env.Serve(blind{clevrEnv()}, env.WithArgs(args[3:]))
	return true
}

// TestRenderWithoutRenderer: `kalm render` of an env plugin that does not
// render (found on -plugin-dir, started as a real subprocess) exits 1 with
// an error naming the env, saying render is optional and how to list what
// the env can do, and writes no picture.
func TestRenderWithoutRenderer(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nexec '" + self + "' plugin serve blind \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "kalm-plugin-blind"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "s.png")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"render", "-plugin-dir", dir, "-env", "blind", "-o", out, "-gif", out + ".gif"}, &stdout, &stderr)
	t.Logf("exit %d: %s", code, strings.TrimSpace(stderr.String()))
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	for _, want := range []string{"kalm render: env blind does not render", "render is optional", "`kalm plugins blind` lists what it can do"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &stderr)
		}
	}
	for _, p := range []string{out, out + ".gif"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: want no file, stat gives %v", p, err)
		}
	}
}

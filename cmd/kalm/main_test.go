package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/algotest"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// The test binary doubles as the kalm binary: started by the registry as
// `TEST plugin serve NAME`, it serves that built-in plugin, so these tests
// exercise the same subprocess path `kalm run` takes.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func testRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	r := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: builtinNames()})
	t.Cleanup(r.Close)
	return r
}

func launch(t testing.TB, r *registry.Registry, name string, kind plugin.Kind) *registry.Instance {
	t.Helper()
	in, err := r.Launch(context.Background(), name, kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// TestBuiltinEnvsConform runs the env conformance suite over every built-in
// env through a real plugin subprocess.
func TestBuiltinEnvsConform(t *testing.T) {
	r := testRegistry(t)
	for name, b := range builtins() {
		if b.env == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			envtest.Run(t, func(tb testing.TB) env.Env {
				e, err := launch(tb, r, name, plugin.Env).Env()
				if err != nil {
					tb.Fatal(err)
				}
				return e
			})
		})
	}
}

// TestBuiltinAlgosConform runs the algo conformance suite over every
// built-in algorithm through a real plugin subprocess.
func TestBuiltinAlgosConform(t *testing.T) {
	r := testRegistry(t)
	for name, b := range builtins() {
		if b.algo == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			algotest.Run(t, func(tb testing.TB) algo.Algo {
				a, err := launch(tb, r, name, plugin.Algo).Algo()
				if err != nil {
					tb.Fatal(err)
				}
				return a
			})
		})
	}
}

func TestCommands(t *testing.T) {
	toy := filepath.Join("..", "..", "..", "shared", "data", "kalm-clevr-toy.json")
	if _, err := os.Stat(toy); err != nil {
		t.Skipf("the KALM toy data is not beside the checkout: %v", err)
	}
	ds := filepath.Join(t.TempDir(), "toy")
	work := t.TempDir()
	small := []string{"-workdir", work, "--set", "dataset.episodes=24", "--set", "train.steps=20", "--set", "train.checkpoint_every=10",
		"--set", "seeds=1", "--set", "eval.episodes=4"}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		out     []string // substrings of stdout
		errText []string // substrings of stderr
	}{
		{"help", []string{"help"}, 0, []string{"kalm plugins", "kalm dataset"}, nil},
		{"unknown", []string{"plugin-list"}, 2, nil, []string{`unknown command "plugin-list"`, "did you mean plugin"}},
		{"plugins", []string{"plugins"}, 0, []string{"clevr", "env", "bc", "algo", "(built in)", "level:unseen-hard"}, nil},
		{"algo schema", []string{"plugins", "cql"}, 0, []string{"cql: algo plugin", "hyper-parameters:", "target_update_interval", "8000", "lagrange", "false"}, nil},
		{"env details", []string{"plugins", "clevr"}, 0, []string{"clevr: env plugin", "level:unseen-hard"}, nil},
		{"unknown plugin", []string{"plugins", "nosuch"}, 1, nil, []string{"plugin nosuch is not installed"}},
		{"bad pin", []string{"plugins", "-pin", "clevr=abc"}, 1, nil, []string{`plugin pin "clevr=abc": want NAME=SHA256 with 64 hex digits`}},
		{"serve unknown", []string{"plugin", "serve", "nope"}, 1, nil, []string{`no built-in plugin "nope"`, "clevr"}},
		{"import", []string{"dataset", "import", toy, ds}, 0, []string{"imported 80 episodes (898 steps)"}, nil},
		{"import again", []string{"dataset", "import", toy, ds}, 1, nil, []string{"already exists"}},
		{"inspect", []string{"dataset", "inspect", ds}, 0, []string{"discrete, 40 actions", "898", "100.0%"}, nil},
		{"run list", []string{"run", "--list"}, 0, []string{"quick", "paper-clevr", "algo-sensitivity", "data-scaling", "real-vs-imagined"}, nil},
		{"validate", []string{"validate", "quick"}, 0, []string{"valid", "4 cells, 9 stages"}, nil},
		{"validate needs lm", []string{"validate", "paper-clevr"}, 1, nil, []string{"tinylm", "not"}},
		{"validate hyper", []string{"validate", "quick", "--set", "hyper.bc.learning_rat=0.1"}, 1, nil, []string{"learning_rat"}},
		{"validate bad", []string{"validate", "quick", "--set", "train.stpes=3"}, 1, nil, []string{"train.stpes", "did you mean"}},
		{"report before run", []string{"report", "-workdir", work}, 1, nil, []string{"no results database", "kalm run quick"}},
		{"run", append([]string{"run", "quick"}, small...), 0, []string{"5 stages: 5 ran", "cells: 2 done", "unseen-hard"}, nil},
		{"rerun", append([]string{"run", "quick"}, small...), 0, []string{"5 stages: 0 ran, 5 reused"}, nil},
		{"plan", append([]string{"plan", "quick"}, small...), 0, []string{"shared by 2 cells", "[done]"}, nil},
		{"ls", []string{"ls", "-workdir", work}, 0, []string{"quick", "shipped:quick.yaml"}, nil},
		{"report csv", []string{"report", "-workdir", work, "-format", "csv"}, 0, []string{"algo,level,metric,mean,std,ci_low,ci_high,seeds", "cql,unseen-hard,success"}, nil},
		{"plot", []string{"plot", "-workdir", work, "-o", filepath.Join(work, "plots")}, 0, []string{"quick-success.png", "quick-curve-loss.svg"}, nil},
		{"render", []string{"render", "-seed", "3", "-o", filepath.Join(work, "s.png"), "-gif", filepath.Join(work, "e.gif")}, 0, []string{"s.png: first state of", "e.gif: "}, nil},
		{"render dataset", []string{"render", "-dataset", ds, "-episode", "80", "-o", filepath.Join(work, "t.png")}, 1, nil, []string{"-episode 80, want 0..79"}},
		{"inspect missing", []string{"dataset", "inspect", "/nonexistent"}, 1, nil, []string{"/nonexistent: no meta.json: not a kalm dataset directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, &stdout, &stderr)
			}
			for _, s := range tc.out {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, &stdout)
				}
			}
			for _, s := range tc.errText {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, &stderr)
				}
			}
		})
	}
}

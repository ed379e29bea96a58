package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/algotest"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
	"github.com/kalm-go/kalm/results"
)

// The test binary doubles as the kalm binary: started by the registry as
// `TEST plugin serve NAME`, it serves that built-in plugin, so these tests
// exercise the same subprocess path `kalm run` takes.
func TestMain(m *testing.M) {
	if serveBlind(os.Args[1:]) { // an env without render, as a third-party plugin
		os.Exit(0)
	}
	if len(os.Args) >= 3 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// ... and, for the Slurm tests, the worker a job runs and a host to kill.
	if len(os.Args) >= 2 && (os.Args[1] == "stage" || os.Getenv("KALM_TEST_MAIN") != "") {
		main()
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
	// quick's offline-RL baseline chain, small (the LM chain has its own
	// tests: experiments/runner with a fake LM, plugins/tinylm).
	small := []string{"-workdir", work, "--set", "dataset.episodes=24", "--set", "train.steps=20", "--set", "train.checkpoint_every=10",
		"--set", "lm.plugin=", "--set", "grid.axes=[{key: algo, values: [bc, cql]}]", "--set", "seeds=1", "--set", "eval.episodes=4"}
	other := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string // $RUN is the first run's id, $KEY a train stage's key
		code    int
		out     []string // substrings of stdout
		errText []string // substrings of stderr
	}{
		{"help", []string{"help"}, 0, []string{"kalm plugins", "kalm dataset", "kalm artifacts"}, nil},
		{"no command", nil, 2, nil, []string{"Usage:", "kalm run"}},
		{"help run", []string{"help", "run"}, 0, []string{"Usage: kalm run [flags] FILE|NAME|RUN", "\n  -j int\n", "Example:\n  kalm run quick -j 2"}, nil},
		{"run -h", []string{"run", "-h"}, 0, []string{"Usage: kalm run [flags] FILE|NAME|RUN", "-retry-failed"}, nil},
		{"help artifacts", []string{"help", "artifacts"}, 0, []string{"Usage: kalm artifacts rm|gc", "kalm artifacts gc -n"}, nil},
		{"artifacts rm -h", []string{"artifacts", "rm", "-h"}, 0, []string{"Usage: kalm artifacts rm [flags] KEY...", "-workdir"}, nil},
		{"help version", []string{"help", "version"}, 0, []string{"Usage: kalm version", "Example:\n  kalm version"}, nil},
		{"help typo", []string{"help", "rnu"}, 2, nil, []string{"kalm help rnu: unknown command (did you mean run?)"}},
		{"--version", []string{"--version"}, 0, []string{"kalm "}, nil},
		{"version", []string{"version"}, 0, []string{"kalm "}, nil},
		{"bad flag", []string{"run", "quick", "-x"}, 2, nil, []string{"kalm run: flag provided but not defined: -x\nUsage: kalm run [flags] FILE|NAME|RUN\nRun 'kalm help run' for its flags and an example.\n"}},
		{"bad value", []string{"ls", "-v=maybe"}, 2, nil, []string{`invalid boolean value "maybe" for -v`, "kalm help ls"}},
		{"two experiments", []string{"validate", "quick", "paper-clevr"}, 2, nil, []string{"want one experiment file or shipped name", "kalm help validate"}},
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
		{"run list", []string{"run", "--list"}, 0, []string{"quick", "paper-clevr", "paper-tabletop", "algo-sensitivity", "data-scaling", "real-vs-imagined"}, nil},
		{"validate", []string{"validate", "quick"}, 0, []string{"valid", "8 cells, 22 stages"}, nil},
		{"validate with lm", []string{"validate", "paper-clevr"}, 0, []string{"valid"}, nil},
		{"validate algo-sensitivity", []string{"validate", "algo-sensitivity"}, 0, []string{"valid"}, nil},
		{"validate data-scaling", []string{"validate", "data-scaling"}, 0, []string{"valid"}, nil},
		{"validate real-vs-imagined", []string{"validate", "real-vs-imagined"}, 0, []string{"valid"}, nil},
		{"validate lm-compare", []string{"validate", "lm-compare"}, 0, []string{"valid"}, nil},
		{"validate lm setting", []string{"validate", "quick", "--set", "lm.config.state_hist=true"}, 1, nil, []string{`lm.config.state_hist: true is not a setting of lm tinylm; did you mean "state_history"?`}},
		{"validate lm setting type", []string{"validate", "quick", "--set", "lm.config.dim=wide"}, 1, nil, []string{`lm.config.dim: "wide" is not a whole number`}},
		{"validate needs lm", []string{"validate", "paper-clevr", "--set", "lm.plugin=nosuchlm"}, 1, nil, []string{"nosuchlm", "not"}},
		{"validate offline", []string{"validate", "-offline", "paper-clevr", "--set", "lm.plugin=nosuchlm"}, 0, []string{"shipped:paper-clevr.yaml: valid without its plugins", "cells"}, nil},
		{"validate offline bad", []string{"validate", "-offline", "quick", "--set", "train.steps=-1"}, 1, nil, []string{"train.steps: -1 is out of range"}},
		{"validate hyper", []string{"validate", "quick", "--set", "hyper.bc.learning_rat=0.1"}, 1, nil, []string{"learning_rat"}},
		{"validate bad", []string{"validate", "quick", "--set", "train.stpes=3"}, 1, nil, []string{"train.stpes", "did you mean"}},
		{"report before run", []string{"report", "-workdir", work}, 1, nil, []string{"no results database", "kalm run quick"}},
		{"run", append([]string{"run", "quick"}, small...), 0, []string{"5 stages: 5 ran", "cells: 2 done", "unseen-hard"}, nil},
		{"rerun", append([]string{"run", "quick"}, small...), 0, []string{"5 stages: 0 ran, 5 reused"}, nil},
		{"plan", append([]string{"plan", "quick"}, small...), 0, []string{"shared by 2 cells", "[done]"}, nil},
		{"ls", []string{"ls", "-workdir", work}, 0, []string{"quick", "shipped:quick.yaml", "--set dataset.episodes=24 --set train.steps=20"}, nil},
		{"run other seeds", append(append([]string{"run", "quick"}, small...), "--set", "seeds=2"), 0, []string{"cells: 4 done"}, nil},
		{"ls two runs", []string{"ls", "-workdir", work, "quick"}, 0, []string{"--set seeds=1 --set eval.episodes=4 --set seeds=2 |", "--set seeds=1 --set eval.episodes=4  "}, nil},
		{"report latest", []string{"report", "-workdir", work, "quick"}, 0, []string{"experiment quick, run ", "--set seeds=2):", "(the latest run of 2 named quick"}, nil},
		{"report by id", []string{"report", "-workdir", work, "$RUN"}, 0, []string{"experiment quick, run $RUN (", "(an earlier run of 2 named quick"}, nil},
		{"report no match", []string{"report", "-workdir", work, "-where", "algo=ppo"}, 0, []string{"no evaluations match -where algo=ppo (algo is one of bc, cql)"}, nil},
		{"plan a run", []string{"plan", "-workdir", work, "$RUN"}, 0, []string{"experiment quick ($RUN)", "[done]"}, nil},
		{"artifacts rm", []string{"artifacts", "rm", "-workdir", work, "$KEY"}, 0, []string{"removed artifacts/train/$KEY (artifact, ", "runs it again"}, nil},
		{"rerun a run by id", []string{"run", "-workdir", work, "$RUN"}, 0, []string{"5 stages: 1 ran, 4 reused"}, nil},
		{"artifacts gc", []string{"artifacts", "gc", "-n", "-workdir", work}, 0, []string{"would remove 0 directories, 0 B"}, nil},
		{"artifacts rm unknown", []string{"artifacts", "rm", "-workdir", work, "zzzz"}, 1, nil, []string{`no stage key is or starts with "zzzz"`}},
		{"shared database", append([]string{"run", "quick", "-db", filepath.Join(work, "results.db")}, append(small[2:], "-workdir", other)...), 1, nil, []string{"belongs to another work directory", "pass -workdir " + work}},
		{"report csv", []string{"report", "-workdir", work, "-format", "csv"}, 0, []string{"algo,level,metric,mean,std,ci_low,ci_high,seeds", "cql,unseen-hard,success"}, nil},
		{"plot", []string{"plot", "-workdir", work, "-o", filepath.Join(work, "plots"), "$RUN"}, 0, []string{"quick-$RUN8-success.png", "quick-$RUN8-curve-loss.svg"}, nil},
		{"render", []string{"render", "-seed", "3", "-o", filepath.Join(work, "s.png"), "-gif", filepath.Join(work, "e.gif")}, 0, []string{"s.png: first state of", "e.gif: "}, nil},
		{"render dataset", []string{"render", "-dataset", ds, "-episode", "80", "-o", filepath.Join(work, "t.png")}, 1, nil, []string{"-episode 80, want 0..79"}},
		{"inspect missing", []string{"dataset", "inspect", "/nonexistent"}, 1, nil, []string{"/nonexistent: no meta.json: not a kalm dataset directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := runID(t, work)
			sub := strings.NewReplacer("$RUN8", id[:min(8, len(id))], "$RUN", id, "$KEY", trainKey(t, work))
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = sub.Replace(a)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, &stdout, &stderr)
			}
			for _, s := range tc.out {
				if s = sub.Replace(s); !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, &stdout)
				}
			}
			for _, s := range tc.errText {
				if s = sub.Replace(s); !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, &stderr)
				}
			}
			// An error is reported once (package flag printed it too).
			if n := strings.Count(stderr.String(), "flag provided but not defined"); n > 1 {
				t.Errorf("the flag error is reported %d times:\n%s", n, &stderr)
			}
		})
	}
}

// runID is the id of the first run recorded in work, or "" before one.
func runID(t *testing.T, work string) string {
	return query(t, work, `SELECT id FROM experiments ORDER BY created_at LIMIT 1`)
}

// trainKey is the key of a train stage of the first run recorded in work.
func trainKey(t *testing.T, work string) string {
	return query(t, work, `SELECT cs.stage_key FROM cell_stages cs JOIN experiments e ON e.id=cs.experiment_id
		WHERE cs.kind='train' ORDER BY e.created_at, cs.stage_key LIMIT 1`)
}

func query(t *testing.T, work, q string) string {
	t.Helper()
	path := filepath.Join(work, "results.db")
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	s, err := results.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v string
	s.DB().QueryRow(q).Scan(&v)
	return v
}

// TestNoTestingInBinary: no package of kalm's that the binary links
// imports package testing (test helpers live in *test packages that only
// tests import). go-plugin itself imports it; that is not ours to change.
func TestNoTestingInBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{with .Module}}{{if eq .Path "github.com/kalm-go/kalm"}}{{$.ImportPath}}: {{join $.Imports " "}}{{end}}{{end}}`, ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	if len(out) == 0 {
		t.Fatal("go list listed no kalm packages")
	}
	for _, l := range strings.Split(string(out), "\n") {
		pkg, imports, _ := strings.Cut(l, ": ")
		if slices.Contains(strings.Fields(imports), "testing") {
			t.Errorf("%s imports testing and is linked into kalm", pkg)
		}
	}
}

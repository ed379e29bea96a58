package experiments

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
)

// fakeCatalog knows a clevr-like env and bc/cql algorithms, and no LM.
type fakeCatalog struct{ version string }

func (f fakeCatalog) Describe(_ context.Context, kind plugin.Kind, name string) (PluginInfo, error) {
	v := f.version
	if v == "" {
		v = "v1"
	}
	switch {
	case kind == plugin.Env && name == "clevr":
		return PluginInfo{Kind: kind, Name: name, Version: v, Env: &env.Spec{Name: "clevr", ObsDim: 10, GoalDim: 6,
			ActionSpace: dataset.DiscreteSpace(40), Horizon: 50, Levels: []string{"train", "rephrase", "unseen-easy", "unseen-hard"},
			Policies: []string{"expert", "random"}}}, nil
	case kind == plugin.Algo && (name == "bc" || name == "cql"):
		s := &algo.Schema{Name: name, Spaces: []dataset.Kind{dataset.Discrete, dataset.Continuous},
			Params: []algo.Param{{Name: "lr", Type: algo.TypeFloat, Default: 1e-3}, {Name: "hidden", Type: algo.TypeInt, Default: 256}}}
		if name == "cql" {
			s.Params = append(s.Params, algo.Param{Name: "alpha", Type: algo.TypeFloat, Default: 10.0})
		}
		return PluginInfo{Kind: kind, Name: name, Version: v, Schema: s}, nil
	case kind == plugin.LM && name == "tinylm":
		return PluginInfo{Kind: kind, Name: name, Version: v}, nil
	case kind == plugin.Algo && name == "td3bc":
		return PluginInfo{Kind: kind, Name: name, Version: v, Schema: &algo.Schema{Name: name, Spaces: []dataset.Kind{dataset.Continuous}}}, nil
	}
	if name == "awac" {
		return PluginInfo{}, fmt.Errorf("plugin %s is %w", name, ErrNotInstalled)
	}
	return PluginInfo{}, &NotInstalledError{Kind: kind, Name: name, Installed: []string{"bc", "clevr", "cql", "td3bc"}}
}

func (f fakeCatalog) CheckEnvConfig(_ context.Context, name string, cfg map[string]string) error {
	for k := range cfg {
		if k != "horizon" {
			return fmt.Errorf("unknown key %q, known: horizon", k)
		}
	}
	return nil
}

func TestPlanQuickSharesCollect(t *testing.T) {
	e, err := Open("quick", Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(context.Background(), fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	// 2 algos × 2 imagined ratios × 2 seeds = 8 cells; 1 collect, 1 ground
	// (and its assess stage), 3 imagine (one per novel level) shared by the
	// 4 KALM cells, 8 train, 8 evaluate.
	got := p.KindCounts()
	if len(p.Cells) != 8 || got[Collect] != 1 || got[Ground] != 1 || got[Assess] != 1 || got[Imagine] != 3 || got[Train] != 8 || got[Evaluate] != 8 {
		t.Fatalf("cells %d, stages %v", len(p.Cells), got)
	}
	if p.Stages[0].Kind != Collect || len(p.Stages[0].Cells) != 8 {
		t.Fatalf("first stage %s shared by %d cells", p.Stages[0].Kind, len(p.Stages[0].Cells))
	}
	// Same plan twice: same keys. Another plugin version: other keys.
	p2, _ := e.Plan(context.Background(), fakeCatalog{})
	p3, _ := e.Plan(context.Background(), fakeCatalog{version: "v2"})
	for i := range p.Stages {
		if p.Stages[i].Key != p2.Stages[i].Key {
			t.Fatalf("stage %d key not stable", i)
		}
		if p.Stages[i].Key == p3.Stages[i].Key {
			t.Fatalf("stage %d key ignores the plugin version", i)
		}
	}
	tc := p.Stage(p.Cells[0].Stages[Train]).Config.(TrainConfig)
	if tc.Hyper["lr"] != 1e-3 || tc.Hyper["hidden"] != int64(256) {
		t.Errorf("resolved hyper = %v", tc.Hyper)
	}
}

func TestPlanHyperDefaultsHashEqually(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	b := filepath.Join(dir, "b.yaml")
	write(t, a, "name: a\nalgo: cql\n")
	write(t, b, "name: a\nalgo: cql\nhyper:\n  cql:\n    alpha: 10\n")
	pa := mustPlan(t, a)
	pb := mustPlan(t, b)
	if pa.Cells[0].Stages[Train] != pb.Cells[0].Stages[Train] {
		t.Fatal("giving a default value explicitly changed the train key")
	}
}

// mustPlan plans a file or a shipped experiment.
func mustPlan(t *testing.T, file string) *Plan {
	t.Helper()
	e, err := Open(file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Plan(context.Background(), fakeCatalog{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanBadInput(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown env", "name: x\nenv:\n  plugin: clever\n", []string{"exp.yaml:3: env.plugin: \"clever\" is not an installed env plugin; did you mean \"clevr\"? (installed plugins: bc, clevr, cql, td3bc)"}},
		{"unknown algo on an axis", "name: x\ngrid:\n  axes:\n    - key: algo\n      values: [bc, awac]\n", []string{"exp.yaml:5: algo: \"awac\" is not an installed algo plugin"}},
		{"lm not installed", "name: x\nlm:\n  plugin: openai\ntrain:\n  imagined_ratio: 0.5\n", []string{"exp.yaml:3: lm.plugin: \"openai\" is not an installed lm plugin"}},
		{"undeclared hyper", "name: x\nalgo: cql\nhyper:\n  cql:\n    alpah: 3\n", []string{"exp.yaml:5: hyper.cql.alpah: 3 is not a hyper-parameter of algo cql; did you mean \"alpha\"? (allowed: lr, hidden, alpha)"}},
		{"hyper wrong type", "name: x\nhyper:\n  bc:\n    hidden: wide\n", []string{"hyper.bc.hidden: \"wide\" is not a whole number (allowed: int)"}},
		{"hyper for unknown algo", "name: x\nhyper:\n  cqll:\n    alpha: 3\n", []string{"hyper.cqll: \"cqll\" is not an installed algo plugin"}},
		{"bad level", "name: x\neval:\n  levels: [train, unseen-eazy]\n", []string{"exp.yaml:3: eval.levels[1]: \"unseen-eazy\" is not a goal level of env clevr; did you mean \"unseen-easy\"?"}},
		{"bad policy", "name: x\ndataset:\n  policy: expet\n", []string{"dataset.policy: \"expet\" is not a behaviour policy of env clevr; did you mean \"expert\"?"}},
		{"hyper axis undeclared", "name: x\nalgo: cql\ngrid:\n  axes:\n    - key: hyper.cql.alpah\n      values: [1, 10]\n", []string{"hyper.cql.alpah: 1 is not a hyper-parameter of algo cql (from the grid cell hyper.cql.alpah=1); did you mean \"alpha\"?"}},
		{"hyper axis wrong type", "name: x\nalgo: cql\ngrid:\n  axes:\n    - key: hyper.cql.alpha\n      values: [1, high]\n", []string{"hyper.cql.alpha: \"high\" is not a number (from the grid cell hyper.cql.alpha=high)"}},
		{"env config refused", "name: x\nenv:\n  config:\n    horizon: 30\n    gravity: 0\n", []string{"exp.yaml:3: env.config: {\"gravity\":0,\"horizon\":30} is refused by env clevr: unknown key \"gravity\", known: horizon"}},
		{"action space", "name: x\nalgo: td3bc\n", []string{"algo: \"td3bc\" does not train on the discrete action space of env clevr"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "exp.yaml")
			write(t, file, c.yaml)
			e, err := Load(file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Plan(context.Background(), fakeCatalog{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestPlanAxisValueAtItsLine: a grid axis's value that a plugin refuses is
// reported at the axis's values, not where the file (or the defaults) set
// the field, in YAML and in TOML's arrays of tables.
func TestPlanAxisValueAtItsLine(t *testing.T) {
	for _, c := range []struct{ file, text, want string }{
		{"exp.yaml", "name: x\nalgo: bc\ngrid:\n  axes:\n    - key: train.steps\n      values: [10, 20]\n    - key: algo\n      values: [bc, ppo]\n",
			"exp.yaml:8: algo: \"ppo\" is not an installed algo plugin"},
		{"exp.toml", "name = \"x\"\nalgo = \"bc\"\n\n[[grid.axes]]\nkey = \"train.steps\"\nvalues = [10, 20]\n\n[[grid.axes]]\nkey = \"algo\"\nvalues = [\"bc\", \"ppo\"]\n",
			"exp.toml:10: algo: \"ppo\" is not an installed algo plugin"},
		{"defaults.toml", "name = \"x\"\n\n[train]\nsteps = 10\n\n[[grid.axes]]\nkey = \"algo\"\nvalues = [\"bc\", \"ppo\"]\n",
			"defaults.toml:8: algo: \"ppo\" is not an installed algo plugin"},
		{"steps.toml", "name = \"x\"\n\n[[grid.axes]]\nkey = \"algo\"\nvalues = [\"bc\"]\n\n[[grid.axes]]\nkey = \"train.steps\"\nvalues = [10, -1]\n",
			"steps.toml:9: train.steps: -1 is out of range"},
	} {
		t.Run(c.file, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), c.file)
			write(t, file, c.text)
			e, err := Load(file, Options{})
			if err == nil {
				_, err = e.Plan(context.Background(), fakeCatalog{})
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

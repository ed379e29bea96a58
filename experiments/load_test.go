package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedExperimentsLoad(t *testing.T) {
	list := Shipped()
	want := []string{"algo-sensitivity", "data-scaling", "lm-compare", "paper-clevr", "paper-tabletop", "quick", "real-vs-imagined"}
	if len(list) != len(want) {
		t.Fatalf("shipped = %v, want %v", list, want)
	}
	for i, s := range list {
		if s.Name != want[i] {
			t.Fatalf("shipped[%d] = %q, want %q", i, s.Name, want[i])
		}
		e, err := Open(s.Name, Options{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", s.Name)
		}
		cells, err := e.Cells()
		if err != nil || len(cells) == 0 {
			t.Fatalf("%s: %d cells, %v", s.Name, len(cells), err)
		}
	}
}

func TestQuickCells(t *testing.T) {
	e, err := Open("quick", Options{})
	if err != nil {
		t.Fatal(err)
	}
	cells, err := e.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range cells {
		ids = append(ids, c.ID+" "+c.Spec.Algo)
	}
	got := strings.Join(ids, "|")
	want := "algo=bc train.imagined_ratio=0 seed=0 bc|algo=bc train.imagined_ratio=0 seed=1 bc|" +
		"algo=bc train.imagined_ratio=0.5 seed=0 bc|algo=bc train.imagined_ratio=0.5 seed=1 bc|" +
		"algo=cql train.imagined_ratio=0 seed=0 cql|algo=cql train.imagined_ratio=0 seed=1 cql|" +
		"algo=cql train.imagined_ratio=0.5 seed=0 cql|algo=cql train.imagined_ratio=0.5 seed=1 cql"
	if got != want {
		t.Fatalf("cells = %s\nwant %s", got, want)
	}
}

func TestLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exp.yaml")
	write(t, file, "name: exp\ntrain:\n  steps: 100\n  batch: 32\nseeds: 2\n")
	e, err := Load(file, Options{
		Environ: []string{"KALM_TRAIN__BATCH=64", "KALM_WORKDIR=/tmp/x", "KALM_EVAL__LEVELS=train,rephrase", "HOME=/root"},
		Set:     []string{"seeds=3", "hyper.cql.alpha=5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := e.Spec
	if s.Train.Steps != 100 || s.Train.Batch != 64 || s.Seeds != 3 || s.Eval.Episodes != Defaults().Eval.Episodes {
		t.Errorf("layers: steps %d batch %d seeds %d episodes %d", s.Train.Steps, s.Train.Batch, s.Seeds, s.Eval.Episodes)
	}
	if strings.Join(s.Eval.Levels, ",") != "train,rephrase" {
		t.Errorf("eval.levels = %v", s.Eval.Levels)
	}
	if s.Hyper["cql"]["alpha"] != int64(5) {
		t.Errorf("hyper = %#v", s.Hyper)
	}
}

func TestTOML(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exp.toml")
	write(t, file, "name = \"exp\"\nseeds = 2\n\n[train]\nsteps = 50\n\n[[grid.axes]]\nkey = \"algo\"\nvalues = [\"bc\", \"cql\"]\n")
	e, err := Load(file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cells, err := e.Cells()
	if err != nil || len(cells) != 4 || e.Spec.Train.Steps != 50 {
		t.Fatalf("cells %d steps %d err %v", len(cells), e.Spec.Train.Steps, err)
	}
	write(t, file, "name = \"exp\"\n\n[train]\nsteps = \"many\"\n")
	_, err = Load(file, Options{})
	if err == nil || !strings.Contains(err.Error(), "exp.toml:4: train.steps: \"many\" is not a whole number") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		set  []string
		env  []string
		want []string // substrings of the error
	}{
		{"unknown top key", "name: x\ntrian:\n  steps: 5\n", nil, nil,
			[]string{"exp.yaml:2: trian", "unknown key; did you mean \"train\"?", "allowed: name, description, env"}},
		{"unknown nested key", "name: x\ntrain:\n  stpes: 5\n", nil, nil,
			[]string{"exp.yaml:3: train.stpes", "did you mean \"steps\"?"}},
		{"secret in lm.config", "name: x\nlm:\n  plugin: openai\n  config:\n    api_key: sk-s3cr3t\n", nil, nil,
			[]string{"exp.yaml:5: lm.config.api_key", "looks like a secret", "OPENAI_API_KEY"}},
		{"secret from --set", "name: x\nlm:\n  plugin: openai\n", []string{"lm.config.token=sk-s3cr3t"}, nil,
			[]string{"--set lm.config.token=…: lm.config.token", "looks like a secret"}},
		{"secret in a grid cell", "name: x\nlm:\n  plugin: openai\ngrid:\n  axes:\n    - key: lm.config\n      values: [{model: m, api_key: sk-s3cr3t}]\n", nil, nil,
			[]string{`cell lm.config={"api_key":"…","model":"m"}`, "lm.config.api_key", "looks like a secret"}},
		{"unknown key from --set", "name: x\n", []string{"eval.episode=3"}, nil,
			[]string{"--set eval.episode=3: eval.episode", "did you mean \"episodes\"?"}},
		{"unknown key from env", "name: x\n", nil, []string{"KALM_TRAIN__STEPZ=3"},
			[]string{"KALM_TRAIN__STEPZ: train.stepz", "did you mean \"steps\"?"}},
		{"wrong type", "name: x\ntrain:\n  steps: lots\n", nil, nil,
			[]string{"exp.yaml:3: train.steps: \"lots\" is not a whole number"}},
		{"wrong type float", "name: x\ntrain:\n  imagined_ratio: [1]\n", nil, nil,
			[]string{"train.imagined_ratio: [1] is not a finite number"}},
		{"wrong type list", "name: x\neval:\n  levels: {a: 1}\n", nil, nil,
			[]string{"eval.levels", "is not a list"}},
		{"wrong type section", "name: x\ntrain: 5\n", nil, nil,
			[]string{"exp.yaml:2: train: 5 is not a table of fields (allowed: steps, batch, imagined_ratio, checkpoint_every, goal_input)"}},
		{"out of range", "name: x\nseeds: 0\ntrain:\n  imagined_ratio: 1.5\n", nil, nil,
			[]string{"exp.yaml:2: seeds: 0 is out of range (allowed: 1..1000)", "train.imagined_ratio: 1.5"}},
		{"axis over missing field", "name: x\ngrid:\n  axes:\n    - key: train.lr\n      values: [1, 2]\n", nil, nil,
			[]string{"exp.yaml:4: grid.axes[0].key: \"train.lr\" is not a field of the experiment (no \"lr\" in train)"}},
		{"axis typo", "name: x\ngrid:\n  axes:\n    - key: algp\n      values: [bc]\n", nil, nil,
			[]string{"did you mean \"algo\"?"}},
		{"axis bad value type", "name: x\ngrid:\n  axes:\n    - key: train.steps\n      values: [10, ten]\n", nil, nil,
			[]string{"exp.yaml:5: grid.axes[0].values[1]: \"ten\" for train.steps is not a whole number"}},
		{"empty axis", "name: x\ngrid:\n  axes:\n    - key: algo\n      values: []\n", nil, nil,
			[]string{"grid.axes[0].values is empty: the grid would have no cells"}},
		{"everything excluded", "name: x\ngrid:\n  axes:\n    - key: algo\n      values: [bc]\n  exclude:\n    - {algo: bc}\n", nil, nil,
			[]string{"grid has no cells: every combination is excluded"}},
		{"exclude names a non-axis", "name: x\ngrid:\n  axes:\n    - key: algo\n      values: [bc]\n  exclude:\n    - {alog: bc}\n", nil, nil,
			[]string{"grid.exclude[0].alog: \"bc\" is not a grid axis; did you mean \"algo\"?"}},
		{"include misses an axis", "name: x\ngrid:\n  axes:\n    - key: algo\n      values: [bc]\n    - key: seeds2\n      values: [1]\n", nil, nil,
			[]string{"grid.axes[1].key: \"seeds2\" is not a field"}},
		{"axis over seeds", "name: x\ngrid:\n  axes:\n    - key: seeds\n      values: [1, 2]\n", nil, nil,
			[]string{"cannot be a grid axis (use seeds: N)"}},
		{"imagined without lm", "name: x\ntrain:\n  imagined_ratio: 0.5\n", nil, nil,
			[]string{"train.imagined_ratio: 0.5 needs imaginary rollouts, but lm.plugin is empty"}},
		{"bad ground task", "name: x\nlm:\n  plugin: tinylm\n  ground:\n    tasks: [dynamic]\n", nil, nil,
			[]string{"exp.yaml:5: lm.ground.tasks[0]: \"dynamic\" is not a grounding task; did you mean \"dynamics\"?"}},
		{"goal input from lm without lm", "name: x\ntrain:\n  goal_input: lm\n", nil, nil,
			[]string{"exp.yaml:3: train.goal_input: \"lm\" needs the LM's goal encodings, but lm.plugin is empty"}},
		{"bad goal input", "name: x\ntrain:\n  goal_input: bert\n", nil, nil,
			[]string{"train.goal_input: \"bert\" is not a goal input (allowed: env, lm)"}},
		{"lm settings out of range", "name: x\nlm:\n  plugin: tinylm\n  threads: -1\n  ground:\n    checkpoint_every: -5\n  assess:\n    episodes: -1\nimagine:\n  temperature: -0.5\n", nil, nil,
			[]string{"lm.threads: -1 is out of range", "lm.ground.checkpoint_every: -5 is out of range", "lm.assess.episodes: -1 is out of range",
				"imagine.temperature: -0.5 is out of range"}},
		{"bad --set", "name: x\n", []string{"noequals"}, nil, []string{"want key=value"}},
		{"too many cells", "name: x\nseeds: 1000\ngrid:\n  axes:\n    - key: train.steps\n      values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n    - key: train.batch\n      values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n", nil, nil,
			[]string{"exp.yaml:3: grid has over 100000 cells (combinations × seeds) (allowed: at most 100000)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "exp.yaml")
			write(t, file, c.yaml)
			_, err := Load(file, Options{Set: c.set, Environ: c.env})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error repeats a secret:\n%v", err)
			}
		})
	}
}

func TestCellErrorNamesTheAxis(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exp.yaml")
	write(t, file, "name: x\ngrid:\n  axes:\n    - key: train.imagined_ratio\n      values: [0, 0.5]\n")
	_, err := Load(file, Options{})
	want := "exp.yaml:5: train.imagined_ratio: 0.5 needs imaginary rollouts, but lm.plugin is empty"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "cell train.imagined_ratio=0.5") {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestFieldErrorsAs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "exp.yaml")
	write(t, file, "name: x\ntrain:\n  steps: -1\n")
	_, err := Load(file, Options{})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "train.steps" || fe.Where != "exp.yaml:3" {
		t.Fatalf("errors.As: %#v (%v)", fe, err)
	}
}

func TestOpenUnknownName(t *testing.T) {
	_, err := Open("quik", Options{})
	if err == nil || !strings.Contains(err.Error(), `did you mean "quick"?`) {
		t.Fatalf("err = %v", err)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

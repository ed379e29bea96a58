package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/results"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixture records a 2×2 grid with 3 seeds and 2 goal levels; one cell of
// the cql/0.5 group failed.
func fixture(t *testing.T) *results.Store {
	t.Helper()
	ctx := context.Background()
	s, err := results.Open(ctx, filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := `{"grid":{"axes":[{"key":"algo","values":["bc","cql"]},{"key":"train.imagined_ratio","values":[0,0.5]}]},"name":"paper"}`
	var cells []results.Cell
	var stages []results.Stage
	type done struct {
		key  string
		eval []results.Evaluation
	}
	var finished []done
	failed := ""
	for ai, a := range []string{"bc", "cql"} {
		for ri, r := range []float64{0, 0.5} {
			for seed := 0; seed < 3; seed++ {
				id := fmt.Sprintf("algo=%s train.imagined_ratio=%g seed=%d", a, r, seed)
				key := fmt.Sprintf("eval-%d-%d-%d", ai, ri, seed)
				params, _ := json.Marshal(map[string]any{"algo": a, "train.imagined_ratio": r})
				cells = append(cells, results.Cell{ID: id, Group: fmt.Sprintf("algo=%s train.imagined_ratio=%g", a, r), Params: string(params), Seed: seed,
					Stages: map[string]string{"evaluate": key}})
				stages = append(stages, results.Stage{Key: key, Kind: "evaluate", Plugin: "clevr+" + a, PluginVersion: "v1+v1", Config: "{}"})
				if a == "cql" && r == 0.5 && seed == 2 {
					failed = key
					continue
				}
				var ev []results.Evaluation
				for li, lv := range []string{"train", "rephrase"} {
					for ck := 1; ck <= 2; ck++ {
						rate := 0.2 + 0.3*float64(ri) - 0.1*float64(li) + 0.05*float64(ai) + 0.02*float64(seed) + 0.01*float64(ck)
						ev = append(ev, results.Evaluation{Checkpoint: ck * 100, Level: lv, Episodes: 50, SuccessRate: rate, MeanReturn: 10 * rate})
					}
				}
				finished = append(finished, done{key, ev})
			}
		}
	}
	err = s.PutExperiment(ctx, results.Experiment{ID: "e0", Name: "paper", Source: "paper.yaml", Given: "", Config: cfg, KalmVersion: "test", Host: "h"}, cells, stages, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range finished {
		s.StartStage(ctx, d.key, "test:1")
		if err := s.FinishStage(ctx, d.key, results.Outcome{Evaluations: d.eval}); err != nil {
			t.Fatal(err)
		}
	}
	s.StartStage(ctx, failed, "test:1")
	s.FailStage(ctx, failed, results.Failed, "boom", "")
	return s
}

func TestGolden(t *testing.T) {
	s := fixture(t)
	cases := []struct {
		name string
		opts Options
	}{
		{"table", Options{}},
		{"markdown", Options{Format: "markdown"}},
		{"csv", Options{Format: "csv"}},
		{"table_by_algo", Options{By: []string{"algo"}, Where: []string{"level=rephrase"}}},
		{"csv_return_where", Options{Format: "csv", Metric: Return, Where: []string{"algo=bc", "train.imagined_ratio!=0.50"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(context.Background(), &b, s, c.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				os.WriteFile(golden, b.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("output differs from %s:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	s := fixture(t)
	var b bytes.Buffer
	if err := Write(context.Background(), &b, s, Options{Format: "json", By: []string{"algo"}}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Rows []Row `json:"rows"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	// bc pools 6 cells per level, cql 5 (one failed).
	if len(out.Rows) != 4 || out.Rows[0].Seeds != 6 || out.Rows[2].Seeds != 5 {
		t.Fatalf("rows = %+v", out.Rows)
	}
}

func TestBadOptions(t *testing.T) {
	s := fixture(t)
	cases := []struct {
		opts Options
		want string
	}{
		{Options{By: []string{"alg"}}, `--by alg: not a grid axis of the experiment; did you mean "algo"?`},
		{Options{Where: []string{"lvl=train"}}, `--where lvl: not a grid axis, level or seed; did you mean "level"?`},
		{Options{Where: []string{"algo"}}, "want key=value"},
		{Options{Format: "xml"}, `--format "xml": want one of table, markdown, csv, json`},
		{Options{Experiment: "papr"}, `no run named "papr" or with that id; did you mean "paper"?`},
	}
	for _, c := range cases {
		err := Write(context.Background(), &bytes.Buffer{}, s, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.opts, err, c.want)
		}
	}
}

func TestBootstrapCI(t *testing.T) {
	lo, hi := bootstrapCI([]float64{0.1, 0.2, 0.3, 0.4, 0.5}, 4000, 0.95)
	if !(lo > 0.15 && lo < 0.25 && hi > 0.35 && hi < 0.45) {
		t.Fatalf("CI = [%g, %g]", lo, hi)
	}
	lo, hi = bootstrapCI([]float64{0.3}, 100, 0.95)
	if lo != 0.3 || hi != 0.3 {
		t.Fatalf("single-value CI = [%g, %g]", lo, hi)
	}
}

func TestList(t *testing.T) {
	s := fixture(t)
	var b bytes.Buffer
	if err := List(context.Background(), &b, s, ListOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| paper      | e0  | -         |    12 |   11 |      1 |       0 |", "  failed      algo=cql train.imagined_ratio=0.5 seed=2: evaluate stage eval-1-1-2: boom", "  done        algo=bc train.imagined_ratio=0 seed=0\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("ls output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunsToldApart records a second run of the fixture's experiment with a
// --set flag: a report says which run it shows and how to pick the other,
// and ls lists both with their overrides.
func TestRunsToldApart(t *testing.T) {
	s := fixture(t)
	ctx := context.Background()
	cfg := `{"grid":{"axes":[{"key":"algo","values":["bc","cql"]},{"key":"train.imagined_ratio","values":[0,0.5]}]},"name":"paper"}`
	if err := s.PutExperiment(ctx, results.Experiment{ID: "e1", Name: "paper", Source: "paper.yaml", Config: cfg, Overrides: []string{"--set seeds=1"}}, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"latest by name", Options{Experiment: "paper"}, []string{
			"experiment paper, run e1 (--set seeds=1): no evaluations yet\n",
			"(the latest run of 2 named paper: kalm ls paper lists them with their overrides; pick one by its run id, e.g. kalm report e0)"}},
		{"by id", Options{Experiment: "e0"}, []string{
			"experiment paper, run e0: success rate (%)",
			"(an earlier run of 2 named paper: kalm ls paper lists them with their overrides; pick one by its run id, e.g. kalm report e1)"}},
		{"no rows match", Options{Experiment: "e0", Where: []string{"algo=ppo"}}, []string{
			"experiment paper, run e0: no evaluations match -where algo=ppo (algo is one of bc, cql)\n"}},
		{"json", Options{Experiment: "e1", Format: "json"}, []string{`"id": "e1"`, `"overrides": [
    "--set seeds=1"
  ]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(ctx, &b, s, tc.opts); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, &b)
				}
			}
		})
	}
	for _, tc := range []struct {
		ref       string
		want, not []string
	}{
		{"", []string{"| paper      | e1  | --set seeds=1 |", "| paper      | e0  | -             |"}, nil},
		{"paper", []string{"| e1  | --set seeds=1 |", "| e0  | -             |"}, nil},
		{"e1", []string{"| e1  | --set seeds=1 |"}, []string{"e0"}},
	} {
		var b bytes.Buffer
		if err := List(ctx, &b, s, ListOptions{Experiment: tc.ref}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("ls %s lacks %q:\n%s", tc.ref, w, &b)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("ls %s shows %q:\n%s", tc.ref, w, &b)
			}
		}
	}
}

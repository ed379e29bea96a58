package openai

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

var update = flag.Bool("update", false, "rewrite the golden prompts in testdata")

// TestPrompts compares each task's prompt, built from a library of the
// conformance suite's walk, with its golden file: the system message, the
// few-shot turns the library picks for the query within the budget, and the
// query line.
func TestPrompts(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "walk")
	if err := lmtest.WriteDataset(data, lmtest.SpaceOf(dataset.Discrete), 36, 1, 0); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(map[string]any{"base_url": "http://127.0.0.1:1/v1", "model": "m", "shots": 3, "budget": 400})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := build(lm.GroundRequest{Datasets: []string{data}, Seed: 1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []openaiapi.Query{
		{Task: openaiapi.TaskGenerate, Goal: lmtest.GoalText(4), State: []float32{1, 4}, Steps: 8},
		{Task: openaiapi.TaskExplain, States: [][]float32{{1, 4}, {2, 4}, {3, 4}}, Actions: [][]float32{{2}, {2}}},
		{Task: openaiapi.TaskPredict, State: []float32{3, 0}, Action: []float32{0}},
		{Task: openaiapi.TaskAct, Goal: lmtest.GoalText(2), States: [][]float32{{5, 2}, {4, 2}}, Actions: [][]float32{{0}}},
	} {
		t.Run(q.Task, func(t *testing.T) {
			var b strings.Builder
			for _, m := range lib.messages(q) {
				fmt.Fprintf(&b, "--- %s\n%s\n", m.Role, m.Content)
			}
			golden := filepath.Join("testdata", "prompt-"+q.Task+".golden")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run Prompts -update writes it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("the %s prompt differs from %s:\n%s", q.Task, golden, b.String())
			}
		})
	}
}

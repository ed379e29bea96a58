package tinylm

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		want string // "" = valid
	}{
		{"defaults", nil, ""},
		{"sizes", map[string]any{"dim": 64, "heads": 2, "layers": 2, "lr": 3e-4}, ""},
		{"unknown key", map[string]any{"depth": 3}, "unknown config depth; known: dim, layers"},
		{"heads", map[string]any{"dim": 30, "heads": 4}, "dim 30, heads 4"},
		{"fraction", map[string]any{"dim": 1.5}, "config dim = 1.5"},
		{"negative", map[string]any{"lr": -1.0}, "config lr = -1"},
		{"string", map[string]any{"prior": "bert"}, "config prior = bert (string): want one of wordnet, none"},
		{"type", map[string]any{"batch": "big"}, "config batch = big"},
		{"pairs", map[string]any{"state_slots": 5, "state_pairs": 16, "explain_reads": "states", "select": "last"}, ""},
		{"pairs without slots", map[string]any{"state_pairs": 16}, "config state_pairs 16 with state_slots 0: want 0, or a positive width with state_slots of at least 2"},
		{"explain_reads", map[string]any{"explain_reads": "actions"}, "config explain_reads = actions (string): want one of rollout, states, pairs"},
		{"pairs alone", map[string]any{"state_slots": 5, "state_pairs": 16, "explain_reads": "pairs", "input_pairs": 8}, ""},
		{"input pairs without slots", map[string]any{"input_pairs": 8}, "config input_pairs 8 with state_slots 0: want 0, or a positive width with state_slots of at least 2"},
		{"reads pairs without pairs", map[string]any{"explain_reads": "pairs"}, `config explain_reads "pairs" with state_pairs 0: want state_pairs > 0`},
		{"select", map[string]any{"select": "first"}, "config select = first (string): want one of best, last"},
		{"history", map[string]any{"state_slots": 5, "state_history": true}, ""},
		{"history without slots", map[string]any{"state_history": true}, "config state_history with state_slots 0: want state_slots of at least 2"},
		{"history type", map[string]any{"state_slots": 5, "state_history": "yes"}, "config state_history = yes (string): want true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestBadInput: each bad input is an error naming what and where, and no
// partial imagined dataset is left visible.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	good := toyDataPhrased(t, 30, 3, 1, 1)
	empty := filepath.Join(t.TempDir(), "empty")
	w, err := dataset.Create(empty, dataset.Meta{Env: "toy", Source: dataset.Real, ObsDim: 2, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(4)})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	other := filepath.Join(t.TempDir(), "other")
	w, _ = dataset.Create(other, dataset.Meta{Env: "toy", Source: dataset.Real, ObsDim: 3, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(4)})
	w.Write(&dataset.Episode{Goal: dataset.Goal{Text: "go up", Vector: []float32{0}}, Observations: []float32{0, 0, 0, 1, 1, 1}, Actions: []float32{1},
		Rewards: []float32{0}, Terminals: []bool{true}, Timeouts: []bool{false}})
	w.Close()
	untexted := filepath.Join(t.TempDir(), "untexted")
	w, _ = dataset.Create(untexted, dataset.Meta{Env: "toy", Source: dataset.Real, ObsDim: 2, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(4)})
	w.Write(&dataset.Episode{Goal: dataset.Goal{Vector: []float32{0}}, Observations: []float32{0, 0, 1, 1}, Actions: []float32{1},
		Rewards: []float32{0}, Terminals: []bool{true}, Timeouts: []bool{false}})
	w.Close()
	cfg := map[string]any{}
	for k, v := range small {
		cfg[k] = v
	}
	for _, tc := range []struct {
		name string
		req  lm.GroundRequest
		want string
	}{
		{"no dataset", lm.GroundRequest{Steps: 5}, "no dataset given"},
		{"empty dataset", lm.GroundRequest{Datasets: []string{empty}, Steps: 5}, "hold no episodes"},
		{"missing dataset", lm.GroundRequest{Datasets: []string{filepath.Join(empty, "nope")}, Steps: 5}, "nope"},
		{"another spec", lm.GroundRequest{Datasets: []string{good, other}, Steps: 5}, "obs_dim 3"},
		{"no goal text", lm.GroundRequest{Datasets: []string{untexted}, Steps: 5}, "episode 0 has no goal text"},
		{"no steps", lm.GroundRequest{Datasets: []string{good}}, "0 steps"},
		{"task", lm.GroundRequest{Datasets: []string{good}, Steps: 5, Tasks: []lm.Task{"translate"}}, `task "translate"`},
		{"base model", lm.GroundRequest{Datasets: []string{good}, Steps: 5, Base: "llama-2-7b"}, "takes no base model"},
		{"diverging", lm.GroundRequest{Datasets: []string{good}, Steps: 50, Config: map[string]any{"lr": 1e6, "grad_clip": 0.0, "warmup": 0, "prior": "none",
			"dim": 16, "heads": 2, "layers": 1, "vocab": 100}}, "diverged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.OutDir = t.TempDir()
			if req.Config == nil {
				req.Config = cfg
			}
			_, err := New().Ground(ctx, req, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	l, ck := groundToy(t, 10, nil)
	gen := func(text string, obs []float32) error {
		out := filepath.Join(t.TempDir(), "imagined")
		_, err := l.Generate(ctx, lm.GenerateRequest{Checkpoint: ck, Goals: []dataset.Goal{{Text: text, Vector: []float32{0}}},
			Observations: obs, MaxSteps: 3, Out: out}, nil)
		if err != nil {
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("a failed Generate left %s", out)
			}
		}
		return err
	}
	for _, tc := range []struct {
		name, text string
		obs        []float32
		want       string
	}{
		{"empty goal", "", []float32{0, 0}, "goal 0: empty goal text"},
		{"blank goal", " ?! ", []float32{0, 0}, "empty goal text"},
		{"unseen characters", "go 上", []float32{0, 0}, "上"},
		{"short observation", "go up", []float32{0}, "1 observation values for 1 rows of dim 2"},
		{"NaN observation", "go up", []float32{0, float32(math.NaN())}, "observation value 1 (row 0) is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := gen(tc.text, tc.obs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := l.Predict(ctx, lm.PredictRequest{Checkpoint: ck, Observations: []float32{0, 0}, Actions: []float32{7}}); err == nil ||
		!strings.Contains(err.Error(), "7") {
		t.Errorf("an action outside the space: %v", err)
	}
	if _, err := l.Encode(ctx, lm.EncodeRequest{Checkpoint: filepath.Join(t.TempDir(), "none.tinylm"), Texts: []string{"go up"}}); err == nil ||
		!strings.Contains(err.Error(), "none.tinylm") {
		t.Errorf("a missing checkpoint: %v", err)
	}
}

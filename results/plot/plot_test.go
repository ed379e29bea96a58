package plot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/results"
)

// fixture records a grid over dataset.episodes × algo with 2 seeds, train
// loss curves and evaluations on two levels.
func fixture(t *testing.T) *results.Store {
	t.Helper()
	ctx := context.Background()
	s, err := results.Open(ctx, filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := `{"grid":{"axes":[{"key":"dataset.episodes","values":[1000,3000,10000]},{"key":"algo","values":["bc","cql"]}]},"name":"scaling"}`
	var cells []results.Cell
	var stages []results.Stage
	outcomes := map[string]results.Outcome{}
	for ni, n := range []int{1000, 3000, 10000} {
		for ai, a := range []string{"bc", "cql"} {
			for seed := 0; seed < 2; seed++ {
				tk, ek := fmt.Sprintf("t%d%d%d", ni, ai, seed), fmt.Sprintf("e%d%d%d", ni, ai, seed)
				params, _ := json.Marshal(map[string]any{"dataset.episodes": n, "algo": a})
				cells = append(cells, results.Cell{ID: fmt.Sprintf("%d %s %d", n, a, seed), Group: fmt.Sprintf("%d %s", n, a), Params: string(params), Seed: seed,
					Stages: map[string]string{"train": tk, "evaluate": ek}})
				stages = append(stages, results.Stage{Key: tk, Kind: "train", Config: "{}"}, results.Stage{Key: ek, Kind: "evaluate", Config: "{}"})
				var o results.Outcome
				for step := 1; step <= 20; step++ {
					o.Metrics = append(o.Metrics, results.Metric{Step: step * 10, Name: "loss", Value: float64(ai+1) / float64(step+seed)})
				}
				outcomes[tk] = o
				outcomes[ek] = results.Outcome{Evaluations: []results.Evaluation{
					{Checkpoint: 200, Level: "train", Episodes: 10, SuccessRate: 0.2 + 0.2*float64(ni) + 0.05*float64(seed)},
					{Checkpoint: 200, Level: "rephrase", Episodes: 10, SuccessRate: 0.1 + 0.1*float64(ni) + 0.1*float64(ai)},
				}}
			}
		}
	}
	if err := s.PutExperiment(ctx, results.Experiment{ID: "x", Name: "scaling", Config: cfg}, cells, stages, nil); err != nil {
		t.Fatal(err)
	}
	for k, o := range outcomes {
		s.StartStage(ctx, k, "test:1")
		if err := s.FinishStage(ctx, k, o); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestWriteAllKinds(t *testing.T) {
	s := fixture(t)
	dir := t.TempDir()
	if d := os.Getenv("KALM_PLOT_DIR"); d != "" {
		dir = d // to look at the figures
	}
	files, err := Write(context.Background(), s, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scaling-success.png", "scaling-success.svg", "scaling-curve-loss.png", "scaling-curve-loss.svg", "scaling-size.png", "scaling-size.svg"}
	if len(files) != len(want) {
		t.Fatalf("files = %v", files)
	}
	for _, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, w))
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(w) {
		case ".png":
			if !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 5000 {
				t.Errorf("%s: not a plausible PNG (%d bytes)", w, len(b))
			}
		case ".svg":
			if !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("rephrase")) && strings.Contains(w, "success") {
				t.Errorf("%s: not a plausible SVG", w)
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	s := fixture(t)
	cases := []struct {
		opts Options
		want string
	}{
		{Options{Kinds: []string{"pie"}}, `plot kind "pie": want one of bars, curves, size`},
		{Options{Formats: []string{"gif"}}, `plot format "gif"`},
		{Options{Kinds: []string{"curves"}, Curve: "q_value"}, `no train metric "q_value" recorded (recorded: [loss])`},
		{Options{By: []string{"algp"}}, `did you mean "algo"?`},
	}
	for _, c := range cases {
		c.opts.Dir = t.TempDir()
		_, err := Write(context.Background(), s, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.opts, err, c.want)
		}
	}
}

package plot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

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
	// Files are named by run (name and id): runs of one experiment differ
	// in their overrides.
	want := []string{"scaling-x-success.png", "scaling-x-success.svg", "scaling-x-curve-loss.png", "scaling-x-curve-loss.svg", "scaling-x-size.png", "scaling-x-size.svg"}
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

// TestShortRunCurve draws the learning curve of a run that recorded one
// step per cell: its points must show (a line of one point draws nothing).
func TestShortRunCurve(t *testing.T) {
	for _, steps := range []int{1, 2, 30} {
		var pts []results.CellMetric
		for step := 1; step <= steps; step++ {
			pts = append(pts, results.CellMetric{CellID: "c", Params: map[string]any{"algo": "bc"}, Metric: results.Metric{Step: 10 * step, Name: "loss", Value: 1 / float64(step)}})
		}
		p, err := Curves(pts, []string{"algo"}, nil, nil, "short", "loss")
		if err != nil {
			t.Fatal(err)
		}
		w, err := p.WriterTo(4*vg.Inch, 3*vg.Inch, "png")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		// Pixels of the first series' colour, in the plot area (left of
		// the legend, below the title).
		want := color.RGBAModel.Convert(plotutil.Color(0)).(color.RGBA)
		n := 0
		b := img.Bounds()
		for y := b.Min.Y + b.Dy()/5; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Min.X+b.Dx()*3/4; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				if near(c.R, want.R) && near(c.G, want.G) && near(c.B, want.B) {
					n++
				}
			}
		}
		if d := os.Getenv("KALM_PLOT_DIR"); d != "" {
			os.WriteFile(filepath.Join(d, fmt.Sprintf("short-%d.png", steps)), buf.Bytes(), 0o644)
		}
		if n < 10 {
			t.Errorf("%d steps: %d pixels of the curve's colour in the plot area, want a visible curve", steps, n)
		}
	}
}

func near(a, b uint8) bool { return a-b < 24 || b-a < 24 }

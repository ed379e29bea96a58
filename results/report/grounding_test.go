package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/results"
)

// groundingFixture records a run that grounds one LM on real data, imagines
// two novel levels and assesses the LM; two cells share those stages.
func groundingFixture(t *testing.T) *results.Store {
	t.Helper()
	ctx := context.Background()
	s, err := results.Open(ctx, filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	assessCfg, _ := json.Marshal(map[string]any{"ground": "ground-1", "imagine": map[string]string{"rephrase": "im-r", "unseen-hard": "im-h"}})
	stages := []results.Stage{
		{Key: "ground-1", Kind: "ground", Plugin: "tinylm", PluginVersion: "v2", Config: "{}"},
		{Key: "im-r", Kind: "imagine", Plugin: "tinylm+clevr", PluginVersion: "v2+v1", Config: "{}"},
		{Key: "im-h", Kind: "imagine", Plugin: "tinylm+clevr", PluginVersion: "v2+v1", Config: "{}"},
		{Key: "assess-1", Kind: "assess", Plugin: "tinylm+clevr", PluginVersion: "v2+v1", Config: string(assessCfg)},
	}
	var cells []results.Cell
	for _, seed := range []int{0, 1} {
		cells = append(cells, results.Cell{ID: "algo=bc seed=" + string(rune('0'+seed)), Group: "algo=bc", Params: `{"algo":"bc"}`, Seed: seed,
			Stages: map[string]string{"ground": "ground-1", "imagine/rephrase": "im-r", "imagine/unseen-hard": "im-h", "assess": "assess-1"}})
	}
	cfg := `{"grid":{"axes":[{"key":"algo","values":["bc"]}]},"name":"kalm"}`
	if err := s.PutExperiment(ctx, results.Experiment{ID: "g0", Name: "kalm", Source: "kalm.yaml", Config: cfg, KalmVersion: "test", Host: "h"},
		cells, stages, nil); err != nil {
		t.Fatal(err)
	}
	metrics := map[string][]results.Metric{
		"im-r": {{Step: 100, Name: "judged_success", Value: 0.71}, {Step: 100, Name: "plausibility/out_of_bounds", Value: 0.052},
			{Step: 100, Name: "plausibility/beyond_dynamics", Value: 0.003}},
		"im-h": {{Step: 100, Name: "judged_success", Value: 0.18}, {Step: 100, Name: "plausibility/out_of_bounds", Value: 0.11},
			{Step: 100, Name: "plausibility/beyond_dynamics", Value: 0.02}},
		"assess-1": {{Name: "dynamics/median_l2", Value: 0.0173}, {Name: "dynamics/mean_l2", Value: 0.0291}, {Name: "dynamics/transitions", Value: 2417},
			{Name: "explain/train/rollouts", Value: 100}, {Name: "explain/train/parsed", Value: 0.99}, {Name: "explain/train/accuracy", Value: 0.93}, {Name: "explain/train/holds", Value: 0.97}, {Name: "explain/train/agrees", Value: 0.95},
			{Name: "explain/train-heldout/rollouts", Value: 100}, {Name: "explain/train-heldout/parsed", Value: 0.98}, {Name: "explain/train-heldout/accuracy", Value: 0.61}, {Name: "explain/train-heldout/holds", Value: 0.9}, {Name: "explain/train-heldout/agrees", Value: 0.82},
			{Name: "explain/rephrase/rollouts", Value: 71}, {Name: "explain/rephrase/parsed", Value: 1}, {Name: "explain/rephrase/accuracy", Value: 0.887}, {Name: "explain/rephrase/holds", Value: 0.9},
			{Name: "explain/unseen-hard/rollouts", Value: 0}},
		"ground-1": {{Step: 4000, Name: "val/loss", Value: 3.2}, {Step: 4000, Name: "val/state_l2_one_step", Value: 0.041}, {Step: 4000, Name: "val/state_l2_in_context", Value: 0.032}},
	}
	for _, key := range []string{"ground-1", "im-r", "im-h", "assess-1"} {
		s.StartStage(ctx, key, "test:1")
		if err := s.FinishStage(ctx, key, results.Outcome{Metrics: metrics[key]}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestGroundingGolden(t *testing.T) {
	s := groundingFixture(t)
	for _, format := range []string{"table", "markdown", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteGrounding(context.Background(), &b, s, Options{Format: format}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "grounding_"+format+".golden")
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

// TestGroundingNone reports an experiment without an LM plainly.
func TestGroundingNone(t *testing.T) {
	s := fixture(t)
	var b bytes.Buffer
	if err := WriteGrounding(context.Background(), &b, s, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "no grounding report") {
		t.Errorf("report of an experiment without an LM: %q", b.String())
	}
}

// TestGroundingRowsNamedShares: an env's own plausibility shares get rows
// under their names, with no paper figure (the paper's are CLEVR's).
func TestGroundingRowsNamedShares(t *testing.T) {
	rows := GroundingRows([]results.Grounding{{Plugin: "tinylm+tabletop", PluginVersion: "v1+v1", Ground: "g",
		Imagine: map[string]map[string]float64{"unseen-easy": {"judged_success": 0.5, "plausibility/float_in_air": 0.25,
			"plausibility/beyond_dynamics": 0.1, "plausibility/implausible_pose": 0}}}})
	var got []string
	for _, r := range rows {
		if strings.HasSuffix(r.Measure, "(%)") && r.Level == "unseen-easy" && !strings.HasPrefix(r.Measure, "generation") && !strings.HasPrefix(r.Measure, "explanation") {
			got = append(got, fmt.Sprintf("%s=%.0f paper=%q", r.Measure, r.Value, r.Paper))
		}
	}
	want := []string{`beyond_dynamics (%)=10 paper=""`, `float_in_air (%)=25 paper=""`, `implausible_pose (%)=0 paper=""`}
	if !slices.Equal(got, want) {
		t.Errorf("plausibility rows %q, want %q", got, want)
	}
}

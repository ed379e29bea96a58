package openai

import (
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
	"github.com/kalm-go/kalm/plugins/tinylm"
)

// TestPredictPreviousOverHTTP: previous observations reach a served model
// that reads them (tinylm with state_history) through the backend, the
// query and the server: the backend over HTTP predicts what the model
// predicts in process, with them and without.
func TestPredictPreviousOverHTTP(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "walk")
	if err := lmtest.WriteDataset(data, lmtest.SpaceOf(dataset.Discrete), 36, 1, 0); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"state_slots": 2, "state_history": true}
	for k, v := range tiny {
		cfg[k] = v
	}
	tl := tinylm.New()
	g, err := tl.Ground(t.Context(), lm.GroundRequest{Datasets: []string{data}, Tasks: lm.Tasks, Config: cfg, Steps: 30,
		OutDir: filepath.Join(dir, "tinylm"), Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(openaiapi.NewServer(openaiapi.ServerConfig{LM: tl, Checkpoint: g.Checkpoint, Model: "tinylm-walk"}))
	defer hs.Close()
	s := &served{data: data, url: hs.URL + "/v1"}
	m := New()
	lib, err := m.Ground(t.Context(), lm.GroundRequest{Datasets: []string{data}, Tasks: lm.Tasks, Config: s.config(nil), Steps: 3,
		OutDir: filepath.Join(dir, "library"), Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs, acts := []float32{1, 3, 2, 3}, []float32{2, 1}
	moved := []float32{0, 3, 2, 2}
	var wants [][]float32
	for _, prev := range [][]float32{nil, moved} {
		want, err := tl.Predict(t.Context(), lm.PredictRequest{Checkpoint: g.Checkpoint, Observations: obs, Actions: acts, Previous: prev})
		if err != nil {
			t.Fatal(err)
		}
		wants = append(wants, want.Observations)
		got, err := m.Predict(t.Context(), lm.PredictRequest{Checkpoint: lib.Checkpoint, Observations: obs, Actions: acts, Previous: prev})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Observations, want.Observations) {
			t.Errorf("previous %v: over HTTP %v, in process %v", prev, got.Observations, want.Observations)
		}
	}
	if slices.Equal(wants[0], wants[1]) {
		t.Fatalf("the model predicts %v with and without the previous observations: the test cannot tell them apart", wants[0])
	}
	if _, err := m.Predict(t.Context(), lm.PredictRequest{Checkpoint: lib.Checkpoint, Observations: obs, Actions: acts, Previous: moved[:3]}); err == nil {
		t.Error("previous observations of the wrong size: no error")
	}
}

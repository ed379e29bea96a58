package iql

import (
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsLine: discrete IQL solves the corridor optimally from expert
// data and from data whose most frequent action is wrong (where BC fails,
// see plugins/bc).
func TestLearnsLine(t *testing.T) {
	m := offlinetest.DefaultLine
	for _, tc := range []struct {
		name       string
		expertFrac float64
	}{{"expert", 1}, {"noisy", 0.3}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := m.Write(dir, 300, tc.expertFrac, 1); err != nil {
				t.Fatal(err)
			}
			act := offlinetest.TrainAndLoad(t, offline.NewPlugin(Factory), algo.TrainRequest{
				Datasets: []algo.Source{{Path: dir, Weight: 1}}, Steps: 1500, Batch: 64, Seed: 1,
				Hyper: map[string]any{"hidden": 64, "lr": 1e-3}})
			success, steps, err := m.Evaluate(act)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("success %.2f, steps %.1f (optimal %d)", success, steps, m.OptimalSteps())
			if success != 1 || steps != float64(m.OptimalSteps()) {
				t.Fatalf("success %.2f in %.1f steps, want 1 in %d", success, steps, m.OptimalSteps())
			}
		})
	}
}

// TestLearnsPoint: continuous IQL on near-expert data reaches 85 % of the
// expert's normalised return.
func TestLearnsPoint(t *testing.T) {
	m := offlinetest.DefaultPoint
	dir := filepath.Join(t.TempDir(), "data")
	if err := m.Write(dir, 200, 0.1, 0, 2); err != nil {
		t.Fatal(err)
	}
	act := offlinetest.TrainAndLoad(t, offline.NewPlugin(Factory), algo.TrainRequest{
		Datasets: []algo.Source{{Path: dir, Weight: 1}}, Steps: 1000, Batch: 64, Seed: 1,
		Hyper: map[string]any{"hidden": 64, "lr": 1e-3}})
	score, err := m.Evaluate(act, 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("normalised score %.3f", score)
	if score < 0.85 {
		t.Fatalf("normalised score %.3f, want ≥ 0.85", score)
	}
}

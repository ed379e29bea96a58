package bc

import (
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsLine: from expert data BC solves the corridor optimally; from
// data whose majority action is wrong it copies the mistake (which is what
// the CQL and IQL tests improve on).
func TestLearnsLine(t *testing.T) {
	m := offlinetest.DefaultLine
	for _, tc := range []struct {
		name       string
		expertFrac float64
		wantSolved bool
	}{{"expert", 1, true}, {"noisy", 0.3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := m.Write(dir, 300, tc.expertFrac, 1); err != nil {
				t.Fatal(err)
			}
			act := offlinetest.TrainAndLoad(t, offline.NewPlugin(Factory), algo.TrainRequest{
				Datasets: []algo.Source{{Path: dir, Weight: 1}}, Steps: 300, Batch: 64, Seed: 1,
				Hyper: map[string]any{"hidden": 64}})
			success, steps, err := m.Evaluate(act)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("success %.2f, steps %.1f (optimal %d)", success, steps, m.OptimalSteps())
			solved := success == 1 && steps == float64(m.OptimalSteps())
			if solved != tc.wantSolved {
				t.Fatalf("solved = %v, want %v", solved, tc.wantSolved)
			}
		})
	}
}

// TestLearnsPoint: deterministic and Gaussian BC on near-expert continuous
// data reach 90 % of the expert's normalised return.
func TestLearnsPoint(t *testing.T) {
	m := offlinetest.DefaultPoint
	dir := filepath.Join(t.TempDir(), "data")
	if err := m.Write(dir, 200, 0.1, 0, 2); err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{"deterministic", "gaussian"} {
		t.Run(policy, func(t *testing.T) {
			act := offlinetest.TrainAndLoad(t, offline.NewPlugin(Factory), algo.TrainRequest{
				Datasets: []algo.Source{{Path: dir, Weight: 1}}, Steps: 1000, Batch: 64, Seed: 1,
				Hyper: map[string]any{"hidden": 64, "policy": policy}})
			score, err := m.Evaluate(act, 200, 3)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("normalised score %.3f", score)
			if score < 0.9 {
				t.Fatalf("normalised score %.3f, want ≥ 0.9", score)
			}
		})
	}
}

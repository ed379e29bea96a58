package td3bc

import (
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsPoint: TD3+BC reaches 90 % of the expert's normalised return
// from near-expert data, and 70 % from data where a third of the episodes
// are uniformly random.
func TestLearnsPoint(t *testing.T) {
	m := offlinetest.DefaultPoint
	for _, tc := range []struct {
		name       string
		randomFrac float64
		want       float64
	}{{"expert", 0, 0.9}, {"mixed", 0.33, 0.7}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := m.Write(dir, 200, 0.1, tc.randomFrac, 2); err != nil {
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
			if score < tc.want {
				t.Fatalf("normalised score %.3f, want ≥ %.2f", score, tc.want)
			}
		})
	}
}

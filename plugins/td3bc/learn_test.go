package td3bc

import (
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsPoint: TD3+BC reaches 90 % of the expert's normalised return
// from near-expert data, and 70 % from data where a third of the episodes
// are uniformly random.
func TestLearnsPoint(t *testing.T) {
	for _, tc := range []struct {
		name       string
		randomFrac float64
		want       float64
	}{{"expert", 0, 0.9}, {"mixed", 0.33, 0.7}} {
		t.Run(tc.name, func(t *testing.T) {
			score := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), tc.randomFrac, algo.TrainRequest{
				Steps: 1000, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64, "lr": 1e-3}})
			if score < tc.want {
				t.Fatalf("normalised score %.3f, want ≥ %.2f", score, tc.want)
			}
		})
	}
}

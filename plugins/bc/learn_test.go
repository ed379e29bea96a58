package bc

import (
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsLine: from expert data BC solves the corridor optimally; from
// data whose majority action is wrong it copies the mistake (which is what
// the CQL and IQL tests improve on).
func TestLearnsLine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		expertFrac float64
		wantSolved bool
	}{{"expert", 1, true}, {"noisy", 0.3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			solved := offlinetest.DefaultLine.Solves(t, offline.NewPlugin(Factory), tc.expertFrac, algo.TrainRequest{
				Steps: 300, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64}})
			if solved != tc.wantSolved {
				t.Fatalf("solved = %v, want %v", solved, tc.wantSolved)
			}
		})
	}
}

// TestLearnsPoint: deterministic and Gaussian BC on near-expert continuous
// data reach 90 % of the expert's normalised return.
func TestLearnsPoint(t *testing.T) {
	for _, policy := range []string{"deterministic", "gaussian"} {
		t.Run(policy, func(t *testing.T) {
			score := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), 0, algo.TrainRequest{
				Steps: 1000, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64, "policy": policy}})
			if score < 0.9 {
				t.Fatalf("normalised score %.3f, want ≥ 0.9", score)
			}
		})
	}
}

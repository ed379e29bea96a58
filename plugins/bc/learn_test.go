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

// TestTopFractionBeatsBC: on point-mass data where half the episodes are
// uniformly random, CORL's BC-10% (top_fraction 0.1) clones the expert
// episodes and beats plain BC, which averages expert and random actions.
func TestTopFractionBeatsBC(t *testing.T) {
	score := func(frac float64) float64 {
		return offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), 0.5, algo.TrainRequest{
			Steps: 1000, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64, "top_fraction": frac}})
	}
	plain, top := score(1), score(0.1)
	if top < 0.9 || !(top > plain+0.2) {
		t.Fatalf("BC-10%% score %.3f, plain BC %.3f: want BC-10%% ≥ 0.9 and ahead by > 0.2", top, plain)
	}
}

package iql

import (
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
)

// TestLearnsLine: discrete IQL solves the corridor optimally from expert
// data and from data whose most frequent action is wrong (where BC fails,
// see plugins/bc).
func TestLearnsLine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		expertFrac float64
	}{{"expert", 1}, {"noisy", 0.3}} {
		t.Run(tc.name, func(t *testing.T) {
			solved := offlinetest.DefaultLine.Solves(t, offline.NewPlugin(Factory), tc.expertFrac, algo.TrainRequest{
				Steps: 1500, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64, "lr": 1e-3}})
			if !solved {
				t.Fatalf("did not solve the corridor optimally (want success 1 in %d steps)", offlinetest.DefaultLine.OptimalSteps())
			}
		})
	}
}

// TestLearnsPoint: continuous IQL on near-expert data reaches 85 % of the
// expert's normalised return.
func TestLearnsPoint(t *testing.T) {
	score := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), 0, algo.TrainRequest{
		Steps: 1000, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64, "lr": 1e-3}})
	if score < 0.85 {
		t.Fatalf("normalised score %.3f, want ≥ 0.85", score)
	}
}

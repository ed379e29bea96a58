package iql

import (
	"fmt"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/plugins/bc"
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

// TestLearnsWithActorDropout: IQL with actor_dropout (the IQL paper's 0.1,
// and 0.5, where train-time and act-time activations differ most) still
// learns: it solves the corridor optimally from expert and from
// mostly-wrong data (discrete logits dropped out), reaches TestLearnsPoint's
// 85 % of the expert's normalised return on near-expert point-mass data,
// and 75 % on point-mass data where half the episodes are uniformly random.
// There IQL without dropout is in the table too, and every row must beat
// plain BC (trained here, 0.45–0.51 over seeds 1–4) by 0.25: IQL weights
// the regression by exp(β·advantage), which the random actions' lower
// returns make small, where BC averages expert and zero-mean random actions.
// Over seeds 1–4 the mixed scores are 0.888–0.896 (p 0), 0.884–0.889 (0.1)
// and 0.815–0.831 (0.5); expert 0.95–0.98; the corridor is always solved.
func TestLearnsWithActorDropout(t *testing.T) {
	bcScore := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(bc.Factory), 0.5, algo.TrainRequest{
		Steps: 1000, Batch: 64, Seed: 1, Hyper: map[string]any{"hidden": 64}})
	for _, tc := range []struct {
		env     string // "line" or "point"
		data    string
		dropout float64
	}{
		{"line", "expert", 0.1}, {"line", "noisy", 0.1}, {"line", "expert", 0.5}, {"line", "noisy", 0.5},
		{"point", "expert", 0.1}, {"point", "expert", 0.5},
		{"point", "mixed", 0}, {"point", "mixed", 0.1}, {"point", "mixed", 0.5},
	} {
		t.Run(fmt.Sprintf("%s/%s/dropout=%v", tc.env, tc.data, tc.dropout), func(t *testing.T) {
			hyper := map[string]any{"hidden": 64, "lr": 1e-3, "actor_dropout": tc.dropout}
			if tc.env == "line" {
				expertFrac := map[string]float64{"expert": 1, "noisy": 0.3}[tc.data]
				if !offlinetest.DefaultLine.Solves(t, offline.NewPlugin(Factory), expertFrac, algo.TrainRequest{
					Steps: 1500, Batch: 64, Seed: 1, Hyper: hyper}) {
					t.Errorf("did not solve the corridor optimally (want success 1 in %d steps)", offlinetest.DefaultLine.OptimalSteps())
				}
				return
			}
			randomFrac, want := 0.0, 0.85
			if tc.data == "mixed" {
				randomFrac, want = 0.5, 0.75
			}
			score := offlinetest.DefaultPoint.Score(t, offline.NewPlugin(Factory), randomFrac, algo.TrainRequest{
				Steps: 1000, Batch: 64, Seed: 1, Hyper: hyper})
			if score < want {
				t.Errorf("normalised score %.3f, want ≥ %.2f", score, want)
			}
			if tc.data == "mixed" && !(score > bcScore+0.25) {
				t.Errorf("normalised score %.3f, plain BC %.3f: want ahead of BC by > 0.25", score, bcScore)
			}
		})
	}
}

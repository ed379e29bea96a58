package cql

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGoldenDiscrete replays torch's DiscreteCQL (d3rlpy's rule as in
// bench_torch.py, lr 1e-3, α 1, target copy every 2 steps) for 3 steps.
func TestGoldenDiscrete(t *testing.T) {
	f, err := offlinetest.ReadFixture("testdata/golden/cql_discrete")
	if err != nil {
		t.Fatal(err)
	}
	h, err := offline.Resolve(Factory.Schema(), map[string]any{"hidden": 32, "lr": 1e-3, "alpha": 1.0, "target_update_interval": 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(offline.Spec{InDim: 10, Space: dataset.DiscreteSpace(40)}, h, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	f.Replay(t, l, offlinetest.ReplayOptions{InDim: 10, ActDim: 1, Metrics: []string{"loss"}, Tensors: 12})
}

// TestGoldenContinuous replays CORL's CQL (bench_torch.py, 2×32 networks,
// 3 sampled actions per kind, lr 1e-3) with torch's recorded random draws,
// plain and with CORL's options (gen_golden.py corl_cql_class).
func TestGoldenContinuous(t *testing.T) {
	base := map[string]any{"hidden": 32, "actor_lr": 1e-3, "critic_lr": 1e-3, "n_actions": 3}
	for _, tc := range []struct {
		fixture string
		hyper   map[string]any
		metrics []string // compared with the torch losses, in metric order
		tensors int
	}{
		{"cql", nil, []string{"policy_loss", "qf_loss", "alpha"}, 33},
		{"cql_lagrange", map[string]any{"alpha": 5.0, "lagrange": true, "target_action_gap": 0.8, "max_target_backup": true},
			[]string{"policy_loss", "qf_loss", "alpha", "", "", "", "alpha_prime"}, 34},
		{"cql_backup_entropy", map[string]any{"backup_entropy": true}, []string{"policy_loss", "qf_loss", "alpha"}, 33},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			f, err := offlinetest.ReadFixture("testdata/golden/" + tc.fixture)
			if err != nil {
				t.Fatal(err)
			}
			hyper := maps.Clone(base)
			maps.Copy(hyper, tc.hyper)
			h, err := offline.Resolve(Factory.Schema(), hyper)
			if err != nil {
				t.Fatal(err)
			}
			ll, err := New(offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1)}, h, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			l := ll.(*Continuous)
			f.Replay(t, l, offlinetest.ReplayOptions{InDim: 17, ActDim: 6, Metrics: tc.metrics, Tensors: tc.tensors,
				BeforeStep: func(k int) {
					nrm := func(i int) []float32 { return f.Float32[fmt.Sprintf("batch%d/normal%d", k, i)] }
					calls := 0
					l.Normal = func(buf []float32) {
						calls++
						if calls == 1 { // a' at s', π(·|s) and π(·|s') repeated
							copy(buf, append(append(append([]float32(nil), nrm(1)...), nrm(2)...), nrm(3)...))
						} else { // the policy-loss sample at s
							copy(buf, nrm(0))
						}
					}
					l.Uniform = func(buf []float32) { copy(buf, f.Float32[fmt.Sprintf("batch%d/uniform", k)]) }
				}})
		})
	}
}

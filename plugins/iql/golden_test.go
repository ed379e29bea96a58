package iql

import (
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGoldenContinuous replays torch's IQL update (CORL order, bench_torch.py)
// from the fixture's initial weights and batches.
func TestGoldenContinuous(t *testing.T) {
	f, err := offlinetest.ReadFixture("testdata/golden/iql")
	if err != nil {
		t.Fatal(err)
	}
	h, err := offline.Resolve(Factory.Schema(), map[string]any{"hidden": 32, "actor_cosine_steps": 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1)}, h, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	f.Replay(t, l, offlinetest.ReplayOptions{InDim: 17, ActDim: 6, Metrics: l.MetricNames()[:3], Tensors: 37})
}

package td3bc

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGolden replays torch's TD3+BC (CORL) with torch's recorded policy noise,
// over four steps so that two delayed actor and target updates happen.
func TestGolden(t *testing.T) {
	f, err := offlinetest.ReadFixture("testdata/golden/td3bc")
	if err != nil {
		t.Fatal(err)
	}
	h, err := offline.Resolve(Factory.Schema(), map[string]any{"hidden": 32, "alpha": 2.5})
	if err != nil {
		t.Fatal(err)
	}
	ll, err := New(offline.Spec{InDim: 17, Space: dataset.BoxSpace(6, -1, 1)}, h, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	l := ll.(*Learner)
	f.Replay(t, l, offlinetest.ReplayOptions{InDim: 17, ActDim: 6, Metrics: l.MetricNames()[:2], Sparse: true, Tensors: 36,
		BeforeStep: func(k int) {
			noise := f.Float32[fmt.Sprintf("batch%d/noise", k)]
			l.Noise = func(buf []float32) { copy(buf, noise) }
		}})
}

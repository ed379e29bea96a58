package bc

import (
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGoldenDiscrete replays torch's DiscreteBC (testdata/golden, written by
// framework/algo/offline/testdata/gen_golden.py) from the same initial
// weights and batches and checks losses and parameters after every step.
func TestGoldenDiscrete(t *testing.T) {
	f, err := offlinetest.ReadFixture("testdata/golden/bc_discrete")
	if err != nil {
		t.Fatal(err)
	}
	h, err := offline.Resolve(Factory.Schema(), map[string]any{"hidden": 32})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(offline.Spec{InDim: 10, Space: dataset.DiscreteSpace(40)}, h, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	f.Replay(t, l, offlinetest.ReplayOptions{InDim: 10, ActDim: 1, Metrics: []string{"loss"}, Tensors: 6})
}

package iql

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGoldenContinuous replays torch's IQL update (CORL order, bench_torch.py)
// from the fixture's initial weights and batches.
func TestGoldenContinuous(t *testing.T) {
	f, err := offline.ReadFixture("testdata/golden/iql")
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
	state := l.State()
	if err := f.SetState("init/", state); err != nil {
		t.Fatal(err)
	}
	names := l.MetricNames()
	for k, want := range f.Losses {
		b, err := f.Batch(k, 17, 6)
		if err != nil {
			t.Fatal(err)
		}
		m := l.Update(b)
		for i, name := range names[:3] {
			if d := math.Abs(m[i] - want[name]); d > 1e-4*math.Max(1, math.Abs(want[name])) {
				t.Errorf("step %d: %s %.7g, torch %.7g", k, name, m[i], want[name])
			}
		}
		n, err := f.Compare(fmt.Sprintf("step%d/", k), state, 1e-5, 1e-4)
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if n != 37 {
			t.Fatalf("step %d: compared %d tensors, want 37", k, n)
		}
	}
}

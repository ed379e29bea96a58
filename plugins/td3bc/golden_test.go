package td3bc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
)

// TestGolden replays torch's TD3+BC (CORL) with torch's recorded policy noise,
// over four steps so that two delayed actor and target updates happen.
func TestGolden(t *testing.T) {
	f, err := offline.ReadFixture("testdata/golden/td3bc")
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
	state := l.State()
	if err := f.SetState("init/", state); err != nil {
		t.Fatal(err)
	}
	for k, want := range f.Losses {
		b, err := f.Batch(k, 17, 6)
		if err != nil {
			t.Fatal(err)
		}
		noise := f.Float32[fmt.Sprintf("batch%d/noise", k)]
		l.Noise = func(buf []float32) { copy(buf, noise) }
		m := l.Update(b)
		for i, name := range l.MetricNames()[:2] {
			w, ok := want[name]
			if !ok {
				continue
			}
			if d := math.Abs(m[i] - w); d > 1e-4*math.Max(1, math.Abs(w)) {
				t.Errorf("step %d: %s %.7g, torch %.7g", k, name, m[i], w)
			}
		}
		n, err := f.Compare(fmt.Sprintf("step%d/", k), state, 1e-5, 1e-4)
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if n != 36 {
			t.Fatalf("step %d: compared %d tensors, want 36", k, n)
		}
	}
}

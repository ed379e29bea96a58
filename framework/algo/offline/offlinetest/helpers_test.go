package offlinetest

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
)

// fakeAlgo reports three steps of one metric, then the final one with a
// checkpoint.
type fakeAlgo struct{ algo.Algo }

func (fakeAlgo) Train(_ context.Context, _ algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	for s := 1; s <= 3; s++ {
		progress(algo.Progress{Step: s, Total: 4, Metrics: map[string]float64{"x": float64(10 * s)}})
	}
	progress(algo.Progress{Step: 4, Total: 4, Metrics: map[string]float64{"y": 1}, Checkpoint: "c"})
	return &algo.TrainResult{}, nil
}

// TestRecorder: every report is recorded in order and still reaches the
// caller's progress function; a metric missing from a report reads NaN.
func TestRecorder(t *testing.T) {
	r := &Recorder{Algo: fakeAlgo{}}
	var passed []int
	if _, err := r.Train(context.Background(), algo.TrainRequest{}, func(p algo.Progress) { passed = append(passed, p.Step) }); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3, 4}; !slices.Equal(r.Steps, want) || !slices.Equal(passed, want) {
		t.Fatalf("recorded steps %v, passed on %v, want %v", r.Steps, passed, want)
	}
	x := r.Series("x")
	if !slices.Equal(x[:3], []float64{10, 20, 30}) || !math.IsNaN(x[3]) {
		t.Fatalf("series x = %v, want [10 20 30 NaN]", x)
	}
	if _, err := r.Train(context.Background(), algo.TrainRequest{}, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 8 {
		t.Fatalf("%d reports after two runs with a nil progress, want 8", len(r.Steps))
	}
}

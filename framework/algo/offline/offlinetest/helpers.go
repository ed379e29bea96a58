package offlinetest

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
)

// TrainAndLoad trains a on the datasets and loads the final checkpoint,
// returning a deterministic batched act function.
func TrainAndLoad(t testing.TB, a algo.Algo, req algo.TrainRequest) Act {
	t.Helper()
	ctx := context.Background()
	if req.OutDir == "" {
		req.OutDir = filepath.Join(t.TempDir(), "ckpt")
	}
	res, err := a.Train(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := a.Load(ctx, algo.LoadRequest{Checkpoint: res.Checkpoints[len(res.Checkpoints)-1].Path})
	if err != nil {
		t.Fatal(err)
	}
	return func(obs, goals []float32) ([]float32, error) {
		r, err := a.Act(ctx, algo.ActRequest{Policy: pol.Policy, Observations: obs, Goals: goals, Deterministic: true})
		if err != nil {
			return nil, err
		}
		return r.Actions, nil
	}
}

// Solves writes 300 corridor episodes (a share expertFrac of them expert,
// seed 1), trains a on them with req and reports whether the greedy policy
// reaches every goal in the optimal number of steps.
func (m Line) Solves(t testing.TB, a algo.Algo, expertFrac float64, req algo.TrainRequest) bool {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := m.Write(dir, 300, expertFrac, 1); err != nil {
		t.Fatal(err)
	}
	req.Datasets = []algo.Source{{Path: dir, Weight: 1}}
	success, steps, err := m.Evaluate(TrainAndLoad(t, a, req))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("success %.2f, steps %.1f (optimal %d)", success, steps, m.OptimalSteps())
	return success == 1 && steps == float64(m.OptimalSteps())
}

// Score writes 200 point-mass episodes of the noisy expert (noise 0.1, a
// share randomFrac of uniformly random episodes, seed 2), trains a on them
// with req and returns the policy's normalised score over 200 evaluation
// episodes (seed 3).
func (m Point) Score(t testing.TB, a algo.Algo, randomFrac float64, req algo.TrainRequest) float64 {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := m.Write(dir, 200, 0.1, randomFrac, 2); err != nil {
		t.Fatal(err)
	}
	req.Datasets = []algo.Source{{Path: dir, Weight: 1}}
	score, err := m.Evaluate(TrainAndLoad(t, a, req), 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("normalised score %.3f", score)
	return score
}

// BitEqual reports whether a and b hold the same float32 bit patterns (so a
// resumed or restored run can be checked to be bit-for-bit identical).
func BitEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// Recorder wraps an algo.Algo and records the metrics of every progress
// report of its Train calls (set the log_every hyper-parameter to 1 to see
// every step), so learning tests can check how a metric moved.
type Recorder struct {
	algo.Algo
	Steps   []int
	Metrics []map[string]float64
}

// Train trains with the wrapped Algo, recording each report before passing
// it on to progress (which may be nil).
func (r *Recorder) Train(ctx context.Context, req algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	return r.Algo.Train(ctx, req, func(p algo.Progress) {
		r.Steps = append(r.Steps, p.Step)
		r.Metrics = append(r.Metrics, p.Metrics)
		if progress != nil {
			progress(p)
		}
	})
}

// Series returns metric name's values in report order (NaN where a report
// lacks it).
func (r *Recorder) Series(name string) []float64 {
	s := make([]float64, len(r.Metrics))
	for i, m := range r.Metrics {
		v, ok := m[name]
		if !ok {
			v = math.NaN()
		}
		s[i] = v
	}
	return s
}

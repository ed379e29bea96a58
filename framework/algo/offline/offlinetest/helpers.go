package offlinetest

import (
	"context"
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
	pol, err := a.Load(ctx, res.Checkpoints[len(res.Checkpoints)-1].Path)
	if err != nil {
		t.Fatal(err)
	}
	return func(obs, goals []float32) ([]float32, error) {
		return a.Act(ctx, algo.ActRequest{Policy: pol, Observations: obs, Goals: goals, Deterministic: true})
	}
}

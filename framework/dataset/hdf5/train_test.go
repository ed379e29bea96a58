//go:build hdf5

package hdf5_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset/hdf5"
	"github.com/kalm-go/kalm/framework/dataset/npz"
	"github.com/kalm-go/kalm/plugins/bc"
)

// continuous returns D4RL-style arrays whose action is a function of the
// observation (a = tanh(o₀ − o₁), one component), in episodes of 25 steps.
func continuous(n int, seed uint64) (obs []float64, act []float64, arrays []*npz.Array) {
	rng := rand.New(rand.NewPCG(seed, 2))
	obs, act = make([]float64, 3*n), make([]float64, n)
	tout := make([]bool, n)
	for i := range n {
		for j := range 3 {
			obs[3*i+j] = 2*rng.Float64() - 1
		}
		act[i] = float64(float32(0.9 * (obs[3*i] - obs[3*i+1]) / 2))
		tout[i] = i%25 == 24
	}
	return obs, act, []*npz.Array{
		{Name: "observations", Shape: []int{n, 3}, Float: obs},
		{Name: "actions", Shape: []int{n, 1}, Float: act},
		{Name: "rewards", Shape: []int{n}, Float: make([]float64, n)},
		{Name: "terminals", Shape: []int{n}, Bool: make([]bool, n)},
		{Name: "timeouts", Shape: []int{n}, Bool: tout},
	}
}

// TestTrainOnImportedHDF5 trains behaviour cloning for 300 steps on an HDF5
// file written here in D4RL's layout and imported: the policy's actions on
// fresh observations come close to the data's rule.
func TestTrainOnImportedHDF5(t *testing.T) {
	dir := t.TempDir()
	file, ds := filepath.Join(dir, "data.hdf5"), filepath.Join(dir, "ds")
	_, _, arrays := continuous(2000, 1)
	if err := hdf5.Write(file, arrays); err != nil {
		t.Fatal(err)
	}
	rep, err := hdf5.Import(file, ds, npz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Meta.Episodes != 80 || rep.Meta.ActionSpace.Dim != 1 {
		t.Fatalf("imported %+v", rep.Meta)
	}
	ctx := context.Background()
	p := offline.NewPlugin(bc.Factory)
	res, err := p.Train(ctx, algo.TrainRequest{Datasets: []algo.Source{{Path: ds, Weight: 1}}, Steps: 300, Batch: 64,
		OutDir: filepath.Join(dir, "ckpt"), Seed: 1}, func(algo.Progress) {})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := p.Load(ctx, algo.LoadRequest{Checkpoint: res.Checkpoints[len(res.Checkpoints)-1].Path})
	if err != nil {
		t.Fatal(err)
	}
	obs, act, _ := continuous(500, 99)
	in := make([]float32, len(obs))
	for i, x := range obs {
		in[i] = float32(x)
	}
	out, err := p.Act(ctx, algo.ActRequest{Policy: ld.Policy, Observations: in, Goals: []float32{}, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	var mse, base float64
	for i, a := range out.Actions {
		d := float64(a) - act[i]
		mse += d * d
		base += act[i] * act[i]
	}
	t.Logf("bc's mean squared error %.4f; predicting 0 scores %.4f", mse/500, base/500)
	if mse > base/10 {
		t.Fatalf("bc's mean squared error %.4f is not a tenth of predicting 0 (%.4f)", mse/500, base/500)
	}
}

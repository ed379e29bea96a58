package npz_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset/npz"
	"github.com/kalm-go/kalm/plugins/bc"
)

// cloneable returns d3rlpy-style arrays whose action is a function of the
// observation (the index of its largest of the first three components), in
// episodes of 20 steps cut by timeouts: behaviour cloning can learn it.
func cloneable(n int, seed uint64) []*npz.Array {
	rng := rand.New(rand.NewPCG(seed, 1))
	obs := make([]float64, 4*n)
	act := make([]int64, n)
	rew := make([]float64, n)
	term, tout := make([]bool, n), make([]bool, n)
	for i := range n {
		for j := range 4 {
			obs[4*i+j] = 2*rng.Float64() - 1
		}
		for j := 1; j < 3; j++ {
			if obs[4*i+j] > obs[4*i+int(act[i])] {
				act[i] = int64(j)
			}
		}
		rew[i] = obs[4*i+3]
		tout[i] = i%20 == 19
	}
	return []*npz.Array{
		{Name: "observations", Shape: []int{n, 4}, Float: obs},
		{Name: "actions", Shape: []int{n}, Int: act},
		{Name: "rewards", Shape: []int{n}, Float: rew},
		{Name: "terminals", Shape: []int{n}, Bool: term},
		{Name: "timeouts", Shape: []int{n}, Bool: tout},
	}
}

// trainBC trains bc for 300 steps on the dataset at dir and returns the
// share of fresh observations on which the trained policy acts as the data's
// rule does.
func trainBC(t *testing.T, dir string) float64 {
	t.Helper()
	ctx := context.Background()
	p := offline.NewPlugin(bc.Factory)
	res, err := p.Train(ctx, algo.TrainRequest{Datasets: []algo.Source{{Path: dir, Weight: 1}}, Steps: 300, Batch: 64,
		OutDir: filepath.Join(t.TempDir(), "ckpt"), Seed: 1}, func(algo.Progress) {})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := p.Load(ctx, algo.LoadRequest{Checkpoint: res.Checkpoints[len(res.Checkpoints)-1].Path})
	if err != nil {
		t.Fatal(err)
	}
	test := cloneable(500, 99)
	obs, _ := test[0].Float32s()
	out, err := p.Act(ctx, algo.ActRequest{Policy: ld.Policy, Observations: obs, Goals: []float32{}, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, a := range out.Actions {
		if int64(a) == test[1].Int[i] {
			right++
		}
	}
	return float64(right) / float64(len(out.Actions))
}

// TestTrainOnImportedNpz trains behaviour cloning on a .npz file written as
// numpy writes one, imported: the policy learns the data's rule.
func TestTrainOnImportedNpz(t *testing.T) {
	dir := t.TempDir()
	file, ds := filepath.Join(dir, "data.npz"), filepath.Join(dir, "ds")
	if err := npz.Write(file, cloneable(2000, 1)); err != nil {
		t.Fatal(err)
	}
	rep, err := npz.Import(file, ds, npz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Meta.Episodes != 100 || rep.Meta.ActionSpace.N != 3 {
		t.Fatalf("imported %+v", rep.Meta)
	}
	// Chance is 1/3; the rule is learnt to well above.
	acc := trainBC(t, ds)
	t.Logf("bc matches the rule on %.1f%% of fresh observations", 100*acc)
	if acc < 0.8 {
		t.Fatalf("bc acts as the data does on %.0f%% of fresh observations, want ≥ 80%%", 100*acc)
	}
}

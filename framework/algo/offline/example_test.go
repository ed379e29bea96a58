package offline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/algo/offline/offlinetest"
	"github.com/kalm-go/kalm/plugins/bc"
)

// An algorithm plugin is a Factory served through NewPlugin; its main is
// `algo.Serve(offline.NewPlugin(bc.Factory))`. The same value trains and acts
// in-process, as here: behaviour cloning on a small goal-conditioned
// corridor, then acting for the goal "right end".
func ExampleNewPlugin() {
	dir, _ := os.MkdirTemp("", "kalm-example")
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	if err := offlinetest.DefaultLine.Write(data, 200, 1, 1); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	p := offline.NewPlugin(bc.Factory)
	res, err := p.Train(ctx, algo.TrainRequest{
		Datasets: []algo.Source{{Path: data, Weight: 1}},
		Hyper:    map[string]any{"hidden": 32},
		Steps:    200, Batch: 32, Seed: 1, OutDir: filepath.Join(dir, "ckpt"),
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	pol, err := p.Load(ctx, algo.LoadRequest{Checkpoint: res.Checkpoints[0].Path})
	if err != nil {
		fmt.Println(err)
		return
	}
	obs := []float32{0, 0, 0, 1, 0, 0, 0} // middle of the 7-cell corridor
	goal := []float32{0, 1}               // goal: the right end
	a, err := p.Act(ctx, algo.ActRequest{Policy: pol.Policy, Observations: obs, Goals: goal, Deterministic: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("checkpoint at step", res.Checkpoints[0].Step, "action", a.Actions[0])
	// Output: checkpoint at step 200 action 1
}

package npz_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/dataset/npz"
)

// Import a d3rlpy/D4RL-style .npz as numpy wrote it, and export it back.
func ExampleImport() {
	dir, _ := os.MkdirTemp("", "npz-example")
	defer os.RemoveAll(dir)
	rep, err := npz.Import("testdata/d4rl.npz", filepath.Join(dir, "ds"), npz.Options{Env: "clevr"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d episodes, %d steps, obs_dim %d, %d discrete actions; not read: %v\n",
		rep.Meta.Episodes, rep.Meta.Steps, rep.Meta.ObsDim, rep.Meta.ActionSpace.N, rep.Ignored)
	if err := npz.Export(filepath.Join(dir, "ds"), filepath.Join(dir, "ds.npz")); err != nil {
		fmt.Println(err)
		return
	}
	arrays, _ := npz.Read(filepath.Join(dir, "ds.npz"))
	for _, a := range arrays[:4] {
		fmt.Println(a.Name, a.Descr, a.Shape)
	}
	// Output:
	// 3 episodes, 5 steps, obs_dim 3, 4 discrete actions; not read: [infos/qpos]
	// observations <f4 [5 3]
	// next_observations <f4 [5 3]
	// actions <i8 [5]
	// rewards <f4 [5]
}

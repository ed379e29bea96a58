package experiments_test

import (
	"fmt"

	"github.com/kalm-go/kalm/experiments"
)

// An experiment file declares one chain and the grid axes that vary it;
// every cell runs for each seed. Layers above the file (KALM_* variables,
// --set flags) override it.
func ExampleParse() {
	file := []byte(`
name: sweep
env:
  plugin: clevr
algo: cql
seeds: 2
grid:
  axes:
    - key: hyper.cql.alpha
      values: [1.0, 10.0]
    - key: train.imagined_ratio
      values: [0, 0.5]
  exclude:
    - {hyper.cql.alpha: 1.0, train.imagined_ratio: 0.5}
`)
	e, err := experiments.Parse("sweep.yaml", file, experiments.Options{
		Set: []string{"lm.plugin=tinylm", "train.steps=500"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cells, _ := e.Cells()
	for _, c := range cells {
		fmt.Println(c.ID)
	}
	fmt.Println("steps:", e.Spec.Train.Steps)
	// Output:
	// hyper.cql.alpha=1 train.imagined_ratio=0 seed=0
	// hyper.cql.alpha=1 train.imagined_ratio=0 seed=1
	// hyper.cql.alpha=10 train.imagined_ratio=0 seed=0
	// hyper.cql.alpha=10 train.imagined_ratio=0 seed=1
	// hyper.cql.alpha=10 train.imagined_ratio=0.5 seed=0
	// hyper.cql.alpha=10 train.imagined_ratio=0.5 seed=1
	// steps: 500
}

// Bad input is reported field by field, with where it came from and a
// did-you-mean for unknown keys.
func ExampleParse_errors() {
	file := []byte("name: typo\ntrain:\n  stpes: 100\n  batch: large\n")
	_, err := experiments.Parse("typo.yaml", file, experiments.Options{})
	fmt.Println(err)
	// Output:
	// experiment typo.yaml: 2 invalid fields
	//   typo.yaml:3: train.stpes: 100 unknown key; did you mean "steps"? (allowed: steps, batch, imagined_ratio, checkpoint_every, goal_input)
	//   typo.yaml:4: train.batch: "large" is not a whole number
}

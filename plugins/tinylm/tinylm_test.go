package tinylm

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
)

// toyData writes a small dataset of a 2-d world: goal "go COLOUR
// DIRECTION" moves a point one unit per step in one of four directions
// (action ids 0–3) for steps steps. Rollouts are exact functions of the
// goal, so a model can learn them perfectly.
func toyData(t testing.TB, episodes, steps int, seed uint64) string {
	return toyDataPhrased(t, episodes, steps, seed, 2)
}

// toyDataPhrased is toyData with one or two phrasings per goal.
func toyDataPhrased(t testing.TB, episodes, steps int, seed uint64, phrasings int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "toy")
	w, err := dataset.Create(dir, dataset.Meta{Env: "toy", Source: dataset.Real, ObsDim: 2, GoalDim: 1, ActionSpace: dataset.DiscreteSpace(4)})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	dirs := []string{"left", "right", "up", "down"}
	move := [][2]float32{{-0.1, 0}, {0.1, 0}, {0, 0.1}, {0, -0.1}}
	for i := 0; i < episodes; i++ {
		a := rng.IntN(4)
		x, y := float32(rng.IntN(5))*0.1, float32(rng.IntN(5))*0.1
		ep := &dataset.Episode{Goal: dataset.Goal{Level: "train", Text: fmt.Sprintf("go %s", dirs[a]),
			Texts: []string{fmt.Sprintf("go %s", dirs[a]), fmt.Sprintf("please move %s", dirs[a])}[:phrasings], Vector: []float32{float32(a)}},
			Observations: []float32{x, y}}
		for s := 0; s < steps; s++ {
			x, y = x+move[a][0], y+move[a][1]
			ep.Observations = append(ep.Observations, x, y)
			ep.Actions = append(ep.Actions, float32(a))
			ep.Rewards = append(ep.Rewards, 0)
			ep.Terminals = append(ep.Terminals, s == steps-1)
			ep.Timeouts = append(ep.Timeouts, false)
		}
		ep.Success = true
		if err := w.Write(ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

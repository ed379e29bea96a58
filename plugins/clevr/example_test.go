package clevr_test

import (
	"context"
	"fmt"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/clevr"
)

// A batch of two training episodes stepped by the scripted expert until both are done.
func Example() {
	ctx := context.Background()
	e, err := clevr.New(clevr.DefaultConfig())
	if err != nil {
		panic(err)
	}
	gr, _ := e.Goals(ctx, env.GoalsRequest{Level: clevr.LevelTrain, N: 2, Seed: 1})
	goals := gr.Goals
	r, _ := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: goals})
	obs := r.Observations
	done := make([]bool, len(goals))
	for t := 1; ; t++ {
		b, _ := e.Behave(ctx, env.BehaveRequest{Policy: clevr.PolicyExpert, Observations: obs, Goals: goals, Seed: uint64(t)})
		s, err := e.Step(ctx, env.StepRequest{Actions: b.Actions})
		if err != nil {
			panic(err)
		}
		for i := range goals {
			if s.Done[i] && !done[i] {
				done[i] = true
				fmt.Printf("%s → success %v after %d steps\n", goals[i].Params, s.Success[i], t)
			}
		}
		if done[0] && done[1] {
			break
		}
		obs = s.Observations
	}
	// Output:
	// map[dir:front dst:green kind:relation src:blue] → success true after 3 steps
	// map[dir:behind dst:green kind:relation src:cyan] → success true after 5 steps
}

// Goal texts parse back to the structured form, whatever the wording.
func ExampleParse() {
	for _, s := range []string{
		"could you nudge the scarlet orb to the rear of the aqua sphere",
		"i would be delighted if the emerald marble sat west of the cobalt bead",
		"move the purple ball forward",
		"push the red ball left of the blue ball and the green ball behind the cyan ball",
		"gather all the balls around the green ball",
	} {
		t, err := clevr.Parse(s)
		fmt.Println(t.Level, t, err)
	}
	// Output:
	// train relation(red behind cyan) <nil>
	// rephrase relation(green left blue) <nil>
	// unseen-easy move(purple front) <nil>
	// unseen-hard relations(red left blue, green behind cyan) <nil>
	// unseen-hard gather() <nil>
}

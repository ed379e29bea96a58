package env_test

import (
	"context"
	"fmt"

	"github.com/kalm-go/kalm/framework/env"
)

// corridor stands for a plugin's env; only its optional Plausibility is shown.
type corridor struct{ still }

// Plausibility names the corridor's one rule: the agent never moves more than
// one cell a step. Observations are the agent's cell.
func (corridor) Plausibility(_ context.Context, req env.PlausibilityRequest) (*env.PlausibilityResponse, error) {
	T := len(req.Observations) - 1
	if T < 1 || len(req.Actions) != T {
		return nil, fmt.Errorf("corridor: plausibility: %d observations and %d actions, want T+1 and T ≥ 1", len(req.Observations), len(req.Actions))
	}
	jumps := 0
	for t := range T {
		if d := req.Observations[t+1] - req.Observations[t]; d > 1 || d < -1 {
			jumps++
		}
	}
	return &env.PlausibilityResponse{Shares: []env.Share{
		{Name: "jump", Description: "the agent moves more than one cell in a step", Value: float64(jumps) / float64(T)},
	}}, nil
}

// An env adds an optional capability by implementing its interface; the host
// checks for it. Plausibility is a list of shares the env names itself.
func ExamplePlausibilityScorer() {
	var e env.Env = corridor{}
	p, ok := e.(env.PlausibilityScorer)
	if !ok {
		fmt.Println("no plausibility")
		return
	}
	r, err := p.Plausibility(context.Background(), env.PlausibilityRequest{Observations: []float32{0, 1, 4, 5}, Actions: []float32{1, 1, 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Shares {
		fmt.Printf("%s: %.2f (%s)\n", s.Name, s.Value, s.Description)
	}
	_, renders := e.(env.Renderer)
	fmt.Println("renders:", renders)
	// Output:
	// jump: 0.33 (the agent moves more than one cell in a step)
	// renders: false
}

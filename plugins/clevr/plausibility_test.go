package clevr

import (
	"context"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
)

// TestPlausibilityOfRealRollouts: real transitions of both policies are plausible; the
// largest single-step move seen stays under the limit.
func TestPlausibilityOfRealRollouts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	sp := mustSpec(t, e)
	maxMove := 0.0
	for _, policy := range []string{PolicyRandom, PolicyExpert} {
		gr, err := e.Goals(ctx, env.GoalsRequest{Level: LevelTrain, N: 64, Seed: 21})
		if err != nil {
			t.Fatal(err)
		}
		gs := gr.Goals
		eps, err := env.Rollout(ctx, e, sp, gs, 21, nil, func(ctx context.Context, k int, obs []float32) ([]float32, error) {
			r, err := e.Behave(ctx, env.BehaveRequest{Policy: policy, Observations: obs, Goals: gs, Seed: uint64(k)})
			if err != nil {
				return nil, err
			}
			return r.Actions, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var off, beyond, overlap float64
		n := 0
		for _, ep := range eps {
			p, err := e.Plausibility(ctx, env.PlausibilityRequest{Observations: ep.Observations, Actions: ep.Actions})
			if err != nil {
				t.Fatal(err)
			}
			share := func(name string) float64 {
				v, ok := p.Share(name)
				if !ok {
					t.Fatalf("no share %q in %+v", name, p.Shares)
				}
				return v
			}
			off += share("out_of_bounds") * float64(ep.Len())
			beyond += share("beyond_dynamics") * float64(ep.Len())
			overlap += share("overlap") * float64(ep.Len())
			n += ep.Len()
			s, err := e.sim.Score(ep.Observations, nil)
			if err != nil {
				t.Fatal(err)
			}
			maxMove = max(maxMove, s.MaxMove)
		}
		t.Logf("%s: %d transitions: off board %.4f, beyond dynamics %.4f, overlap %.4f", policy, n, off/float64(n), beyond/float64(n), overlap/float64(n))
		if off > 0 || beyond > 0 || overlap/float64(n) > 0.01 {
			t.Errorf("%s: real rollouts scored implausible: off %g beyond %g overlap %g transitions", policy, off, beyond, overlap)
		}
	}
	t.Logf("largest single-step move in real rollouts: %.3f (limit %.2f)", maxMove, MaxStepMove)
}

func TestPlausibilityFlagsImpossibleTransitions(t *testing.T) {
	s := mustSim(t, DefaultConfig())
	start := []float32{-0.3, 0, 0, 0, 0.3, 0, -0.4, 0.55, 0.4, 0.55}
	cases := []struct {
		name                 string
		next                 []float32
		off, beyond, overlap float64
	}{
		{"plausible push", []float32{-0.3, 0.25, 0, 0, 0.3, 0, -0.4, 0.55, 0.4, 0.55}, 0, 0, 0},
		{"teleport 0.6", []float32{0.3, -0.15, 0, 0, 0.3, 0.3, -0.4, 0.55, 0.4, 0.55}, 0, 1, 0},
		{"off the table", []float32{-0.55, 0, 0, 0, 0.3, 0, -0.4, 0.55, 0.4, 0.55}, 1, 0, 0},
		{"interpenetrating", []float32{-0.1, 0, 0, 0, 0.3, 0, -0.4, 0.55, 0.4, 0.55}, 0, 0, 1},
	}
	for _, c := range cases {
		p, err := s.Score(append(append([]float32(nil), start...), c.next...), []int{1})
		if err != nil {
			t.Fatal(err)
		}
		if p.OffBoard != c.off || p.BeyondDynamics != c.beyond || p.Overlap != c.overlap {
			t.Errorf("%s: %+v, want off %g beyond %g overlap %g", c.name, p, c.off, c.beyond, c.overlap)
		}
	}
	if _, err := s.Score(start, nil); err == nil {
		t.Error("one observation: no error")
	}
	if _, err := s.Score(append(start, start...), []int{1, 2}); err == nil {
		t.Error("two actions for one transition: no error")
	}
}

package clevr

import (
	"context"
	"math"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
)

// TestConfigurableOptions checks that the §8.4 options change behaviour the way they should.
func TestConfigurableOptions(t *testing.T) {
	base := []float64{0, 0.2, -0.42, -0.12, 0.42, -0.12, -0.42, 0.52, 0.42, 0.52}
	run := func(cfg Config, init []float64, actions []int) [][]float64 {
		t.Helper()
		return rollout(t, mustSim(t, cfg), init, actions)
	}
	def := DefaultConfig()

	// Velocity carry-over: red coasts during the next step only with carry-over.
	carry := run(def, base, []int{0, 11})
	noCarry := def
	noCarry.CarryVelocity = false
	still := run(noCarry, base, []int{0, 11})
	if carry[1][0]-carry[0][0] < 0.01 || still[1][0] != still[0][0] {
		t.Errorf("carry-over: coast %.4f with, %.4f without; want > 0.01 and 0", carry[1][0]-carry[0][0], still[1][0]-still[0][0])
	}

	// Force scale: the original discrete mode's 1.1 pushes further.
	strong := def
	strong.ForceScale = 1.1
	if d0, d1 := run(def, base, []int{0})[0][0], run(strong, base, []int{0})[0][0]; !(d1 > d0+0.01) {
		t.Errorf("force scale 1.1: push %.4f, default %.4f", d1, d0)
	}

	// Overlap handling: mirror ejection vs clamp.
	inWall := []float64{0, -0.26, -0.42, 0.2, 0.42, 0.2, -0.42, 0.52, 0.42, 0.52}
	clamp := def
	clamp.Overlap = OverlapClamp
	if y := run(def, inWall, []int{34})[0][1]; math.Abs(y-(-0.17+0.09+0.004)) > 0.01 {
		t.Errorf("mirror ejection: y = %.4f, want ≈ %.4f", y, -0.17+0.094)
	}
	if y := run(clamp, inWall, []int{34})[0][1]; math.Abs(y-(-0.17)) > 0.005 {
		t.Errorf("clamp ejection: y = %.4f, want ≈ -0.17", y)
	}

	// Stale first push (Q5): after injected positions the push aims at the sampled scene.
	stale := def
	stale.StaleFirstPush = true
	s := mustSim(t, stale)
	var st State
	s.SetPositions(&st, base, true)
	moved := append([]float64(nil), base...)
	moved[0], moved[1] = -0.1, 0.45 // red elsewhere; the cache still says (0, 0.2)
	s.SetPositions(&st, moved, false)
	s.Step(&st, 0) // push red +x: the pusher appears at (−0.15, 0.2), far from red
	if st.Pos[0][0] != -0.1 || st.Pos[0][1] != 0.45 {
		t.Errorf("stale first push moved red to %v, want it untouched", st.Pos[0])
	}
	s.Step(&st, 0) // the cache is right from the second step on
	if st.Pos[0][0] < 0.1 {
		t.Errorf("second push did not move red: %v", st.Pos[0])
	}

	// Fewer balls: a smaller observation and action space.
	three := def
	three.NumBalls = 3
	e, err := New(three)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := e.Spec(context.Background(), env.SpecRequest{})
	if sp.ObsDim != 6 || sp.ActionSpace.N != 24 {
		t.Errorf("3 balls: obs dim %d, %d actions; want 6 and 24", sp.ObsDim, sp.ActionSpace.N)
	}
	if _, err := e.Goals(context.Background(), env.GoalsRequest{Level: LevelHard, N: 50, Seed: 1}); err != nil {
		t.Errorf("3 balls, hard goals: %v", err)
	}
	two := def
	two.NumBalls = 2
	e2, _ := New(two)
	if gs, err := e2.Goals(context.Background(), env.GoalsRequest{Level: LevelHard, N: 50, Seed: 1}); err != nil {
		t.Errorf("2 balls, hard goals: %v", err)
	} else if _, err := e2.Reset(context.Background(), env.ResetRequest{Seed: 1, Goals: gs.Goals}); err != nil {
		t.Errorf("2 balls, hard goals: reset: %v", err)
	}

	// Validation names the field.
	bad := def
	bad.Substeps = 0
	bad.Model = "mujoco"
	if err := bad.Validate(); err == nil {
		t.Error("invalid config validated")
	}
}

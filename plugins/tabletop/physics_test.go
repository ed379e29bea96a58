//go:build mujoco

package tabletop

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

func goalOf(name string) dataset.Goal {
	return dataset.Goal{Level: LevelTrain, Params: map[string]string{"task": name}, Text: name}
}

// drive resets one episode of task to s and steps it with policy until the
// horizon, returning the states.
func drive(t *testing.T, task string, s State, policy func(State) []float32) []State {
	t.Helper()
	e := New()
	ctx := context.Background()
	g := []dataset.Goal{goalOf(task)}
	r, err := e.Reset(ctx, env.ResetRequest{Goals: g, Observations: s})
	if err != nil {
		t.Fatal(err)
	}
	out := []State{State(r.Observations)}
	for range e.horizon {
		st, err := e.Step(ctx, env.StepRequest{Actions: policy(out[len(out)-1])})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, State(st.Observations))
	}
	return out
}

func scene(hand [3]float64) State {
	s := make(State, ObsDim)
	s.set(0, hand)
	s[3] = 2 * FingerOpen
	return s
}

// TestResetObservations: a state given to Reset comes back as the first observation.
func TestResetObservations(t *testing.T) {
	e := New()
	ctx := context.Background()
	for i, task := range Tasks {
		g := []dataset.Goal{goalOf(task.Name)}
		r, err := e.Reset(ctx, env.ResetRequest{Seed: uint64(i), Goals: g})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := e.Reset(ctx, env.ResetRequest{Goals: g, Observations: r.Observations})
		if err != nil {
			t.Fatal(err)
		}
		for k := range r.Observations {
			if d := math.Abs(float64(r.Observations[k] - r2.Observations[k])); d > 1e-6 {
				t.Fatalf("%s: observation[%d] %v reset back as %v", task.Name, k, r.Observations[k], r2.Observations[k])
			}
		}
	}
}

// TestPuckStopsAtWall drags the puck straight at the wall: it must stop at the wall's face.
func TestPuckStopsAtWall(t *testing.T) {
	s := scene([3]float64{0, 0.0, 0.1})
	s.SetPos(Puck, [3]float64{0, 0.08, PuckHalfHeight}, [4]float64{})
	s.SetPos(Wall, [3]float64{0, 0.25, WallHalfZ}, [4]float64{})
	s.set(4, [3]float64{0, 0.45, PuckHalfHeight})
	states := drive(t, "push-wall", s, func(s State) []float32 { return carry(s, Puck, s.Target()) })
	face := 0.25 - WallHalfY
	maxY := 0.0
	for _, st := range states {
		maxY = math.Max(maxY, st.Pos(Puck)[1])
	}
	if maxY > face-PuckRadius+0.006 || maxY < face-PuckRadius-0.03 {
		t.Fatalf("the puck reached y = %.4f; the wall's face is at %.3f, so its centre should stop near %.3f", maxY, face, face-PuckRadius)
	}
	t.Logf("puck stopped at y = %.4f (wall face %.3f − radius %.3f = %.4f)", maxY, face, PuckRadius, face-PuckRadius)
}

// TestGraspFollows grasps the block, then moves the hand: the block must follow it.
func TestGraspFollows(t *testing.T) {
	s := scene([3]float64{0.05, 0.1, 0.12})
	s.SetPos(Block, [3]float64{0.05, 0.1, BlockHalf}, [4]float64{})
	s.set(4, [3]float64{-0.15, 0.3, 0.2})
	var held []float64
	states := drive(t, "pick-place", s, func(s State) []float32 {
		a := carry(s, Block, [3]float64{-0.15, 0.3, 0.2})
		return a
	})
	for _, st := range states {
		h, b := st.Hand(), st.Pos(Block)
		if b[2] > BlockHalf+0.03 { // lifted
			held = append(held, dist(h, b))
		}
	}
	if len(held) < 10 {
		t.Fatalf("the block was off the table for only %d steps, want ≥ 10", len(held))
	}
	lo, hi := slices.Min(held), slices.Max(held)
	if hi-lo > 0.01 {
		t.Fatalf("the held block's distance to the hand ranged %.4f..%.4f, want within 1 cm", lo, hi)
	}
	last := states[len(states)-1]
	if d := dist(last.Pos(Block), [3]float64{-0.15, 0.3, 0.2}); d > PlaceTol {
		t.Fatalf("the block ended %.3f from where it was carried", d)
	}
}

// TestTravelLimits pulls the drawer and pushes the window past their ends:
// each must stop within its travel.
func TestTravelLimits(t *testing.T) {
	s := scene([3]float64{0, 0.1, 0.12})
	s.SetPos(Drawer, [3]float64{0, CabinetY + HandleOffsetY, DrawerHandleZ}, [4]float64{})
	// Two-stage tasks whose second stage cannot hold: the episode runs to the horizon.
	states := drive(t, "drawer-open-then-push", s, func(s State) []float32 {
		d := s.Pos(Drawer)
		return carry(s, Drawer, [3]float64{d[0], CabinetY + HandleOffsetY - DrawerTravel - 0.03, d[2]})
	})
	maxOpen := 0.0
	for _, st := range states {
		maxOpen = math.Max(maxOpen, st.DrawerOpening())
	}
	if maxOpen > DrawerTravel+0.006 || maxOpen < DrawerTravel-0.01 {
		t.Fatalf("the drawer opened %.4f, want its travel %.3f", maxOpen, DrawerTravel)
	}
	s = scene([3]float64{-0.1, 0.2, 0.12})
	s.SetPos(Window, [3]float64{WindowX, 0.5 + WindowHandleY, WindowHandleZ}, [4]float64{})
	states = drive(t, "window-open-then-press", s, func(s State) []float32 {
		w := s.Pos(Window)
		return carry(s, Window, [3]float64{WindowX + WindowTravel + 0.03, w[1], w[2]})
	})
	maxOpen = 0
	for _, st := range states {
		maxOpen = math.Max(maxOpen, st.WindowOpening())
	}
	if maxOpen > WindowTravel+0.006 || maxOpen < WindowTravel-0.01 {
		t.Fatalf("the window opened %.4f, want its travel %.3f", maxOpen, WindowTravel)
	}
	t.Logf("drawer and window stop within 6 mm of their travel %.3f (MuJoCo's soft limits)", DrawerTravel)
}

// TestDoorSwings pushes the shut door open from behind, then flings it at
// both of its stops: it must swing, and stay within its hinge's range.
func TestDoorSwings(t *testing.T) {
	const tol = 0.03 // radians past a stop: MuJoCo's soft limits
	hinge := [3]float64{0, 0.4, 0}
	s := scene([3]float64{0.13, 0.45, 0.08})
	s.SetPos(Door, doorHandle(hinge, 0), doorQuat(0))
	s.set(4, [3]float64{0.13, HandYMin, 0.08})
	states := drive(t, "reach", s, func(State) []float32 { return []float32{0, -1, 0, -1} })
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, st := range states {
		a := st.DoorAngle()
		lo, hi = math.Min(lo, a), math.Max(hi, a)
		if d := dist(st.DoorHinge(), hinge); d > 1e-4 {
			t.Fatalf("the door's hinge moved by %.5f", d)
		}
	}
	if hi < 1 {
		t.Fatalf("pushed from behind, the door swung only to %.3f rad", hi)
	}
	if lo < -tol || hi > DoorMaxAngle+tol {
		t.Fatalf("the door swung over %.4f..%.4f rad, outside its hinge's range 0..%.4f", lo, hi, DoorMaxAngle)
	}
	t.Logf("pushed: the door swung to %.4f rad (stop at %.4f)", hi, DoorMaxAngle)

	// Flung at 20 rad/s towards each stop, with the hand out of the way.
	eng, err := newEngine()
	if err != nil {
		t.Fatal(err)
	}
	w, err := eng.newWorld()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, speed float64 }{{1.2, 20}, {0.4, -20}} {
		s := scene([3]float64{-0.3, 0, 0.2})
		s.SetPos(Door, doorHandle(hinge, c.from), doorQuat(c.from))
		if err := w.set(s); err != nil {
			t.Fatal(err)
		}
		w.d.QVel()[eng.m.JointQVel(mustID(t, eng, "door"))] = c.speed
		lo, hi := math.Inf(1), math.Inf(-1)
		for range 10 * Substeps { // every timestep, not every env step: catch the overshoot
			if err := w.d.Step(1); err != nil {
				t.Fatal(err)
			}
			a := w.d.QPos()[eng.jointQ[3]]
			lo, hi = math.Min(lo, a), math.Max(hi, a)
		}
		if lo < -tol || hi > DoorMaxAngle+tol {
			t.Errorf("flung from %.1f rad at %g rad/s, the door reached %.4f..%.4f rad, outside 0..%.4f", c.from, c.speed, lo, hi, DoorMaxAngle)
		}
		t.Logf("flung from %.1f rad at %g rad/s: %.4f..%.4f rad", c.from, c.speed, lo, hi)
	}
}

func mustID(t *testing.T, e *engine, joint string) int {
	t.Helper()
	id, err := e.m.ID(mujoco.Joint, joint)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBadInput: NaN and out-of-range actions, short states and unknown tasks
// are errors naming the fault, and the env keeps working after them.
func TestBadInput(t *testing.T) {
	e := New()
	ctx := context.Background()
	g := []dataset.Goal{goalOf("reach")}
	if _, err := e.Reset(ctx, env.ResetRequest{Goals: g}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		a    []float32
		want string
	}{
		{"nan", []float32{float32(math.NaN()), 0, 0, 0}, "not finite"},
		{"range", []float32{0, 1.5, 0, 0}, "outside [-1, 1]"},
		{"short", []float32{0, 0, 0}, "3 action values, want 1 × 4"},
	} {
		if _, err := e.Step(ctx, env.StepRequest{Actions: tc.a}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Step = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := e.Reset(ctx, env.ResetRequest{Goals: g, Observations: make([]float32, ObsDim-1)}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d observation values, want 1 × %d", ObsDim-1, ObsDim)) {
		t.Errorf("Reset with a short state = %v", err)
	}
	if _, err := e.Reset(ctx, env.ResetRequest{Goals: []dataset.Goal{goalOf("juggle")}}); err == nil || !strings.Contains(err.Error(), `task "juggle"`) {
		t.Errorf("Reset with an unknown task = %v", err)
	}
	if _, err := e.Step(ctx, env.StepRequest{Actions: []float32{0, 0, 0, 0}}); err != nil {
		t.Fatalf("Step after the bad calls: %v", err)
	}
}

// TestEpisodeGIF renders a pick-place expert episode (testdata/img with -update).
func TestEpisodeGIF(t *testing.T) {
	e := New()
	task, _ := TaskNamed("pick-place")
	wins, eps := rollout(t, e, task, 1, 3, nil)
	if wins != 1 {
		t.Fatal("the expert episode failed")
	}
	caption := Phrasings("pick-place", LevelTrain)[0]
	b, err := GIF(eps[0], caption, 360, 10)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(eps[0])/ObsDim - 4 // carrying the block
	p, err := PNG(State(eps[0][mid*ObsDim:(mid+1)*ObsDim]), caption+" (carrying)", 360)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.WriteFile(filepath.Join("testdata", "img", "pick-place.gif"), b, 0o644)
		os.WriteFile(filepath.Join("testdata", "img", "pick-place-carry.png"), p, 0o644)
	}
}

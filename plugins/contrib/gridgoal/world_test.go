package gridgoal

import (
	"bytes"
	"context"
	"flag"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// room is a fixed room for the rule tests:
//
//	agent at (2, 2) facing right; red key at (3, 2); blue ball at (2, 3);
//	red door at (5, 5), locked; green box at (2, 1).
func room() world {
	return world{x: 2, y: 2, dir: Right, objs: [NumObjects]object{
		{Key, 1, 3, 2, Plain}, {Ball, 3, 2, 3, Plain}, {Door, 1, 5, 5, Locked}, {Box, 2, 2, 1, Plain},
	}}
}

func TestStep(t *testing.T) {
	tests := []struct {
		name    string
		start   func() world
		actions []int
		check   func(w world) string
	}{
		{"MoveIntoObjectOnlyTurns", room, []int{Down}, func(w world) string {
			return want(w.x == 2 && w.y == 2 && w.dir == Down, "agent still at (2, 2) facing down")
		}},
		{"MoveIntoWallOnlyTurns", func() world { w := room(); w.x, w.y = 0, 0; return w }, []int{Left, Up}, func(w world) string {
			return want(w.x == 0 && w.y == 0 && w.dir == Up, "agent at (0, 0) facing up")
		}},
		{"MoveFree", room, []int{Left, Left}, func(w world) string { return want(w.x == 0 && w.y == 2 && w.dir == Left, "agent at (0, 2)") }},
		{"PickupAhead", room, []int{Pickup}, func(w world) string {
			return want(w.objs[0].state == Carried && w.carried() == 0, "red key carried")
		}},
		{"PickupBoxRefused", room, []int{Up, Pickup}, func(w world) string { return want(w.carried() < 0, "nothing carried") }},
		{"CarriedFollowsAgent", room, []int{Pickup, Left}, func(w world) string {
			return want(w.objs[0].x == 1 && w.objs[0].y == 2, "key at the agent (1, 2)")
		}},
		{"OneObjectAtATime", room, []int{Pickup, Down, Pickup}, func(w world) string {
			return want(w.carried() == 0 && w.objs[1].state == Plain, "still only the key carried")
		}},
		{"Drop", room, []int{Pickup, Left, Drop}, func(w world) string {
			return want(w.objs[0].state == Plain && w.objs[0].x == 0 && w.objs[0].y == 2, "key dropped at (0, 2)")
		}},
		{"LockedDoorNeedsKey", func() world { w := room(); w.x, w.y = 4, 5; return w }, []int{Right, Toggle}, func(w world) string {
			return want(w.objs[2].state == Locked, "door still locked")
		}},
		{"KeyOpensDoorAndDoorIsWalkable", room, []int{Pickup, Right, Right, Down, Down, Down, Right, Toggle, Right}, func(w world) string {
			return want(w.objs[2].state == Open && w.x == 5 && w.y == 5, "door open, agent on it")
		}},
		{"ToggleClosesOpenDoor", func() world { w := room(); w.objs[2].state = Plain; w.x, w.y = 4, 5; return w }, []int{Right, Toggle, Toggle}, func(w world) string {
			return want(w.objs[2].state == Plain, "door closed again")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.start()
			for _, a := range tt.actions {
				w = w.step(a)
			}
			if msg := tt.check(w); msg != "" {
				t.Errorf("after %v: want %s; got %+v", tt.actions, msg, w)
			}
			obs := make([]float32, ObsDim)
			w.encode(obs)
			if _, err := decode(obs, true); err != nil {
				t.Errorf("the resulting state does not decode strictly: %v", err)
			}
		})
	}
}

func want(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(w *world)
		errHas string
	}{
		{"AgentOutside", func(w *world) { w.x = Size }, "agent"},
		{"BadDirection", func(w *world) { w.dir = 4 }, "agent"},
		{"BadType", func(w *world) { w.objs[1].typ = 9 }, "type"},
		{"BadColor", func(w *world) { w.objs[1].color = 0 }, "color"},
		{"ObjectOutside", func(w *world) { w.objs[1].y = -1 }, "outside"},
		{"OpenBall", func(w *world) { w.objs[1].state = Open }, "state"},
		{"CarriedBox", func(w *world) { w.objs[3].state = Carried }, "state"},
		{"CarriedAway", func(w *world) { w.objs[0].state = Carried }, "carried"},
		{"SameCell", func(w *world) { w.objs[1].x, w.objs[1].y = 3, 2 }, "two objects"},
		{"Duplicate", func(w *world) { w.objs[1].typ, w.objs[1].color = Key, 1 }, "two red keys"},
		{"AgentOnObject", func(w *world) { w.x = 3 }, "stands on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := room()
			tt.edit(&w)
			obs := make([]float32, ObsDim)
			w.encode(obs)
			_, err := decode(obs, true)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("decode = %v, want an error mentioning %q", err, tt.errHas)
			}
			if _, err := decode(obs, false); err != nil {
				t.Errorf("loose decode: %v", err)
			}
		})
	}
	obs := make([]float32, ObsDim)
	r := room()
	r.encode(obs)
	obs[0] = 2.5
	if _, err := decode(obs, true); err == nil {
		t.Errorf("decode accepted a fractional position")
	}
}

func TestLevels(t *testing.T) {
	train, _, _ := levelGoals(LevelTrain)
	rephrase, _, _ := levelGoals(LevelRephrase)
	unseen, _, _ := levelGoals(LevelUnseen)
	if !slices.Equal(train, rephrase) {
		t.Errorf("rephrase goals differ from train goals")
	}
	for _, g := range unseen {
		if slices.Contains(train, g) {
			t.Errorf("unseen goal %+v is a training goal", g)
		}
	}
	if len(train)+len(unseen) != len(allGoals()) {
		t.Errorf("%d train + %d unseen goals, want %d in all", len(train), len(unseen), len(allGoals()))
	}
	for _, k := range []Kind{GoTo, PickUp, OpenIt} {
		if !slices.ContainsFunc(unseen, func(g goal) bool { return g.kind == k }) {
			t.Errorf("no unseen goal of kind %s", kindNames[k])
		}
	}
	e := New()
	gr, err := e.Goals(context.Background(), env.GoalsRequest{Level: LevelRephrase, N: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	gs := gr.Goals
	gr, err = e.Goals(context.Background(), env.GoalsRequest{Level: LevelTrain, N: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	tr := gr.Goals
	for _, g := range gs {
		for _, h := range tr {
			if g.Text == h.Text {
				t.Fatalf("rephrased text %q is also a training text", g.Text)
			}
		}
	}
}

// collect rolls out a policy on n goals of level and returns the episodes.
func collect(t *testing.T, e *Env, level, policy string, n int, params map[string]float64) []*dataset.Episode {
	t.Helper()
	ctx := context.Background()
	spec, _ := e.Spec(ctx, env.SpecRequest{})
	gr, err := e.Goals(ctx, env.GoalsRequest{Level: level, N: n, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	gs := gr.Goals
	eps, err := env.Rollout(ctx, e, *spec, gs, 11, nil, func(ctx context.Context, k int, obs []float32) ([]float32, error) {
		r, err := e.Behave(ctx, env.BehaveRequest{Policy: policy, Observations: obs, Goals: gs, Params: params, Seed: uint64(k)})
		if err != nil {
			return nil, err
		}
		return r.Actions, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

func successRate(eps []*dataset.Episode) float64 {
	s := 0
	for _, ep := range eps {
		if ep.Success {
			s++
		}
	}
	return float64(s) / float64(len(eps))
}

func TestPolicies(t *testing.T) {
	e := New()
	for _, level := range Levels {
		if r := successRate(collect(t, e, level, PolicyExpert, 300, nil)); r < 0.99 {
			t.Errorf("expert success on %s goals = %.3f, want ≥ 0.99", level, r)
		}
	}
	noisy := successRate(collect(t, e, LevelTrain, PolicyExpert, 300, map[string]float64{"random_share": 0.9}))
	random := successRate(collect(t, e, LevelTrain, PolicyRandom, 300, nil))
	t.Logf("success: expert random_share=0.9 %.3f, random %.3f", noisy, random)
	if !(random < noisy && noisy < 0.99) || random > 0.3 {
		t.Errorf("success: random %.3f, expert random_share=0.9 %.3f; want random < noisy < 0.99 and random ≤ 0.3", random, noisy)
	}
	if _, err := e.Behave(context.Background(), env.BehaveRequest{Policy: PolicyRandom, Params: map[string]float64{"random_share": 0.1}}); err == nil {
		t.Errorf("the random policy accepted param random_share")
	}
	if _, err := e.Behave(context.Background(), env.BehaveRequest{Policy: PolicyExpert, Params: map[string]float64{"random_share": 2}}); err == nil {
		t.Errorf("the expert accepted random_share = 2")
	}
}

func TestPlausibility(t *testing.T) {
	e := New()
	ctx := context.Background()
	for _, ep := range collect(t, e, LevelTrain, PolicyRandom, 20, nil) {
		p, err := e.Plausibility(ctx, env.PlausibilityRequest{Observations: ep.Observations, Actions: ep.Actions})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Shares) != 4 {
			t.Fatalf("shares %+v, want the four rules", p.Shares)
		}
		for _, s := range p.Shares {
			if s.Value != 0 {
				t.Fatalf("a real rollout scored %+v, want all zero", p.Shares)
			}
		}
	}
	// A two-step rollout: a legal move, then a teleport out of the room.
	w := room()
	obs := make([]float32, 3*ObsDim)
	w.encode(obs)
	w = w.step(Left)
	w.encode(obs[ObsDim:])
	w.x = Size + 2
	w.encode(obs[2*ObsDim:])
	p, err := e.Plausibility(ctx, env.PlausibilityRequest{Observations: obs, Actions: []float32{Left, Left}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"out_of_bounds", "beyond_dynamics", "inconsistent", "invalid"} {
		if v, ok := p.Share(name); !ok || v != 0.5 {
			t.Errorf("teleport rollout scored %s = %g (present %v), want 0.5", name, v, ok)
		}
	}
}

func TestConfigure(t *testing.T) {
	ctx := context.Background()
	e := New()
	for _, bad := range []map[string]string{{"horizon": "0"}, {"horizon": "x"}, {"size": "9"}} {
		if _, err := e.Configure(ctx, env.ConfigureRequest{Config: bad}); err == nil {
			t.Errorf("Configure(%v) returned no error", bad)
		}
	}
	if _, err := e.Configure(ctx, env.ConfigureRequest{Config: map[string]string{"horizon": "5"}}); err != nil {
		t.Fatal(err)
	}
	sp, _ := e.Spec(ctx, env.SpecRequest{})
	if sp.Horizon != 5 || sp.Config["horizon"] != "5" {
		t.Errorf("after configuring horizon 5: spec horizon %d, config %v", sp.Horizon, sp.Config)
	}
	for _, ep := range collect(t, e, LevelTrain, PolicyRandom, 20, nil) {
		if ep.Len() > 5 {
			t.Fatalf("episode of %d steps with horizon 5", ep.Len())
		}
	}
}

func TestRenderGolden(t *testing.T) {
	w := room()
	w.objs[0].state = Carried
	w.objs[0].x, w.objs[0].y = w.x, w.y
	obs := make([]float32, ObsDim)
	w.encode(obs)
	r, err := New().Render(context.Background(), env.RenderRequest{Observation: obs, Caption: "open the red door"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "room.png")
	if *update {
		if err := os.WriteFile(path, r.PNG, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	// Compare pixels, not bytes: PNG encoders may compress differently.
	want, err := png.Decode(bytes.NewReader(golden))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	got, err := png.Decode(bytes.NewReader(r.PNG))
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("render is %v, %s is %v", got.Bounds(), path, want.Bounds())
	}
	b := got.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if gr, gg, gb, ga := got.At(x, y).RGBA(); [4]uint32{gr, gg, gb, ga} != rgba(want.At(x, y)) {
				t.Fatalf("render differs from %s at (%d, %d) (run go test -update and look at it)", path, x, y)
			}
		}
	}
}

func rgba(c color.Color) [4]uint32 {
	r, g, b, a := c.RGBA()
	return [4]uint32{r, g, b, a}
}

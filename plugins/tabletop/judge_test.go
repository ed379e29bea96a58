package tabletop

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
)

// path builds a state sequence from a scene by applying edits one state at a time.
func path(s State, edits ...func(State)) []float32 {
	out := slices.Clone([]float32(s))
	cur := slices.Clone(s)
	for _, e := range edits {
		e(cur)
		out = append(out, cur...)
	}
	return out
}

func moveTo(e Entity, p [3]float64) func(State) {
	return func(s State) { s.SetPos(e, p, s.Quat(e)) }
}

func handTo(p [3]float64) func(State) { return func(s State) { s.set(0, p) } }

// nearZeroSlots writes small numbers into every empty slot, as a model's
// prediction of zeros.
func nearZeroSlots(s State) {
	for e := range NumEntities {
		if !s.Active(e) {
			i := 7 + SlotSize*int(e)
			for k := range SlotSize {
				s[i+k] = 0.002 * float32(k+1)
			}
		}
	}
}

// TestJudge labels hand-made state sequences, no physics involved: the
// judge must find success exactly when the task's stages hold in order.
func TestJudge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scene := func(name string) (Task, State) {
		task, err := TaskNamed(name)
		if err != nil {
			t.Fatal(err)
		}
		return task, Scene(task, rng)
	}
	type tc struct {
		name    string
		task    Task
		obs     []float32
		success bool
		steps   int
	}
	var cases []tc
	{
		task, s := scene("reach")
		tg := s.Target()
		cases = append(cases,
			tc{"reach: arrives", task, path(s, handTo([3]float64{0, 0.1, 0.1}), handTo(tg), handTo([3]float64{0, 0, 0.2})), true, 2},
			tc{"reach: 4 cm short", task, path(s, handTo([3]float64{tg[0] + 0.04, tg[1], tg[2]})), false, 1})
	}
	{
		task, s := scene("push")
		tg := s.Target()
		cases = append(cases,
			tc{"push: puck on target", task, path(s, moveTo(Puck, [3]float64{tg[0] + 0.01, tg[1], PuckHalfHeight})), true, 1},
			tc{"push: puck above target", task, path(s, moveTo(Puck, [3]float64{tg[0], tg[1], 0.1})), false, 1})
	}
	{
		task, s := scene("drawer-open")
		d := s.Pos(Drawer)
		cases = append(cases,
			tc{"drawer-open: 9 cm", task, path(s, moveTo(Drawer, [3]float64{d[0], d[1] - 0.09, d[2]})), false, 1},
			tc{"drawer-open: 11 cm", task, path(s, moveTo(Drawer, [3]float64{d[0], d[1] - 0.05, d[2]}), moveTo(Drawer, [3]float64{d[0], d[1] - 0.11, d[2]})), true, 2})
	}
	{
		task, s := scene("window-close")
		w := s.Pos(Window)
		cases = append(cases, tc{"window-close: shut", task, path(s, moveTo(Window, [3]float64{WindowX + 0.01, w[1], w[2]})), true, 1})
	}
	{
		task, s := scene("door-open")
		hinge := s.DoorHinge()
		swing := func(a float64) func(State) {
			return func(s State) { s.SetPos(Door, doorHandle(hinge, a), doorQuat(a)) }
		}
		cases = append(cases,
			tc{"door-open: 0.55 rad", task, path(s, swing(0.3), swing(0.55)), false, 2},
			tc{"door-open: 0.65 rad", task, path(s, swing(0.3), swing(0.65)), true, 2})
		task, s = scene("door-close")
		hinge = s.DoorHinge()
		cases = append(cases,
			tc{"door-close: 0.15 rad", task, path(s, swing(0.15)), false, 1},
			tc{"door-close: shut", task, path(s, swing(0.4), swing(0.05)), true, 2})
	}
	{
		task, s := scene("pick-place-then-press")
		tg, b := s.Target(), s.Pos(Button)
		press := moveTo(Button, [3]float64{b[0], b[1], ButtonRestZ - 0.015})
		release := moveTo(Button, b)
		place := moveTo(Block, tg)
		cases = append(cases,
			tc{"then-press: in order", task, path(s, place, moveTo(Block, [3]float64{tg[0], tg[1], BlockHalf}), press), true, 3},
			tc{"then-press: wrong order", task, path(s, press, release, place), false, 3})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Judge(c.task, c.obs)
			if j.Success != c.success || j.Steps != c.steps {
				t.Fatalf("Judge = success %v after %d steps, want %v after %d (rewards %v)", j.Success, j.Steps, c.success, c.steps, j.Rewards)
			}
			if c.success && (j.Rewards[j.Steps-1] != SuccessReward || !j.Terminals[j.Steps-1]) {
				t.Fatalf("success step: reward %v terminal %v, want %v and terminal", j.Rewards[j.Steps-1], j.Terminals[j.Steps-1], SuccessReward)
			}
		})
	}
}

// TestShapedReward: moving the hand towards the reach target is rewarded, away penalised.
func TestShapedReward(t *testing.T) {
	task, _ := TaskNamed("reach")
	s := Scene(task, rand.New(rand.NewPCG(3, 4)))
	h, tg := s.Hand(), s.Target()
	mid := [3]float64{(h[0] + tg[0]) / 2, (h[1] + tg[1]) / 2, (h[2] + tg[2]) / 2}
	j := Judge(task, path(s, handTo(mid), handTo(h)))
	if !(j.Rewards[0] > 0 && j.Rewards[1] < 0) || j.Rewards[0] != -j.Rewards[1] {
		t.Fatalf("rewards %v, want +r then −r", j.Rewards)
	}
}

// TestPlausibility: each of the four shares catches its kind of fault, and a
// still scene breaks none.
func TestPlausibility(t *testing.T) {
	task, _ := TaskNamed("pick-place")
	s := Scene(task, rand.New(rand.NewPCG(5, 6)))
	b := s.Pos(Block)
	for _, c := range []struct {
		name string
		edit func(State)
		want Shares
	}{
		{"still", func(State) {}, Shares{}},
		{"float", moveTo(Block, [3]float64{b[0], b[1], 0.1}), Shares{FloatInAir: 1, BeyondDynamics: 1}},
		{"off the table", moveTo(Block, [3]float64{0.9, b[1], b[2]}), Shares{OutOfWorkbench: 1, BeyondDynamics: 1}},
		{"bad quaternion", func(s State) { s.SetPos(Block, b, [4]float64{0.5, 0, 0, 0}) }, Shares{ImplausiblePose: 1}},
		{"hand jump", handTo([3]float64{0.3, 0.4, 0.2}), Shares{BeyondDynamics: 1}},
		// A predicted state's empty slots are near zero, not zero: still empty.
		{"near-zero empty slots", nearZeroSlots, Shares{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Plausibility(path(s, c.edit)); got != c.want {
				t.Fatalf("Plausibility = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDoorPlausibility: a door swinging a little is plausible; past its
// stop it is an impossible pose, and a hinge that moves or a handle that
// jumps breaks the dynamics.
func TestDoorPlausibility(t *testing.T) {
	task, _ := TaskNamed("reach")
	s := Scene(task, rand.New(rand.NewPCG(5, 6)))
	hinge := [3]float64{0.2, 0.45, 0}
	door := func(hinge [3]float64, a float64) func(State) {
		return func(s State) { s.SetPos(Door, doorHandle(hinge, a), doorQuat(a)) }
	}
	door(hinge, 0.5)(s)
	for _, c := range []struct {
		name string
		edit func(State)
		want Shares
	}{
		{"swing", door(hinge, 0.6), Shares{}},
		{"past the stop", door(hinge, DoorMaxAngle+0.3), Shares{ImplausiblePose: 1, BeyondDynamics: 1}},
		{"tilted", func(s State) { s.SetPos(Door, s.Pos(Door), [4]float64{0.9, 0.3, 0, -0.3}) }, Shares{ImplausiblePose: 1, BeyondDynamics: 1}},
		{"hinge moves", door([3]float64{0.22, 0.45, 0}, 0.5), Shares{BeyondDynamics: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Plausibility(path(s, c.edit)); got != c.want {
				t.Fatalf("Plausibility = %+v, want %+v", got, c.want)
			}
		})
	}
	if a := State(path(s)).DoorAngle(); math.Abs(a-0.5) > 1e-6 {
		t.Errorf("DoorAngle = %g, want 0.5", a)
	}
}

// TestLanguage: the rephrase wording shares no sentence with the training
// wording, every task has phrasings at its level, and every text parses
// back to its task.
func TestLanguage(t *testing.T) {
	for _, task := range Tasks {
		levels := []string{task.Level}
		if task.Level == LevelTrain {
			levels = append(levels, LevelRephrase)
			for _, p := range Phrasings(task.Name, LevelRephrase) {
				if slices.ContainsFunc(Phrasings(task.Name, LevelTrain), func(q string) bool { return normal(q) == normal(p) }) {
					t.Errorf("%s: %q is in both wordings", task.Name, p)
				}
			}
		}
		for _, l := range levels {
			ps := Phrasings(task.Name, l)
			if len(ps) < 6 {
				t.Errorf("%s at %s: %d phrasings, want ≥ 6", task.Name, l, len(ps))
			}
			for _, p := range ps {
				got, err := TaskOf(goalText(p))
				if err != nil || got.Name != task.Name {
					t.Errorf("TaskOf(%q) = %v, %v; want %s", p, got.Name, err, task.Name)
				}
			}
		}
	}
}

func goalText(text string) dataset.Goal { return dataset.Goal{Text: text} }

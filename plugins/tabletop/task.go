package tabletop

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Goal levels (kalm-paper.md §2.2, Meta-World column).
const (
	LevelTrain    = "train"       // the training tasks, in the training wording
	LevelRephrase = "rephrase"    // the training tasks in wording training never sees
	LevelEasy     = "unseen-easy" // the same skills with a wall in the way, and the opposite skills
	LevelHard     = "unseen-hard" // two skills in sequence
)

// Levels lists the goal levels, training level first.
var Levels = []string{LevelTrain, LevelRephrase, LevelEasy, LevelHard}

// Condition is what one stage of a task asks of a state.
type Condition int

const (
	HandAt        Condition = iota // the hand within ReachTol of the target
	PuckAt                         // the puck on the table within PlaceTol (xy) of the target
	BlockAt                        // the block within PlaceTol of the target
	ButtonPressed                  // the button pressed down by PressMin
	DrawerOpen                     // the drawer pulled out by OpenMin
	DrawerClosed                   // the drawer pushed in to within ClosedMax
	WindowOpen                     // the window slid open by OpenMin
	WindowClosed                   // the window slid shut to within ClosedMax
	DoorOpen                       // the door swung open by DoorOpenMin
	DoorClosed                     // the door swung shut to within DoorClosedMax
)

// Success thresholds.
const (
	ReachTol  = 0.03
	PlaceTol  = 0.04
	PressMin  = 0.012
	OpenMin   = 0.1
	ClosedMax = 0.02
	// Openings the tasks start from or aim at.
	OpenTarget = 0.12
	// The door's angles (radians): open from DoorOpenMin, shut below
	// DoorClosedMax; door-close starts from DoorOpenTarget, where door-open's
	// target marks the handle.
	DoorOpenMin    = 0.6
	DoorClosedMax  = 0.1
	DoorOpenTarget = 0.8
)

// Task is one task: the entities it uses and the conditions it asks for, in order.
type Task struct {
	Name     string
	Level    string // the level of its goals (training tasks are also rephrase goals)
	Stages   []Condition
	Entities []Entity
}

// Tasks lists every task: 7 training, 6 unseen-easy, 4 unseen-hard.
var Tasks = []Task{
	{"reach", LevelTrain, []Condition{HandAt}, nil},
	{"push", LevelTrain, []Condition{PuckAt}, []Entity{Puck}},
	{"pick-place", LevelTrain, []Condition{BlockAt}, []Entity{Block}},
	{"button-press", LevelTrain, []Condition{ButtonPressed}, []Entity{Button}},
	{"drawer-open", LevelTrain, []Condition{DrawerOpen}, []Entity{Drawer}},
	{"window-open", LevelTrain, []Condition{WindowOpen}, []Entity{Window}},
	{"door-open", LevelTrain, []Condition{DoorOpen}, []Entity{Door}},

	{"reach-wall", LevelEasy, []Condition{HandAt}, []Entity{Wall}},
	{"push-wall", LevelEasy, []Condition{PuckAt}, []Entity{Puck, Wall}},
	{"pick-place-wall", LevelEasy, []Condition{BlockAt}, []Entity{Block, Wall}},
	{"drawer-close", LevelEasy, []Condition{DrawerClosed}, []Entity{Drawer}},
	{"window-close", LevelEasy, []Condition{WindowClosed}, []Entity{Window}},
	{"door-close", LevelEasy, []Condition{DoorClosed}, []Entity{Door}},

	{"pick-place-then-press", LevelHard, []Condition{BlockAt, ButtonPressed}, []Entity{Block, Button}},
	{"drawer-open-then-push", LevelHard, []Condition{DrawerOpen, PuckAt}, []Entity{Puck, Drawer}},
	{"window-open-then-press", LevelHard, []Condition{WindowOpen, ButtonPressed}, []Entity{Button, Window}},
	{"push-then-drawer-close", LevelHard, []Condition{PuckAt, DrawerClosed}, []Entity{Puck, Drawer}},
}

// TaskNamed returns the task called name.
func TaskNamed(name string) (Task, error) {
	for _, t := range Tasks {
		if t.Name == name {
			return t, nil
		}
	}
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = t.Name
	}
	return Task{}, fmt.Errorf("tabletop: task %q, want one of %v", name, names)
}

// TasksOf lists the tasks whose goals a level asks for.
func TasksOf(level string) []Task {
	want := level
	if level == LevelRephrase {
		want = LevelTrain
	}
	var out []Task
	for _, t := range Tasks {
		if t.Level == want {
			out = append(out, t)
		}
	}
	return out
}

// index is the task's position in Tasks (its goal-vector slot).
func (t Task) index() int {
	return slices.IndexFunc(Tasks, func(u Task) bool { return u.Name == t.Name })
}

// Uses reports whether the task uses an entity.
func (t Task) Uses(e Entity) bool { return slices.Contains(t.Entities, e) }

// Holds reports whether a stage's condition holds in s.
func Holds(c Condition, s State) bool {
	switch c {
	case HandAt:
		return dist(s.Hand(), s.Target()) < ReachTol
	case PuckAt:
		p := s.Pos(Puck)
		return s.Active(Puck) && dist2(p, s.Target()) < PlaceTol && p[2] < PuckHalfHeight+0.01
	case BlockAt:
		return s.Active(Block) && dist(s.Pos(Block), s.Target()) < PlaceTol
	case ButtonPressed:
		return s.Active(Button) && s.ButtonPress() >= PressMin
	case DrawerOpen:
		return s.Active(Drawer) && s.DrawerOpening() >= OpenMin
	case DrawerClosed:
		return s.Active(Drawer) && s.DrawerOpening() <= ClosedMax
	case WindowOpen:
		return s.Active(Window) && s.WindowOpening() >= OpenMin
	case WindowClosed:
		return s.Active(Window) && s.WindowOpening() <= ClosedMax
	case DoorOpen:
		return s.Active(Door) && s.DoorAngle() >= DoorOpenMin
	case DoorClosed:
		return s.Active(Door) && s.DoorAngle() <= DoorClosedMax
	}
	return false
}

// progress is a stage's distance to done, ≥ 0 (the shaped reward's potential).
func progress(c Condition, s State) float64 {
	h := s.Hand()
	grasp := func(e Entity, d float64) float64 { return 0.5*dist(h, s.Pos(e)) + 2*d }
	switch c {
	case HandAt:
		return 2 * dist(h, s.Target())
	case PuckAt:
		return grasp(Puck, dist2(s.Pos(Puck), s.Target()))
	case BlockAt:
		return grasp(Block, dist(s.Pos(Block), s.Target()))
	case ButtonPressed:
		b := s.Pos(Button)
		return 0.5*dist(h, [3]float64{b[0], b[1], b[2] + 0.01}) + 2*math.Max(0, PressMin-s.ButtonPress())
	case DrawerOpen:
		return grasp(Drawer, math.Max(0, OpenMin-s.DrawerOpening()))
	case DrawerClosed:
		return grasp(Drawer, math.Max(0, s.DrawerOpening()-ClosedMax))
	case WindowOpen:
		return grasp(Window, math.Max(0, OpenMin-s.WindowOpening()))
	case WindowClosed:
		return grasp(Window, math.Max(0, s.WindowOpening()-ClosedMax))
	case DoorOpen: // the handle's arc still to go, in metres
		return grasp(Door, DoorHandleX*math.Max(0, DoorOpenMin-s.DoorAngle()))
	case DoorClosed:
		return grasp(Door, DoorHandleX*math.Max(0, s.DoorAngle()-DoorClosedMax))
	}
	return 0
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// Scene samples a task's initial state: the hand, the target and the entities
// it uses, everything at rest. The physics settles it on reset.
func Scene(t Task, rng *rand.Rand) State {
	s := make(State, ObsDim)
	s.set(0, [3]float64{uniform(rng, -0.1, 0.1), uniform(rng, -0.05, 0.05), uniform(rng, 0.12, 0.18)})
	s[3] = 2 * FingerOpen
	u := func(lo, hi float64) float64 { return uniform(rng, lo, hi) }
	far := func(a, b [3]float64) bool { return dist(a, b) >= 0.12 }
	var target [3]float64
	wall := t.Uses(Wall)
	// Free objects: near the robot; with a wall, on the near side of it.
	objY := [2]float64{0.05, 0.25}
	tgtY := [2]float64{0.1, 0.42}
	if wall {
		objY, tgtY = [2]float64{0.05, 0.14}, [2]float64{0.34, 0.44}
	}
	xr := [2]float64{-0.22, 0.22}
	if len(t.Stages) > 1 {
		xr = [2]float64{-0.25, -0.08} // compositions: the free object on the left, fixtures on the right
		if t.Uses(Drawer) && t.Stages[0] == DrawerOpen {
			xr = [2]float64{0.08, 0.25}
		}
	}
	for _, e := range []Entity{Puck, Block} {
		if !t.Uses(e) {
			continue
		}
		half := PuckHalfHeight
		if e == Block {
			half = BlockHalf
		}
		p := [3]float64{u(xr[0], xr[1]), u(objY[0], objY[1]), half}
		s.SetPos(e, p, [4]float64{1, 0, 0, 0})
		for {
			target = [3]float64{u(xr[0], xr[1]), u(tgtY[0], tgtY[1]), half}
			if e == Block {
				target[2] = u(0.05, 0.18)
			}
			if far(p, target) {
				break
			}
		}
		if wall {
			s.SetPos(Wall, [3]float64{(p[0] + target[0]) / 2, (p[1] + target[1]) / 2, WallHalfZ}, [4]float64{})
		}
	}
	if t.Uses(Button) {
		x, y := u(-0.22, 0.22), u(0.22, 0.42)
		if len(t.Stages) > 1 {
			x, y = u(0.12, 0.26), u(0.1, 0.3)
		}
		s.SetPos(Button, [3]float64{x, y, ButtonRestZ}, [4]float64{})
	}
	if t.Uses(Drawer) {
		x := u(-0.22, 0.22)
		if len(t.Stages) > 1 {
			x = u(-0.25, -0.08)
			if t.Stages[0] != DrawerOpen {
				x = u(0.08, 0.25)
			}
		}
		open := 0.0
		if slices.Contains(t.Stages, DrawerClosed) {
			open = OpenTarget
		}
		s.SetPos(Drawer, [3]float64{x, CabinetY + HandleOffsetY - open, DrawerHandleZ}, [4]float64{})
	}
	if t.Uses(Window) {
		open := 0.0
		if slices.Contains(t.Stages, WindowClosed) {
			open = OpenTarget
		}
		s.SetPos(Window, [3]float64{WindowX + open, u(0.42, 0.56) + WindowHandleY, WindowHandleZ}, [4]float64{})
	}
	if t.Uses(Door) {
		hinge := [3]float64{u(-0.22, 0), u(0.38, 0.5), 0}
		a := 0.0
		if slices.Contains(t.Stages, DoorClosed) {
			a = DoorOpenTarget
		}
		s.SetPos(Door, doorHandle(hinge, a), doorQuat(a))
	}
	// The target: where the free object goes, else where the first stage wants something.
	switch stage := t.Stages[0]; {
	case t.Uses(Puck) || t.Uses(Block):
	case stage == HandAt:
		for {
			target = [3]float64{u(-0.3, 0.3), u(0.0, 0.45), u(0.05, 0.25)}
			if wall {
				target[1], target[2] = u(0.32, 0.45), u(0.03, 0.08)
			}
			if far(s.Hand(), target) {
				break
			}
		}
		if wall {
			h := s.Hand()
			s.SetPos(Wall, [3]float64{(h[0] + target[0]) / 2, (0.02 + target[1]) / 2, WallHalfZ}, [4]float64{})
		}
	case stage == ButtonPressed:
		b := s.Pos(Button)
		target = [3]float64{b[0], b[1], ButtonRestZ - PressMin}
	case stage == DrawerOpen || stage == DrawerClosed:
		d := s.Pos(Drawer)
		target = [3]float64{d[0], CabinetY + HandleOffsetY - OpenTarget, d[2]}
		if t.Stages[0] == DrawerClosed {
			target[1] = CabinetY + HandleOffsetY
		}
	case stage == DoorOpen:
		target = doorHandle(s.DoorHinge(), DoorOpenTarget)
	case stage == DoorClosed:
		target = doorHandle(s.DoorHinge(), 0)
	case stage == WindowOpen || stage == WindowClosed:
		w := s.Pos(Window)
		target = [3]float64{WindowX + OpenTarget, w[1], w[2]}
		if t.Stages[0] == WindowClosed {
			target[0] = WindowX
		}
	}
	s.set(4, target)
	return s
}

// GoalDim is the length of a goal's vector: a one-hot task.
var GoalDim = len(Tasks)

// Vector is the task's goal vector.
func (t Task) Vector() []float32 {
	v := make([]float32, GoalDim)
	v[t.index()] = 1
	return v
}

package tabletop

import (
	"math"
	"math/rand/v2"
)

// ExpertParams tunes the scripted expert.
type ExpertParams struct {
	// Noise is the standard deviation of Gaussian noise added to every action
	// component (then clipped to [−1, 1]).
	Noise float64
	// RandomShare is the probability of a uniformly random action instead.
	RandomShare float64
}

// grasp geometry: where the hand holds an entity, and the entity's width between the fingers.
func graspOf(e Entity, p [3]float64) (z, width float64) {
	switch e {
	case Puck:
		return math.Max(HandZMin, p[2]-0.01), 2 * PuckRadius
	case Block:
		return math.Max(HandZMin, p[2]-0.014), 2 * BlockHalf
	}
	return p[2] - 0.018, 2 * HandleRadius // drawer and window handles
}

// toward is the action that moves the hand from h towards goal, with the grip.
func toward(h, goal [3]float64, grip float64) []float32 {
	a := make([]float32, ActionDim)
	for i := range 3 {
		a[i] = float32(math.Max(-1, math.Min(1, 1.5*(goal[i]-h[i])/MaxDelta)))
	}
	a[3] = float32(grip)
	return a
}

// carry grasps entity e and moves it so that its position reaches dest.
// It reads nothing but the state, as Meta-World's scripted policies do.
func carry(s State, e Entity, dest [3]float64) []float32 {
	h, p, gap := s.Hand(), s.Pos(e), s.Gap()
	gz, width := graspOf(e, p)
	near := dist2(h, p)
	low := math.Abs(h[2]-gz) < 0.02
	switch {
	case near < 0.02 && low && gap < width+0.006 && gap > width-0.012:
		// Held: move the entity to dest.
		return toward(h, [3]float64{h[0] + dest[0] - p[0], h[1] + dest[1] - p[1], h[2] + dest[2] - p[2]}, 1)
	case near < 0.012 && low && gap <= width-0.012:
		return toward(h, h, -1) // closed on nothing: open again
	case near >= 0.012:
		hover := gz + 0.07
		if near > 0.03 && h[2] < hover-0.02 {
			return toward(h, [3]float64{h[0], h[1], hover}, -1) // rise before travelling
		}
		return toward(h, [3]float64{p[0], p[1], math.Max(h[2], hover)}, -1)
	case h[2] > gz+0.006:
		return toward(h, [3]float64{p[0], p[1], gz}, -1) // descend, open
	default:
		return toward(h, [3]float64{p[0], p[1], gz}, 1) // close
	}
}

// press pushes the button down with closed fingers.
func press(s State) []float32 {
	h, b := s.Hand(), s.Pos(Button)
	top := b[2] + 0.01
	if dist2(h, b) > 0.01 {
		hover := top + 0.05
		if h[2] < hover-0.02 && dist2(h, b) > 0.03 {
			return toward(h, [3]float64{h[0], h[1], hover}, 1)
		}
		return toward(h, [3]float64{b[0], b[1], math.Max(h[2], hover)}, 1)
	}
	return toward(h, [3]float64{b[0], b[1], ButtonRestZ + 0.01 - ButtonTravel - 0.004}, 1)
}

// shut pushes the open door closed with the closed hand low against the
// panel's front, 8 cm from the hinge: a grip on the handle of a turned door
// would put the square hand's fingers and palm into the panel.
func shut(s State) []float32 {
	const r, z, clear = 0.08, 0.03, 0.075 // along the panel, hand height, off its front
	h, hinge, a := s.Hand(), s.DoorHinge(), s.DoorAngle()
	at := func(a, off float64) [3]float64 { // r along the panel at angle a, off in front of it
		c, sn := math.Cos(a), math.Sin(a)
		return [3]float64{hinge[0] + r*c - off*sn, hinge[1] - r*sn - off*c, z}
	}
	p := at(a, clear)
	if dist2(h, p) > 0.02 && !(h[2] < z+0.02 && dist2(h, p) < 0.05) {
		hover := DoorHandleZ + 0.04
		if h[2] < hover-0.02 && dist2(h, p) > 0.05 {
			return toward(h, [3]float64{h[0], h[1], hover}, 1) // rise before travelling
		}
		return toward(h, [3]float64{p[0], p[1], math.Max(h[2], hover)}, 1)
	}
	if h[2] > z+0.01 {
		return toward(h, p, 1) // descend in front of the panel
	}
	return toward(h, at(a-0.12, clear-0.03), 1) // push along the closing arc, gently (the door is light)
}

// Expert is the scripted policy's action for task t in state s: it works on
// the first stage that does not hold now.
func Expert(t Task, s State) []float32 {
	k := stage(&t, 0, s)
	if k == len(t.Stages) {
		k = len(t.Stages) - 1
	}
	h, tgt := s.Hand(), s.Target()
	switch t.Stages[k] {
	case HandAt:
		return toward(h, tgt, -1)
	case PuckAt:
		return carry(s, Puck, tgt)
	case BlockAt:
		return carry(s, Block, tgt)
	case ButtonPressed:
		return press(s)
	case DrawerOpen, DrawerClosed:
		d := s.Pos(Drawer)
		y := CabinetY + HandleOffsetY - OpenTarget - 0.01
		if t.Stages[k] == DrawerClosed {
			y = CabinetY + HandleOffsetY + 0.01
		}
		return carry(s, Drawer, [3]float64{d[0], y, d[2]})
	case WindowOpen, WindowClosed:
		w := s.Pos(Window)
		x := WindowX + OpenTarget + 0.01
		if t.Stages[k] == WindowClosed {
			x = WindowX - 0.01
		}
		return carry(s, Window, [3]float64{x, w[1], w[2]})
	case DoorOpen:
		// Pull the handle along its arc: a point 0.3 rad ahead, past the goal.
		return carry(s, Door, doorHandle(s.DoorHinge(), math.Min(s.DoorAngle()+0.3, DoorOpenTarget+0.1)))
	case DoorClosed:
		return shut(s)
	}
	return toward(h, h, -1)
}

// Behave is the expert's action with the noise of p, drawn from rng.
func Behave(t Task, s State, p ExpertParams, rng *rand.Rand) []float32 {
	if p.RandomShare > 0 && rng.Float64() < p.RandomShare {
		return Random(rng)
	}
	a := Expert(t, s)
	if p.Noise > 0 {
		for i := range a {
			a[i] = float32(math.Max(-1, math.Min(1, float64(a[i])+p.Noise*rng.NormFloat64())))
		}
	}
	return a
}

// Random is a uniformly random action.
func Random(rng *rand.Rand) []float32 {
	a := make([]float32, ActionDim)
	for i := range a {
		a[i] = float32(2*rng.Float64() - 1)
	}
	return a
}

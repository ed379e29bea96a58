package tabletop

import "math"

// Shares are the shares of a rollout's transitions that break each of the
// paper's four Meta-World rules (kalm-paper.md Table 5), judged on the next
// state of each transition.
type Shares struct {
	// FloatInAir: a puck or block above its resting height with no finger
	// holding it, and not falling: it rose or hovered since the last state.
	FloatInAir float64
	// OutOfWorkbench: the hand or an entity beyond the table top's edges or below it.
	OutOfWorkbench float64
	// ImplausiblePose: an orientation that is not a unit quaternion, a
	// tilted fixture, a drawer, window or button beyond its travel, a door
	// turned about another axis than z or beyond its hinge's range, or
	// fingers opened beyond their range.
	ImplausiblePose float64
	// BeyondDynamics: the hand moving faster than its actions allow, an
	// object faster than 1 m/s, or a fixture's base moving at all.
	BeyondDynamics float64
}

// Dynamics limits per step.
const (
	handStepMax   = 2.5 * MaxDelta // the hand follows its target with some overshoot
	objectStepMax = 0.05           // 1 m/s over a 0.05 s step
	fixtureTol    = 1e-3
)

func floating(s, prev State, e Entity, rest float64) bool {
	if !s.Active(e) {
		return false
	}
	p := s.Pos(e)
	if p[2] < rest+0.01 {
		return false
	}
	h := s.Hand()
	held := dist2(h, p) < 0.03 && p[2]-h[2] > -0.02 && p[2]-h[2] < FingerLen+0.01 && s.Gap() < 2*FingerOpen-0.01
	falling := prev.Active(e) && p[2] < prev.Pos(e)[2]-1e-4
	return !held && !falling
}

func outside(p [3]float64) bool {
	return p[0] < TableXMin || p[0] > TableXMax || p[1] < TableYMin || p[1] > TableYMax || p[2] < -0.01 || p[2] > 0.6
}

func badPose(s State) bool {
	if g := s.Gap(); g < -0.03 || g > 2*FingerOpen+0.005 {
		return true
	}
	for e := range NumEntities {
		if !s.Active(e) {
			continue
		}
		q := s.Quat(e)
		n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
		if math.Abs(n-1) > 0.01 {
			return true
		}
		if e >= Button && e != Door && math.Abs(math.Abs(q[0])-1) > 0.01 { // fixtures never tilt
			return true
		}
		if e == Door && (math.Abs(q[1]) > 0.01 || math.Abs(q[2]) > 0.01) { // the door only turns about z
			return true
		}
	}
	const slack = 0.008 // MuJoCo's soft limits give a few millimetres
	if s.Active(Button) && (s.ButtonPress() < -slack || s.ButtonPress() > ButtonTravel+slack) {
		return true
	}
	if s.Active(Drawer) && (s.DrawerOpening() < -slack || s.DrawerOpening() > DrawerTravel+slack || math.Abs(s.Pos(Drawer)[2]-DrawerHandleZ) > slack) {
		return true
	}
	const angleSlack = 0.05 // radians, the door's soft limits
	if s.Active(Door) && (s.DoorAngle() < -angleSlack || s.DoorAngle() > DoorMaxAngle+angleSlack || math.Abs(s.Pos(Door)[2]-DoorHandleZ) > slack) {
		return true
	}
	if s.Active(Window) && (s.WindowOpening() < -slack || s.WindowOpening() > WindowTravel+slack || math.Abs(s.Pos(Window)[2]-WindowHandleZ) > slack) {
		return true
	}
	return false
}

func beyond(prev, s State) bool {
	h0, h1 := prev.Hand(), s.Hand()
	for i := range 3 {
		if math.Abs(h1[i]-h0[i]) > handStepMax {
			return true
		}
	}
	for _, e := range []Entity{Puck, Block} {
		if s.Active(e) != prev.Active(e) || s.Active(e) && dist(prev.Pos(e), s.Pos(e)) > objectStepMax {
			return true
		}
	}
	// Fixture bases: the button's x, y; the drawer's x; the window's y; the whole wall.
	fixed := [][3]int{{int(Button), 0, 1}, {int(Drawer), 0, 0}, {int(Window), 1, 1}, {int(Wall), 0, 2}}
	for _, f := range fixed {
		e := Entity(f[0])
		if s.Active(e) != prev.Active(e) {
			return true
		}
		if !s.Active(e) {
			continue
		}
		a, b := prev.Pos(e), s.Pos(e)
		for k := f[1]; k <= f[2]; k++ {
			if math.Abs(a[k]-b[k]) > fixtureTol {
				return true
			}
		}
	}
	// The door: its hinge stays put, its handle moves no faster than an object.
	if s.Active(Door) != prev.Active(Door) || s.Active(Door) && (dist(prev.DoorHinge(), s.DoorHinge()) > fixtureTol || dist(prev.Pos(Door), s.Pos(Door)) > objectStepMax) {
		return true
	}
	return math.Abs(prev.DrawerOpening()-s.DrawerOpening()) > objectStepMax && s.Active(Drawer) ||
		math.Abs(prev.WindowOpening()-s.WindowOpening()) > objectStepMax && s.Active(Window)
}

// Plausibility scores the T transitions of T+1 states.
func Plausibility(obs []float32) Shares {
	T := len(obs)/ObsDim - 1
	var c Shares
	if T < 1 {
		return c
	}
	for t := 0; t < T; t++ {
		prev, s := State(obs[t*ObsDim:(t+1)*ObsDim]), State(obs[(t+1)*ObsDim:(t+2)*ObsDim])
		if floating(s, prev, Puck, PuckHalfHeight) || floating(s, prev, Block, BlockHalf) {
			c.FloatInAir++
		}
		out := outside(s.Hand())
		for e := range NumEntities {
			out = out || s.Active(e) && outside(s.Pos(e))
		}
		if out {
			c.OutOfWorkbench++
		}
		if badPose(s) {
			c.ImplausiblePose++
		}
		if beyond(prev, s) {
			c.BeyondDynamics++
		}
	}
	n := float64(T)
	return Shares{c.FloatInAir / n, c.OutOfWorkbench / n, c.ImplausiblePose / n, c.BeyondDynamics / n}
}

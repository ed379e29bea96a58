//go:build mujoco

package tabletop

import (
	"fmt"
	"math"

	"github.com/kalm-go/kalm/plugins/internal/mujoco"
)

// engine is the compiled scene with the indices the worlds need. The model
// is read-only after loading, so every world of a batch shares it.
type engine struct {
	m *mujoco.Model
	// qpos/qvel addresses
	handQ, handV, fingerQ [3]int // hand x, y, z; fingers l, r (only [0:2])
	freeQ, freeV          [2]int // puck, block
	jointQ                [4]int // button, drawer, window, door
	mocap                 map[string]int
	hand                  int // body index
	fingerL, fingerR      int // actuator indices
}

// newEngine loads the scene.
func newEngine() (*engine, error) {
	m, err := mujoco.Load("tabletop scene", MJCF)
	if err != nil {
		return nil, err
	}
	e := &engine{m: m, mocap: map[string]int{}}
	joint := func(name string) (q, v int) {
		if err != nil {
			return
		}
		var id int
		if id, err = m.ID(mujoco.Joint, name); err == nil {
			q, v = m.JointQPos(id), m.JointQVel(id)
		}
		return
	}
	for i, n := range []string{"hand_x", "hand_y", "hand_z"} {
		e.handQ[i], e.handV[i] = joint(n)
	}
	e.fingerQ[0], _ = joint("finger_l")
	e.fingerQ[1], _ = joint("finger_r")
	e.freeQ[0], e.freeV[0] = joint("puck")
	e.freeQ[1], e.freeV[1] = joint("block")
	e.jointQ[0], _ = joint("button")
	e.jointQ[1], _ = joint("drawer")
	e.jointQ[2], _ = joint("window")
	e.jointQ[3], _ = joint("door")
	for _, n := range []string{"hand_target", "button_box", "cabinet", "window_frame", "door_frame", "wall"} {
		if err != nil {
			break
		}
		var b int
		if b, err = m.ID(mujoco.Body, n); err == nil {
			e.mocap[n] = m.Mocap(b)
		}
	}
	if err == nil {
		e.hand, err = m.ID(mujoco.Body, "hand")
	}
	if err == nil {
		e.fingerL, err = m.ID(mujoco.Actuator, "finger_l")
	}
	if err == nil {
		e.fingerR, err = m.ID(mujoco.Actuator, "finger_r")
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("tabletop scene: %w", err)
	}
	return e, nil
}

// world is one episode's simulation.
type world struct {
	e *engine
	d *mujoco.Data
}

func (e *engine) newWorld() (*world, error) {
	d, err := e.m.NewData()
	if err != nil {
		return nil, err
	}
	return &world{e: e, d: d}, nil
}

func (w *world) setMocap(name string, p [3]float64) {
	copy(w.d.MocapPos()[3*w.e.mocap[name]:], p[:])
}

// set puts the simulation in the state s describes, at rest.
func (w *world) set(s State) error {
	if err := w.d.Reset(); err != nil {
		return err
	}
	e, q := w.e, w.d.QPos()
	hand := s.Hand()
	for i := range 3 {
		q[e.handQ[i]] = hand[i]
	}
	w.setMocap("hand_target", hand)
	half := math.Min(FingerOpen, s.Gap()/2) // negative when the fingers press into each other
	q[e.fingerQ[0]], q[e.fingerQ[1]] = half, half
	ctrl := w.d.Ctrl()
	ctrl[e.fingerL], ctrl[e.fingerR] = half, half
	for k, ent := range []Entity{Puck, Block} {
		p, o := s.Pos(ent), s.Quat(ent)
		if !s.Active(ent) {
			p, o = parked(k), [4]float64{1, 0, 0, 0}
			p[2] += 0.03
		}
		copy(q[e.freeQ[k]:], p[:])
		copy(q[e.freeQ[k]+3:], o[:])
	}
	fix := func(ent Entity, k int, body string, base [3]float64, joint float64) {
		if !s.Active(ent) {
			w.setMocap(body, parked(2+k+k/3)) // the door (k = 3) waits beyond the wall
			q[e.jointQ[k]] = 0
			return
		}
		w.setMocap(body, base)
		q[e.jointQ[k]] = joint
	}
	b := s.Pos(Button)
	fix(Button, 0, "button_box", [3]float64{b[0], b[1], 0}, b[2]-ButtonRestZ)
	dr := s.Pos(Drawer)
	fix(Drawer, 1, "cabinet", [3]float64{dr[0], CabinetY, 0}, s.DrawerOpening())
	wi := s.Pos(Window)
	fix(Window, 2, "window_frame", [3]float64{WindowX, wi[1] - WindowHandleY, 0}, s.WindowOpening())
	fix(Door, 3, "door_frame", s.DoorHinge(), s.DoorAngle())
	if s.Active(Wall) {
		w.setMocap("wall", s.Pos(Wall))
		o := s.Quat(Wall)
		copy(w.d.MocapQuat()[4*e.mocap["wall"]:], o[:])
	} else {
		w.setMocap("wall", parked(5))
	}
	w.gravityCompensation()
	return w.d.Forward()
}

// gravityCompensation holds the gripper up, as a robot arm's controller does.
func (w *world) gravityCompensation() {
	w.d.QFrcApplied()[w.e.handV[2]] = handMass * 9.81
}

// step applies one action: the hand target moves to the hand's position plus
// MaxDelta·a (clipped to the workspace), the fingers' targets follow a₃, and
// the simulation runs Substeps timesteps.
func (w *world) step(a []float32) error {
	e, hand := w.e, w.d.BodyPos(w.e.hand)
	lo := [3]float64{HandXMin, HandYMin, HandZMin}
	hi := [3]float64{HandXMax, HandYMax, HandZMax}
	var t [3]float64
	for i := range 3 {
		t[i] = math.Max(lo[i], math.Min(hi[i], hand[i]+MaxDelta*float64(a[i])))
	}
	w.setMocap("hand_target", t)
	g := FingerClose + (FingerOpen-FingerClose)*(1-float64(a[3]))/2
	ctrl := w.d.Ctrl()
	ctrl[e.fingerL], ctrl[e.fingerR] = g, g
	if err := w.d.Step(Substeps); err != nil {
		return err
	}
	return w.d.Forward()
}

// observe writes the state (all but the target, which the episode keeps).
func (w *world) observe(s State, active [NumEntities]bool) {
	e, q := w.e, w.d.QPos()
	s.set(0, w.d.BodyPos(e.hand))
	s[3] = float32(q[e.fingerQ[0]] + q[e.fingerQ[1]])
	for k, ent := range []Entity{Puck, Block} {
		if !active[ent] {
			s.Clear(ent)
			continue
		}
		var p [3]float64
		var o [4]float64
		copy(p[:], q[e.freeQ[k]:])
		copy(o[:], q[e.freeQ[k]+3:])
		s.SetPos(ent, p, o)
	}
	mp := w.d.MocapPos()
	base := func(body string) [3]float64 {
		i := 3 * e.mocap[body]
		return [3]float64{mp[i], mp[i+1], mp[i+2]}
	}
	if active[Button] {
		b := base("button_box")
		s.SetPos(Button, [3]float64{b[0], b[1], ButtonRestZ + q[e.jointQ[0]]}, [4]float64{})
	} else {
		s.Clear(Button)
	}
	if active[Drawer] {
		b := base("cabinet")
		s.SetPos(Drawer, [3]float64{b[0], CabinetY + HandleOffsetY - q[e.jointQ[1]], DrawerHandleZ}, [4]float64{})
	} else {
		s.Clear(Drawer)
	}
	if active[Window] {
		b := base("window_frame")
		s.SetPos(Window, [3]float64{WindowX + q[e.jointQ[2]], b[1] + WindowHandleY, WindowHandleZ}, [4]float64{})
	} else {
		s.Clear(Window)
	}
	if active[Door] {
		a := q[e.jointQ[3]]
		s.SetPos(Door, doorHandle(base("door_frame"), a), doorQuat(a))
	} else {
		s.Clear(Door)
	}
	if active[Wall] {
		i := 4 * e.mocap["wall"]
		mq := w.d.MocapQuat()
		s.SetPos(Wall, base("wall"), [4]float64{mq[i], mq[i+1], mq[i+2], mq[i+3]})
	} else {
		s.Clear(Wall)
	}
}

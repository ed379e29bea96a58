package tabletop

import (
	"fmt"
	"math"
)

// Entity is one slot of the observation.
type Entity int

// The entities, in slot order.
const (
	Puck Entity = iota
	Block
	Button
	Drawer
	Window
	Wall
	Door
	NumEntities
)

var entityNames = [NumEntities]string{"puck", "block", "button", "drawer", "window", "wall", "door"}

func (e Entity) String() string {
	if e >= 0 && e < NumEntities {
		return entityNames[e]
	}
	return fmt.Sprintf("entity(%d)", int(e))
}

// Observation layout: the paper's entity slots (kalm-paper.md §1.2) for this scene.
//
//	[0:3]   hand position (the fingertips' midpoint)
//	[3]     finger opening (distance between the fingers' inner faces)
//	[4:7]   target location
//	[7+7k : 14+7k] entity k (puck, block, button, drawer, window, wall, door):
//	        position (3) then orientation quaternion (w, x, y, z);
//	        all zero when the task does not use the entity.
//
// The button's position is its cap's centre, the drawer's, the window's and
// the door's their handle post's centre, the wall's its centre; the door's
// orientation is its panel's, a turn about −z by its angle.
const (
	SlotSize = 7
	ObsDim   = 7 + SlotSize*int(NumEntities)
	// ActionDim: hand target Δx, Δy, Δz (× MaxDelta) and the grip (−1 open, +1 close).
	ActionDim = 4
)

// State reads an observation.
type State []float32

func (s State) vec(i int) [3]float64 {
	return [3]float64{float64(s[i]), float64(s[i+1]), float64(s[i+2])}
}

// Hand is the hand position.
func (s State) Hand() [3]float64 { return s.vec(0) }

// Gap is the finger opening.
func (s State) Gap() float64 { return float64(s[3]) }

// Target is the target location.
func (s State) Target() [3]float64 { return s.vec(4) }

// Pos is an entity's position.
func (s State) Pos(e Entity) [3]float64 { return s.vec(7 + SlotSize*int(e)) }

// Quat is an entity's orientation (w, x, y, z).
func (s State) Quat(e Entity) [4]float64 {
	i := 7 + SlotSize*int(e) + 3
	return [4]float64{float64(s[i]), float64(s[i+1]), float64(s[i+2]), float64(s[i+3])}
}

// Active reports whether the entity's slot is filled. A filled slot holds a
// unit quaternion and an empty one zeros, so the slot counts as filled when
// its quaternion's norm is above ¼: a state a model predicts, whose empty
// slots are near zero rather than zero, reads as the scene it stands for
// (and a filled slot's quaternion far from unit length is an impossible
// pose, not an empty slot).
func (s State) Active(e Entity) bool {
	q := s.Quat(e)
	return q[0]*q[0]+q[1]*q[1]+q[2]*q[2]+q[3]*q[3] > 1.0/16
}

func (s State) set(i int, v [3]float64) {
	s[i], s[i+1], s[i+2] = float32(v[0]), float32(v[1]), float32(v[2])
}

// SetPos writes an entity's position and orientation (an identity quaternion
// when q is the zero value).
func (s State) SetPos(e Entity, p [3]float64, q [4]float64) {
	if q == ([4]float64{}) {
		q[0] = 1
	}
	i := 7 + SlotSize*int(e)
	s.set(i, p)
	for k := 0; k < 4; k++ {
		s[i+3+k] = float32(q[k])
	}
}

// Clear empties an entity's slot.
func (s State) Clear(e Entity) {
	i := 7 + SlotSize*int(e)
	clear(s[i : i+SlotSize])
}

// DrawerOpening is how far the drawer is pulled out, from its handle.
func (s State) DrawerOpening() float64 { return CabinetY + HandleOffsetY - float64(s.Pos(Drawer)[1]) }

// WindowOpening is how far the window is slid open, from its handle.
func (s State) WindowOpening() float64 { return s.Pos(Window)[0] - WindowX }

// DoorAngle is how far the door has swung open, in radians, from its orientation.
func (s State) DoorAngle() float64 {
	q := s.Quat(Door)
	return 2 * math.Atan2(-q[3], q[0])
}

// doorQuat is the door's orientation at angle a.
func doorQuat(a float64) [4]float64 { return [4]float64{math.Cos(a / 2), 0, 0, -math.Sin(a / 2)} }

// doorHandle is where the handle post of a door hinged at base stands at angle a.
func doorHandle(base [3]float64, a float64) [3]float64 {
	c, sn := math.Cos(a), math.Sin(a)
	return [3]float64{base[0] + DoorHandleX*c + DoorHandleY*sn, base[1] - DoorHandleX*sn + DoorHandleY*c, DoorHandleZ}
}

// DoorHinge is the foot of the door's hinge, from its handle and angle.
func (s State) DoorHinge() [3]float64 {
	a, h := s.DoorAngle(), s.Pos(Door)
	o := doorHandle([3]float64{}, a)
	return [3]float64{h[0] - o[0], h[1] - o[1], 0}
}

// ButtonPress is how far the button is pressed down.
func (s State) ButtonPress() float64 { return ButtonRestZ - s.Pos(Button)[2] }

func dist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func dist2(a, b [3]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// checkState reports the first number of an observation that cannot be a state.
func checkState(s []float32, what string) error {
	if len(s) != ObsDim {
		return fmt.Errorf("tabletop: %s has %d numbers, want %d", what, len(s), ObsDim)
	}
	for i, v := range s {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tabletop: %s[%d] = %v, want a finite number", what, i, v)
		}
	}
	return nil
}

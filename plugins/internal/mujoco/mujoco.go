package mujoco

import (
	"errors"
	"fmt"
)

// ErrUnavailable is returned by Load and LoadFile in a kalm built without MuJoCo.
var ErrUnavailable = errors.New("MuJoCo is not available in this build of kalm: install it with `apt-get install libmujoco-dev`, then rebuild with `make` (or `go build -tags mujoco ./cmd/kalm`)")

// Install is the command that installs the library the binding links against.
const Install = "apt-get install libmujoco-dev"

// Object kinds for ID, as MuJoCo's mjtObj.
type Object int

const (
	Body     Object = 1
	Joint    Object = 3
	Geom     Object = 5
	Site     Object = 6
	Actuator Object = 18
)

func (o Object) String() string {
	switch o {
	case Body:
		return "body"
	case Joint:
		return "joint"
	case Geom:
		return "geom"
	case Site:
		return "site"
	case Actuator:
		return "actuator"
	}
	return fmt.Sprintf("object(%d)", int(o))
}

// Contact is one contact MuJoCo's collision detection found.
type Contact struct {
	Geom1, Geom2 int
	// Dist is the distance between the nearest points; negative means penetration.
	Dist float64
	// Pos is the contact point, Normal the contact normal from Geom1 to Geom2.
	Pos, Normal [3]float64
	// Force is the contact force in the contact frame (normal first), as mj_contactForce.
	Force [6]float64
}

// Error is an error MuJoCo raised (through mju_error) during a call.
type Error struct {
	Op  string // the binding's call: "step", "forward", "make data", ...
	Msg string // MuJoCo's message
}

func (e *Error) Error() string { return fmt.Sprintf("mujoco %s: %s", e.Op, e.Msg) }

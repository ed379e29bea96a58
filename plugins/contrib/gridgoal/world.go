package gridgoal

import (
	"fmt"
	"math"
)

// Size is the side of the square room, in cells.
const Size = 8

// NumObjects is the number of objects in every room.
const NumObjects = 4

// ObsDim is the length of an observation: the agent's x, y and facing
// direction, then type, color, x, y and state of each object.
const ObsDim = 3 + 5*NumObjects

// Actions. A move turns the agent to face its direction and steps forward
// if the cell ahead is free; into a wall or an object it only turns.
const (
	Up = iota
	Right
	Down
	Left
	Pickup // pick up the key or ball ahead, hands empty
	Drop   // put the carried object on the free cell ahead
	Toggle // open or close the door ahead; a locked door opens for its key
	NumActions
)

// Type is an object type.
type Type int

const (
	Key Type = iota + 1
	Ball
	Box
	Door
)

var typeNames = [...]string{Key: "key", Ball: "ball", Box: "box", Door: "door"}

func (t Type) String() string {
	if t < Key || t > Door {
		return fmt.Sprintf("type%d", int(t))
	}
	return typeNames[t]
}

// Colors are the object colors; color c (1-based) is Colors[c-1].
var Colors = []string{"red", "green", "blue", "yellow", "purple", "grey"}

// State is an object's state.
type State int

const (
	Plain   State = iota // on the floor; a closed door
	Open                 // an open door, which the agent can walk through
	Locked               // a locked door: it opens for the key of its color
	Carried              // held by the agent; its position is the agent's
)

type object struct {
	typ   Type
	color int // 1..len(Colors)
	x, y  int
	state State
}

// world is the state of one episode.
type world struct {
	x, y, dir int
	objs      [NumObjects]object
}

var dirs = [4][2]int{Up: {0, -1}, Right: {1, 0}, Down: {0, 1}, Left: {-1, 0}}

func inside(x, y int) bool { return x >= 0 && x < Size && y >= 0 && y < Size }

// at returns the object lying (not carried) at x, y, or -1.
func (w *world) at(x, y int) int {
	for i, o := range w.objs {
		if o.state != Carried && o.x == x && o.y == y {
			return i
		}
	}
	return -1
}

// free reports whether the agent can stand on x, y.
func (w *world) free(x, y int) bool {
	if !inside(x, y) {
		return false
	}
	i := w.at(x, y)
	return i < 0 || w.objs[i].state == Open
}

func (w *world) ahead() (int, int) { return w.x + dirs[w.dir][0], w.y + dirs[w.dir][1] }

// carried returns the index of the carried object, or -1.
func (w *world) carried() int {
	for i, o := range w.objs {
		if o.state == Carried {
			return i
		}
	}
	return -1
}

// find returns the index of the object of type t and color c, or -1.
func (w *world) find(t Type, c int) int {
	for i, o := range w.objs {
		if o.typ == t && o.color == c {
			return i
		}
	}
	return -1
}

// step applies action a (valid) and returns the next world.
func (w world) step(a int) world {
	switch a {
	case Up, Right, Down, Left:
		w.dir = a
		if x, y := w.ahead(); w.free(x, y) {
			w.x, w.y = x, y
		}
	case Pickup:
		x, y := w.ahead()
		if i := w.at(x, y); i >= 0 && w.carried() < 0 && (w.objs[i].typ == Key || w.objs[i].typ == Ball) {
			w.objs[i].state = Carried
		}
	case Drop:
		x, y := w.ahead()
		if c := w.carried(); c >= 0 && inside(x, y) && w.at(x, y) < 0 {
			w.objs[c].state, w.objs[c].x, w.objs[c].y = Plain, x, y
		}
	case Toggle:
		x, y := w.ahead()
		i := w.at(x, y)
		if i < 0 || w.objs[i].typ != Door {
			break
		}
		d := &w.objs[i]
		switch d.state {
		case Plain:
			d.state = Open
		case Open:
			d.state = Plain
		case Locked:
			if c := w.carried(); c >= 0 && w.objs[c].typ == Key && w.objs[c].color == d.color {
				d.state = Open
			}
		}
	}
	if c := w.carried(); c >= 0 {
		w.objs[c].x, w.objs[c].y = w.x, w.y
	}
	return w
}

// encode writes w as an observation into obs[:ObsDim].
func (w *world) encode(obs []float32) {
	obs[0], obs[1], obs[2] = float32(w.x), float32(w.y), float32(w.dir)
	for i, o := range w.objs {
		v := obs[3+5*i:]
		v[0], v[1], v[2], v[3], v[4] = float32(o.typ), float32(o.color), float32(o.x), float32(o.y), float32(o.state)
	}
}

// decode reads an observation. Strict decoding accepts only reachable
// states: integral values in range, distinct objects on distinct cells,
// states that fit their types, the agent on a free cell. Loose decoding
// rounds every value and accepts anything finite; Judge and Plausibility use
// it on imagined rollouts.
func decode(obs []float32, strict bool) (world, error) {
	var w world
	if len(obs) != ObsDim {
		return w, fmt.Errorf("observation of %d values, want %d", len(obs), ObsDim)
	}
	v := make([]int, ObsDim)
	for i, f := range obs {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return w, fmt.Errorf("observation value %d is %g", i, f)
		}
		r := math.Round(float64(f))
		if strict && float64(f) != r {
			return w, fmt.Errorf("observation value %d = %g, want an integer", i, f)
		}
		v[i] = int(max(min(r, 1e6), -1e6))
	}
	w.x, w.y, w.dir = v[0], v[1], v[2]
	for i := range w.objs {
		u := v[3+5*i:]
		w.objs[i] = object{typ: Type(u[0]), color: u[1], x: u[2], y: u[3], state: State(u[4])}
	}
	if !strict {
		return w, nil
	}
	if !inside(w.x, w.y) || w.dir < 0 || w.dir > 3 {
		return w, fmt.Errorf("agent at (%d, %d) facing %d, want a cell of the %d×%d room and a direction 0..3", w.x, w.y, w.dir, Size, Size)
	}
	held := 0
	for i, o := range w.objs {
		switch {
		case o.typ < Key || o.typ > Door:
			return w, fmt.Errorf("object %d: type %d, want 1..4", i, o.typ)
		case o.color < 1 || o.color > len(Colors):
			return w, fmt.Errorf("object %d: color %d, want 1..%d", i, o.color, len(Colors))
		case !inside(o.x, o.y):
			return w, fmt.Errorf("object %d (%s %s) at (%d, %d), outside the room", i, Colors[o.color-1], o.typ, o.x, o.y)
		case o.state < Plain || o.state > Carried,
			(o.state == Open || o.state == Locked) && o.typ != Door,
			o.state == Carried && o.typ != Key && o.typ != Ball:
			return w, fmt.Errorf("object %d (%s %s): state %d does not fit its type", i, Colors[o.color-1], o.typ, o.state)
		case o.state == Carried && (o.x != w.x || o.y != w.y):
			return w, fmt.Errorf("object %d (%s %s) is carried but not at the agent", i, Colors[o.color-1], o.typ)
		}
		if o.state == Carried {
			held++
		}
		for _, p := range w.objs[:i] {
			if p.typ == o.typ && p.color == o.color {
				return w, fmt.Errorf("two %s %ss", Colors[o.color-1], o.typ)
			}
			if p.state != Carried && o.state != Carried && p.x == o.x && p.y == o.y {
				return w, fmt.Errorf("two objects at (%d, %d)", o.x, o.y)
			}
		}
	}
	if held > 1 {
		return w, fmt.Errorf("the agent carries %d objects, at most 1", held)
	}
	if !w.free(w.x, w.y) {
		return w, fmt.Errorf("the agent stands on an object at (%d, %d)", w.x, w.y)
	}
	return w, nil
}

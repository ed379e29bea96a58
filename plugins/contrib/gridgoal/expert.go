package gridgoal

import "math/rand/v2"

// scene draws a room for goal g: its target object (a door to open is
// locked half the time, with its key in the room), other objects of distinct
// type and color, and the agent, such that the goal is not yet achieved and
// the expert can reach everything it needs.
func scene(g goal, rng *rand.Rand) world {
	for {
		var objs []object
		add := func(t Type, c int, s State) { objs = append(objs, object{typ: t, color: c, state: s}) }
		switch {
		case g.kind == OpenIt && rng.IntN(2) == 0:
			add(Door, g.color, Locked)
			add(Key, g.color, Plain)
		default:
			add(g.typ, g.color, Plain)
		}
		for len(objs) < NumObjects {
			t, c := Type(1+rng.IntN(4)), 1+rng.IntN(len(Colors))
			if !slicesHas(objs, t, c) {
				add(t, c, Plain)
			}
		}
		rng.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		cells := rng.Perm(Size * Size)
		var w world
		for i, o := range objs {
			o.x, o.y = cells[i]%Size, cells[i]/Size
			w.objs[i] = o
		}
		w.x, w.y, w.dir = cells[NumObjects]%Size, cells[NumObjects]/Size, rng.IntN(4)
		if !g.done(&w) && solvable(&w, g) {
			return w
		}
	}
}

func slicesHas(objs []object, t Type, c int) bool {
	for _, o := range objs {
		if o.typ == t && o.color == c {
			return true
		}
	}
	return false
}

// solvable reports whether the agent can reach a cell next to every object
// the goal needs.
func solvable(w *world, g goal) bool {
	need := []int{w.find(g.typ, g.color)}
	if d := w.objs[need[0]]; d.state == Locked {
		need = append(need, w.find(Key, d.color))
	}
	for _, i := range need {
		if i < 0 || w.path(i) < 0 && !w.next(i) {
			return false
		}
	}
	return true
}

// next reports whether the agent stands next to object i.
func (w *world) next(i int) bool {
	o := w.objs[i]
	return abs(o.x-w.x)+abs(o.y-w.y) == 1
}

// path returns the first move of a shortest path to a free cell next to
// object i, or -1 if there is none (or the agent is already there).
func (w *world) path(i int) int {
	if w.next(i) {
		return -1
	}
	o := w.objs[i]
	goal := func(x, y int) bool { return abs(o.x-x)+abs(o.y-y) == 1 }
	type cell struct{ x, y, first int }
	seen := [Size][Size]bool{}
	seen[w.x][w.y] = true
	queue := []cell{{w.x, w.y, -1}}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for d, v := range dirs {
			x, y := c.x+v[0], c.y+v[1]
			if !w.free(x, y) || seen[x][y] {
				continue
			}
			seen[x][y] = true
			first := c.first
			if first < 0 {
				first = d
			}
			if goal(x, y) {
				return first
			}
			queue = append(queue, cell{x, y, first})
		}
	}
	return -1
}

// face returns the move that turns the agent towards an adjacent object i.
// The object blocks the way, so the move only turns (an open door lets the
// agent onto it, which also achieves "go to").
func (w *world) face(i int) int {
	o := w.objs[i]
	for d, v := range dirs {
		if w.x+v[0] == o.x && w.y+v[1] == o.y {
			return d
		}
	}
	return Up
}

// expert is the scripted policy: shortest paths by breadth-first search,
// fetching a locked door's key first, dropping anything in the way.
func expert(w *world, g goal) int {
	i := w.find(g.typ, g.color)
	if i < 0 || g.done(w) {
		return Up
	}
	switch g.kind {
	case GoTo:
		return w.approach(i)
	case PickUp:
		return w.fetch(i)
	}
	d := w.objs[i]
	if d.state == Locked {
		k := w.find(Key, d.color)
		if c := w.carried(); k < 0 || c != k {
			if k < 0 {
				return Up // no key: the door stays shut
			}
			return w.fetch(k)
		}
	}
	if w.next(i) {
		if x, y := w.ahead(); x == d.x && y == d.y {
			return Toggle
		}
		return w.face(i)
	}
	return w.approach(i)
}

// approach moves towards a cell next to object i, then faces it.
func (w *world) approach(i int) int {
	if w.next(i) {
		return w.face(i)
	}
	if m := w.path(i); m >= 0 {
		return m
	}
	return Up
}

// fetch picks up object i, dropping whatever else the agent carries.
func (w *world) fetch(i int) int {
	if c := w.carried(); c >= 0 && c != i {
		if x, y := w.ahead(); inside(x, y) && w.at(x, y) < 0 {
			return Drop
		}
		for d, v := range dirs {
			if x, y := w.x+v[0], w.y+v[1]; inside(x, y) && w.at(x, y) < 0 {
				return d
			}
		}
		return Up
	}
	if w.next(i) {
		if x, y := w.ahead(); x == w.objs[i].x && y == w.objs[i].y {
			return Pickup
		}
		return w.face(i)
	}
	return w.approach(i)
}

package gridgoal

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/kalm-go/kalm/framework/dataset"
)

// Kind is what a goal asks for.
type Kind int

const (
	GoTo   Kind = iota // stand next to the object
	PickUp             // carry the key or ball
	OpenIt             // open the door (fetching its key first if it is locked)
)

var kindNames = [...]string{GoTo: "goto", PickUp: "pickup", OpenIt: "open"}

// Goal levels, as in KALM: the training goals in their training phrasings,
// the same goals rephrased, and goals never seen in training.
const (
	LevelTrain    = "train"
	LevelRephrase = "rephrase"
	LevelUnseen   = "unseen"
)

// Levels lists the goal levels, training level first.
var Levels = []string{LevelTrain, LevelRephrase, LevelUnseen}

// GoalDim is the length of a goal vector: one-hot kind, type and color.
const GoalDim = 3 + 4 + 6

// goal is a parsed goal.
type goal struct {
	kind  Kind
	typ   Type
	color int
}

// templates are the phrasings of each kind; the color comes first, then
// the type.
var templates = map[string][3][]string{
	LevelTrain: {
		GoTo:   {"go to the %s %s", "walk to the %s %s"},
		PickUp: {"pick up the %s %s", "grab the %s %s"},
		OpenIt: {"open the %s %s", "make the %s %s open"},
	},
	LevelRephrase: {
		GoTo:   {"head over to the %s %s", "move next to the %s %s", "find the %s %s and stand beside it"},
		PickUp: {"take the %s %s", "lift the %s %s off the floor"},
		OpenIt: {"swing the %s %s open", "get the %s %s open"},
	},
}

// heldOut reports whether a goal is kept out of training (level unseen).
func (g goal) heldOut() bool { return (int(g.kind)+int(g.typ)+g.color)%4 == 0 }

// allGoals lists every goal the room allows, in a fixed order.
func allGoals() []goal {
	var out []goal
	for c := 1; c <= len(Colors); c++ {
		for t := Key; t <= Door; t++ {
			out = append(out, goal{GoTo, t, c})
		}
		out = append(out, goal{PickUp, Key, c}, goal{PickUp, Ball, c}, goal{OpenIt, Door, c})
	}
	return out
}

// levelGoals returns the goals of a level and the phrasings it uses.
func levelGoals(level string) ([]goal, [3][]string, error) {
	var gs []goal
	for _, g := range allGoals() {
		if g.heldOut() == (level == LevelUnseen) {
			gs = append(gs, g)
		}
	}
	switch level {
	case LevelTrain, LevelRephrase:
		return gs, templates[level], nil
	case LevelUnseen:
		var all [3][]string
		for k := range all {
			all[k] = slices.Concat(templates[LevelTrain][k], templates[LevelRephrase][k])
		}
		return gs, all, nil
	}
	return nil, [3][]string{}, fmt.Errorf("unknown goal level %q, want one of %q", level, Levels)
}

func (g goal) phrase(template string) string {
	return fmt.Sprintf(template, Colors[g.color-1], g.typ)
}

// vector is the goal's one-hot encoding.
func (g goal) vector() []float32 {
	v := make([]float32, GoalDim)
	v[g.kind] = 1
	v[3+int(g.typ)-1] = 1
	v[7+g.color-1] = 1
	return v
}

// sampleGoals draws n goals of a level.
func sampleGoals(level string, n int, seed uint64) ([]dataset.Goal, error) {
	gs, tmpl, err := levelGoals(level)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9a1))
	out := make([]dataset.Goal, n)
	for i := range out {
		g := gs[rng.IntN(len(gs))]
		ts := tmpl[g.kind]
		texts := make([]string, len(ts))
		for j, t := range ts {
			texts[j] = g.phrase(t)
		}
		out[i] = dataset.Goal{
			Level:  level,
			Params: map[string]string{"kind": kindNames[g.kind], "type": g.typ.String(), "color": Colors[g.color-1]},
			Text:   texts[rng.IntN(len(texts))],
			Texts:  texts,
			Vector: g.vector(),
		}
	}
	return out, nil
}

// parseGoal reads a goal's parameters.
func parseGoal(d dataset.Goal) (goal, error) {
	var g goal
	k := slices.Index(kindNames[:], d.Params["kind"])
	t := slices.Index(typeNames[:], d.Params["type"])
	c := slices.Index(Colors, d.Params["color"])
	if k < 0 || t < int(Key) || c < 0 {
		return g, fmt.Errorf("goal %q: params kind=%q type=%q color=%q, want kind in %q, type in %q, color in %q",
			d.Text, d.Params["kind"], d.Params["type"], d.Params["color"], kindNames, typeNames[1:], Colors)
	}
	g = goal{Kind(k), Type(t), c + 1}
	if !slices.Contains(allGoals(), g) {
		return g, fmt.Errorf("goal %q: cannot %s a %s", d.Text, kindNames[k], Type(t))
	}
	return g, nil
}

// done reports whether w achieves g.
func (g goal) done(w *world) bool {
	i := w.find(g.typ, g.color)
	if i < 0 {
		return false
	}
	o := w.objs[i]
	switch g.kind {
	case GoTo:
		return o.state != Carried && abs(o.x-w.x)+abs(o.y-w.y) <= 1
	case PickUp:
		return o.state == Carried
	case OpenIt:
		return o.state == Open
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// itoa is strconv.Itoa, for config echoes.
func itoa(n int) string { return strconv.Itoa(n) }

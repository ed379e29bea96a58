package clevr

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Goal levels (spec §5.3), training level first.
const (
	LevelTrain    = "train"       // the 80 training relations ("tasks in offline data")
	LevelRephrase = "rephrase"    // the same relations in wording training never sees
	LevelEasy     = "unseen-easy" // one push of a ball in a direction, or keep still
	LevelHard     = "unseen-hard" // 2–3 relations at once, the colour line, gather around green
)

// Levels lists the goal levels, training level first.
var Levels = []string{LevelTrain, LevelRephrase, LevelEasy, LevelHard}

// Task kinds: what a goal asks, independent of its wording.
const (
	KindRelation  = "relation"  // Relations[0] holds (train, rephrase)
	KindRelations = "relations" // all 2 or 3 Relations hold at once (hard)
	KindMove      = "move"      // push Ball in direction Dir with the first action (easy)
	KindStill     = "still"     // no ball moves in the first step (easy)
	KindLine      = "line"      // balls run left to right in colour order (hard)
	KindGather    = "gather"    // every ball close to green (hard)
)

// Relation directions, in KALM's goal-array order.
const (
	RelBehind = iota
	RelLeft
	RelFront
	RelRight
	NumRelations
)

// RelationNames are the structured names of the relation directions.
var RelationNames = [NumRelations]string{"behind", "left", "front", "right"}

// GreenBall is the index of the ball the gather goal centres on.
const GreenBall = 2

// Relation says ball Src lies in direction Dir of ball Dst.
type Relation struct{ Src, Dst, Dir int }

// Task is the structured form of a goal: its level, kind and parameters.
type Task struct {
	Level     string
	Kind      string
	Relations []Relation // KindRelation: 1; KindRelations: 2 or 3, sorted
	Ball, Dir int        // KindMove
}

// ColorNames are the structured colour names, by ball index.
var ColorNames = [MaxBalls]string{"red", "blue", "green", "purple", "cyan"}

func colorIndex(s string) (int, bool) {
	for i, c := range ColorNames {
		if c == s {
			return i, true
		}
	}
	return 0, false
}

func relationIndex(s string) (int, bool) {
	for i, c := range RelationNames {
		if c == s {
			return i, true
		}
	}
	return 0, false
}

// Params returns the goal parameters of the structured form, as stored in dataset.Goal.Params.
func (t Task) Params() map[string]string {
	p := map[string]string{"kind": t.Kind}
	switch t.Kind {
	case KindRelation:
		r := t.Relations[0]
		p["src"], p["dir"], p["dst"] = ColorNames[r.Src], RelationNames[r.Dir], ColorNames[r.Dst]
	case KindRelations:
		p["n"] = strconv.Itoa(len(t.Relations))
		for i, r := range t.Relations {
			k := strconv.Itoa(i + 1)
			p["src"+k], p["dir"+k], p["dst"+k] = ColorNames[r.Src], RelationNames[r.Dir], ColorNames[r.Dst]
		}
	case KindMove:
		p["ball"], p["dir"] = ColorNames[t.Ball], RelationNames[t.Dir]
	}
	return p
}

// ParseParams rebuilds a Task from a level and its parameters; numBalls bounds the colours.
func ParseParams(level string, p map[string]string, numBalls int) (Task, error) {
	t := Task{Level: level, Kind: p["kind"]}
	if !slices.Contains(Levels, level) {
		return Task{}, fmt.Errorf("clevr goal: level %q, want one of %v", level, Levels)
	}
	ball := func(key string) (int, error) {
		i, ok := colorIndex(p[key])
		if !ok || i >= numBalls {
			return 0, fmt.Errorf("clevr goal: param %s = %q, want one of %v", key, p[key], ColorNames[:numBalls])
		}
		return i, nil
	}
	dir := func(key string) (int, error) {
		i, ok := relationIndex(p[key])
		if !ok {
			return 0, fmt.Errorf("clevr goal: param %s = %q, want one of %v", key, p[key], RelationNames)
		}
		return i, nil
	}
	rel := func(suffix string) (Relation, error) {
		var r Relation
		var err error
		if r.Src, err = ball("src" + suffix); err != nil {
			return r, err
		}
		if r.Dst, err = ball("dst" + suffix); err != nil {
			return r, err
		}
		if r.Dir, err = dir("dir" + suffix); err != nil {
			return r, err
		}
		if r.Src == r.Dst {
			return r, fmt.Errorf("clevr goal: relation %s: src and dst are both %s", suffix, ColorNames[r.Src])
		}
		return r, nil
	}
	switch t.Kind {
	case KindRelation:
		r, err := rel("")
		if err != nil {
			return Task{}, err
		}
		t.Relations = []Relation{r}
	case KindRelations:
		n, err := strconv.Atoi(p["n"])
		if err != nil || n < 2 || n > 3 {
			return Task{}, fmt.Errorf("clevr goal: param n = %q, want 2 or 3", p["n"])
		}
		for i := 1; i <= n; i++ {
			r, err := rel(strconv.Itoa(i))
			if err != nil {
				return Task{}, err
			}
			t.Relations = append(t.Relations, r)
		}
		sortRelations(t.Relations)
	case KindMove:
		var err error
		if t.Ball, err = ball("ball"); err != nil {
			return Task{}, err
		}
		if t.Dir, err = dir("dir"); err != nil {
			return Task{}, err
		}
	case KindStill, KindLine, KindGather:
	default:
		return Task{}, fmt.Errorf("clevr goal: param kind = %q, want relation, relations, move, still, line or gather", t.Kind)
	}
	if err := t.checkLevel(); err != nil {
		return Task{}, err
	}
	return t, nil
}

func (t Task) checkLevel() error {
	ok := false
	switch t.Level {
	case LevelTrain, LevelRephrase:
		ok = t.Kind == KindRelation
	case LevelEasy:
		ok = t.Kind == KindMove || t.Kind == KindStill
	case LevelHard:
		ok = t.Kind == KindRelations || t.Kind == KindLine || t.Kind == KindGather
	}
	if !ok {
		return fmt.Errorf("clevr goal: kind %q does not belong to level %q", t.Kind, t.Level)
	}
	return nil
}

func sortRelations(rs []Relation) {
	slices.SortFunc(rs, func(a, b Relation) int {
		return cmp.Or(cmp.Compare(a.Src, b.Src), cmp.Compare(a.Dst, b.Dst), cmp.Compare(a.Dir, b.Dir))
	})
}

// Equal reports whether two tasks ask the same thing (levels train and rephrase are the same
// semantics and compare equal when their relations do).
func (t Task) Equal(u Task) bool {
	if t.Kind != u.Kind || len(t.Relations) != len(u.Relations) {
		return false
	}
	a, b := slices.Clone(t.Relations), slices.Clone(u.Relations)
	sortRelations(a)
	sortRelations(b)
	if !slices.Equal(a, b) {
		return false
	}
	if t.Kind == KindMove {
		return t.Ball == u.Ball && t.Dir == u.Dir
	}
	return true
}

// String is a compact human-readable form, e.g. "relation(red left blue)".
func (t Task) String() string {
	var b strings.Builder
	b.WriteString(t.Kind)
	b.WriteByte('(')
	for i, r := range t.Relations {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s %s", ColorNames[r.Src], RelationNames[r.Dir], ColorNames[r.Dst])
	}
	if t.Kind == KindMove {
		fmt.Fprintf(&b, "%s %s", ColorNames[t.Ball], RelationNames[t.Dir])
	}
	b.WriteByte(')')
	return b.String()
}

// Goal vector layout (GoalDim numbers): a one-hot task kind (relation(s), move, still, line,
// gather), three relation slots of src one-hot, dst one-hot and direction one-hot, then the
// moved ball's one-hot and its direction's one-hot. Train and rephrase goals with the same
// relation share a vector: they are the same task.
const (
	vecKinds   = 5
	vecSlot    = 2*MaxBalls + NumRelations
	vecSlots   = 3
	vecMoveOff = vecKinds + vecSlots*vecSlot
	// GoalDim is the length of every goal vector.
	GoalDim = vecMoveOff + MaxBalls + NumRelations
)

// Vector encodes t in the fixed-length goal vector.
func (t Task) Vector() []float32 {
	v := make([]float32, GoalDim)
	switch t.Kind {
	case KindRelation, KindRelations:
		v[0] = 1
	case KindMove:
		v[1] = 1
	case KindStill:
		v[2] = 1
	case KindLine:
		v[3] = 1
	case KindGather:
		v[4] = 1
	}
	for i, r := range t.Relations {
		if i >= vecSlots {
			break
		}
		o := vecKinds + i*vecSlot
		v[o+r.Src] = 1
		v[o+MaxBalls+r.Dst] = 1
		v[o+2*MaxBalls+r.Dir] = 1
	}
	if t.Kind == KindMove {
		v[vecMoveOff+t.Ball] = 1
		v[vecMoveOff+MaxBalls+t.Dir] = 1
	}
	return v
}

// AllTasks enumerates every distinct task of a level for numBalls balls (80 relations for
// train and rephrase with 5 balls; 21 easy goals; hard relation sets are sampled, not
// enumerated, so AllTasks lists only the line and gather goals for the hard level).
func AllTasks(level string, numBalls int) []Task {
	var out []Task
	switch level {
	case LevelTrain, LevelRephrase:
		for s := 0; s < numBalls; s++ {
			for d := 0; d < numBalls; d++ {
				if s == d {
					continue
				}
				for r := 0; r < NumRelations; r++ {
					out = append(out, Task{Level: level, Kind: KindRelation, Relations: []Relation{{s, d, r}}})
				}
			}
		}
	case LevelEasy:
		for b := 0; b < numBalls; b++ {
			for r := 0; r < NumRelations; r++ {
				out = append(out, Task{Level: level, Kind: KindMove, Ball: b, Dir: r})
			}
		}
		out = append(out, Task{Level: level, Kind: KindStill})
	case LevelHard:
		out = append(out, Task{Level: level, Kind: KindLine})
		if numBalls > GreenBall {
			out = append(out, Task{Level: level, Kind: KindGather})
		}
	}
	return out
}

// SampleTask draws a task of a level. Train and rephrase draw src ≠ dst and the direction
// uniformly (KALM); easy draws uniformly among its 21 goals; hard draws the kind uniformly
// among two relations, three relations, line and gather, with relations over distinct ball
// pairs.
func SampleTask(level string, numBalls int, rng *rand.Rand) (Task, error) {
	switch level {
	case LevelTrain, LevelRephrase, LevelEasy:
		all := AllTasks(level, numBalls)
		return all[rng.IntN(len(all))], nil
	case LevelHard:
		k := rng.IntN(4)
		if numBalls <= GreenBall && k == 3 {
			k = 2
		}
		switch k {
		case 2:
			return Task{Level: level, Kind: KindLine}, nil
		case 3:
			return Task{Level: level, Kind: KindGather}, nil
		}
		n := min(2+k, numBalls*(numBalls-1)/2)
		if n < 2 {
			return Task{Level: level, Kind: KindLine}, nil // two balls make only one pair
		}
		t := Task{Level: level, Kind: KindRelations}
		used := map[[2]int]bool{}
		for len(t.Relations) < n {
			s, d := rng.IntN(numBalls), rng.IntN(numBalls)
			pair := [2]int{min(s, d), max(s, d)}
			if s == d || used[pair] {
				continue
			}
			used[pair] = true
			t.Relations = append(t.Relations, Relation{s, d, rng.IntN(NumRelations)})
		}
		sortRelations(t.Relations)
		return t, nil
	}
	return Task{}, fmt.Errorf("clevr: goal level %q, want one of %v", level, Levels)
}

// EnvName is the environment's name in specs and dataset metadata.
const EnvName = "clevr"

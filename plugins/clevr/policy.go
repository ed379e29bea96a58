package clevr

import (
	"math"
	"math/rand/v2"
)

// Behaviour policy names.
const (
	PolicyExpert = "expert" // scripted one-step-lookahead planner, with optional noise
	PolicyRandom = "random" // uniform over all actions
)

// ExpertParams tune the scripted expert.
type ExpertParams struct {
	// Noise is the standard deviation (metres) of Gaussian noise added to each candidate's
	// cost: small values make near-ties random, large ones make the expert sloppy.
	Noise float64
	// RandomShare is the probability of a uniformly random action instead.
	RandomShare float64
	// SourceOnly restricts relation goals to pushes of the source ball, like KALM's
	// "collect" action mode (its toy data pushes only the source ball).
	SourceOnly bool
}

// Expert plans one push at a time: it simulates every candidate push with the environment's
// own physics and takes the one with the lowest cost. For relation goals the cost is the
// path length for the source ball to a point next to the destination ball on the goal side,
// going around the destination ball, plus a penalty when that point lies outside the arena
// (which makes the expert push the destination ball off the wall first).
type Expert struct {
	sim   *Sim
	judge *Judge
	dirs  [NumRelations][2]float64
}

// NewExpert builds an expert for one configuration.
func NewExpert(cfg Config) (*Expert, error) {
	s, err := NewSim(cfg)
	if err != nil {
		return nil, err
	}
	j, err := NewJudge(cfg)
	if err != nil {
		return nil, err
	}
	return &Expert{sim: s, judge: j, dirs: RelationVectors(cfg.Convention)}, nil
}

// Act chooses an action for task in state st.
func (e *Expert) Act(st *State, t *Task, p ExpertParams, rng *rand.Rand) int {
	n := e.sim.n
	if p.RandomShare > 0 && rng.Float64() < p.RandomShare {
		return rng.IntN(NumActions(n))
	}
	var before [2 * MaxBalls]float32
	obsOf(st, n, before[:])
	var cands []int
	switch t.Kind {
	case KindRelation:
		r := t.Relations[0]
		for d := 0; d < NumDirections; d++ {
			cands = append(cands, EncodeAction(r.Src, d))
			if !p.SourceOnly {
				cands = append(cands, EncodeAction(r.Dst, d))
			}
		}
	case KindMove:
		for d := 0; d < NumDirections; d++ {
			cands = append(cands, EncodeAction(t.Ball, d))
		}
	default:
		for a := 0; a < NumActions(n); a++ {
			cands = append(cands, a)
		}
	}
	best, bestCost := cands[0], math.Inf(1)
	var after [2 * MaxBalls]float32
	for _, a := range cands {
		next := *st
		if err := e.sim.Step(&next, a); err != nil {
			continue
		}
		obsOf(&next, n, after[:])
		c := e.cost(t, before[:2*n], after[:2*n], a)
		if p.Noise > 0 {
			c += rng.NormFloat64() * p.Noise
		}
		if c < bestCost {
			best, bestCost = a, c
		}
	}
	return best
}

func obsOf(st *State, n int, dst []float32) {
	for i := 0; i < n; i++ {
		dst[2*i], dst[2*i+1] = float32(st.Pos[i][0]), float32(st.Pos[i][1])
	}
}

// cost scores the state after a candidate push; lower is better, success is −100.
func (e *Expert) cost(t *Task, before, after []float32, a int) float64 {
	switch t.Kind {
	case KindMove, KindStill:
		if e.judge.Transition(t, before, after, a) {
			return -100
		}
		m := 0.0
		for i := range after {
			m = math.Max(m, math.Abs(float64(after[i]-before[i])))
		}
		return m
	}
	if e.judge.Holds(t, after) {
		return -100
	}
	switch t.Kind {
	case KindLine:
		cosMin := math.Cos(e.judge.cfg.LineAngle * math.Pi / 180)
		c := 0.0
		for i := 0; i+1 < e.sim.n; i++ {
			ax, ay := pos(after, i)
			bx, by := pos(after, i+1)
			dx, dy := bx-ax, by-ay
			d := math.Hypot(dx, dy)
			if d == 0 || dx/d < cosMin {
				c += 0.3 + math.Abs(dy) - math.Min(dx, 0)
			}
		}
		return c
	case KindGather:
		gx, gy := pos(after, GreenBall)
		c := 0.0
		for i := 0; i < e.sim.n; i++ {
			if i != GreenBall {
				x, y := pos(after, i)
				c += math.Max(0, math.Hypot(x-gx, y-gy)-0.27)
			}
		}
		return c
	}
	c := 0.0
	for _, r := range t.Relations {
		if !e.judge.RelationHolds(after, r) {
			c += e.relationCost(after, r)
		}
	}
	return c
}

// relationCost is the distance the source ball still has to travel to a point 0.30 from the
// destination on the goal side, around the destination ball, plus 3× how far that point lies
// outside the reachable area.
func (e *Expert) relationCost(obs []float32, r Relation) float64 {
	ax, ay := pos(obs, r.Src)
	bx, by := pos(obs, r.Dst)
	u := e.dirs[r.Dir]
	tx, ty := bx+0.30*u[0], by+0.30*u[1]
	x0, x1, y0, y1 := e.sim.rx0, e.sim.rx1, e.sim.ry0, e.sim.ry1
	out := math.Max(0, x0-tx) + math.Max(0, tx-x1) + math.Max(0, y0-ty) + math.Max(0, ty-y1)
	tx, ty = math.Min(math.Max(tx, x0), x1), math.Min(math.Max(ty, y0), y1)
	return aroundDisc(ax, ay, tx, ty, bx, by, 2*e.sim.cfg.Radius+0.02) + 3*out
}

// aroundDisc is the length of the shortest path from p to q that stays outside the disc of
// radius rad around c (straight when the segment misses the disc).
func aroundDisc(px, py, qx, qy, cx, cy, rad float64) float64 {
	dx, dy := qx-px, qy-py
	l2 := dx*dx + dy*dy
	straight := math.Sqrt(l2)
	if l2 == 0 {
		return 0
	}
	s := ((cx-px)*dx + (cy-py)*dy) / l2
	s = math.Max(0, math.Min(1, s))
	if math.Hypot(px+s*dx-cx, py+s*dy-cy) >= rad {
		return straight
	}
	dp, dq := math.Hypot(px-cx, py-cy), math.Hypot(qx-cx, qy-cy)
	if dp <= rad || dq <= rad {
		return straight
	}
	theta := math.Acos(math.Max(-1, math.Min(1, ((px-cx)*(qx-cx)+(py-cy)*(qy-cy))/(dp*dq))))
	arc := theta - math.Acos(rad/dp) - math.Acos(rad/dq)
	if arc < 0 {
		arc = 0
	}
	return math.Sqrt(dp*dp-rad*rad) + math.Sqrt(dq*dq-rad*rad) + rad*arc
}

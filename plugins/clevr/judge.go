package clevr

import (
	"fmt"
	"math"
)

// Judge evaluates goals on positions with one Config's thresholds, convention and reward.
type Judge struct {
	cfg Config
	// unit world vectors of the relation directions under the convention
	dirs [NumRelations][2]float64
}

// NewJudge prepares a judge; cfg must be valid.
func NewJudge(cfg Config) (*Judge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	j := &Judge{cfg: cfg}
	j.dirs = RelationVectors(cfg.Convention)
	return j, nil
}

// RelationVectors returns the world unit vector of each relation direction (behind, left,
// front, right) under a convention: KALM puts behind at +y, the original at −y (quirk Q1).
func RelationVectors(convention string) [NumRelations][2]float64 {
	if convention == ConventionOriginal {
		return [NumRelations][2]float64{{0, -1}, {-1, 0}, {0, 1}, {1, 0}}
	}
	return [NumRelations][2]float64{{0, 1}, {-1, 0}, {0, -1}, {1, 0}}
}

// pos reads ball i of a flat observation.
func pos(obs []float32, i int) (float64, float64) {
	return float64(obs[2*i]), float64(obs[2*i+1])
}

// RelationHolds reports whether ball r.Src lies in direction r.Dir of ball r.Dst in obs.
// KALM: the angle of p_src − p_dst (components below 1e-3 zeroed) falls in the half-open
// ±RelationAngle sector and the distance is below RelationDist. Original: the cosine with
// the direction exceeds OriginalCosine and the distance is below OriginalDist.
func (j *Judge) RelationHolds(obs []float32, r Relation) bool {
	ax, ay := pos(obs, r.Src)
	bx, by := pos(obs, r.Dst)
	dx, dy := ax-bx, ay-by
	if j.cfg.Convention == ConventionOriginal {
		d := math.Hypot(dx, dy)
		if d == 0 || d >= j.cfg.OriginalDist {
			return false
		}
		u := j.dirs[r.Dir]
		return (dx*u[0]+dy*u[1])/d > j.cfg.OriginalCosine
	}
	if math.Abs(dx) < 1e-3 {
		dx = 0
	}
	if math.Abs(dy) < 1e-3 {
		dy = 0
	}
	d := math.Hypot(dx, dy)
	if d >= j.cfg.RelationDist {
		return false
	}
	theta := math.Acos(math.Max(-1, math.Min(1, dx/(d+1e-6)))) * 180 / math.Pi
	if dy < 0 {
		theta = 360 - theta
	}
	u := j.dirs[r.Dir]
	centre := math.Atan2(u[1], u[0]) * 180 / math.Pi
	rel := math.Mod(theta-(centre-j.cfg.RelationAngle)+720, 360)
	return rel < 2*j.cfg.RelationAngle
}

// satisfied counts the sub-conditions of a multi-part task that hold in obs and their total.
func (j *Judge) satisfied(t *Task, obs []float32) (int, int) {
	switch t.Kind {
	case KindRelation, KindRelations:
		n := 0
		for _, r := range t.Relations {
			if j.RelationHolds(obs, r) {
				n++
			}
		}
		return n, len(t.Relations)
	case KindLine:
		cosMin := math.Cos(j.cfg.LineAngle * math.Pi / 180)
		n := 0
		for i := 0; i+1 < j.cfg.NumBalls; i++ {
			ax, ay := pos(obs, i)
			bx, by := pos(obs, i+1)
			dx, dy := bx-ax, by-ay
			if d := math.Hypot(dx, dy); d > 0 && dx/d >= cosMin {
				n++
			}
		}
		return n, j.cfg.NumBalls - 1
	case KindGather:
		gx, gy := pos(obs, GreenBall)
		n := 0
		for i := 0; i < j.cfg.NumBalls; i++ {
			if i == GreenBall {
				continue
			}
			x, y := pos(obs, i)
			if math.Hypot(x-gx, y-gy) < j.cfg.GatherDist {
				n++
			}
		}
		return n, j.cfg.NumBalls - 1
	}
	return 0, 1
}

// Holds reports whether a state-judged task (relation, relations, line, gather) is achieved
// in obs. Move and still goals are judged on a transition (see Transition).
func (j *Judge) Holds(t *Task, obs []float32) bool {
	n, total := j.satisfied(t, obs)
	return n == total
}

// Transition judges one step of an easy (one-step) goal: the move goal by the action
// (Config.EasyJudge = "action", KALM's step_level_a) or by the movement (step_level_s); the
// still goal by no coordinate changing by StillMax or more.
func (j *Judge) Transition(t *Task, before, after []float32, action int) bool {
	n := 2 * j.cfg.NumBalls
	switch t.Kind {
	case KindStill:
		for i := 0; i < n; i++ {
			if math.Abs(float64(after[i]-before[i])) >= j.cfg.StillMax {
				return false
			}
		}
		return true
	case KindMove:
		u := j.dirs[t.Dir]
		if j.cfg.EasyJudge == EasyJudgeState {
			for b := 0; b < j.cfg.NumBalls; b++ {
				dx := float64(after[2*b] - before[2*b])
				dy := float64(after[2*b+1] - before[2*b+1])
				if dx*u[0]+dy*u[1] >= j.cfg.EasyMoveMin {
					return true
				}
			}
			return false
		}
		ball, dir := action/NumDirections, action%NumDirections
		if ball != t.Ball {
			return false
		}
		d := Directions[dir]
		return d[0]*u[0]+d[1]*u[1] > 0
	}
	return j.Holds(t, after)
}

// targetDist is |p_src − t| for KALM's reward target point t = p_dst + TargetOffset·u(dir).
func (j *Judge) targetDist(obs []float32, r Relation) float64 {
	ax, ay := pos(obs, r.Src)
	bx, by := pos(obs, r.Dst)
	u := j.dirs[r.Dir]
	return math.Hypot(ax-(bx+j.cfg.TargetOffset*u[0]), ay-(by+j.cfg.TargetOffset*u[1]))
}

// Labels holds a judged rollout.
type Labels struct {
	Rewards   []float32
	Terminals []bool
	Success   []bool // the goal holds after each step
	Any       bool   // the goal was achieved within the judged steps
	// Steps is how many transitions the episode would last in the environment: up to and
	// including the first terminal, else all of them.
	Steps int
}

// Label judges a rollout: T+1 observations (flat, 2·NumBalls each) and T actions. Rewards
// follow Config.Reward: KALM shaping 10·(|A − target| before − after) with 100 on the success
// step for relation goals, 10·Δ(satisfied sub-conditions) with 100 on success for hard goals,
// 1 on success for easy goals; "ib" drops the bonus and shapes relations by |A − B|; "binary"
// gives 1 on every step where the goal holds. Easy goals end after the first step. With
// StopOnSuccess the first success step is terminal and later steps get reward 0.
func (j *Judge) Label(t *Task, obs []float32, actions []int) (*Labels, error) {
	od := 2 * j.cfg.NumBalls
	T := len(actions)
	if len(obs) != (T+1)*od {
		return nil, fmt.Errorf("clevr judge: %d observation values for %d actions, want (T+1)·%d = %d", len(obs), T, od, (T+1)*od)
	}
	for k, a := range actions {
		if a < 0 || a >= NumActions(j.cfg.NumBalls) {
			return nil, fmt.Errorf("clevr judge: action %d = %d, want 0..%d", k, a, NumActions(j.cfg.NumBalls)-1)
		}
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("clevr judge: observation value %d (step %d) is %g", i, i/od, v)
		}
	}
	if err := t.validate(j.cfg.NumBalls); err != nil {
		return nil, err
	}
	l := &Labels{Rewards: make([]float32, T), Terminals: make([]bool, T), Success: make([]bool, T), Steps: T}
	oneStep := t.Kind == KindMove || t.Kind == KindStill
	done := false
	for k := 0; k < T; k++ {
		before, after := obs[k*od:(k+1)*od], obs[(k+1)*od:(k+2)*od]
		if done {
			continue
		}
		var ok bool
		if oneStep {
			ok = j.Transition(t, before, after, actions[k])
		} else {
			ok = j.Holds(t, after)
		}
		l.Success[k] = ok
		l.Any = l.Any || ok
		l.Rewards[k] = j.reward(t, before, after, ok)
		if oneStep || (ok && j.cfg.StopOnSuccess) {
			l.Terminals[k] = true
			l.Steps = k + 1
			done = true
		}
	}
	return l, nil
}

func (j *Judge) reward(t *Task, before, after []float32, ok bool) float32 {
	if j.cfg.Reward == RewardBinary || t.Kind == KindMove || t.Kind == KindStill {
		if ok {
			return 1
		}
		return 0
	}
	if ok && j.cfg.Reward == RewardKALM {
		return 100
	}
	if t.Kind == KindRelation {
		r := t.Relations[0]
		if j.cfg.Reward == RewardIB {
			ax, ay := pos(before, r.Src)
			bx, by := pos(before, r.Dst)
			cx, cy := pos(after, r.Src)
			dx, dy := pos(after, r.Dst)
			return float32(10 * (math.Hypot(ax-bx, ay-by) - math.Hypot(cx-dx, cy-dy)))
		}
		return float32(10 * (j.targetDist(before, r) - j.targetDist(after, r)))
	}
	n0, _ := j.satisfied(t, before)
	n1, _ := j.satisfied(t, after)
	return float32(10 * (n1 - n0))
}

// validate checks a task's indices against the ball count.
func (t *Task) validate(numBalls int) error {
	if err := t.checkLevel(); err != nil {
		return err
	}
	for _, r := range t.Relations {
		if r.Src < 0 || r.Src >= numBalls || r.Dst < 0 || r.Dst >= numBalls || r.Src == r.Dst || r.Dir < 0 || r.Dir >= NumRelations {
			return fmt.Errorf("clevr goal: relation %+v invalid for %d balls", r, numBalls)
		}
	}
	switch t.Kind {
	case KindRelation:
		if len(t.Relations) != 1 {
			return fmt.Errorf("clevr goal: relation goal with %d relations, want 1", len(t.Relations))
		}
	case KindRelations:
		if len(t.Relations) < 2 || len(t.Relations) > 3 {
			return fmt.Errorf("clevr goal: multi-relation goal with %d relations, want 2 or 3", len(t.Relations))
		}
	case KindMove:
		if t.Ball < 0 || t.Ball >= numBalls || t.Dir < 0 || t.Dir >= NumRelations {
			return fmt.Errorf("clevr goal: move ball %d direction %d invalid for %d balls", t.Ball, t.Dir, numBalls)
		}
	case KindGather:
		if numBalls <= GreenBall {
			return fmt.Errorf("clevr goal: gather around green needs %d balls, have %d", GreenBall+1, numBalls)
		}
	}
	return nil
}

package offlinetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/dataset"
)

// Act returns one action row per observation row (goals alongside).
type Act func(obs, goals []float32) ([]float32, error)

// Line is a goal-conditioned corridor: positions 0..L−1 observed one-hot,
// start in the middle, the goal is one end (goal vector one-hot of 2). Actions:
// 0 left, 1 right, the rest stay. Every step costs −1 except the one reaching
// the goal, which ends the episode (terminal, reward 0); otherwise it times
// out after Horizon steps. The optimal policy walks straight to the goal:
// success 1 in L/2 steps, return −(L/2 − 1).
type Line struct {
	L, Horizon, NActions int
}

// DefaultLine is a 7-cell corridor with 4 actions and horizon 12.
var DefaultLine = Line{L: 7, Horizon: 12, NActions: 4}

func (m Line) obs(dst []float32, pos int) {
	clear(dst[:m.L])
	dst[pos] = 1
}

func goalVec(g int) []float32 {
	v := []float32{0, 0}
	v[g] = 1
	return v
}

func (m Line) step(pos, goal, a int) (int, float32, bool) {
	switch a {
	case 0:
		pos = max(0, pos-1)
	case 1:
		pos = min(m.L-1, pos+1)
	}
	end := 0
	if goal == 1 {
		end = m.L - 1
	}
	if pos == end {
		return pos, 0, true
	}
	return pos, -1, false
}

// OptimalSteps is the number of steps the optimal policy needs.
func (m Line) OptimalSteps() int { return m.L / 2 }

// Write writes a dataset of episodes to dir. Each episode is, with
// probability expertFrac, the optimal policy; otherwise a bad policy that
// moves away from the goal with probability 0.5, stays with 0.3 and moves
// towards it with 0.2, so the most frequent action in every state is wrong
// while the data still covers the good one.
func (m Line) Write(dir string, episodes int, expertFrac float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 11))
	w, err := dataset.Create(dir, dataset.Meta{Version: dataset.Version, Env: "offlinetest-line", Source: dataset.Real,
		ObsDim: m.L, GoalDim: 2, ActionSpace: dataset.DiscreteSpace(m.NActions)})
	if err != nil {
		return err
	}
	for range episodes {
		goal := rng.IntN(2)
		expert := rng.Float64() < expertFrac
		pos := m.L / 2
		e := &dataset.Episode{Goal: dataset.Goal{Level: "line", Text: fmt.Sprintf("go to end %d", goal), Vector: goalVec(goal)}}
		o := make([]float32, m.L)
		m.obs(o, pos)
		e.Observations = append(e.Observations, o...)
		for t := 0; t < m.Horizon; t++ {
			toward, away := goal, 1-goal // action 0 is left, 1 right; goal 1 is the right end
			var a int
			switch u := rng.Float64(); {
			case expert:
				a = toward
			case u < 0.5:
				a = away
			case u < 0.8:
				a = 2 + rng.IntN(m.NActions-2)
			default:
				a = toward
			}
			var r float32
			var done bool
			pos, r, done = m.step(pos, goal, a)
			m.obs(o, pos)
			e.Observations = append(e.Observations, o...)
			e.Actions = append(e.Actions, float32(a))
			e.Rewards = append(e.Rewards, r)
			e.Terminals = append(e.Terminals, done)
			e.Timeouts = append(e.Timeouts, !done && t == m.Horizon-1)
			if done {
				e.Success = true
				break
			}
		}
		if err := w.Write(e); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// Evaluate runs the policy greedily for both goals and returns the success
// rate and the mean number of steps (Horizon for a failure).
func (m Line) Evaluate(act Act) (success, steps float64, err error) {
	pos := []int{m.L / 2, m.L / 2}
	done := []bool{false, false}
	n := []int{0, 0}
	goals := append(goalVec(0), goalVec(1)...)
	obs := make([]float32, 2*m.L)
	for t := 0; t < m.Horizon; t++ {
		for g := range 2 {
			m.obs(obs[g*m.L:], pos[g])
		}
		a, err := act(obs, goals)
		if err != nil {
			return 0, 0, err
		}
		for g := range 2 {
			if done[g] {
				continue
			}
			pos[g], _, done[g] = m.step(pos[g], g, int(a[g]))
			n[g]++
		}
	}
	for g := range 2 {
		if done[g] {
			success += 0.5
		}
		steps += float64(n[g]) / 2
	}
	return success, steps, nil
}

// Point is a goal-reaching point mass in [−1, 1]²: the observation is the
// position, the goal vector the target, the action a velocity in [−1, 1]²
// moving Speed per unit; the reward is −‖pos' − goal‖ every step for
// Horizon steps (no terminal). The reference ("optimal") policy is the
// greedy box action towards the goal.
type Point struct {
	Horizon int
	Speed   float64
}

// DefaultPoint has horizon 10 and speed 0.25.
var DefaultPoint = Point{Horizon: 10, Speed: 0.25}

func (m Point) step(p, g, a []float32) float32 {
	for j := range 2 {
		p[j] = float32(math.Max(-1, math.Min(1, float64(p[j])+m.Speed*float64(max(-1, min(1, a[j]))))))
	}
	dx, dy := float64(p[0]-g[0]), float64(p[1]-g[1])
	return -float32(math.Hypot(dx, dy))
}

// expert writes the greedy action clip((goal − pos)/Speed, ±1): the box
// action that brings the point closest to the goal this step.
func (m Point) expert(a, p, g []float32) {
	for j := range 2 {
		a[j] = float32(math.Max(-1, math.Min(1, float64(g[j]-p[j])/m.Speed)))
	}
}

// Write writes episodes from the expert with Gaussian action noise of
// std noise, replaced by uniform random actions in a randomFrac share of
// episodes.
func (m Point) Write(dir string, episodes int, noise, randomFrac float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 12))
	w, err := dataset.Create(dir, dataset.Meta{Version: dataset.Version, Env: "offlinetest-point", Source: dataset.Real,
		ObsDim: 2, GoalDim: 2, ActionSpace: dataset.BoxSpace(2, -1, 1)})
	if err != nil {
		return err
	}
	for range episodes {
		p := []float32{float32(2*rng.Float64() - 1), float32(2*rng.Float64() - 1)}
		g := []float32{float32(2*rng.Float64() - 1), float32(2*rng.Float64() - 1)}
		random := rng.Float64() < randomFrac
		e := &dataset.Episode{Goal: dataset.Goal{Level: "point", Text: "reach", Vector: append([]float32(nil), g...)}}
		e.Observations = append(e.Observations, p...)
		a := make([]float32, 2)
		for t := 0; t < m.Horizon; t++ {
			m.expert(a, p, g)
			for j := range a {
				if random {
					a[j] = float32(2*rng.Float64() - 1)
				} else {
					a[j] = float32(math.Max(-1, math.Min(1, float64(a[j])+noise*rng.NormFloat64())))
				}
			}
			r := m.step(p, g, a)
			e.Observations = append(e.Observations, p...)
			e.Actions = append(e.Actions, a...)
			e.Rewards = append(e.Rewards, r)
			e.Terminals = append(e.Terminals, false)
			e.Timeouts = append(e.Timeouts, t == m.Horizon-1)
		}
		if err := w.Write(e); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// Evaluate runs act on n start/goal pairs drawn from seed and returns the
// normalised score (R − R_random)/(R_optimal − R_random), where R_optimal
// is the expert's mean return and R_random a uniform random policy's.
func (m Point) Evaluate(act Act, n int, seed uint64) (float64, error) {
	run := func(pol func(obs, goals []float32) ([]float32, error)) (float64, error) {
		rng := rand.New(rand.NewPCG(seed, 13))
		obs, goals := make([]float32, 2*n), make([]float32, 2*n)
		for i := range obs {
			obs[i] = float32(2*rng.Float64() - 1)
			goals[i] = float32(2*rng.Float64() - 1)
		}
		var ret float64
		for t := 0; t < m.Horizon; t++ {
			a, err := pol(obs, goals)
			if err != nil {
				return 0, err
			}
			for i := range n {
				ret += float64(m.step(obs[2*i:2*i+2], goals[2*i:2*i+2], a[2*i:2*i+2]))
			}
		}
		return ret / float64(n), nil
	}
	opt, _ := run(func(obs, goals []float32) ([]float32, error) {
		a := make([]float32, len(obs))
		for i := 0; i < len(obs); i += 2 {
			m.expert(a[i:i+2], obs[i:i+2], goals[i:i+2])
		}
		return a, nil
	})
	rr := rand.New(rand.NewPCG(seed, 14))
	rnd, _ := run(func(obs, goals []float32) ([]float32, error) {
		a := make([]float32, len(obs))
		for i := range a {
			a[i] = float32(2*rr.Float64() - 1)
		}
		return a, nil
	})
	got, err := run(act)
	if err != nil {
		return 0, err
	}
	return (got - rnd) / (opt - rnd), nil
}

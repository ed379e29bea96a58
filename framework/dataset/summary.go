package dataset

import (
	"math"
	"sort"
)

// Summary describes a dataset's contents, computed in one streaming pass.
type Summary struct {
	Meta        Meta
	Episodes    int
	Steps       int
	Length      Stats // transitions per episode
	Return      Stats // undiscounted return per episode
	SuccessRate float64
	Terminals   int
	Timeouts    int
	// Levels counts episodes per goal level.
	Levels map[string]int
	// Goals is the number of distinct goal texts.
	Goals int
	// Actions counts each discrete action (nil for continuous spaces).
	Actions []int
	// NonFinite counts the NaN and ±Inf values per column (obs.f32,
	// actions.f32, rewards.f32, goal_vectors.f32); columns without any are
	// absent. Writers refuse such values, but a dataset written by other
	// tools may hold them, and training fails on them.
	NonFinite map[string]NonFinite
	// OutOfSpace counts the actions outside the action space (finite ones).
	OutOfSpace int
}

// NonFinite counts a column's NaN and infinite values and names the first.
type NonFinite struct {
	NaN, Inf int
	// First is the row of the first non-finite value.
	First int
}

// Stats are the mean, standard deviation, minimum and maximum of a quantity.
type Stats struct {
	Mean, Std, Min, Max float64
}

type accumulator struct {
	n        int
	sum, sq  float64
	min, max float64
}

func (a *accumulator) add(x float64) {
	if a.n == 0 || x < a.min {
		a.min = x
	}
	if a.n == 0 || x > a.max {
		a.max = x
	}
	a.n++
	a.sum += x
	a.sq += x * x
}

func (a *accumulator) stats() Stats {
	if a.n == 0 {
		return Stats{}
	}
	m := a.sum / float64(a.n)
	return Stats{Mean: m, Std: math.Sqrt(math.Max(0, a.sq/float64(a.n)-m*m)), Min: a.min, Max: a.max}
}

// Summarize reads the dataset at dir once and summarises it.
func Summarize(dir string) (*Summary, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := r.Meta()
	s := &Summary{Meta: m, Levels: map[string]int{}, NonFinite: map[string]NonFinite{}}
	rows := map[string]int{} // rows of each column read so far
	if m.ActionSpace.Kind == Discrete {
		s.Actions = make([]int, m.ActionSpace.N)
	}
	var length, ret accumulator
	texts := map[string]bool{}
	succ := 0
	for e, err := range r.All() {
		if err != nil {
			return nil, err
		}
		s.Episodes++
		s.Steps += e.Len()
		length.add(float64(e.Len()))
		g := 0.0
		for _, x := range e.Rewards {
			g += float64(x)
		}
		ret.add(g)
		if e.Success {
			succ++
		}
		for t := range e.Len() {
			if e.Terminals[t] {
				s.Terminals++
			}
			if e.Timeouts[t] {
				s.Timeouts++
			}
		}
		s.Levels[e.Goal.Level]++
		texts[e.Goal.Text] = true
		for _, c := range [...]struct {
			name string
			v    []float32
			dim  int
		}{{obsFile, e.Observations, m.ObsDim}, {actionsFile, e.Actions, m.ActionSpace.Dim}, {rewardsFile, e.Rewards, 1}, {goalsFile, e.Goal.Vector, m.GoalDim}} {
			s.countNonFinite(c.name, c.v, c.dim, rows[c.name])
			rows[c.name] += len(c.v) / max(1, c.dim)
		}
		d := m.ActionSpace.Dim
		for k := 0; k+d <= len(e.Actions); k += d {
			a := e.Actions[k : k+d]
			if finite(a) != nil {
				continue // counted in NonFinite
			}
			if m.ActionSpace.Check(a) != nil {
				s.OutOfSpace++
			} else if s.Actions != nil {
				s.Actions[int(a[0])]++
			}
		}
	}
	s.Length, s.Return = length.stats(), ret.stats()
	if s.Episodes > 0 {
		s.SuccessRate = float64(succ) / float64(s.Episodes)
	}
	s.Goals = len(texts)
	return s, nil
}

func (s *Summary) countNonFinite(name string, v []float32, dim, row int) {
	for i, x := range v {
		nan, inf := math.IsNaN(float64(x)), math.IsInf(float64(x), 0)
		if !nan && !inf {
			continue
		}
		c, seen := s.NonFinite[name]
		if !seen {
			c.First = row + i/max(1, dim)
		}
		if nan {
			c.NaN++
		} else {
			c.Inf++
		}
		s.NonFinite[name] = c
	}
}

// LevelNames returns the goal levels in the summary, sorted.
func (s *Summary) LevelNames() []string {
	var out []string
	for l := range s.Levels {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

package dataset

import (
	"errors"
	"fmt"
)

// Steps is a dataset as D4RL- and d3rlpy-style flat arrays: one row per
// step, episodes laid end to end. Importers of foreign formats fill it and
// call Episodes; exporters fill it from a dataset with ReadSteps.
//
// Episodes are cut after every step whose terminal or timeout flag is set,
// and after the last row. Without NextObservations, the observation after a
// step is the next row's; the last step of an episode then has none, so an
// episode that ends in a terminal repeats its last observation as its final
// one (the value a terminal's backup never reads), and an episode that ends
// otherwise drops its last step and ends with a timeout on the step before.
// With Lengths, episodes are cut by Lengths alone.
type Steps struct {
	ObsDim, ActionDim, GoalDim int

	Observations     []float32 // [N, ObsDim]
	NextObservations []float32 // [N, ObsDim], or nil
	Actions          []float32 // [N, ActionDim]
	Rewards          []float32 // [N]
	Terminals        []bool    // [N]
	Timeouts         []bool    // [N], or nil for none
	GoalTexts        []string  // [N] goal text per step (an episode takes its first step's), or nil
	GoalVectors      []float32 // [N, GoalDim] per step, or nil

	// Lengths, when set, gives every episode's number of steps (summing to
	// N) and Goals and Success their goals and outcomes: what ReadSteps
	// returns, so that a dataset exported and imported again is the same.
	Lengths []int
	Goals   []Goal
	Success []bool
}

// Cut says what Episodes did to the rows.
type Cut struct {
	Episodes int
	// Repeated counts the terminal episodes whose final observation repeats
	// their last one (no NextObservations).
	Repeated int
	// Dropped counts the steps dropped at the end of non-terminal episodes
	// for want of a next observation (no NextObservations); DroppedEpisodes
	// counts the one-step episodes dropped whole.
	Dropped, DroppedEpisodes int
}

// Len is the number of rows.
func (s *Steps) Len() int { return len(s.Rewards) }

// Check reports the first array whose length disagrees with the others.
func (s *Steps) Check() error {
	n := s.Len()
	if s.ObsDim < 1 || s.ActionDim < 1 || s.GoalDim < 0 {
		return fmt.Errorf("obs dim %d, action dim %d, goal dim %d: want ≥ 1, ≥ 1, ≥ 0", s.ObsDim, s.ActionDim, s.GoalDim)
	}
	type col struct {
		name      string
		have, per int
		optional  bool
	}
	for _, c := range []col{
		{"observations", len(s.Observations), s.ObsDim, false},
		{"next_observations", len(s.NextObservations), s.ObsDim, true},
		{"actions", len(s.Actions), s.ActionDim, false},
		{"terminals", len(s.Terminals), 1, false},
		{"timeouts", len(s.Timeouts), 1, true},
		{"goal texts", len(s.GoalTexts), 1, true},
		{"goal_vectors", len(s.GoalVectors), s.GoalDim, s.GoalDim == 0},
	} {
		if c.optional && c.have == 0 {
			continue
		}
		if c.have != n*c.per {
			return fmt.Errorf("%s has %d values, want %d rows × %d = %d (the rows of rewards)", c.name, c.have, n, c.per, n*c.per)
		}
	}
	if s.Lengths != nil {
		total := 0
		for i, l := range s.Lengths {
			if l < 1 || l > n-total {
				return fmt.Errorf("episode %d: length %d, want 1..%d (the rows left)", i, l, n-total)
			}
			total += l
		}
		if total != n {
			return fmt.Errorf("episode lengths sum to %d, want %d rows", total, n)
		}
		if len(s.Goals) != len(s.Lengths) || len(s.Success) != len(s.Lengths) {
			return fmt.Errorf("%d goals and %d outcomes for %d episode lengths", len(s.Goals), len(s.Success), len(s.Lengths))
		}
		if s.NextObservations == nil {
			return errors.New("episode lengths need next_observations")
		}
	}
	return nil
}

// Episodes cuts the rows into episodes (see Steps) and calls write on each,
// with level as the goal level of episodes that have no Goals.
func (s *Steps) Episodes(level string, write func(*Episode) error) (Cut, error) {
	var cut Cut
	if err := s.Check(); err != nil {
		return cut, err
	}
	n := s.Len()
	ep := 0
	for start := 0; start < n; ep++ {
		end := start // the episode's last row
		if s.Lengths != nil {
			end = start + s.Lengths[ep] - 1
		} else {
			for end < n-1 && !s.Terminals[end] && !s.timeout(end) {
				end++
			}
		}
		next := end + 1
		e, ok := s.episode(ep, start, end, level, &cut)
		start = next
		if !ok {
			continue
		}
		if err := write(e); err != nil {
			return cut, err
		}
		cut.Episodes++
	}
	return cut, nil
}

func (s *Steps) timeout(i int) bool { return s.Timeouts != nil && s.Timeouts[i] }

// episode builds the episode of rows start..end, or reports false when it is
// dropped.
func (s *Steps) episode(ep, start, end int, level string, cut *Cut) (*Episode, bool) {
	od, ad, gd := s.ObsDim, s.ActionDim, s.GoalDim
	final := []float32(nil)
	switch {
	case s.NextObservations != nil:
		final = s.NextObservations[end*od : (end+1)*od]
	case s.Terminals[end]:
		final = s.Observations[end*od : (end+1)*od]
		cut.Repeated++
	default:
		if end == start {
			cut.Dropped++
			cut.DroppedEpisodes++
			return nil, false
		}
		final = s.Observations[end*od : (end+1)*od]
		end--
		cut.Dropped++
	}
	e := &Episode{
		Observations: append(append(make([]float32, 0, (end-start+2)*od), s.Observations[start*od:(end+1)*od]...), final...),
		Actions:      append([]float32(nil), s.Actions[start*ad:(end+1)*ad]...),
		Rewards:      append([]float32(nil), s.Rewards[start:end+1]...),
		Terminals:    append([]bool(nil), s.Terminals[start:end+1]...),
		Timeouts:     make([]bool, end-start+1),
	}
	if s.Timeouts != nil {
		copy(e.Timeouts, s.Timeouts[start:end+1])
	}
	if s.Lengths != nil {
		e.Goal, e.Success = s.Goals[ep], s.Success[ep]
		e.Goal.Vector = nil
	} else {
		e.Goal.Level = level
		if s.GoalTexts != nil {
			e.Goal.Text = s.GoalTexts[start]
		}
		e.Success = e.Terminals[len(e.Terminals)-1]
		if s.NextObservations == nil && !e.Success && len(e.Timeouts) > 0 {
			e.Timeouts[len(e.Timeouts)-1] = true // its last step was dropped
		}
	}
	e.Goal.Vector = make([]float32, gd)
	if gd > 0 {
		copy(e.Goal.Vector, s.GoalVectors[start*gd:(start+1)*gd])
	}
	return e, true
}

// ReadSteps reads the dataset at dir into Steps, with Lengths, Goals and
// Success set and NextObservations filled, so that Episodes gives back the
// same episodes.
func ReadSteps(dir string) (*Steps, Meta, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, Meta{}, err
	}
	defer r.Close()
	m := r.Meta()
	s := &Steps{ObsDim: m.ObsDim, ActionDim: m.ActionSpace.Dim, GoalDim: m.GoalDim, Timeouts: []bool{}, NextObservations: []float32{}}
	for e, err := range r.All() {
		if err != nil {
			return nil, m, err
		}
		t, od := e.Len(), m.ObsDim
		s.Observations = append(s.Observations, e.Observations[:t*od]...)
		s.NextObservations = append(s.NextObservations, e.Observations[od:]...)
		s.Actions = append(s.Actions, e.Actions...)
		s.Rewards = append(s.Rewards, e.Rewards...)
		s.Terminals = append(s.Terminals, e.Terminals...)
		s.Timeouts = append(s.Timeouts, e.Timeouts...)
		for range t {
			s.GoalTexts = append(s.GoalTexts, e.Goal.Text)
			s.GoalVectors = append(s.GoalVectors, e.Goal.Vector...)
		}
		s.Lengths = append(s.Lengths, t)
		g := e.Goal
		g.Vector = nil
		s.Goals = append(s.Goals, g)
		s.Success = append(s.Success, e.Success)
	}
	return s, m, nil
}

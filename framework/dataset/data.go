package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// Data is a whole dataset in memory as flat arrays, the form offline RL
// training samples transitions from. Transition i observes row ObsRow[i] of
// Obs, takes Actions[i*ActionDim:], receives Rewards[i] and sees row
// ObsRow[i]+1 next; it belongs to episode Episode[i].
type Data struct {
	Meta        Meta
	Obs         []float32 // [Steps+Episodes, ObsDim]
	Actions     []float32 // [Steps, ActionSpace.Dim]
	Rewards     []float32 // [Steps]
	Terminals   []float32 // [Steps], 1 or 0
	Timeouts    []float32 // [Steps], 1 or 0
	ObsRow      []int32   // [Steps]
	Episode     []int32   // [Steps]
	GoalVectors []float32 // [Episodes, GoalDim]
	Goals       []Goal    // [Episodes], Vector left nil (see GoalVectors)
	Success     []bool    // [Episodes]
}

// Len is the number of transitions.
func (d *Data) Len() int { return len(d.Rewards) }

// Load reads the whole dataset at dir into memory and checks every value is
// finite and every action lies in the action space.
func Load(dir string) (*Data, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := r.Meta()
	d := &Data{
		Meta:        m,
		Obs:         make([]float32, 0, (m.Steps+m.Episodes)*m.ObsDim),
		Actions:     make([]float32, 0, m.Steps*m.ActionSpace.Dim),
		Rewards:     make([]float32, 0, m.Steps),
		Terminals:   make([]float32, 0, m.Steps),
		Timeouts:    make([]float32, 0, m.Steps),
		ObsRow:      make([]int32, 0, m.Steps),
		Episode:     make([]int32, 0, m.Steps),
		GoalVectors: make([]float32, 0, m.Episodes*m.GoalDim),
		Goals:       make([]Goal, 0, m.Episodes),
		Success:     make([]bool, 0, m.Episodes),
	}
	for ep := 0; ; ep++ {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := m.check(e); err != nil {
			return nil, fmt.Errorf("dataset %s: episode %d: %w", dir, ep, err)
		}
		if err := finite(e.Goal.Vector); err != nil {
			return nil, fmt.Errorf("dataset %s: episode %d: goal vector: %w", dir, ep, err)
		}
		row := int32(len(d.Obs) / m.ObsDim)
		d.Obs = append(d.Obs, e.Observations...)
		d.Actions = append(d.Actions, e.Actions...)
		d.Rewards = append(d.Rewards, e.Rewards...)
		for t := range e.Len() {
			d.Terminals = append(d.Terminals, b2f(e.Terminals[t]))
			d.Timeouts = append(d.Timeouts, b2f(e.Timeouts[t]))
			d.ObsRow = append(d.ObsRow, row+int32(t))
			d.Episode = append(d.Episode, int32(ep))
		}
		d.GoalVectors = append(d.GoalVectors, e.Goal.Vector...)
		g := e.Goal
		g.Vector = nil
		d.Goals = append(d.Goals, g)
		d.Success = append(d.Success, e.Success)
	}
	return d, nil
}

func finite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d is %g", i, x)
		}
	}
	return nil
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

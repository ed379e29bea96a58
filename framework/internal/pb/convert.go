package pb

import "github.com/kalm-go/kalm/framework/dataset"

// FromGoal converts a goal to its wire form.
func FromGoal(g dataset.Goal) *Goal {
	return &Goal{Level: g.Level, Params: g.Params, Text: g.Text, Texts: g.Texts, Vector: g.Vector}
}

// FromGoals converts goals to their wire form.
func FromGoals(gs []dataset.Goal) []*Goal {
	out := make([]*Goal, len(gs))
	for i, g := range gs {
		out[i] = FromGoal(g)
	}
	return out
}

// ToGoal converts a wire goal back.
func ToGoal(g *Goal) dataset.Goal {
	if g == nil {
		return dataset.Goal{}
	}
	return dataset.Goal{Level: g.Level, Params: g.Params, Text: g.Text, Texts: g.Texts, Vector: g.Vector}
}

// ToGoals converts wire goals back.
func ToGoals(gs []*Goal) []dataset.Goal {
	out := make([]dataset.Goal, len(gs))
	for i, g := range gs {
		out[i] = ToGoal(g)
	}
	return out
}

// FromSpace converts an action space to its wire form.
func FromSpace(s dataset.Space) *Space {
	return &Space{Kind: string(s.Kind), N: int32(s.N), Dim: int32(s.Dim), Low: s.Low, High: s.High}
}

// ToSpace converts a wire action space back.
func ToSpace(s *Space) dataset.Space {
	if s == nil {
		return dataset.Space{}
	}
	return dataset.Space{Kind: dataset.Kind(s.Kind), N: int(s.N), Dim: int(s.Dim), Low: s.Low, High: s.High}
}

// FromEpisode converts an episode to its wire form.
func FromEpisode(e *dataset.Episode) *Episode {
	return &Episode{Goal: FromGoal(e.Goal), Observations: e.Observations, Actions: e.Actions, Rewards: e.Rewards,
		Terminals: e.Terminals, Timeouts: e.Timeouts, Success: e.Success}
}

// ToEpisode converts a wire episode back.
func ToEpisode(e *Episode) *dataset.Episode {
	return &dataset.Episode{Goal: ToGoal(e.Goal), Observations: e.Observations, Actions: e.Actions, Rewards: e.Rewards,
		Terminals: e.Terminals, Timeouts: e.Timeouts, Success: e.Success}
}

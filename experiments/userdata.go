package experiments

import (
	"fmt"
	"path/filepath"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

// userDataset is a dataset of dataset.path as planned: where it is and what
// it holds.
type userDataset struct {
	abs, digest string
}

const userDatasetAllowed = "a dataset directory written by `kalm dataset import` or a collect stage"

// checkUserDataset checks, in Plan (the dataset is a fact of this machine,
// as plugins are, so validate -offline leaves it alone), that the cell's
// dataset.path holds a dataset the cell's env can evaluate policies trained on (same env when the dataset
// names one, observation and goal dimensions, action space) and hashes its
// content for the stage key.
func checkUserDataset(errs *FieldErrors, at func(string) string, s Spec, spec *env.Spec) (userDataset, bool) {
	const field = "dataset.path"
	path := s.Dataset.Path
	bad := func(msg, allowed string) (userDataset, bool) {
		errs.add(at(field), field, path, msg, allowed)
		return userDataset{}, false
	}
	m, err := dataset.ReadMeta(path)
	if err != nil {
		return bad("is unusable: "+err.Error(), userDatasetAllowed)
	}
	meta := filepath.Join(path, "meta.json")
	switch {
	case m.Env != "" && m.Env != s.Env.Plugin:
		return bad(fmt.Sprintf("holds data of env %q (%s), but env.plugin is %q", m.Env, meta, s.Env.Plugin), "a dataset of env "+s.Env.Plugin)
	case spec.ObsDim > 0 && m.ObsDim != spec.ObsDim:
		return bad(fmt.Sprintf("has observations of %d values (%s obs_dim), env %s's have %d", m.ObsDim, meta, s.Env.Plugin, spec.ObsDim),
			fmt.Sprintf("obs_dim %d", spec.ObsDim))
	case spec.ObsDim > 0 && m.GoalDim != spec.GoalDim:
		return bad(fmt.Sprintf("has goal vectors of %d values (%s goal_dim), env %s's have %d", m.GoalDim, meta, s.Env.Plugin, spec.GoalDim),
			fmt.Sprintf("goal_dim %d", spec.GoalDim))
	case spec.ActionSpace.Kind != "" && !sameSpace(m.ActionSpace, spec.ActionSpace):
		return bad(fmt.Sprintf("has the action space %s (%s action_space), env %s's is %s", spaceString(m.ActionSpace), meta, s.Env.Plugin, spaceString(spec.ActionSpace)),
			spaceString(spec.ActionSpace))
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return bad(err.Error(), userDatasetAllowed)
	}
	sum, err := dataset.Digest(abs)
	if err != nil {
		return bad("cannot be read: "+err.Error(), userDatasetAllowed)
	}
	return userDataset{abs: abs, digest: sum}, true
}

func sameSpace(a, b dataset.Space) bool {
	if a.Kind != b.Kind || a.Dim != b.Dim || a.N != b.N || len(a.Low) != len(b.Low) || len(a.High) != len(b.High) {
		return false
	}
	for i := range a.Low {
		if a.Low[i] != b.Low[i] || a.High[i] != b.High[i] {
			return false
		}
	}
	return true
}

func spaceString(s dataset.Space) string {
	if s.Kind == dataset.Discrete {
		return fmt.Sprintf("discrete with %d actions", s.N)
	}
	return fmt.Sprintf("continuous of dim %d within %v..%v", s.Dim, s.Low, s.High)
}

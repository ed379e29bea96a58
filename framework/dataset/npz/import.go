package npz

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kalm-go/kalm/framework/dataset"
)

// The arrays Import reads, by name (aliases after the first). Every array is
// indexed by step on its first axis; N is the number of steps.
var (
	observations     = []string{"observations", "obs"}                         // [N] or [N, obs_dim], numbers
	nextObservations = []string{"next_observations", "next_obs"}               // [N, obs_dim], optional
	actions          = []string{"actions"}                                     // [N] or [N, action_dim]
	rewards          = []string{"rewards"}                                     // [N]
	terminals        = []string{"terminals", "terminations", "dones"}          // [N], bool or 0/1
	timeouts         = []string{"timeouts", "truncations"}                     // [N], optional
	goalTexts        = []string{"goal_texts", "goals", "instructions"}         // [N] strings, optional
	goalVectors      = []string{"goal_vectors", "infos/goal", "desired_goals"} // [N] or [N, goal_dim], optional
	kalmMeta         = []string{"kalm_meta"}                                   // meta.json, written by Export
	kalmEpisodes     = []string{"kalm_episodes"}                               // [E] JSON lines, written by Export
)

// Options are the facts an array file does not state.
type Options struct {
	// Env names the environment the data comes from (meta.json's env).
	Env string
	// Level is the goal level of every episode; empty means "train".
	Level string
	// Actions is the number of discrete actions; 0 infers the space: integer
	// actions of one column are discrete with max+1 actions, float actions
	// continuous within [-1, 1] when they all lie there, else within their
	// per-component minimum and maximum.
	Actions int
	// From is recorded as the imported_from attribute.
	From string
}

// Report says what Import wrote and what it left out.
type Report struct {
	Meta dataset.Meta
	Cut  dataset.Cut
	// Ignored lists the arrays Import does not read (D4RL's infos/qpos, ...).
	Ignored []string
}

// Import converts the .npz file at path into a dataset at outDir (which must
// not exist).
func Import(path, outDir string, opt Options) (Report, error) {
	arrays, err := Read(path)
	if err != nil {
		return Report{}, err
	}
	if opt.From == "" {
		opt.From = path
	}
	rep, err := ImportArrays(arrays, outDir, opt)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// ImportArrays writes the named arrays (see the package documentation) as a
// dataset at outDir. The HDF5 importer shares it.
func ImportArrays(arrays []*Array, outDir string, opt Options) (Report, error) {
	var rep Report
	byName := map[string]*Array{}
	for _, a := range arrays {
		byName[a.Name] = a
	}
	used := map[string]bool{}
	find := func(names []string) *Array {
		for _, n := range names {
			if a, ok := byName[n]; ok {
				used[n] = true
				return a
			}
		}
		return nil
	}
	obs, act, rew, term := find(observations), find(actions), find(rewards), find(terminals)
	for _, need := range []struct {
		a     *Array
		names []string
	}{{obs, observations}, {act, actions}, {rew, rewards}, {term, terminals}} {
		if need.a == nil {
			return rep, fmt.Errorf("no array %s (have: %s)", orList(need.names), strings.Join(names(arrays), ", "))
		}
	}
	n := rew.Rows()
	if rew.Width() != 1 {
		return rep, fmt.Errorf("rewards: shape %v, want [N]", rew.Shape)
	}
	s := &dataset.Steps{ObsDim: obs.Width(), ActionDim: act.Width()}
	var err error
	numbers := func(a *Array, width int, dst *[]float32) error {
		if a.Rows() != n || (width > 0 && a.Width() != width) || len(a.Shape) == 0 {
			return fmt.Errorf("%s: shape %v, want [%d, %d] (N from rewards)", a.Name, a.Shape, n, width)
		}
		v, err := a.Float32s()
		if err != nil {
			return err
		}
		if err := finite(a.Name, v, a.Width()); err != nil {
			return err
		}
		*dst = v
		return nil
	}
	flags := func(a *Array, dst *[]bool) error {
		if a.Rows() != n || a.Width() != 1 || len(a.Shape) == 0 {
			return fmt.Errorf("%s: shape %v, want [%d] (N from rewards)", a.Name, a.Shape, n)
		}
		v, err := a.Bools()
		*dst = v
		return err
	}
	if err = numbers(obs, s.ObsDim, &s.Observations); err != nil {
		return rep, err
	}
	if err = numbers(act, s.ActionDim, &s.Actions); err != nil {
		return rep, err
	}
	if err = numbers(rew, 1, &s.Rewards); err != nil {
		return rep, err
	}
	if err = flags(term, &s.Terminals); err != nil {
		return rep, err
	}
	if a := find(timeouts); a != nil {
		if err = flags(a, &s.Timeouts); err != nil {
			return rep, err
		}
	}
	if a := find(nextObservations); a != nil {
		if err = numbers(a, s.ObsDim, &s.NextObservations); err != nil {
			return rep, err
		}
	}
	if a := find(goalTexts); a != nil {
		if a.String == nil || a.Rows() != n || a.Width() != 1 {
			return rep, fmt.Errorf("%s: dtype %s shape %v, want [%d] strings", a.Name, a.Descr, a.Shape, n)
		}
		s.GoalTexts = a.String
	}
	if a := find(goalVectors); a != nil {
		s.GoalDim = a.Width()
		if err = numbers(a, s.GoalDim, &s.GoalVectors); err != nil {
			return rep, err
		}
	}

	meta := dataset.Meta{Env: opt.Env, Source: dataset.Real, ObsDim: s.ObsDim, GoalDim: s.GoalDim,
		Attrs: map[string]string{"imported_from": opt.From}}
	if a := find(kalmMeta); a != nil {
		// Written by Export: the dataset's own metadata and episodes.
		if a.String == nil || a.Len() != 1 {
			return rep, fmt.Errorf("%s: dtype %s shape %v, want one string (meta.json)", a.Name, a.Descr, a.Shape)
		}
		if err := json.Unmarshal([]byte(a.String[0]), &meta); err != nil {
			return rep, fmt.Errorf("%s: %w", a.Name, err)
		}
		if meta.ObsDim != s.ObsDim || meta.GoalDim != s.GoalDim || meta.ActionSpace.Dim != s.ActionDim {
			return rep, fmt.Errorf("%s: obs_dim %d, goal_dim %d, action dim %d, but the arrays have %d, %d, %d",
				a.Name, meta.ObsDim, meta.GoalDim, meta.ActionSpace.Dim, s.ObsDim, s.GoalDim, s.ActionDim)
		}
		if e := find(kalmEpisodes); e != nil {
			if err := episodes(e, s); err != nil {
				return rep, err
			}
		}
	} else {
		meta.ActionSpace, err = space(act, s.Actions, s.ActionDim, opt.Actions)
		if err != nil {
			return rep, err
		}
		if meta.ActionSpace.Kind == dataset.Continuous && opt.Actions == 0 {
			meta.Attrs["action_bounds"] = "inferred"
		}
	}
	for _, a := range arrays {
		if !used[a.Name] {
			rep.Ignored = append(rep.Ignored, a.Name)
		}
	}
	level := opt.Level
	if level == "" {
		level = "train"
	}
	w, err := dataset.Create(outDir, meta)
	if err != nil {
		return rep, err
	}
	defer w.Abort()
	rep.Cut, err = s.Episodes(level, w.Write)
	if err != nil {
		return rep, err
	}
	rep.Meta = w.Meta()
	return rep, w.Close()
}

// episodes reads kalm_episodes, one JSON line per episode, into s.
func episodes(a *Array, s *dataset.Steps) error {
	if a.String == nil {
		return fmt.Errorf("%s: dtype %s, want strings", a.Name, a.Descr)
	}
	for i, line := range a.String {
		var e struct {
			Goal    dataset.Goal `json:"goal"`
			Length  int          `json:"length"`
			Success bool         `json:"success"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return fmt.Errorf("%s: episode %d: %w", a.Name, i, err)
		}
		s.Lengths = append(s.Lengths, e.Length)
		s.Goals = append(s.Goals, e.Goal)
		s.Success = append(s.Success, e.Success)
	}
	if s.Lengths == nil {
		s.Lengths = []int{}
	}
	return nil
}

// space infers the action space (see Options.Actions).
func space(a *Array, v []float32, dim, n int) (dataset.Space, error) {
	if n > 0 || (a.Int != nil && dim == 1) {
		if dim != 1 {
			return dataset.Space{}, fmt.Errorf("%s: %d columns, but discrete actions are one column of indices", a.Name, dim)
		}
		if n == 0 {
			for _, x := range v {
				n = max(n, int(x)+1)
			}
		}
		s := dataset.DiscreteSpace(max(n, 1))
		return s, s.Check(v)
	}
	s := dataset.BoxSpace(dim, -1, 1)
	if s.Check(v) == nil {
		return s, nil
	}
	for j := range dim {
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for i := j; i < len(v); i += dim {
			lo, hi = min(lo, v[i]), max(hi, v[i])
		}
		if !(lo < hi) {
			lo, hi = min(lo, -1), max(hi, 1)
		}
		s.Low[j], s.High[j] = lo, hi
	}
	return s, nil
}

// finite names the first NaN or Inf of a column.
func finite(name string, v []float32, width int) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%s: row %d, column %d is %g: kalm refuses non-finite values (clean them first, e.g. with np.nan_to_num)",
				name, i/max(1, width), i%max(1, width), x)
		}
	}
	return nil
}

func names(arrays []*Array) []string {
	var out []string
	for _, a := range arrays {
		out = append(out, a.Name)
	}
	slices.Sort(out)
	return out
}

func orList(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("%q", names[0])
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Export writes the dataset at dir as a .npz file at path: observations,
// next_observations, actions (int64 indices for a discrete space), rewards,
// terminals, timeouts, goal_texts and goal_vectors per step, plus kalm_meta
// (meta.json) and kalm_episodes (one JSON line per episode), so that Import
// gives back the same dataset.
func Export(dir, path string) error {
	s, m, err := dataset.ReadSteps(dir)
	if err != nil {
		return err
	}
	n := s.Len()
	act := &Array{Name: "actions", Shape: []int{n, s.ActionDim}, Float32: orEmptyF(s.Actions)}
	if m.ActionSpace.Kind == dataset.Discrete {
		act = &Array{Name: "actions", Shape: []int{n}, Int: make([]int64, n)}
		for i, x := range s.Actions {
			act.Int[i] = int64(x)
		}
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var lines []string
	for i := range s.Lengths {
		b, err := json.Marshal(struct {
			Goal    dataset.Goal `json:"goal"`
			Length  int          `json:"length"`
			Success bool         `json:"success"`
		}{s.Goals[i], s.Lengths[i], s.Success[i]})
		if err != nil {
			return err
		}
		lines = append(lines, string(b))
	}
	texts := s.GoalTexts
	if texts == nil {
		texts = []string{}
	}
	arrays := []*Array{
		{Name: "observations", Shape: []int{n, s.ObsDim}, Float32: orEmptyF(s.Observations)},
		{Name: "next_observations", Shape: []int{n, s.ObsDim}, Float32: orEmptyF(s.NextObservations)},
		act,
		{Name: "rewards", Shape: []int{n}, Float32: orEmptyF(s.Rewards)},
		{Name: "terminals", Shape: []int{n}, Bool: orEmpty(s.Terminals)},
		{Name: "timeouts", Shape: []int{n}, Bool: orEmpty(s.Timeouts)},
		{Name: "goal_texts", Shape: []int{n}, String: texts},
	}
	if s.GoalDim > 0 {
		arrays = append(arrays, &Array{Name: "goal_vectors", Shape: []int{n, s.GoalDim}, Float32: orEmptyF(s.GoalVectors)})
	}
	arrays = append(arrays,
		&Array{Name: "kalm_meta", Shape: []int{}, String: []string{string(meta)}},
		&Array{Name: "kalm_episodes", Shape: []int{len(lines)}, String: orEmptyS(lines)},
	)
	return Write(path, arrays)
}

func orEmptyF(v []float32) []float32 {
	if v == nil {
		return []float32{}
	}
	return v
}

func orEmpty(v []bool) []bool {
	if v == nil {
		return []bool{}
	}
	return v
}

func orEmptyS(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

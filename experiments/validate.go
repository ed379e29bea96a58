package experiments

import (
	"fmt"
	"math"

	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/internal/suggest"
	"reflect"
	"strings"
)

// validate checks the ranges and relations that need no plugin. Checks
// against plugins (installed, goal levels, hyper-parameter schemas) happen in
// Plan.
func (e *Experiment) validate(errs *FieldErrors) {
	s := &e.Spec
	at := e.src.at
	e.validateExecutor(errs)
	need := func(ok bool, path string, v any, msg, allowed string) {
		if !ok {
			errs.add(at(path), path, v, msg, allowed)
		}
	}
	need(s.Name != "" && !strings.ContainsAny(s.Name, "/\\ \t\n"), "name", s.Name, "must be a non-empty word", "letters, digits, - and _")
	need(s.Env.Plugin != "", "env.plugin", s.Env.Plugin, "must name an env plugin", "")
	need(s.Dataset.Episodes >= 1, "dataset.episodes", s.Dataset.Episodes, "is out of range", "≥ 1")
	need(s.Dataset.Seed >= 0, "dataset.seed", s.Dataset.Seed, "is out of range", "≥ 0")
	need(s.LM.Seed >= 0, "lm.seed", s.LM.Seed, "is out of range", "≥ 0")
	if s.UsesLM() {
		need(s.LM.Ground.Steps >= 1, "lm.ground.steps", s.LM.Ground.Steps, "is out of range", "≥ 1")
		need(len(s.LM.Ground.Tasks) > 0, "lm.ground.tasks", s.LM.Ground.Tasks, "is empty", strings.Join(GroundTasks, ", "))
		for i, t := range s.LM.Ground.Tasks {
			if !contains(GroundTasks, t) {
				p := fmt.Sprintf("lm.ground.tasks[%d]", i)
				errs.add(at(p), p, t, "is not a grounding task"+suggest.DidYouMean(t, GroundTasks), strings.Join(GroundTasks, ", "))
			}
		}
		need(s.Imagine.Rollouts >= 1, "imagine.rollouts", s.Imagine.Rollouts, "is out of range", "≥ 1 when lm.plugin is set")
		need(s.LM.Ground.CheckpointEvery >= 0, "lm.ground.checkpoint_every", s.LM.Ground.CheckpointEvery, "is out of range", "≥ 0 (0 = the backend's choice)")
		need(s.Imagine.Temperature >= 0 && !math.IsInf(s.Imagine.Temperature, 0), "imagine.temperature", s.Imagine.Temperature,
			"is out of range", "a finite number ≥ 0 (0 = greedy)")
		need(s.Imagine.Keep == KeepAll || s.Imagine.Keep == KeepSuccess, "imagine.keep", s.Imagine.Keep, "is not a choice of rollouts", KeepAll+", "+KeepSuccess)
		need(s.LM.Assess.Episodes >= 0, "lm.assess.episodes", s.LM.Assess.Episodes, "is out of range", "≥ 0 (0 = no grounding report)")
	} else {
		need(s.Train.ImaginedRatio == 0, "train.imagined_ratio", s.Train.ImaginedRatio,
			"needs imaginary rollouts, but lm.plugin is empty", "0 without an LM")
		need(s.Train.GoalInput != GoalFromLM, "train.goal_input", s.Train.GoalInput,
			"needs the LM's goal encodings, but lm.plugin is empty", GoalFromEnv+" without an LM")
	}
	need(s.LM.Threads >= 0, "lm.threads", s.LM.Threads, "is out of range", "≥ 0 (0 = the registry's --threads)")
	// A secret in lm.config would be recorded with its stage (the stage key,
	// the database); an API key comes from the environment. Neither the value
	// nor the --set that carries it is repeated.
	for k := range s.LM.Config {
		if secretNames[strings.ToLower(k)] {
			p := "lm.config." + k
			where := at(p)
			if strings.HasPrefix(where, "--set ") {
				where = "--set " + p + "=…"
			}
			errs.add(where, p, "(not shown)", "looks like a secret, which would be recorded with the stage",
				"the key in the environment: OPENAI_API_KEY, or the variable lm.config.api_key_env names")
		}
	}
	need(s.Train.GoalInput == GoalFromEnv || s.Train.GoalInput == GoalFromLM, "train.goal_input", s.Train.GoalInput,
		"is not a goal input", GoalFromEnv+", "+GoalFromLM)
	need(s.Algo != "", "algo", s.Algo, "must name an algo plugin", "")
	need(s.Train.Steps >= 1, "train.steps", s.Train.Steps, "is out of range", "≥ 1")
	need(s.Train.Batch >= 0, "train.batch", s.Train.Batch, "is out of range", "≥ 0 (0 = the algorithm's default)")
	need(s.Train.ImaginedRatio >= 0 && s.Train.ImaginedRatio < 1, "train.imagined_ratio", s.Train.ImaginedRatio, "is out of range", "0 ≤ ratio < 1")
	need(s.Train.CheckpointEvery >= 0, "train.checkpoint_every", s.Train.CheckpointEvery,
		"is out of range", "≥ 0 (0 = only the last step)")
	need(s.Eval.Episodes >= 1, "eval.episodes", s.Eval.Episodes, "is out of range", "≥ 1")
	need(s.Eval.Checkpoints >= 1, "eval.checkpoints", s.Eval.Checkpoints, "is out of range", "≥ 1")
	need(s.Seeds >= 1 && s.Seeds <= 1000, "seeds", s.Seeds, "is out of range", "1..1000")
	e.validateGrid(errs)
}

// MaxCells bounds the cells of one experiment (combinations × seeds).
const MaxCells = 100_000

// GroundTasks are the KALM grounding tasks an LM backend is trained on.
var GroundTasks = []string{string(lm.GoalToRollout), string(lm.RolloutToGoal), string(lm.Dynamics), string(lm.Consequence)}

// notAxes are fields a grid may not vary.
var notAxes = map[string]string{
	"name": "the experiment's name", "description": "free text", "seeds": "use seeds: N",
	"grid": "the grid itself",
}

// openMaps are the fields whose sub-keys belong to a plugin, checked in Plan.
var openMaps = []string{"env.config", "lm.config", "hyper", "dataset.params"}

func (e *Experiment) validateGrid(errs *FieldErrors) {
	g := &e.Spec.Grid
	at := e.src.at
	seen := map[string]bool{}
	for i, ax := range g.Axes {
		p := fmt.Sprintf("grid.axes[%d]", i)
		if ax.Key == "" {
			errs.add(at(p+".key"), p+".key", nil, "is missing", "a field path such as algo or train.steps")
			continue
		}
		if seen[ax.Key] {
			errs.add(at(p+".key"), p+".key", ax.Key, "repeats an earlier axis", "")
		}
		seen[ax.Key] = true
		if why, ok := notAxes[strings.SplitN(ax.Key, ".", 2)[0]]; ok {
			errs.add(at(p+".key"), p+".key", ax.Key, "cannot be a grid axis ("+why+")", "")
			continue
		}
		if msg := checkPath(ax.Key); msg != "" {
			errs.add(at(p+".key"), p+".key", ax.Key, msg, "")
			continue
		}
		if len(ax.Values) == 0 {
			errs.add(at(p+".values"), p+".values", nil, "is empty: the grid would have no cells", "one or more values")
			continue
		}
		for j, v := range ax.Values {
			vp := fmt.Sprintf("%s.values[%d]", p, j)
			if msg := e.checkValue(ax.Key, v); msg != "" {
				errs.add(at(vp), vp, v, "for "+ax.Key+" "+msg, "")
			}
		}
	}
	check := func(list string, entries []map[string]any, full bool) {
		for i, m := range entries {
			p := fmt.Sprintf("grid.%s[%d]", list, i)
			if len(m) == 0 {
				errs.add(at(p), p, nil, "is empty", "axis: value pairs")
			}
			for _, k := range sortedKeys(m) {
				if !seen[k] {
					errs.add(at(p+"."+k), p+"."+k, m[k], "is not a grid axis"+suggest.DidYouMean(k, sortedKeys(seen)), strings.Join(sortedKeys(seen), ", "))
					continue
				}
				if msg := e.checkValue(k, m[k]); msg != "" {
					errs.add(at(p+"."+k), p+"."+k, m[k], msg, "")
				}
			}
			if full {
				for _, ax := range g.Axes {
					if _, ok := m[ax.Key]; !ok && ax.Key != "" {
						errs.add(at(p), p, nil, "gives no value for axis "+ax.Key, "a value for every axis")
					}
				}
			}
		}
	}
	check("include", g.Include, true)
	check("exclude", g.Exclude, false)
	if len(errs.List) == 0 {
		n := len(g.Include)
		prod := 1
		for _, ax := range g.Axes {
			prod *= len(ax.Values)
			if prod > MaxCells {
				break
			}
		}
		if n += prod; n*max(1, e.Spec.Seeds) > MaxCells {
			errs.add(at("grid"), "grid", nil, fmt.Sprintf("has over %d cells (combinations × seeds)", MaxCells), fmt.Sprintf("at most %d", MaxCells))
			return
		}
		if cells, _ := e.combinations(); len(cells) == 0 {
			errs.add(at("grid"), "grid", nil, "has no cells: every combination is excluded", "")
		}
	}
}

// checkPath reports why path is not a settable field of Spec ("" if it is).
func checkPath(path string) string {
	t := specType
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		f, ok := fieldByKey(t, seg)
		if !ok {
			prefix := strings.Join(segs[:i], ".")
			return fmt.Sprintf("is not a field of the experiment (no %q in %s)%s", seg, orTop(prefix), suggest.DidYouMean(seg, fieldsOf(t)))
		}
		switch f.Type.Kind() {
		case reflect.Struct:
			t = f.Type
			continue
		case reflect.Map:
			p := strings.Join(segs[:i+1], ".")
			for _, open := range openMaps {
				if p == open || strings.HasPrefix(open, p) {
					return "" // plugin-defined sub-keys, checked in Plan
				}
			}
		}
		if i != len(segs)-1 {
			return fmt.Sprintf("is not a field of the experiment (%s has no sub-fields)", strings.Join(segs[:i+1], "."))
		}
		return ""
	}
	return "names a section, not a field"
}

func orTop(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkValue decodes v into the field at path of a scratch Spec and reports
// the type problem, if any.
func (e *Experiment) checkValue(path string, v any) string {
	var scratch Spec
	raw := setPath(map[string]any{}, path, v)
	errs := &FieldErrors{}
	(&decoder{errs: errs}).decode("", raw, reflect.ValueOf(&scratch).Elem())
	if len(errs.List) > 0 {
		return errs.List[0].Msg
	}
	return ""
}

// setPath sets the dotted path in nested maps m, creating maps as needed.
func setPath(m map[string]any, path string, v any) map[string]any {
	segs := strings.Split(path, ".")
	cur := m
	for _, s := range segs[:len(segs)-1] {
		next, ok := cur[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[s] = next
		}
		cur = next
	}
	cur[segs[len(segs)-1]] = v
	return m
}

// secretNames are lm.config keys refused as secrets.
var secretNames = map[string]bool{"api_key": true, "apikey": true, "key": true, "token": true, "access_token": true, "secret": true, "password": true}

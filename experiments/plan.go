package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/internal/suggest"
)

// StageKind is one step of the KALM chain.
type StageKind string

const (
	Collect  StageKind = "collect"
	Ground   StageKind = "ground"
	Imagine  StageKind = "imagine"
	Train    StageKind = "train"
	Evaluate StageKind = "evaluate"
	// Encode replaces a dataset's goal vectors by the grounded LM's
	// encodings of the goal texts (train.goal_input: lm).
	Encode StageKind = "encode"
	// Assess measures the grounded LM against the env: the grounding report.
	Assess StageKind = "assess"
)

// StageKinds lists the kinds in chain order.
var StageKinds = []StageKind{Collect, Ground, Imagine, Assess, Encode, Train, Evaluate}

// PluginInfo is what Plan needs to know of an installed plugin.
type PluginInfo struct {
	Kind     plugin.Kind
	Name     string
	Version  string
	Checksum string
	Path     string
	// Env is the environment's spec (env plugins only).
	Env *env.Spec
	// Schema is the algorithm's hyper-parameter schema or the LM backend's
	// settings (algo and lm plugins).
	Schema *algo.Schema
}

// Catalog describes installed plugins. Describe returns an error wrapping
// ErrNotInstalled for a plugin that is not installed.
type Catalog interface {
	Describe(ctx context.Context, kind plugin.Kind, name string) (PluginInfo, error)
}

// ConfigChecker is implemented by catalogs that can try an env plugin's
// settings (env.config) before any work starts.
type ConfigChecker interface {
	CheckEnvConfig(ctx context.Context, name string, config map[string]string) error
}

// ErrNotInstalled is wrapped by Catalog errors for missing plugins.
var ErrNotInstalled = errors.New("not installed")

// NotInstalledError names a missing plugin and the installed ones.
type NotInstalledError struct {
	Kind      plugin.Kind
	Name      string
	Installed []string
}

func (e *NotInstalledError) Error() string {
	inst := "none"
	if len(e.Installed) > 0 {
		inst = strings.Join(e.Installed, ", ")
	}
	return fmt.Sprintf("plugin %s (%s) is not installed (installed plugins: %s)", e.Name, e.Kind, inst)
}

// Is makes errors.Is(err, ErrNotInstalled) true.
func (e *NotInstalledError) Is(target error) bool { return target == ErrNotInstalled }

// Stage is one memoised unit of work of a plan. Its Key hashes its kind,
// the plugins (names and versions) it runs, its configuration, the keys of
// its inputs and its seed: equal keys mean equal results, so a stage runs
// once however many cells need it.
type Stage struct {
	Key  string
	Kind StageKind
	// Plugins are the plugins the stage runs, main plugin first
	// (evaluate: the env, then the algorithm).
	Plugins []PluginRef
	// Config is the stage's configuration: one of CollectConfig,
	// GroundConfig, ImagineConfig, TrainConfig, EvalConfig.
	Config any
	// Inputs are the keys of the stages whose artifacts this one reads.
	Inputs []string
	Seed   uint64
	// Cells lists the IDs of the cells that need this stage.
	Cells []string
}

// PluginRef names a plugin and the version it had when planned.
type PluginRef struct {
	Kind    plugin.Kind `json:"kind"`
	Name    string      `json:"name"`
	Version string      `json:"version"`
	// Threads, when above 0, is the plugin's own thread count (lm.threads).
	// It is no part of the stage key: it changes speed, not results.
	Threads int `json:"-"`
}

// CollectConfig configures a collect stage.
type CollectConfig struct {
	EnvConfig map[string]string  `json:"env_config"`
	Episodes  int                `json:"episodes"`
	Policy    string             `json:"policy"`
	Params    map[string]float64 `json:"params"`
	Level     string             `json:"level"`
	// Dataset, when set, is the dataset.Digest of the user's dataset at
	// Path (dataset.path), which the stage copies instead of collecting.
	// Path is no part of the key: the content is.
	Dataset string `json:"dataset,omitempty"`
	Path    string `json:"-"`
}

// GroundConfig configures a ground stage.
type GroundConfig struct {
	LMConfig map[string]any `json:"lm_config"`
	Steps    int            `json:"steps"`
	Tasks    []string       `json:"tasks"`
	// Dataset is the collect stage grounded on.
	Dataset string `json:"dataset"`
	// CheckpointEvery is lm.ground.checkpoint_every (0: the backend's choice).
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
}

// keepKey is imagine.keep as it enters a stage key: the default, all,
// leaves the key as it was before the setting existed.
func keepKey(k string) string {
	if k == KeepAll {
		return ""
	}
	return k
}

// ImagineConfig configures an imagine stage: rollouts for one novel level.
type ImagineConfig struct {
	EnvConfig map[string]string `json:"env_config"`
	LMConfig  map[string]any    `json:"lm_config"`
	Level     string            `json:"level"`
	Rollouts  int               `json:"rollouts"`
	Ground    string            `json:"ground"`  // the grounded LM's stage
	Dataset   string            `json:"dataset"` // the real data the initial states come from
	// Temperature is imagine.temperature (0: greedy).
	Temperature float64 `json:"temperature,omitempty"`
	// Keep is imagine.keep ("" = all).
	Keep string `json:"keep,omitempty"`
}

// EncodeConfig configures an encode stage: a copy of a dataset whose goal
// vectors are the grounded LM's encodings of the goal texts.
type EncodeConfig struct {
	Ground  string `json:"ground"`  // the grounded LM's stage
	Dataset string `json:"dataset"` // the collect or imagine stage encoded
}

// AssessConfig configures an assess stage: the grounding report of one
// grounded LM.
type AssessConfig struct {
	EnvConfig map[string]string `json:"env_config"`
	Ground    string            `json:"ground"`
	Dataset   string            `json:"dataset"` // the real data grounded on
	// Policy, Params and Level collect the held-out real rollouts, as the
	// collect stage does the real data.
	Policy string             `json:"policy"`
	Params map[string]float64 `json:"params"`
	Level  string             `json:"level"`
	// Imagine maps each novel level to its imagine stage.
	Imagine  map[string]string `json:"imagine"`
	Episodes int               `json:"episodes"`
}

// TrainConfig configures a train stage.
type TrainConfig struct {
	Hyper           map[string]any `json:"hyper"` // resolved: every schema parameter
	Steps           int            `json:"steps"`
	Batch           int            `json:"batch"`
	CheckpointEvery int            `json:"checkpoint_every"`
	Datasets        []DatasetRef   `json:"datasets"`
}

// DatasetRef is a dataset artifact and its share of each batch.
type DatasetRef struct {
	Stage  string  `json:"stage"`
	Weight float64 `json:"weight"`
}

// EvalConfig configures an evaluate stage.
type EvalConfig struct {
	EnvConfig   map[string]string `json:"env_config"`
	Train       string            `json:"train"`
	Levels      []string          `json:"levels"`
	Episodes    int               `json:"episodes"`
	Checkpoints int               `json:"checkpoints"`
	// GoalInput "lm" makes the policies read the goal as the grounded LM
	// (stage Ground) encodes its text; empty is the env's goal vector.
	GoalInput string `json:"goal_input,omitempty"`
	Ground    string `json:"ground,omitempty"`
}

// PlannedCell is a cell and the keys of its stages by kind.
type PlannedCell struct {
	Cell
	Stages map[StageKind]string
	// Imagine lists the keys of the cell's imagine stages (one per level).
	Imagine []string
	// Encode lists the keys of the cell's encode stages (one per dataset).
	Encode []string
}

// Plan is the DAG of stages an experiment needs.
type Plan struct {
	Experiment *Experiment
	Cells      []PlannedCell
	// Stages are in dependency order: every stage after its inputs.
	Stages  []*Stage
	Plugins []PluginInfo
	byKey   map[string]*Stage
	// userData are the datasets of dataset.path, by the path as given.
	userData map[string]userDataset
}

// Stage returns the stage with key.
func (p *Plan) Stage(key string) *Stage { return p.byKey[key] }

// Plan resolves every plugin the cells need through cat, checks the
// experiment against them (installed, goal levels, behaviour policies,
// action spaces, hyper-parameter schemas) and builds the stage DAG. Nothing
// runs: a plan that returns without error can start.
func (e *Experiment) Plan(ctx context.Context, cat Catalog) (*Plan, error) {
	cells, err := e.Cells()
	if err != nil {
		return nil, err
	}
	p := &Plan{Experiment: e, byKey: map[string]*Stage{}, userData: map[string]userDataset{}}
	errs := &FieldErrors{Source: e.Source}
	at := e.src.at
	infos := map[string]*PluginInfo{}
	var order []string
	describe := func(kind plugin.Kind, name, path string) *PluginInfo {
		id := string(kind) + "/" + name
		if info, ok := infos[id]; ok {
			return info
		}
		info, err := cat.Describe(ctx, kind, name)
		if err != nil {
			msg := err.Error()
			var ni *NotInstalledError
			if errors.As(err, &ni) {
				inst := "none"
				if len(ni.Installed) > 0 {
					inst = strings.Join(ni.Installed, ", ")
				}
				msg = fmt.Sprintf("is not an installed %s plugin%s (installed plugins: %s)", kind, suggest.DidYouMean(name, ni.Installed), inst)
			} else if errors.Is(err, ErrNotInstalled) {
				msg = fmt.Sprintf("is not an installed %s plugin", kind)
			}
			errs.add(at(path), path, name, msg, "")
			infos[id] = nil
			return nil
		}
		if info.Kind != kind {
			errs.add(at(path), path, name, fmt.Sprintf("is a %s plugin, want a %s plugin", info.Kind, kind), "")
			infos[id] = nil
			return nil
		}
		infos[id] = &info
		order = append(order, id)
		return &info
	}

	// Check hyper-parameters of every algorithm named in hyper, used or not,
	// including values that grid axes set.
	checked := map[string]bool{}
	checkAll := func(hyper map[string]map[string]any, axis string) {
		for _, name := range sortedKeys(hyper) {
			if info := describe(plugin.Algo, name, "hyper."+name); info != nil {
				for _, k := range sortedKeys(hyper[name]) {
					id := fmt.Sprintf("hyper %s %s %s", name, k, valueString(hyper[name][k]))
					if !checked[id] {
						checked[id] = true
						checkHyper(errs, at, info, map[string]any{k: hyper[name][k]}, axis)
					}
				}
			}
		}
	}
	checkAll(e.Spec.Hyper, "")
	// From here on a value a grid axis sets is reported at the axis.
	at = e.src.forCell(e.Axes()).at
	for _, c := range cells {
		for _, p := range c.Params {
			if strings.HasPrefix(p.Key, "hyper.") {
				checkAll(c.Spec.Hyper, " (from the grid cell "+c.Group+")")
				break
			}
		}
	}
	for _, c := range cells {
		s := c.Spec
		envInfo := describe(plugin.Env, s.Env.Plugin, "env.plugin")
		algoInfo := describe(plugin.Algo, s.Algo, "algo")
		var lmInfo *PluginInfo
		if s.NeedsLM() {
			lmInfo = describe(plugin.LM, s.LM.Plugin, "lm.plugin")
		}
		if envInfo == nil || algoInfo == nil || (s.NeedsLM() && lmInfo == nil) {
			continue
		}
		spec := envInfo.Env
		if spec == nil {
			spec = &env.Spec{}
		}
		// Checks that depend on the cell's values, once per distinct value.
		once := func(id string, f func()) {
			if !checked[id] {
				checked[id] = true
				f()
			}
		}
		if lmInfo != nil {
			for _, k := range sortedKeys(s.LM.Config) {
				once(fmt.Sprintf("lm.config %s %s %s", lmInfo.Name, k, valueString(s.LM.Config[k])), func() {
					checkSettings(errs, at, lmInfo, map[string]any{k: s.LM.Config[k]}, "lm.config.", "a setting of lm "+lmInfo.Name, "")
				})
			}
		}
		if cc, ok := cat.(ConfigChecker); ok && len(s.Env.Config) > 0 {
			cfg := envConfig(s.Env.Config)
			b, _ := canonicalJSON(cfg)
			once("envconfig "+s.Env.Plugin+string(b), func() {
				if err := cc.CheckEnvConfig(ctx, s.Env.Plugin, cfg); err != nil {
					errs.add(at("env.config"), "env.config", s.Env.Config, "is refused by env "+s.Env.Plugin+": "+err.Error(), "")
				}
			})
		}
		once("policy "+s.Dataset.Policy, func() {
			if s.Dataset.Policy != "" && len(spec.Policies) > 0 && !contains(spec.Policies, s.Dataset.Policy) {
				errs.add(at("dataset.policy"), "dataset.policy", s.Dataset.Policy,
					fmt.Sprintf("is not a behaviour policy of env %s%s", s.Env.Plugin, suggest.DidYouMean(s.Dataset.Policy, spec.Policies)), strings.Join(spec.Policies, ", "))
			}
		})
		levelCheck := func(path string, levels []string) {
			for i, l := range levels {
				lp := fmt.Sprintf("%s[%d]", path, i)
				if path == "dataset.level" {
					lp = path
				}
				once(lp+" "+l, func() {
					if !contains(spec.Levels, l) {
						errs.add(at(lp), lp, l, fmt.Sprintf("is not a goal level of env %s%s", s.Env.Plugin, suggest.DidYouMean(l, spec.Levels)), strings.Join(spec.Levels, ", "))
					}
				})
			}
		}
		if s.Dataset.Level != "" {
			levelCheck("dataset.level", []string{s.Dataset.Level})
		}
		levelCheck("eval.levels", s.Eval.Levels)
		if lmInfo != nil && s.Train.ImaginedRatio > 0 {
			levelCheck("imagine.levels", s.Imagine.Levels)
		}
		if algoInfo.Schema != nil && len(algoInfo.Schema.Spaces) > 0 {
			once("space "+s.Algo, func() {
				ok := false
				for _, k := range algoInfo.Schema.Spaces {
					ok = ok || k == spec.ActionSpace.Kind
				}
				if !ok {
					errs.add(at("algo"), "algo", s.Algo, fmt.Sprintf("does not train on the %s action space of env %s", spec.ActionSpace.Kind, s.Env.Plugin),
						fmt.Sprint(algoInfo.Schema.Spaces))
				}
			})
		}
		if s.Dataset.Path != "" {
			once("dataset.path "+s.Env.Plugin+" "+s.Dataset.Path, func() {
				if u, ok := checkUserDataset(errs, at, s, spec); ok {
					p.userData[s.Dataset.Path] = u
				}
			})
		}
		if len(errs.List) > 0 {
			continue
		}
		pc := PlannedCell{Cell: c, Stages: map[StageKind]string{}}
		p.addCell(&pc, envInfo, algoInfo, lmInfo)
		p.Cells = append(p.Cells, pc)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	for _, id := range order {
		if info := infos[id]; info != nil {
			p.Plugins = append(p.Plugins, *info)
		}
	}
	return p, nil
}

func checkHyper(errs *FieldErrors, at func(string) string, info *PluginInfo, hyper map[string]any, from string) {
	checkSettings(errs, at, info, hyper, "hyper."+info.Name+".", "a hyper-parameter of algo "+info.Name, from)
}

// checkSettings checks values, found at prefix+key, against the plugin's
// schema: each key must be one of its settings (what names them in the
// error) and each value of the setting's type; from ends each message.
func checkSettings(errs *FieldErrors, at func(string) string, info *PluginInfo, values map[string]any, prefix, what, from string) {
	if info.Schema == nil {
		return
	}
	var names []string
	for _, prm := range info.Schema.Params {
		names = append(names, prm.Name)
	}
	for _, k := range sortedKeys(values) {
		path := prefix + k
		prm, ok := info.Schema.Lookup(k)
		if !ok {
			errs.add(at(path), path, values[k], fmt.Sprintf("is not %s%s%s", what, from, suggest.DidYouMean(k, names)), strings.Join(names, ", "))
			continue
		}
		if msg := checkParam(prm, values[k]); msg != "" {
			allowed := string(prm.Type)
			if len(prm.Allowed) > 0 {
				allowed = strings.Join(prm.Allowed, ", ")
			}
			errs.add(at(path), path, values[k], msg+from, allowed)
		}
	}
}

func checkParam(p algo.Param, v any) string {
	switch p.Type {
	case algo.TypeFloat:
		if _, ok := asFloat(v); !ok {
			return "is not a number"
		}
	case algo.TypeInt:
		if _, ok := asInt(v); !ok {
			return "is not a whole number"
		}
	case algo.TypeBool:
		if _, ok := asBool(v); !ok {
			return "is not a boolean"
		}
	case algo.TypeString:
		s, ok := v.(string)
		if !ok {
			return "is not a string"
		}
		if len(p.Allowed) > 0 && !contains(p.Allowed, s) {
			return "is not an allowed value" + suggest.DidYouMean(s, p.Allowed)
		}
	}
	return ""
}

// resolveHyper fills the schema's defaults and converts values to the
// declared types, so that equal settings hash equally.
func resolveHyper(info *PluginInfo, given map[string]any) map[string]any {
	out := map[string]any{}
	if info.Schema != nil {
		for _, p := range info.Schema.Params {
			out[p.Name] = normalize(p.Default)
		}
	}
	for k, v := range given {
		out[k] = normalize(v)
		if info.Schema != nil {
			if p, ok := info.Schema.Lookup(k); ok {
				switch p.Type {
				case algo.TypeFloat:
					f, _ := asFloat(v)
					out[k] = normalize(f)
				case algo.TypeInt:
					n, _ := asInt(v)
					out[k] = n
				case algo.TypeBool:
					b, _ := asBool(v)
					out[k] = b
				}
			}
		}
	}
	return out
}

func ref(info *PluginInfo) PluginRef {
	return PluginRef{Kind: info.Kind, Name: info.Name, Version: info.Version}
}

func envConfig(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = valueString(v)
	}
	return out
}

// addCell adds the stages of one cell, reusing equal ones.
func (p *Plan) addCell(pc *PlannedCell, envInfo, algoInfo, lmInfo *PluginInfo) {
	s := pc.Spec
	level := s.Dataset.Level
	if level == "" && envInfo.Env != nil && len(envInfo.Env.Levels) > 0 {
		level = envInfo.Env.Levels[0]
	}
	policy := s.Dataset.Policy
	if policy == "" && envInfo.Env != nil && len(envInfo.Env.Policies) > 0 {
		policy = envInfo.Env.Policies[0]
	}
	params := s.Dataset.Params
	if params == nil {
		params = map[string]float64{}
	}
	collectStage := &Stage{Kind: Collect, Plugins: []PluginRef{ref(envInfo)}, Seed: uint64(s.Dataset.Seed),
		Config: CollectConfig{EnvConfig: envConfig(s.Env.Config), Episodes: s.Dataset.Episodes, Policy: policy, Params: params, Level: level}}
	if u, ok := p.userData[s.Dataset.Path]; ok {
		collectStage = &Stage{Kind: Collect, Config: CollectConfig{EnvConfig: map[string]string{}, Params: map[string]float64{}, Dataset: u.digest, Path: u.abs}}
	}
	collect := p.add(pc, collectStage)
	datasets := []DatasetRef{{Stage: collect.Key, Weight: 1}}
	var ground *Stage
	if lmInfo != nil {
		lmRef := ref(lmInfo)
		lmRef.Threads = s.LM.Threads
		// The backend's defaults enter the keys, as an algorithm's do: a
		// default that changes between releases grounds anew instead of
		// reusing a model grounded under the old one.
		lmConfig := resolveHyper(lmInfo, s.LM.Config)
		ground = p.add(pc, &Stage{Kind: Ground, Plugins: []PluginRef{lmRef}, Seed: uint64(s.LM.Seed), Inputs: []string{collect.Key},
			Config: GroundConfig{LMConfig: lmConfig, Steps: s.LM.Ground.Steps, Tasks: s.LM.Ground.Tasks, Dataset: collect.Key,
				CheckpointEvery: s.LM.Ground.CheckpointEvery}})
		var levels []string
		if r := s.Train.ImaginedRatio; r > 0 {
			levels = s.Imagine.Levels
			if len(levels) == 0 && envInfo.Env != nil && len(envInfo.Env.Levels) > 1 {
				levels = envInfo.Env.Levels[1:]
			}
			datasets = []DatasetRef{{Stage: collect.Key, Weight: 1 - r}}
		}
		imagined := map[string]string{}
		for _, l := range levels {
			im := p.add(pc, &Stage{Kind: Imagine, Plugins: []PluginRef{lmRef, ref(envInfo)}, Seed: uint64(s.LM.Seed),
				Inputs: []string{ground.Key, collect.Key},
				Config: ImagineConfig{EnvConfig: envConfig(s.Env.Config), LMConfig: lmConfig, Level: l, Rollouts: s.Imagine.Rollouts,
					Ground: ground.Key, Dataset: collect.Key, Temperature: s.Imagine.Temperature, Keep: keepKey(s.Imagine.Keep)}})
			pc.Imagine = append(pc.Imagine, im.Key)
			imagined[l] = im.Key
			datasets = append(datasets, DatasetRef{Stage: im.Key, Weight: s.Train.ImaginedRatio / float64(len(levels))})
		}
		if n := s.LM.Assess.Episodes; n > 0 {
			inputs := []string{ground.Key, collect.Key}
			for _, l := range levels {
				inputs = append(inputs, imagined[l])
			}
			p.add(pc, &Stage{Kind: Assess, Plugins: []PluginRef{lmRef, ref(envInfo)}, Seed: uint64(s.LM.Seed), Inputs: inputs,
				Config: AssessConfig{EnvConfig: envConfig(s.Env.Config), Ground: ground.Key, Dataset: collect.Key, Policy: policy, Params: params,
					Level: level, Imagine: imagined, Episodes: n}})
		}
		if s.Train.GoalInput == GoalFromLM {
			// Policies read goals as the LM encodes their texts: every
			// dataset they train on is an encoded copy.
			for i, d := range datasets {
				enc := p.add(pc, &Stage{Kind: Encode, Plugins: []PluginRef{lmRef}, Inputs: []string{ground.Key, d.Stage},
					Config: EncodeConfig{Ground: ground.Key, Dataset: d.Stage}})
				pc.Encode = append(pc.Encode, enc.Key)
				datasets[i].Stage = enc.Key
			}
		}
	}
	var inputs []string
	for _, d := range datasets {
		inputs = append(inputs, d.Stage)
	}
	hyper := resolveHyper(algoInfo, s.Hyper[s.Algo])
	train := p.add(pc, &Stage{Kind: Train, Plugins: []PluginRef{ref(algoInfo)}, Seed: uint64(pc.Seed), Inputs: inputs,
		Config: TrainConfig{Hyper: hyper, Steps: s.Train.Steps, Batch: s.Train.Batch, CheckpointEvery: s.Train.CheckpointEvery, Datasets: datasets}})
	evalLevels := s.Eval.Levels
	if len(evalLevels) == 0 && envInfo.Env != nil {
		evalLevels = envInfo.Env.Levels
	}
	eval := &Stage{Kind: Evaluate, Plugins: []PluginRef{ref(envInfo), ref(algoInfo)}, Seed: uint64(pc.Seed), Inputs: []string{train.Key},
		Config: EvalConfig{EnvConfig: envConfig(s.Env.Config), Train: train.Key, Levels: evalLevels, Episodes: s.Eval.Episodes, Checkpoints: s.Eval.Checkpoints}}
	if ground != nil && s.Train.GoalInput == GoalFromLM {
		lmRef := ref(lmInfo)
		lmRef.Threads = s.LM.Threads
		eval.Plugins = append(eval.Plugins, lmRef)
		eval.Inputs = append(eval.Inputs, ground.Key)
		cfg := eval.Config.(EvalConfig)
		cfg.GoalInput, cfg.Ground = GoalFromLM, ground.Key
		eval.Config = cfg
	}
	p.add(pc, eval)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// add keys st and adds it to the plan unless an equal stage is there.
func (p *Plan) add(pc *PlannedCell, st *Stage) *Stage {
	st.Key = StageKey(st)
	if old, ok := p.byKey[st.Key]; ok {
		old.Cells = append(old.Cells, pc.ID)
		if st.Kind != Imagine && st.Kind != Encode {
			pc.Stages[st.Kind] = st.Key
		}
		return old
	}
	st.Cells = []string{pc.ID}
	p.byKey[st.Key] = st
	p.Stages = append(p.Stages, st)
	if st.Kind != Imagine && st.Kind != Encode {
		pc.Stages[st.Kind] = st.Key
	}
	return st
}

// StageFormats version what the host itself does in each kind of stage
// (the executors in experiments/runner: seeds drawn, files written,
// metrics computed). Bump a kind's number when that changes, so that old
// artifacts are not reused for the new meaning.
var StageFormats = map[StageKind]int{Collect: 1, Ground: 1, Imagine: 1, Train: 1, Evaluate: 2, Encode: 1, Assess: 2}

// StageKey hashes everything that determines a stage's result.
func StageKey(st *Stage) string {
	b, err := canonicalJSON(struct {
		Kind    StageKind   `json:"kind"`
		Format  int         `json:"format"`
		Plugins []PluginRef `json:"plugins"`
		Config  any         `json:"config"`
		Inputs  []string    `json:"inputs"`
		Seed    uint64      `json:"seed"`
	}{st.Kind, StageFormats[st.Kind], st.Plugins, st.Config, st.Inputs, st.Seed})
	if err != nil {
		// Only non-finite numbers get here; hash their printed form.
		b = fmt.Appendf(nil, "%s %v %#v %v %d", st.Kind, st.Plugins, st.Config, st.Inputs, st.Seed)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Shared reports, for `kalm plan`, how many cells need each stage.
func (p *Plan) Shared() map[string]int {
	out := map[string]int{}
	for _, st := range p.Stages {
		out[st.Key] = len(st.Cells)
	}
	return out
}

// KindCounts counts the plan's stages by kind.
func (p *Plan) KindCounts() map[StageKind]int {
	out := map[StageKind]int{}
	for _, st := range p.Stages {
		out[st.Kind]++
	}
	return out
}

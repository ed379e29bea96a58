package experiments

// Spec is one experiment as declared in a YAML or TOML file, after the
// layers (defaults, file, KALM_* environment, --set flags) are merged.
//
// A Spec describes one cell; the Grid declares which fields vary across
// cells. Every field is validated before any work starts.
type Spec struct {
	// Name identifies the experiment in the results database.
	Name string `koanf:"name"`
	// Description is free text shown by `kalm run --list` and `kalm ls`.
	Description string `koanf:"description"`

	Env     EnvSpec     `koanf:"env"`
	Dataset DatasetSpec `koanf:"dataset"`
	LM      LMSpec      `koanf:"lm"`
	Imagine ImagineSpec `koanf:"imagine"`

	// Algo names the offline RL algorithm plugin that trains the policy.
	Algo string `koanf:"algo"`
	// Hyper holds hyper-parameters per algorithm name: hyper.cql.alpha.
	// Only the entry of Algo is used by a cell; every entry is checked
	// against its algorithm's schema.
	Hyper map[string]map[string]any `koanf:"hyper"`

	Train TrainSpec `koanf:"train"`
	Eval  EvalSpec  `koanf:"eval"`

	// Seeds is the number of training seeds per cell group (seeds 0..Seeds-1).
	Seeds int `koanf:"seeds"`

	Grid GridSpec `koanf:"grid"`

	// Executor says where the stages run (executor.go); it is left out of
	// the experiment's Hash.
	Executor ExecutorSpec `koanf:"executor"`
}

// EnvSpec names the environment plugin and its configuration.
type EnvSpec struct {
	Plugin string         `koanf:"plugin"`
	Config map[string]any `koanf:"config"`
}

// DatasetSpec is the real dataset: collected in the env, or the user's own.
type DatasetSpec struct {
	// Path, when set, names an existing dataset directory (written by
	// `kalm dataset import` or by a collect stage) that the cell trains on
	// instead of collecting; Episodes, Policy, Params, Level and Seed are
	// then unused. A relative path is relative to the working directory.
	// The stage is keyed by the dataset's content (dataset.Digest), so a
	// changed dataset never reuses artifacts of its old content.
	Path string `koanf:"path"`
	// Episodes is the number of real rollouts to collect.
	Episodes int `koanf:"episodes"`
	// Policy names the env's scripted behaviour policy; empty means the
	// env's first (its default behaviour policy).
	Policy string `koanf:"policy"`
	// Params tunes the behaviour policy (noise, share of random actions...).
	Params map[string]float64 `koanf:"params"`
	// Level is the goal level the real data is collected for; empty means
	// the env's training level (its first).
	Level string `koanf:"level"`
	// Seed drives the collection; it is shared by all training seeds.
	Seed int `koanf:"seed"`
}

// LMSpec names the grounded language model backend. An empty Plugin means
// no LM: the chain is collect → train → evaluate.
type LMSpec struct {
	Plugin string         `koanf:"plugin"`
	Config map[string]any `koanf:"config"`
	Ground GroundSpec     `koanf:"ground"`
	// Seed drives grounding and imagination.
	Seed int `koanf:"seed"`
	// Threads is the number of threads the LM plugin may use (0: the
	// registry's setting for every plugin, --threads). It changes how fast
	// the LM runs, not what it computes, so it is not part of any stage key.
	Threads int `koanf:"threads"`
	// Assess is the grounding report: how well the grounded LM knows the env.
	Assess AssessSpec `koanf:"assess"`
}

// AssessSpec configures the assess stage, which measures the grounded LM
// against the env: one-step dynamics error on held-out real transitions and
// explanation accuracy on real and imagined rollouts.
type AssessSpec struct {
	// Episodes is the number of rollouts of each kind assessed: held-out
	// real rollouts collected for the dynamics error, training rollouts
	// explained, and successful imagined rollouts of each novel level
	// explained. 0 skips the stage.
	Episodes int `koanf:"episodes"`
}

// GroundSpec is the supervised fine-tuning of the LM on the real data.
// Backend-specific settings (learning rate, batch, model size) go in lm.config.
type GroundSpec struct {
	Steps int      `koanf:"steps"`
	Tasks []string `koanf:"tasks"`
	// CheckpointEvery asks the backend for a checkpoint every N steps, from
	// which an interrupted ground stage continues; 0 leaves it to the backend.
	CheckpointEvery int `koanf:"checkpoint_every"`
}

// ImagineSpec is the generation of imaginary rollouts for novel goals.
type ImagineSpec struct {
	// Levels are the novel goal levels to imagine rollouts for; empty means
	// every level of the env but the training level.
	Levels []string `koanf:"levels"`
	// Rollouts is the number of imaginary rollouts per level.
	Rollouts int `koanf:"rollouts"`
	// Temperature is the LM's sampling temperature (0: greedy decoding).
	Temperature float64 `koanf:"temperature"`
	// Keep says which imagined rollouts the policies train on: "all" (the
	// paper: every rollout, labelled by the env's reward) or "success"
	// (only those the env's judge says reach their goal).
	Keep string `koanf:"keep"`
}

// Values of ImagineSpec.Keep.
const (
	KeepAll     = "all"
	KeepSuccess = "success"
)

// TrainSpec is the offline RL training of one policy.
type TrainSpec struct {
	Steps int `koanf:"steps"`
	// Batch is the minibatch size; 0 means the algorithm's default.
	Batch int `koanf:"batch"`
	// ImaginedRatio is the share of each batch drawn from imaginary
	// rollouts (0.5 is the paper's 1:1 mixing, 0 trains on real data only).
	ImaginedRatio float64 `koanf:"imagined_ratio"`
	// CheckpointEvery saves a checkpoint every N steps; 0 saves only the last.
	CheckpointEvery int `koanf:"checkpoint_every"`
	// GoalInput is where policies read their goal from: "env", the env's
	// structured goal vector, or "lm", the grounded LM's Encode of the goal
	// text (the datasets' goal vectors are replaced by encode stages, and
	// evaluation encodes each goal's text before acting).
	GoalInput string `koanf:"goal_input"`
}

// Goal inputs of TrainSpec.GoalInput.
const (
	GoalFromEnv = "env"
	GoalFromLM  = "lm"
)

// EvalSpec is the evaluation of trained policies in the real environment.
type EvalSpec struct {
	// Levels are the goal levels evaluated; empty means every level of the env.
	Levels   []string `koanf:"levels"`
	Episodes int      `koanf:"episodes"`
	// Checkpoints is the number of last checkpoints whose success rates are averaged.
	Checkpoints int `koanf:"checkpoints"`
}

// GridSpec declares the axes whose cartesian product makes the cells.
type GridSpec struct {
	Axes []Axis `koanf:"axes"`
	// Include adds cells: each entry gives a value for every axis.
	Include []map[string]any `koanf:"include"`
	// Exclude removes the cells matching every key of an entry.
	Exclude []map[string]any `koanf:"exclude"`
}

// Axis is one dimension of the grid: a field path and its values.
type Axis struct {
	Key    string `koanf:"key"`
	Values []any  `koanf:"values"`
}

// Defaults returns the built-in defaults, the first configuration layer.
func Defaults() Spec {
	return Spec{
		Env:     EnvSpec{Plugin: "clevr"},
		Dataset: DatasetSpec{Episodes: 400},
		LM: LMSpec{
			Ground: GroundSpec{Steps: 1000, Tasks: []string{"goal-to-rollout", "rollout-to-goal", "dynamics", "consequence"}},
			Assess: AssessSpec{Episodes: 100},
		},
		Imagine:  ImagineSpec{Rollouts: 100, Keep: KeepAll},
		Algo:     "bc",
		Train:    TrainSpec{Steps: 2000, ImaginedRatio: 0, CheckpointEvery: 500, GoalInput: GoalFromEnv},
		Eval:     EvalSpec{Episodes: 50, Checkpoints: 1},
		Seeds:    1,
		Executor: ExecutorSpec{Kind: ExecLocal, Slurm: SlurmSpec{Retries: 2, Poll: 5}},
	}
}

// UsesLM reports whether an LM backend is set (lm.plugin).
func (s *Spec) UsesLM() bool { return s.LM.Plugin != "" }

// NeedsLM reports whether the cell's chain grounds an LM: for imagined
// rollouts (train.imagined_ratio > 0) or for goal encodings
// (train.goal_input: lm).
func (s *Spec) NeedsLM() bool {
	return s.UsesLM() && (s.Train.ImaginedRatio > 0 || s.Train.GoalInput == GoalFromLM)
}

package lm

import (
	"context"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
)

// LM is a language-model backend that can be grounded in an environment.
// Datasets and checkpoints move by file path; every call takes and returns
// a struct, so that a new field does not break a plugin built before it.
type LM interface {
	// Ground fine-tunes the model on datasets with the KALM tasks and writes
	// a checkpoint under req.OutDir. It reports progress (and the
	// checkpoints it writes on the way) through progress, and continues from
	// req.Resume when that is set.
	Ground(ctx context.Context, req GroundRequest, progress func(Progress)) (*GroundResponse, error)
	// Generate imagines one rollout per goal from the given initial
	// observations and writes them as a dataset to req.Out. Rewards are left
	// for the env's judge. With a non-nil judge the backend reports every
	// generated step and ends each rollout the judge calls done; with a nil
	// judge rollouts run to req.MaxSteps.
	Generate(ctx context.Context, req GenerateRequest, judge Judge) (*GenerateResponse, error)
	// Explain describes rollouts in language (rollout → goal).
	Explain(ctx context.Context, req ExplainRequest) (*ExplainResponse, error)
	// Predict predicts next observations from observations and actions.
	Predict(ctx context.Context, req PredictRequest) (*PredictResponse, error)
	// Encode embeds goal texts as vectors, [len(Texts), Dim].
	Encode(ctx context.Context, req EncodeRequest) (*EncodeResponse, error)
	// Act uses the model itself as a policy (the paper's "LLM as policy").
	Act(ctx context.Context, req ActRequest) (*ActResponse, error)
}

// Schemer is implemented by backends that declare their settings (what
// lm.config accepts), shown by `kalm plugins NAME`.
type Schemer interface {
	Schema(ctx context.Context, req SchemaRequest) (*Schema, error)
}

// SchemaRequest asks for the backend's Schema. It has no fields yet.
type SchemaRequest struct{}

// Schema declares settings as an algorithm declares its hyper-parameters.
type Schema = algo.Schema

// Task is one of the KALM fine-tuning tasks.
type Task string

const (
	GoalToRollout Task = "goal-to-rollout"
	RolloutToGoal Task = "rollout-to-goal"
	Dynamics      Task = "dynamics"
	Consequence   Task = "consequence"
)

// Tasks are the four KALM tasks, in the paper's order.
var Tasks = []Task{GoalToRollout, RolloutToGoal, Dynamics, Consequence}

// GroundRequest asks for grounding on datasets.
type GroundRequest struct {
	Base     string // the base checkpoint or model name; "" for the backend's default
	Datasets []string
	Tasks    []Task
	Config   map[string]any
	Steps    int
	OutDir   string
	Seed     uint64
	// CheckpointEvery asks for a checkpoint every so many steps (0: the
	// backend's choice), reported through Progress.Checkpoint.
	CheckpointEvery int
	// Resume, if set, is a checkpoint of an earlier, interrupted Ground with
	// the same request to continue from.
	Resume string
}

// Progress reports a long call's metrics.
type Progress struct {
	Step, Total int
	Metrics     map[string]float64
	// Checkpoint, when set, is a checkpoint written at Step under OutDir
	// from which Ground can resume.
	Checkpoint string
}

// GroundResponse names the grounded checkpoint.
type GroundResponse struct {
	Checkpoint string
	Metrics    map[string]float64
}

// GenerateRequest asks for imagined rollouts.
type GenerateRequest struct {
	Checkpoint   string
	Goals        []dataset.Goal
	Observations []float32 // initial observations, [len(Goals), ObsDim]
	MaxSteps     int
	// Temperature 0 decodes greedily; above 0, a backend samples its
	// choices (tinylm: discrete actions from the action distribution
	// softened by the temperature, continuous ones with Gaussian noise of
	// 0.1·temperature; states stay its mean prediction).
	Temperature float64
	Seed        uint64
	Out         string
	// Config holds backend settings (batch size, ...).
	Config map[string]any
}

// GenerateStep is one generated step of the rollouts still running: for
// each Index[i] (a position in GenerateRequest.Goals), the action taken and
// the observation it led to.
type GenerateStep struct {
	Step         int     // 1-based: the number of actions each rollout now has
	Index        []int32 // rollouts still running
	Observations []float32
	Actions      []float32
}

// Verdict says, for each rollout of a GenerateStep, whether it is done.
type Verdict struct {
	Done []bool
}

// Judge decides after every generated step which rollouts have reached
// their goal. The imagine stage backs it with the env's judge.
type Judge func(ctx context.Context, step GenerateStep) (*Verdict, error)

// GenerateResponse describes the imagined dataset.
type GenerateResponse struct {
	Meta    dataset.Meta
	Metrics map[string]float64 // e.g. rollouts/s, tokens generated
}

// ExplainRequest holds rollouts to describe.
type ExplainRequest struct {
	Checkpoint  string
	Rollouts    []*dataset.Episode
	Seed        uint64
	Temperature float64 // 0: greedy
}

// ExplainResponse holds one text per rollout.
type ExplainResponse struct {
	Texts []string
}

// PredictRequest holds a batch of transitions to predict. Previous, when
// set, holds the observation before each of Observations ([N, ObsDim]; on
// an episode's first step, the observation itself): a model may read the
// last step's change, which a state of positions alone does not show. A
// model that does not read it ignores it.
type PredictRequest struct {
	Checkpoint   string
	Observations []float32 // [N, ObsDim]
	Actions      []float32 // [N, ActionDim]
	Previous     []float32 // [N, ObsDim] or nil
}

// PredictResponse holds the predicted next observations, [N, ObsDim].
type PredictResponse struct {
	Observations []float32
}

// EncodeRequest holds goal texts to embed.
type EncodeRequest struct {
	Checkpoint string
	Texts      []string
}

// EncodeResponse holds the vectors, row-major [len(Texts), Dim].
type EncodeResponse struct {
	Dim     int
	Vectors []float32
}

// ActRequest asks the model for one action per goal: Goals[i] with the
// current observation Observations[i] ([N, ObsDim]) after the history of
// HistoryLengths[i] steps (the observations and actions before it, rollout
// after rollout: [sum(HistoryLengths), ObsDim] and [..., ActionDim]). A nil
// HistoryLengths means no history.
type ActRequest struct {
	Checkpoint          string
	Observations        []float32
	Goals               []string
	HistoryObservations []float32
	HistoryActions      []float32
	HistoryLengths      []int
	Temperature         float64 // 0: the most likely action
	Seed                uint64
}

// ActResponse holds the actions, [N, ActionDim].
type ActResponse struct {
	Actions []float32
}

package lm

import (
	"context"

	"github.com/kalm-go/kalm/framework/dataset"
)

// LM is a language-model backend that can be grounded in an environment.
// Datasets and checkpoints move by file path.
type LM interface {
	// Ground fine-tunes the model on datasets with the KALM tasks and writes
	// a checkpoint under req.OutDir.
	Ground(ctx context.Context, req GroundRequest, progress func(Progress)) (*GroundResult, error)
	// Generate imagines one rollout per goal from the given initial
	// observations and writes them as a dataset (source "imagined") to req.Out.
	// Rewards are left for the env's judge.
	Generate(ctx context.Context, req GenerateRequest) (*GenerateResult, error)
	// Explain describes rollouts in language (rollout → goal).
	Explain(ctx context.Context, req ExplainRequest) ([]string, error)
	// Predict predicts next observations from observations and actions.
	Predict(ctx context.Context, req PredictRequest) ([]float32, error)
	// Encode embeds goal texts as vectors, [len(Texts), Dim].
	Encode(ctx context.Context, req EncodeRequest) (*EncodeResponse, error)
	// Act uses the model itself as a policy.
	Act(ctx context.Context, req ActRequest) ([]float32, error)
}

// Task is one of the KALM fine-tuning tasks.
type Task string

const (
	GoalToRollout Task = "goal-to-rollout"
	RolloutToGoal Task = "rollout-to-goal"
	Dynamics      Task = "dynamics"
	Consequence   Task = "consequence"
)

// GroundRequest asks for grounding on datasets.
type GroundRequest struct {
	Base     string // the base checkpoint or model name; "" for the backend's default
	Datasets []string
	Tasks    []Task
	Config   map[string]any
	Steps    int
	OutDir   string
	Seed     uint64
}

// Progress reports a long call's metrics.
type Progress struct {
	Step, Total int
	Metrics     map[string]float64
}

// GroundResult names the grounded checkpoint.
type GroundResult struct {
	Checkpoint string
	Metrics    map[string]float64
}

// GenerateRequest asks for imagined rollouts.
type GenerateRequest struct {
	Checkpoint   string
	Goals        []dataset.Goal
	Observations []float32 // initial observations, [len(Goals), ObsDim]
	MaxSteps     int
	Temperature  float64
	Seed         uint64
	Out          string
}

// GenerateResult describes the imagined dataset.
type GenerateResult struct {
	Meta dataset.Meta
}

// ExplainRequest holds rollouts to describe.
type ExplainRequest struct {
	Checkpoint string
	Rollouts   []*dataset.Episode
	Seed       uint64
}

// PredictRequest holds a batch of transitions to predict.
type PredictRequest struct {
	Checkpoint   string
	Observations []float32 // [N, ObsDim]
	Actions      []float32 // [N, ActionDim]
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

// ActRequest asks the model for actions.
type ActRequest struct {
	Checkpoint   string
	Observations []float32
	Goals        []string
	Seed         uint64
}

package algo

import (
	"context"

	"github.com/kalm-go/kalm/framework/dataset"
)

// Algo is an offline RL algorithm plugin. One plugin process trains and
// serves any number of policies; a policy is referred to by the handle Load
// returns. Every call takes and returns a struct, so that a new field does
// not break a plugin built before it.
type Algo interface {
	// Schema declares the algorithm's hyper-parameters and their defaults.
	Schema(ctx context.Context, req SchemaRequest) (*Schema, error)
	// Train trains a policy on one or more datasets, mixed per batch by
	// weight, writing checkpoints to req.OutDir. It calls progress with
	// metrics as training goes and honours ctx cancellation.
	Train(ctx context.Context, req TrainRequest, progress func(Progress)) (*TrainResult, error)
	// Load loads a checkpoint and returns a handle for Act.
	Load(ctx context.Context, req LoadRequest) (*LoadResponse, error)
	// Act returns one action per observation.
	Act(ctx context.Context, req ActRequest) (*ActResponse, error)
}

// Policy is the handle of a loaded checkpoint inside the plugin.
type Policy string

// SchemaRequest asks for the algorithm's Schema. It has no fields yet.
type SchemaRequest struct{}

// Schema is the set of hyper-parameters an algorithm accepts; it is
// Algo.Schema's response.
type Schema struct {
	Name string `json:"name"`
	// Spaces lists the action-space kinds the algorithm trains on.
	Spaces []dataset.Kind `json:"spaces"`
	Params []Param        `json:"params"`
}

// Param declares one hyper-parameter.
type Param struct {
	Name    string   `json:"name"`
	Type    Type     `json:"type"`
	Default any      `json:"default"`
	Help    string   `json:"help,omitempty"`
	Allowed []string `json:"allowed,omitempty"` // for TypeString: the allowed values
}

// Type is a hyper-parameter's type.
type Type string

const (
	TypeFloat  Type = "float"
	TypeInt    Type = "int"
	TypeBool   Type = "bool"
	TypeString Type = "string"
)

// Lookup returns the parameter named name.
func (s Schema) Lookup(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Source is one training dataset and its share of every batch.
type Source struct {
	Path   string  `json:"path"`
	Weight float64 `json:"weight"`
}

// TrainRequest asks for one training run.
type TrainRequest struct {
	Datasets []Source
	// Hyper holds hyper-parameter values by name; the rest take defaults.
	Hyper map[string]any
	Steps int
	Batch int
	// CheckpointEvery is the step interval between checkpoints; 0 means
	// only the final one.
	CheckpointEvery int
	OutDir          string
	Seed            uint64
	// Resume, if set, is a checkpoint to continue training from.
	Resume string
}

// Progress reports training metrics at a step, and a checkpoint when one was written.
type Progress struct {
	Step       int
	Total      int
	Metrics    map[string]float64
	Checkpoint string
}

// TrainResult lists the checkpoints written, in step order.
type TrainResult struct {
	Checkpoints []Checkpoint
	Metrics     map[string]float64 // the final metrics
}

// Checkpoint is a self-contained saved policy.
type Checkpoint struct {
	Step int    `json:"step"`
	Path string `json:"path"`
}

// ActRequest asks a loaded policy for actions.
type ActRequest struct {
	Policy       Policy
	Observations []float32 // [N, ObsDim]
	Goals        []float32 // [N, GoalDim]
	// Deterministic picks the greedy/mean action; otherwise the policy samples.
	Deterministic bool
	Seed          uint64
}

// ActResponse holds the actions, [N, ActionDim].
type ActResponse struct {
	Actions []float32
}

// LoadRequest names a checkpoint to load.
type LoadRequest struct {
	Checkpoint string
}

// LoadResponse holds the loaded policy's handle.
type LoadResponse struct {
	Policy Policy
}

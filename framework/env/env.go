package env

import (
	"context"

	"github.com/kalm-go/kalm/framework/dataset"
)

// Env is an environment plugin: the methods every environment has. Every method batches: a vectorised
// environment over many episodes at once is the normal case, and a call
// carries whole batches as row-major float32 slices. Every call takes and
// returns a struct, so that a new field does not break a plugin built
// before it.
//
// An Env keeps the state of the current batch of episodes between Reset and
// Step; a host that needs two independent batches starts two plugin processes.
//
// What not every environment can do is an optional capability, a small
// interface the host checks for: [Configurer] (settings), [Parser] (goal
// texts back into goals), [Renderer] (pictures), [PlausibilityScorer]
// (physical plausibility of imagined rollouts) and [BatchJudger] (many
// rollouts judged in one call).
type Env interface {
	// Spec describes the environment.
	Spec(ctx context.Context, req SpecRequest) (*Spec, error)
	// Goals samples req.N goals of a level, drawn from req.Seed.
	Goals(ctx context.Context, req GoalsRequest) (*GoalsResponse, error)
	// Reset starts one episode per goal and returns their first observations.
	Reset(ctx context.Context, req ResetRequest) (*ResetResponse, error)
	// Step applies one action per episode of the current batch.
	Step(ctx context.Context, req StepRequest) (*StepResponse, error)
	// Judge labels any rollout (real or imagined) with the rewards, terminals
	// and success the environment would have given it under goal.
	Judge(ctx context.Context, req JudgeRequest) (*JudgeResponse, error)
	// Behave returns the actions of a scripted behaviour policy for a batch of
	// observations and goals (data collection).
	Behave(ctx context.Context, req BehaveRequest) (*BehaveResponse, error)
}

// Renderer is implemented by environments that can draw an observation as an
// image (kalm render, the rollout pictures of reports). Without it the host
// answers that the env does not render ([ErrNoRender]).
type Renderer interface {
	Render(ctx context.Context, req RenderRequest) (*RenderResponse, error)
}

// PlausibilityScorer is implemented by environments that can say how
// physically plausible a rollout is, such as one a language model imagined
// (paper Tables 4–5). Each env names its own rules: a ball off the table, a
// block floating, a move beyond the dynamics. Without it imagined rollouts
// are judged but not scored ([ErrNoPlausibility]).
type PlausibilityScorer interface {
	Plausibility(ctx context.Context, req PlausibilityRequest) (*PlausibilityResponse, error)
}

// SpecRequest asks for the environment's Spec. It has no fields yet.
type SpecRequest struct{}

// Spec describes an environment; it is Env.Spec's response.
type Spec struct {
	Name        string        `json:"name"`
	ObsDim      int           `json:"obs_dim"`
	ActionSpace dataset.Space `json:"action_space"`
	// GoalDim is the length of every goal's Vector.
	GoalDim int `json:"goal_dim"`
	// Horizon is the step limit after which an episode times out.
	Horizon int `json:"horizon"`
	// Levels names the goal levels, training level first.
	Levels []string `json:"levels"`
	// Policies names the behaviour policies Behave accepts.
	Policies []string `json:"policies"`
	// Config echoes the configuration the env runs with.
	Config map[string]string `json:"config,omitempty"`
}

// Configurer is implemented by environments that take settings (physics
// model, horizon, ...). The host calls Configure once, before any other call
// but Spec. Unknown keys or bad values must be rejected with an error naming them.
type Configurer interface {
	Configure(ctx context.Context, req ConfigureRequest) (*ConfigureResponse, error)
}

// ConfigureRequest holds the settings, by name.
type ConfigureRequest struct {
	Config map[string]string
}

// ConfigureResponse acknowledges a configuration. It has no fields yet: the
// settings in force show in Spec.Config.
type ConfigureResponse struct{}

// Parser is implemented by environments that can read a goal text back into
// a goal (level, parameters, vector): it is how the grounding report scores
// a language model's explanations of rollouts. Texts that name no goal get
// an error of their own, not a failed call.
type Parser interface {
	ParseGoals(ctx context.Context, req ParseGoalsRequest) (*ParseGoalsResponse, error)
}

// ParseGoalsRequest holds goal texts to read.
type ParseGoalsRequest struct {
	Texts []string
}

// ParseGoalsResponse has one entry per text: Goals[i] is valid when
// Errors[i] is empty.
type ParseGoalsResponse struct {
	Goals  []dataset.Goal
	Errors []string
}

// GoalsRequest asks for N goals of Level.
type GoalsRequest struct {
	Level string
	N     int
	Seed  uint64
}

// GoalsResponse holds the goals, Level's N of them.
type GoalsResponse struct {
	Goals []dataset.Goal
}

// ResetRequest starts len(Goals) episodes.
type ResetRequest struct {
	Seed  uint64
	Goals []dataset.Goal
	// Observations optionally sets the initial observations, [len(Goals), ObsDim].
	// Evaluation on recorded initial states and imagination from real states use it.
	Observations []float32
}

// ResetResponse holds the first observations, [N, ObsDim].
type ResetResponse struct {
	Observations []float32
}

// StepRequest holds one action per episode, [N, ActionDim]. Actions for
// episodes that are already done are ignored.
type StepRequest struct {
	Actions []float32
}

// StepResponse reports one transition per episode. An episode that was
// already done reports its last observation again, reward 0 and Done.
type StepResponse struct {
	Observations []float32 // [N, ObsDim]
	Rewards      []float32 // [N]
	Terminals    []bool    // [N] the episode ended in a terminal state this step
	Timeouts     []bool    // [N] the episode hit the horizon this step
	Success      []bool    // [N] the goal is achieved
	Done         []bool    // [N] the episode is over (now or earlier)
}

// JudgeRequest is a rollout to label: T actions and the T+1 observations around them.
type JudgeRequest struct {
	Goal         dataset.Goal
	Observations []float32 // [T+1, ObsDim]
	Actions      []float32 // [T, ActionDim]
}

// JudgeResponse labels each transition of a rollout.
type JudgeResponse struct {
	Rewards   []float32 // [T]
	Terminals []bool    // [T]
	Success   bool      // the goal is achieved at some step
	// Steps is the number of leading transitions the episode would have
	// lasted in the real environment (up to the first terminal).
	Steps int
}

// BatchJudger is implemented by environments that judge a batch of rollouts
// at once faster than one Judge call each. It is never needed: [JudgeBatch]
// and a plugin's server judge a batch by calling Judge on each rollout in
// turn where the env lacks it. Result i must equal Judge of rollout i, and an
// error about one rollout must be a [*RolloutError] naming its index.
type BatchJudger interface {
	JudgeBatch(ctx context.Context, req JudgeBatchRequest) (*JudgeBatchResponse, error)
}

// JudgeBatchRequest holds rollouts to label, each as Judge takes it.
type JudgeBatchRequest struct {
	Rollouts []JudgeRequest
}

// JudgeBatchResponse labels each rollout of a batch: Results[i] is rollout i's.
type JudgeBatchResponse struct {
	Results []JudgeResponse
}

// BehaveRequest asks a behaviour policy for one action per observation.
type BehaveRequest struct {
	Policy       string
	Observations []float32 // [N, ObsDim]
	Goals        []dataset.Goal
	// Params tunes the policy (noise, share of random actions, ...).
	Params map[string]float64
	Seed   uint64
}

// BehaveResponse holds the actions, [N, ActionDim].
type BehaveResponse struct {
	Actions []float32
}

// PlausibilityRequest is a rollout to score.
type PlausibilityRequest struct {
	Observations []float32 // [T+1, ObsDim]
	Actions      []float32 // [T, ActionDim]
}

// PlausibilityResponse gives, for each of the env's rules, the share of the
// rollout's transitions that break it.
type PlausibilityResponse struct {
	// Shares has one entry per rule, in the env's order; every response of
	// an env names the same rules.
	Shares []Share
}

// Share is the share of a rollout's transitions that break one rule.
type Share struct {
	// Name is the rule's short snake_case key, unique within a response
	// ("out_of_workbench"); the runner records the share as the metric
	// plausibility/<Name>.
	Name string
	// Description says what breaks the rule, for reports and listings
	// ("an object's centre leaves the workbench").
	Description string
	// Value is the share, in [0, 1].
	Value float64
}

// Share returns the value of the share named name, and whether there is one.
func (r *PlausibilityResponse) Share(name string) (float64, bool) {
	for _, s := range r.Shares {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

// RenderRequest asks for a picture of one observation.
type RenderRequest struct {
	Observation []float32
	Caption     string
	Width       int // pixels; 0 means the env's default
}

// RenderResponse holds a PNG image.
type RenderResponse struct {
	PNG []byte
}

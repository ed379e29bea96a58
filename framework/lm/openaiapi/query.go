package openaiapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kalm-go/kalm/framework/dataset"
)

// The tasks a Query asks for.
const (
	TaskGenerate = "generate"
	TaskExplain  = "explain"
	TaskPredict  = "predict"
	TaskAct      = "act"
)

// Query is the machine-readable request on the last line of a chat
// request's final user message (see the package documentation).
type Query struct {
	Task    string      `json:"task"`
	Goal    string      `json:"goal,omitempty"`
	State   []float32   `json:"state,omitempty"`
	Action  []float32   `json:"action,omitempty"`
	States  [][]float32 `json:"states,omitempty"`
	Actions [][]float32 `json:"actions,omitempty"`
	Steps   int         `json:"steps,omitempty"`
	// Previous is, for predict, the state before State (none: State is
	// an episode's first), for a model that reads the last change.
	Previous []float32 `json:"previous,omitempty"`
}

// Line is the query as the last line of a user message.
func (q Query) Line() string {
	b, err := json.Marshal(q)
	if err != nil {
		panic(err) // float32 slices and strings always marshal
	}
	return string(b)
}

// Step is one step of a generated rollout: the action and the state it led to.
type Step struct {
	Action []float32 `json:"action"`
	State  []float32 `json:"state"`
}

// GenerateReply answers a generate query.
type GenerateReply struct {
	Steps []Step `json:"steps"`
}

// ExplainReply answers an explain query.
type ExplainReply struct {
	Goal string `json:"goal"`
}

// PredictReply answers a predict query.
type PredictReply struct {
	State []float32 `json:"state"`
}

// ActReply answers an act query.
type ActReply struct {
	Action []float32 `json:"action"`
}

// ErrNoQuery is returned (wrapped) by ParseQuery when the messages hold no query.
var ErrNoQuery = errors.New("no kalm query: the last line of the final user message is not a JSON object with a known \"task\"")

// ParseQuery reads the query on the last line of the final user message.
func ParseQuery(msgs []Message) (*Query, error) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "user" {
			continue
		}
		text := strings.TrimSpace(msgs[i].Content)
		line := text[strings.LastIndexByte(text, '\n')+1:]
		var q Query
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrNoQuery, err)
		}
		switch q.Task {
		case TaskGenerate, TaskExplain, TaskPredict, TaskAct:
			return &q, nil
		}
		return nil, fmt.Errorf("%w (task %q, want generate, explain, predict or act)", ErrNoQuery, q.Task)
	}
	return nil, fmt.Errorf("%w (no user message)", ErrNoQuery)
}

// Spec is what a reply must fit: the env's observation size and action
// space, and the longest goal text.
type Spec struct {
	ObsDim  int           `json:"obs_dim"`
	Actions dataset.Space `json:"action_space"`
	MaxText int           `json:"max_text"`
}

// SchemaName is the json_schema name of a task's reply: kalm_TASK.
func SchemaName(task string) string { return "kalm_" + task }

// StateSchema is the schema of an observation.
func (s Spec) StateSchema() *Schema {
	return Array(Number(math.NaN(), math.NaN()), s.ObsDim, s.ObsDim)
}

// ActionSchema is the schema of an action: [index] of a discrete action, or
// the components of a continuous one within the space's widest bounds (each
// component's own bounds are checked by CheckAction).
func (s Spec) ActionSchema() *Schema {
	sp := s.Actions
	if sp.Kind == dataset.Discrete {
		return Array(Integer(0, float64(sp.N-1)), 1, 1)
	}
	lo, hi := math.NaN(), math.NaN()
	if len(sp.Low) == sp.Dim && len(sp.High) == sp.Dim && sp.Dim > 0 {
		lo, hi = math.Inf(1), math.Inf(-1)
		for i := range sp.Low {
			lo, hi = min(lo, float64(sp.Low[i])), max(hi, float64(sp.High[i]))
		}
	}
	return Array(Number(lo, hi), sp.Dim, sp.Dim)
}

// ReplySchema is the schema of the reply to a query of the task; steps is
// the most steps of a generated rollout (a model may stop early, as tinylm
// does when its context is full).
func (s Spec) ReplySchema(task string, steps int) *Schema {
	switch task {
	case TaskGenerate:
		return Object(map[string]*Schema{"steps": Array(Object(map[string]*Schema{
			"action": s.ActionSchema(), "state": s.StateSchema()}), 1, steps)})
	case TaskExplain:
		return Object(map[string]*Schema{"goal": String(1, max(s.MaxText, 1))})
	case TaskPredict:
		return Object(map[string]*Schema{"state": s.StateSchema()})
	case TaskAct:
		return Object(map[string]*Schema{"action": s.ActionSchema()})
	}
	return nil
}

// Format is the response_format of a task's reply.
func (s Spec) Format(task string, steps int) *ResponseFormat {
	return &ResponseFormat{Type: "json_schema", JSONSchema: &JSONSchemaFormat{Name: SchemaName(task), Strict: true,
		Schema: s.ReplySchema(task, steps)}}
}

// CheckState reports a state of the wrong size or with a non-finite value.
func (s Spec) CheckState(v []float32) error {
	if len(v) != s.ObsDim {
		return fmt.Errorf("a state of %d values, want %d", len(v), s.ObsDim)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("state value %d is %g", i, x)
		}
	}
	return nil
}

// CheckAction reports an action outside the action space.
func (s Spec) CheckAction(v []float32) error {
	if len(v) != s.Actions.Dim {
		return fmt.Errorf("an action of %d values, want %d", len(v), s.Actions.Dim)
	}
	return s.Actions.Check(v)
}

// Decode validates a reply against schema and decodes it into v.
func Decode(data []byte, schema *Schema, v any) error {
	if err := schema.Validate(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

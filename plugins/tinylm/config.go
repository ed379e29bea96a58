package tinylm

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/kalm-go/kalm/framework/algo"
)

// Config holds tinylm's settings: the model's size, the optimiser and
// schedule, the validation split and early stopping, and the language prior.
// Every field has a default; Schema lists them for `kalm plugins tinylm`.
type Config struct {
	Dim     int `json:"dim"`
	Layers  int `json:"layers"`
	Heads   int `json:"heads"`
	Vocab   int `json:"vocab"`   // BPE vocabulary size (specials included)
	Context int `json:"context"` // positions; 0: from the data and the env's horizon
	Batch   int `json:"batch"`   // sequences per task per step
	// DynBatch is the dynamics task's rows per step (its sequences are
	// four positions long, so many cost little).
	DynBatch int     `json:"dyn_batch"`
	LR       float64 `json:"lr"`
	MinLR    float64 `json:"min_lr"`
	Warmup   int     `json:"warmup"`
	Decay    float64 `json:"weight_decay"`
	Clip     float64 `json:"grad_clip"`
	// ValFraction of the episodes is held out for validation.
	ValFraction float64 `json:"val_fraction"`
	EvalEvery   int     `json:"eval_every"`
	// Patience is the number of evaluations without improvement after
	// which grounding stops early (0: never).
	Patience int `json:"patience"`
	// Select is the weights grounding ends with: "best" (the lowest
	// validation loss over the four tasks; the default, and a checkpoint
	// without the setting) or "last". The tasks overfit at different
	// steps: on quick the sum turns up at a third of the steps while the
	// explanation's own validation loss still falls.
	Select string `json:"select,omitempty"`
	// Prior is the language prior: "wordnet" maps words never seen in
	// grounding to known words through WordNet; "none" leaves them.
	Prior      string `json:"prior"`
	WordNetDir string `json:"wordnet_dir"`
	// Threads is the number of goroutines grounding uses (0: GOMAXPROCS).
	Threads int `json:"threads"`
	// GenBatch is the number of rollouts generated together.
	GenBatch int `json:"gen_batch"`
	// MaxExplain bounds an explanation's tokens.
	MaxExplain int `json:"max_explain"`
	// StateSlots splits the state into that many equal entity slots (e.g.
	// CLEVR's five balls of (x, y)) and predicts next states with an
	// interaction network over them, its weights shared by the slots
	// (0: a linear state head over the whole state).
	StateSlots int `json:"state_slots"`
	// SlotHidden is the interaction network's width (0: 2·dim).
	SlotHidden int `json:"slot_hidden"`
	// StatePairs, with StateSlots, ends the rollout-to-goal prompt with
	// one token for every ordered pair of slots, made from both slots in
	// the rollout's last two states by one MLP shared by the pairs (that
	// many features, projected to the model's width) plus the pair's
	// embedding: a relation between two entities that the rollout's last
	// step made true is one function learnt for every pair, and attention
	// can point at the pair (0: no pair tokens).
	StatePairs int `json:"state_pairs,omitempty"`
	// InputPairs, with StateSlots, adds to every state's input that many
	// features per ordered pair of slots, found by one MLP shared by the
	// pairs and projected to the model's width (0: the state enters
	// through its linear projection alone).
	InputPairs int `json:"input_pairs,omitempty"`
	// StateHistory, with StateSlots, has the state head read each slot's
	// change over the previous step beside its value (the velocity a
	// state of positions hides; Predict reads it from the request's
	// previous observations).
	StateHistory bool `json:"state_history,omitempty"`
	// ExplainOrder is the order the explanation task reads a rollout in:
	// "forward" (s0 a0 … s_T; the default, and a checkpoint without the
	// setting) or "backward" (s_T a_T−1 s_T−1 … s0: the end, where the
	// goal is reached, at the same positions in every rollout and kept
	// when the context cuts the rollout). On quick neither is better
	// beyond the noise (plugins/tinylm/README.md).
	ExplainOrder string `json:"explain_order,omitempty"`
	// ExplainReads is what of a rollout the explanation task reads:
	// "rollout" (its states and actions, as the paper; the default, and a
	// checkpoint without the setting) or "states" (its states alone: the
	// actions, which name the pushed ball and direction, let a small model
	// name a goal from them and remember the rollouts it grounds on
	// instead of reading the states; plugins/tinylm/README.md) or
	// "pairs" (the pair tokens of its last step alone, with state_pairs:
	// no states or actions left to remember a rollout by).
	ExplainReads string `json:"explain_reads,omitempty"`
	// Dropout is the blocks' residual dropout while grounding (0: none).
	Dropout float64 `json:"dropout,omitempty"`
}

// Explain orders.
const (
	OrderBackward = "backward"
	OrderForward  = "forward"
)

// Which weights grounding ends with.
const (
	SelectBest = "best"
	SelectLast = "last"
)

// What the explanation task reads.
const (
	ReadsRollout = "rollout"
	ReadsStates  = "states"
	ReadsPairs   = "pairs"
)

// backward reports whether the explanation task reads rollouts from the end.
func (c Config) backward() bool { return c.ExplainOrder == OrderBackward }

// newBuilder makes the sequence builder of a model of shape s grounded
// with c.
func (c Config) newBuilder(v vocab, norm *Norm, s Shape, od, ad int) builder {
	return builder{v: v, norm: norm, shape: s, od: od, ad: ad, backward: c.backward(), statesOnly: c.ExplainReads == ReadsStates, pairsOnly: c.ExplainReads == ReadsPairs}
}

// DefaultConfig is the configuration grounding uses unless told otherwise.
func DefaultConfig() Config {
	return Config{Dim: 128, Layers: 3, Heads: 4, Vocab: 384, Batch: 24, DynBatch: 96, LR: 1e-3, MinLR: 1e-4, Warmup: 100, Decay: 0.01, Clip: 1,
		ValFraction: 0.1, EvalEvery: 200, Patience: 10, Prior: "wordnet", WordNetDir: "/usr/share/wordnet", GenBatch: 256, MaxExplain: 40,
		ExplainOrder: OrderForward, ExplainReads: ReadsRollout, Select: SelectBest}
}

// Schema describes the settings as the algorithms' hyper-parameters are.
func Schema() algo.Schema {
	d := DefaultConfig()
	return algo.Schema{Name: "tinylm", Params: []algo.Param{
		{Name: "dim", Type: algo.TypeInt, Default: d.Dim, Help: "model width"},
		{Name: "layers", Type: algo.TypeInt, Default: d.Layers, Help: "transformer blocks"},
		{Name: "heads", Type: algo.TypeInt, Default: d.Heads, Help: "attention heads (dim must be a multiple)"},
		{Name: "vocab", Type: algo.TypeInt, Default: d.Vocab, Help: "BPE vocabulary size learned from the goal texts, specials included"},
		{Name: "context", Type: algo.TypeInt, Default: d.Context, Help: "positions; 0 sizes it from the data's longest goal text and rollout"},
		{Name: "batch", Type: algo.TypeInt, Default: d.Batch, Help: "sequences per task in each optimiser step"},
		{Name: "dyn_batch", Type: algo.TypeInt, Default: d.DynBatch, Help: "dynamics sequences in each optimiser step (four positions each)"},
		{Name: "lr", Type: algo.TypeFloat, Default: d.LR, Help: "AdamW peak learning rate (cosine schedule after warm-up)"},
		{Name: "min_lr", Type: algo.TypeFloat, Default: d.MinLR, Help: "learning rate at the end of the cosine schedule"},
		{Name: "warmup", Type: algo.TypeInt, Default: d.Warmup, Help: "linear warm-up steps"},
		{Name: "weight_decay", Type: algo.TypeFloat, Default: d.Decay, Help: "AdamW decoupled weight decay"},
		{Name: "grad_clip", Type: algo.TypeFloat, Default: d.Clip, Help: "global gradient-norm clip (0: none)"},
		{Name: "val_fraction", Type: algo.TypeFloat, Default: d.ValFraction, Help: "share of episodes held out for validation"},
		{Name: "eval_every", Type: algo.TypeInt, Default: d.EvalEvery, Help: "steps between validations (and checkpoints)"},
		{Name: "patience", Type: algo.TypeInt, Default: d.Patience, Help: "validations without improvement before stopping early (0: never)"},
		{Name: "select", Type: algo.TypeString, Default: d.Select, Allowed: []string{SelectBest, SelectLast},
			Help: "weights grounding ends with: best (lowest validation loss) or last"},
		{Name: "prior", Type: algo.TypeString, Default: d.Prior, Allowed: []string{"wordnet", "none"},
			Help: "language prior: map words never seen in grounding to known ones through WordNet"},
		{Name: "wordnet_dir", Type: algo.TypeString, Default: d.WordNetDir, Help: "WordNet database (Debian: apt-get install wordnet-base)"},
		{Name: "threads", Type: algo.TypeInt, Default: d.Threads, Help: "goroutines grounding uses (0: all the plugin is given)"},
		{Name: "gen_batch", Type: algo.TypeInt, Default: d.GenBatch, Help: "rollouts generated together"},
		{Name: "max_explain", Type: algo.TypeInt, Default: d.MaxExplain, Help: "longest explanation in tokens"},
		{Name: "state_slots", Type: algo.TypeInt, Default: d.StateSlots, Help: "split the state into this many equal entity slots and predict next states with an interaction network over them, weights shared by the slots (0: a linear state head)"},
		{Name: "slot_hidden", Type: algo.TypeInt, Default: d.SlotHidden, Help: "width of the state_slots interaction network (0: 2·dim)"},
		{Name: "state_pairs", Type: algo.TypeInt, Default: d.StatePairs, Help: "with state_slots, features per pair token: the explanation prompt ends with a token for every ordered pair of slots, read from the rollout's last two states by an MLP shared by the pairs (0: no pair tokens)"},
		{Name: "input_pairs", Type: algo.TypeInt, Default: d.InputPairs, Help: "with state_slots, features per ordered pair of slots added to every state's input by an MLP shared by the pairs (0: the linear projection alone)"},
		{Name: "state_history", Type: algo.TypeBool, Default: d.StateHistory, Help: "with state_slots, the state head also reads each slot's change over the previous step (the velocity a state of positions hides)"},
		{Name: "dropout", Type: algo.TypeFloat, Default: d.Dropout, Help: "residual dropout of the transformer blocks while grounding (0: none)"},
		{Name: "explain_order", Type: algo.TypeString, Default: d.ExplainOrder, Allowed: []string{OrderBackward, OrderForward},
			Help: "order the explanation task reads a rollout in: forward (s0 first) or backward (its end, where the goal is reached, first, and kept when the context cuts the rollout)"},
		{Name: "explain_reads", Type: algo.TypeString, Default: d.ExplainReads, Allowed: []string{ReadsRollout, ReadsStates, ReadsPairs},
			Help: "what of a rollout the explanation task reads: rollout (states and actions), states (the states alone) or pairs (the pair tokens of its last step alone; needs state_pairs)"},
	}}
}

// ParseConfig reads settings over the defaults; unknown keys and bad values
// are errors naming them.
func ParseConfig(m map[string]any) (Config, error) {
	c := DefaultConfig()
	s := Schema()
	var unknown []string
	for k, v := range m {
		p, ok := s.Lookup(k)
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		bad := func(want string) error {
			return fmt.Errorf("tinylm: config %s = %v (%T): want %s", k, v, v, want)
		}
		switch p.Type {
		case algo.TypeInt:
			f, ok := number(v)
			if !ok || f != math.Trunc(f) || f < 0 {
				return c, bad("a non-negative integer")
			}
			setInt(&c, k, int(f))
		case algo.TypeFloat:
			f, ok := number(v)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				return c, bad("a non-negative number")
			}
			setFloat(&c, k, f)
		case algo.TypeBool:
			b, ok := v.(bool)
			if !ok {
				return c, bad("true or false")
			}
			switch k {
			case "state_history":
				c.StateHistory = b
			}
		case algo.TypeString:
			str, ok := v.(string)
			if !ok || (len(p.Allowed) > 0 && !contains(p.Allowed, str)) {
				if len(p.Allowed) > 0 {
					return c, bad("one of " + strings.Join(p.Allowed, ", "))
				}
				return c, bad("a string")
			}
			switch k {
			case "prior":
				c.Prior = str
			case "wordnet_dir":
				c.WordNetDir = str
			case "explain_order":
				c.ExplainOrder = str
			case "explain_reads":
				c.ExplainReads = str
			case "select":
				c.Select = str
			}
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var names []string
		for _, p := range s.Params {
			names = append(names, p.Name)
		}
		return c, fmt.Errorf("tinylm: unknown config %s; known: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	switch {
	case c.Dim < 1 || c.Heads < 1 || c.Dim%c.Heads != 0:
		return c, fmt.Errorf("tinylm: config dim %d, heads %d: want dim a positive multiple of heads", c.Dim, c.Heads)
	case c.Layers < 1 || c.Batch < 1 || c.DynBatch < 1 || c.Vocab < 8 || c.GenBatch < 1:
		return c, fmt.Errorf("tinylm: config layers %d, batch %d, dyn_batch %d, vocab %d, gen_batch %d: want layers, batch, dyn_batch, gen_batch ≥ 1 and vocab ≥ 8", c.Layers, c.Batch, c.DynBatch, c.Vocab, c.GenBatch)
	case c.StateSlots == 1:
		return c, fmt.Errorf("tinylm: config state_slots 1: want 0 (no slots) or at least 2")
	case c.StatePairs < 0 || (c.StatePairs > 0 && c.StateSlots < 2):
		return c, fmt.Errorf("tinylm: config state_pairs %d with state_slots %d: want 0, or a positive width with state_slots of at least 2", c.StatePairs, c.StateSlots)
	case c.InputPairs < 0 || (c.InputPairs > 0 && c.StateSlots < 2):
		return c, fmt.Errorf("tinylm: config input_pairs %d with state_slots %d: want 0, or a positive width with state_slots of at least 2", c.InputPairs, c.StateSlots)
	case c.StateHistory && c.StateSlots < 2:
		return c, fmt.Errorf("tinylm: config state_history with state_slots %d: want state_slots of at least 2 (the slots whose changes the state head reads)", c.StateSlots)
	case c.StatePairs == 0 && c.ExplainReads == ReadsPairs:
		return c, fmt.Errorf("tinylm: config explain_reads %q with state_pairs 0: want state_pairs > 0 (the pair tokens it reads)", c.ExplainReads)
	case c.Dropout >= 1:
		return c, fmt.Errorf("tinylm: config dropout %g: want a probability below 1", c.Dropout)
	case c.LR <= 0 || c.ValFraction >= 0.9 || c.EvalEvery < 1:
		return c, fmt.Errorf("tinylm: config lr %g, val_fraction %g, eval_every %d: want lr > 0, val_fraction < 0.9, eval_every ≥ 1", c.LR, c.ValFraction, c.EvalEvery)
	}
	return c, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

func setInt(c *Config, k string, v int) {
	switch k {
	case "dim":
		c.Dim = v
	case "layers":
		c.Layers = v
	case "heads":
		c.Heads = v
	case "vocab":
		c.Vocab = v
	case "context":
		c.Context = v
	case "batch":
		c.Batch = v
	case "dyn_batch":
		c.DynBatch = v
	case "warmup":
		c.Warmup = v
	case "eval_every":
		c.EvalEvery = v
	case "patience":
		c.Patience = v
	case "threads":
		c.Threads = v
	case "gen_batch":
		c.GenBatch = v
	case "max_explain":
		c.MaxExplain = v
	case "state_slots":
		c.StateSlots = v
	case "slot_hidden":
		c.SlotHidden = v
	case "state_pairs":
		c.StatePairs = v
	case "input_pairs":
		c.InputPairs = v
	}
}

func setFloat(c *Config, k string, v float64) {
	switch k {
	case "lr":
		c.LR = v
	case "min_lr":
		c.MinLR = v
	case "weight_decay":
		c.Decay = v
	case "grad_clip":
		c.Clip = v
	case "val_fraction":
		c.ValFraction = v
	case "dropout":
		c.Dropout = v
	}
}

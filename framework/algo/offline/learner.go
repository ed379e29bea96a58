package offline

import (
	"math/rand/v2"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Spec is the shape of the problem a learner is built for.
type Spec struct {
	// InDim is the network input width: observation ⊕ goal vector.
	InDim int
	// Space is the action space. Continuous learners work in [-1, 1]^Dim;
	// the trainer rescales dataset actions into that box.
	Space dataset.Space
	// Steps is the planned length of the run (for schedules).
	Steps int
}

// ActDim is the width of one action row (1 for discrete spaces).
func (s Spec) ActDim() int {
	if s.Space.Kind == dataset.Discrete {
		return 1
	}
	return s.Space.Dim
}

// Batch is a minibatch of N transitions, laid out row-major. Obs and NextObs
// are network inputs (normalised observation ⊕ goal). For discrete spaces
// ActIdx holds the action indices and Act the same indices as floats.
type Batch struct {
	N, InDim, ActDim int
	Obs, NextObs     []float32 // [N, InDim]
	Act              []float32 // [N, ActDim]
	ActIdx           []int32   // [N], discrete spaces only
	Rew, Done        []float32 // [N]; Done is the terminal flag (never the timeout)
}

// NewBatch allocates a batch of n rows.
func NewBatch(n, inDim, actDim int) *Batch {
	return &Batch{N: n, InDim: inDim, ActDim: actDim,
		Obs: make([]float32, n*inDim), NextObs: make([]float32, n*inDim),
		Act: make([]float32, n*actDim), ActIdx: make([]int32, n),
		Rew: make([]float32, n), Done: make([]float32, n)}
}

// ObsMat and NextObsMat view the inputs as matrices.
func (b *Batch) ObsMat() nn.Mat     { return nn.View(b.Obs, b.N, b.InDim) }
func (b *Batch) NextObsMat() nn.Mat { return nn.View(b.NextObs, b.N, b.InDim) }

// BothObsMat stacks the observations over the next observations, [s; s′]
// (2·N rows), in *buf (grown as needed): one forward of a network serves
// both, and a Backward of its first N rows the loss on s.
func (b *Batch) BothObsMat(buf *[]float32) nn.Mat {
	k := b.N * b.InDim
	*buf = nn.Grow(*buf, 2*k)
	copy(*buf, b.Obs[:k])
	copy((*buf)[k:], b.NextObs[:k])
	return nn.View(*buf, 2*b.N, b.InDim)
}

// Learner is one algorithm's networks, optimisers and update rule.
type Learner interface {
	// Update performs one gradient step on b and returns the step's metrics,
	// aligned with MetricNames (the slice is reused by the next call).
	Update(b *Batch) []float64
	MetricNames() []string
	// Act writes one action per row of obs into out ([N, ActDim]; a discrete
	// action is its index). Without deterministic it samples using rng.
	Act(obs nn.Mat, deterministic bool, rng *rand.Rand, out []float32)
	// State lists every tensor a checkpoint must hold to resume bit for bit:
	// weights, target weights, optimiser moments. Names are unique. The
	// tensors hold the current values until the next Update, and values
	// written into them are what the next Update starts from (a learner
	// that caches packed weights drops the caches here).
	State() []*nn.Param
	// Counters lists the integer state (optimiser step counts, update
	// counters) in a fixed order.
	Counters() []*int
}

// Factory builds learners of one algorithm.
type Factory struct {
	Name string
	// Spaces lists the action-space kinds the algorithm trains on.
	Spaces []dataset.Kind
	// Params declares the algorithm's own hyper-parameters; the common ones
	// (see CommonParams) are added by the package.
	Params []Param
	// New builds a learner; rng is the learner's own random stream (noise,
	// sampled actions) and is checkpointed by the trainer.
	New func(spec Spec, h Hyper, rng *rand.Rand) (Learner, error)
}

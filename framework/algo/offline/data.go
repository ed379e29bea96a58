package offline

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
)

// LoadSources loads the datasets of a training request and checks they agree
// with each other and with the algorithm's action spaces. dataset.Load
// already rejects NaN/Inf values and out-of-space actions.
func LoadSources(f Factory, sources []algo.Source) ([]*dataset.Data, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("%s: no training datasets", f.Name)
	}
	var out []*dataset.Data
	var sum float64
	for i, s := range sources {
		if !(s.Weight >= 0) || math.IsInf(s.Weight, 0) {
			return nil, fmt.Errorf("%s: dataset %s: weight %v, want a finite value ≥ 0", f.Name, s.Path, s.Weight)
		}
		sum += s.Weight
		d, err := dataset.Load(s.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if d.Len() == 0 {
			return nil, fmt.Errorf("%s: dataset %s has no transitions", f.Name, s.Path)
		}
		m, m0 := d.Meta, meta0(out, d)
		if !slices.Contains(f.Spaces, m.ActionSpace.Kind) {
			return nil, fmt.Errorf("%s: dataset %s has a %s action space; %s trains on %v", f.Name, s.Path, m.ActionSpace.Kind, f.Name, f.Spaces)
		}
		if i > 0 && (m.ObsDim != m0.ObsDim || m.GoalDim != m0.GoalDim || !sameSpace(m.ActionSpace, m0.ActionSpace)) {
			return nil, fmt.Errorf("%s: dataset %s (obs_dim %d, goal_dim %d, actions %+v) does not match %s (obs_dim %d, goal_dim %d, actions %+v)",
				f.Name, s.Path, m.ObsDim, m.GoalDim, m.ActionSpace, sources[0].Path, m0.ObsDim, m0.GoalDim, m0.ActionSpace)
		}
		out = append(out, d)
	}
	if sum <= 0 {
		return nil, fmt.Errorf("%s: dataset weights sum to %v, want > 0", f.Name, sum)
	}
	return out, nil
}

// meta0 returns the metadata of the first dataset (d itself when ds is empty).
func meta0(ds []*dataset.Data, d *dataset.Data) dataset.Meta {
	if len(ds) > 0 {
		return ds[0].Meta
	}
	return d.Meta
}

func sameSpace(a, b dataset.Space) bool {
	return a.Kind == b.Kind && a.N == b.N && a.Dim == b.Dim && slices.Equal(a.Low, b.Low) && slices.Equal(a.High, b.High)
}

// Transform maps raw observations, goals and actions to network inputs and
// back: inputs are (obs⊕goal − Mean)/(Std + 1e-3) when normalising, and
// continuous actions are rescaled from [Low, High] to [−1, 1] where the space
// has finite bounds.
type Transform struct {
	ObsDim, GoalDim int
	Space           dataset.Space
	Mean, Std       []float32 // [ObsDim+GoalDim]; nil when not normalising
}

// InDim is the network input width.
func (t *Transform) InDim() int { return t.ObsDim + t.GoalDim }

// NewTransform fits the input normaliser on every transition's observation ⊕
// goal of ds (when normalize is set).
func NewTransform(ds []*dataset.Data, normalize bool) *Transform {
	m := ds[0].Meta
	t := &Transform{ObsDim: m.ObsDim, GoalDim: m.GoalDim, Space: m.ActionSpace}
	if !normalize {
		return t
	}
	in := t.InDim()
	sum, sq := make([]float64, in), make([]float64, in)
	var n float64
	for _, d := range ds {
		for i := range d.Len() {
			row := d.Obs[int(d.ObsRow[i])*t.ObsDim:]
			for j := range t.ObsDim {
				v := float64(row[j])
				sum[j] += v
				sq[j] += v * v
			}
			g := d.GoalVectors[int(d.Episode[i])*t.GoalDim:]
			for j := range t.GoalDim {
				v := float64(g[j])
				sum[t.ObsDim+j] += v
				sq[t.ObsDim+j] += v * v
			}
		}
		n += float64(d.Len())
	}
	t.Mean, t.Std = make([]float32, in), make([]float32, in)
	for j := range in {
		mu := sum[j] / n
		t.Mean[j] = float32(mu)
		t.Std[j] = float32(math.Sqrt(max(0, sq[j]/n-mu*mu)))
	}
	return t
}

// Input writes the network input for one observation and goal into dst.
func (t *Transform) Input(dst, obs, goal []float32) {
	copy(dst, obs[:t.ObsDim])
	copy(dst[t.ObsDim:], goal[:t.GoalDim])
	if t.Mean != nil {
		for j := range dst[:t.InDim()] {
			dst[j] = (dst[j] - t.Mean[j]) / (t.Std[j] + 1e-3)
		}
	}
}

func (t *Transform) bounded(j int) bool {
	s := t.Space
	if s.Kind != dataset.Continuous || len(s.Low) != s.Dim || len(s.High) != s.Dim {
		return false
	}
	lo, hi := float64(s.Low[j]), float64(s.High[j])
	return !math.IsInf(lo, 0) && !math.IsInf(hi, 0) && hi > lo
}

// ActionIn maps a dataset action into the learner's space (in place).
func (t *Transform) ActionIn(a []float32) {
	for j := range a {
		if t.bounded(j) {
			lo, hi := t.Space.Low[j], t.Space.High[j]
			a[j] = max(-1, min(1, 2*(a[j]-lo)/(hi-lo)-1))
		}
	}
}

// ActionOut maps a learner action back to the environment's space (in place).
func (t *Transform) ActionOut(a []float32) {
	for j := range a {
		if t.bounded(j) {
			lo, hi := t.Space.Low[j], t.Space.High[j]
			a[j] = lo + (a[j]+1)*(hi-lo)/2
		}
	}
}

// Sampler draws minibatches with replacement from several datasets, each
// contributing a fixed share of every batch (largest-remainder rounding of
// the weights), as the paper mixes real and imagined data 1:1.
type Sampler struct {
	Data   []*dataset.Data
	Counts []int // rows per batch from each dataset
	T      *Transform
	Rng    *rand.Rand
}

// NewSampler splits batch rows among ds by weights.
func NewSampler(ds []*dataset.Data, weights []float64, batch int, t *Transform, rng *rand.Rand) *Sampler {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	counts := make([]int, len(ds))
	rem := make([]float64, len(ds))
	left := batch
	for i, w := range weights {
		x := float64(batch) * w / sum
		counts[i] = int(math.Floor(x))
		rem[i] = x - float64(counts[i])
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
	}
	return &Sampler{Data: ds, Counts: counts, T: t, Rng: rng}
}

// Fill overwrites b with a fresh minibatch (b.N must equal the batch size).
func (s *Sampler) Fill(b *Batch) {
	t := s.T
	row := 0
	discrete := t.Space.Kind == dataset.Discrete
	for k, d := range s.Data {
		for range s.Counts[k] {
			i := s.Rng.IntN(d.Len())
			o := int(d.ObsRow[i]) * t.ObsDim
			g := d.GoalVectors[int(d.Episode[i])*t.GoalDim:]
			t.Input(b.Obs[row*b.InDim:], d.Obs[o:], g)
			t.Input(b.NextObs[row*b.InDim:], d.Obs[o+t.ObsDim:], g)
			a := b.Act[row*b.ActDim : (row+1)*b.ActDim]
			copy(a, d.Actions[i*b.ActDim:])
			if discrete {
				b.ActIdx[row] = int32(a[0])
			} else {
				t.ActionIn(a)
			}
			b.Rew[row] = d.Rewards[i]
			b.Done[row] = d.Terminals[i]
			row++
		}
	}
}

package offline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// Plugin serves a Factory as an algo.Algo: `algo.Serve(offline.NewPlugin(f))`.
type Plugin struct {
	F Factory

	mu       sync.Mutex
	policies map[algo.Policy]*policy
}

type policy struct {
	mu  sync.Mutex
	l   Learner
	t   *Transform
	in  []float32
	out []float32
}

// NewPlugin returns the plugin for f.
func NewPlugin(f Factory) *Plugin { return &Plugin{F: f, policies: map[algo.Policy]*policy{}} }

// Schema returns the hyper-parameter schema.
func (p *Plugin) Schema(context.Context, algo.SchemaRequest) (*algo.Schema, error) {
	s := p.F.Schema()
	return &s, nil
}

// Train trains a policy (see Train).
func (p *Plugin) Train(ctx context.Context, req algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	return Train(ctx, p.F, req, progress)
}

// Load loads a checkpoint; the handle is the checkpoint path.
func (p *Plugin) Load(_ context.Context, req algo.LoadRequest) (*algo.LoadResponse, error) {
	path := req.Checkpoint
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.F.Name, err)
	}
	r, err := Restore(p.F, c, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.F.Name, err)
	}
	h := algo.Policy(path)
	p.mu.Lock()
	p.policies[h] = &policy{l: r.Learner, t: r.Transform}
	p.mu.Unlock()
	return &algo.LoadResponse{Policy: h}, nil
}

// Act returns one action per observation row; actions are in the dataset's
// action space (continuous actions rescaled back from [−1, 1]).
func (p *Plugin) Act(_ context.Context, req algo.ActRequest) (*algo.ActResponse, error) {
	p.mu.Lock()
	pol, ok := p.policies[req.Policy]
	p.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: policy %q is not loaded", p.F.Name, req.Policy)
	}
	pol.mu.Lock()
	defer pol.mu.Unlock()
	t := pol.t
	if len(req.Observations)%t.ObsDim != 0 {
		return nil, fmt.Errorf("%s: %d observation values is not a multiple of obs_dim %d", p.F.Name, len(req.Observations), t.ObsDim)
	}
	n := len(req.Observations) / t.ObsDim
	if len(req.Goals) != n*t.GoalDim {
		return nil, fmt.Errorf("%s: %d goal values for %d observations, want %d (goal_dim %d)", p.F.Name, len(req.Goals), n, n*t.GoalDim, t.GoalDim)
	}
	if !nn.AllFinite(req.Observations) || !nn.AllFinite(req.Goals) {
		return nil, fmt.Errorf("%s: observations or goals contain NaN or Inf", p.F.Name)
	}
	in := t.InDim()
	pol.in = nn.Grow(pol.in, n*in)
	for i := range n {
		t.Input(pol.in[i*in:], req.Observations[i*t.ObsDim:], req.Goals[i*t.GoalDim:])
	}
	ad := actDim(t)
	out := make([]float32, n*ad)
	pol.l.Act(nn.View(pol.in, n, in), req.Deterministic, rand.New(rand.NewPCG(req.Seed, 0xac7)), out)
	if ad > 0 && t.Space.Kind != dataset.Discrete {
		for i := range n {
			t.ActionOut(out[i*ad : (i+1)*ad])
		}
	}
	return &algo.ActResponse{Actions: out}, nil
}

var _ algo.Algo = (*Plugin)(nil)

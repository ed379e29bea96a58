package algotest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
)

// mean is a tiny algorithm the suite checks itself on: it learns the most
// common (discrete) or mean (continuous) action of its datasets and acts
// with it, plus seeded noise when sampling. Each bug flag breaks one rule.
type mean struct {
	bugs bugs

	mu       sync.Mutex
	policies map[algo.Policy]*meanCheckpoint
	next     int
}

type bugs struct {
	acceptUnknownHyper bool // Train ignores unknown hyper-parameters
	badDefault         bool // an int parameter's default is a string
	noCheckpointFile   bool // checkpoints are listed but never written
	ignoreCancel       bool // Train runs on after cancellation
	actShort           bool // Act returns one action too few
	actOutOfRange      bool // discrete Act returns index N
	noisyDeterministic bool // Act adds noise even when deterministic
	unseededSampling   bool // sampling draws from a hidden counter
	loadAcceptsMissing bool // Load of a missing file succeeds
	actNoGoalCheck     bool // Act does not check the goal batch
	actNil             bool // Act returns neither actions nor an error
	noProgress         bool // Train reports no progress
	trainUnseeded      bool // training draws from a hidden counter
	mixIgnoresDims     bool // datasets of other dims are accepted
}

// draws is a hidden source shared by every instance, for the unseeded bugs.
var draws atomic.Uint64

type meanCheckpoint struct {
	Space   dataset.Space `json:"space"`
	ObsDim  int           `json:"obs_dim"`
	GoalDim int           `json:"goal_dim"`
	Action  []float32     `json:"action"`
	Noise   float64       `json:"noise"`
}

func newMean(b bugs) *mean { return &mean{bugs: b, policies: map[algo.Policy]*meanCheckpoint{}} }

func (m *mean) Schema(context.Context, algo.SchemaRequest) (*algo.Schema, error) {
	every := any(5)
	if m.bugs.badDefault {
		every = "5"
	}
	return &algo.Schema{Name: "mean", Spaces: []dataset.Kind{dataset.Discrete, dataset.Continuous}, Params: []algo.Param{
		{Name: "noise", Type: algo.TypeFloat, Default: 0.1, Help: "sampling noise"},
		{Name: "every", Type: algo.TypeInt, Default: every, Help: "steps between progress reports"},
		{Name: "verbose", Type: algo.TypeBool, Default: false},
		{Name: "mode", Type: algo.TypeString, Default: "mean", Allowed: []string{"mean", "first"}},
	}}, nil
}

func (m *mean) Train(ctx context.Context, req algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	noise, every := 0.1, 5
	for k, v := range req.Hyper {
		switch k {
		case "noise":
			f, ok := v.(float64)
			if !ok {
				return nil, fmt.Errorf("mean: noise = %v, want a float", v)
			}
			noise = f
		case "every":
			f, ok := v.(float64)
			i, isInt := v.(int)
			switch {
			case ok && f == float64(int(f)):
				every = int(f)
			case isInt:
				every = i
			default:
				return nil, fmt.Errorf("mean: every = %v, want an int", v)
			}
		case "verbose":
			if _, ok := v.(bool); !ok {
				return nil, fmt.Errorf("mean: verbose = %v, want a bool", v)
			}
		case "mode":
			if s, ok := v.(string); !ok || (s != "mean" && s != "first") {
				return nil, fmt.Errorf("mean: mode = %v, want mean or first", v)
			}
		default:
			if !m.bugs.acceptUnknownHyper {
				return nil, fmt.Errorf("mean: unknown hyper-parameter %q", k)
			}
		}
	}
	if len(req.Datasets) == 0 {
		return nil, fmt.Errorf("mean: no datasets")
	}
	var ck *meanCheckpoint
	var sum []float64
	var count []int
	steps := 0
	for _, src := range req.Datasets {
		d, err := dataset.Load(src.Path)
		if err != nil {
			return nil, fmt.Errorf("mean: %w", err)
		}
		mt := d.Meta
		if ck == nil {
			ck = &meanCheckpoint{Space: mt.ActionSpace, ObsDim: mt.ObsDim, GoalDim: mt.GoalDim, Noise: noise}
			sum, count = make([]float64, mt.ActionSpace.Dim), make([]int, max(mt.ActionSpace.N, 1))
		} else if !m.bugs.mixIgnoresDims && (mt.ObsDim != ck.ObsDim || mt.GoalDim != ck.GoalDim || !slices.Equal(mt.ActionSpace.Low, ck.Space.Low)) {
			return nil, fmt.Errorf("mean: dataset %s has obs dim %d, goal dim %d; the first has %d, %d", src.Path, mt.ObsDim, mt.GoalDim, ck.ObsDim, ck.GoalDim)
		}
		for i, a := range d.Actions {
			sum[i%len(sum)] += float64(a)
			if ck.Space.Kind == dataset.Discrete {
				count[int(a)]++
			}
		}
		steps += d.Len()
	}
	ck.Action = make([]float32, len(sum))
	for i := range sum {
		ck.Action[i] = float32(sum[i] / float64(steps))
	}
	if ck.Space.Kind == dataset.Discrete {
		ck.Action[0] = float32(slices.Index(count, slices.Max(count)))
	}
	if m.bugs.trainUnseeded && ck.Space.Kind == dataset.Continuous {
		ck.Action[0] += float32(draws.Add(1)) * 1e-3
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("mean: %w", err)
	}
	res := &algo.TrainResult{Metrics: map[string]float64{"loss": 0}}
	for step := 1; step <= req.Steps; step++ {
		if err := ctx.Err(); err != nil && !m.bugs.ignoreCancel {
			return nil, fmt.Errorf("mean: train: %w", err)
		}
		if m.bugs.ignoreCancel {
			time.Sleep(time.Millisecond)
		}
		p := algo.Progress{Step: step, Total: req.Steps, Metrics: map[string]float64{"loss": 1 / float64(step)}}
		if step == req.Steps || req.CheckpointEvery > 0 && step%req.CheckpointEvery == 0 {
			path := filepath.Join(req.OutDir, fmt.Sprintf("step-%d.json", step))
			if !m.bugs.noCheckpointFile {
				b, _ := json.Marshal(ck)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					return nil, fmt.Errorf("mean: %w", err)
				}
			}
			res.Checkpoints = append(res.Checkpoints, algo.Checkpoint{Step: step, Path: path})
			p.Checkpoint = path
		}
		if !m.bugs.noProgress && (step%every == 0 || p.Checkpoint != "") {
			progress(p)
		}
	}
	return res, nil
}

func (m *mean) Load(_ context.Context, req algo.LoadRequest) (*algo.LoadResponse, error) {
	b, err := os.ReadFile(req.Checkpoint)
	ck := &meanCheckpoint{Space: dataset.DiscreteSpace(1), ObsDim: 1, Action: []float32{0}}
	if err != nil && !m.bugs.loadAcceptsMissing {
		return nil, fmt.Errorf("mean: %w", err)
	}
	if err == nil {
		if err := json.Unmarshal(b, ck); err != nil {
			return nil, fmt.Errorf("mean: checkpoint %s: %w", req.Checkpoint, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	p := algo.Policy(fmt.Sprintf("mean-%d", m.next))
	m.policies[p] = ck
	return &algo.LoadResponse{Policy: p}, nil
}

func (m *mean) Act(_ context.Context, req algo.ActRequest) (*algo.ActResponse, error) {
	m.mu.Lock()
	ck, ok := m.policies[req.Policy]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("mean: no policy %q loaded", req.Policy)
	}
	if len(req.Observations)%ck.ObsDim != 0 {
		return nil, fmt.Errorf("mean: %d observation values, not a multiple of obs dim %d", len(req.Observations), ck.ObsDim)
	}
	n := len(req.Observations) / ck.ObsDim
	if len(req.Goals) != n*ck.GoalDim && !m.bugs.actNoGoalCheck {
		return nil, fmt.Errorf("mean: %d goal values for %d observations of goal dim %d", len(req.Goals), n, ck.GoalDim)
	}
	seed := req.Seed
	if m.bugs.unseededSampling {
		seed += draws.Add(1)
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	sp := ck.Space
	if m.bugs.actShort {
		n--
	}
	out := make([]float32, 0, n*sp.Dim)
	for range n {
		a := slices.Clone(ck.Action)
		if !req.Deterministic || m.bugs.noisyDeterministic {
			for j := range a {
				if sp.Kind == dataset.Discrete {
					if rng.Float64() < ck.Noise {
						a[j] = float32(rng.IntN(sp.N))
					}
				} else {
					a[j] = min(max(a[j]+float32(ck.Noise*rng.NormFloat64()), sp.Low[j]), sp.High[j])
				}
			}
		}
		if m.bugs.actOutOfRange && sp.Kind == dataset.Discrete {
			a[0] = float32(sp.N)
		}
		out = append(out, a...)
	}
	if m.bugs.actNil {
		return nil, nil
	}
	return &algo.ActResponse{Actions: out}, nil
}

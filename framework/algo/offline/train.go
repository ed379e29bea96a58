package offline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

// DefaultBatch is the minibatch size when a request leaves it 0.
const DefaultBatch = 256

// DivergenceError reports a non-finite metric during training.
type DivergenceError struct {
	Algo     string
	Step     int                // the step whose update produced the value
	Metric   string             // the first non-finite metric
	Value    float64            // NaN or ±Inf
	LastStep int                // the last step with all metrics finite (0: none)
	Last     map[string]float64 // its metrics
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("%s: training diverged at step %d: %s = %v (last finite metrics at step %d: %v)",
		e.Algo, e.Step, e.Metric, e.Value, e.LastStep, e.Last)
}

// Train runs f on req: it loads and mixes the datasets, fits the input
// normaliser, runs req.Steps gradient steps (continuing from req.Resume if
// set), reports metrics every log_every steps and writes checkpoints.
func Train(ctx context.Context, f Factory, req algo.TrainRequest, progress func(algo.Progress)) (*algo.TrainResult, error) {
	if req.Steps < 1 {
		return nil, fmt.Errorf("%s: steps = %d, want ≥ 1", f.Name, req.Steps)
	}
	if req.Batch == 0 {
		req.Batch = DefaultBatch
	}
	if req.Batch < 1 {
		return nil, fmt.Errorf("%s: batch = %d, want ≥ 1", f.Name, req.Batch)
	}
	if req.CheckpointEvery < 0 {
		return nil, fmt.Errorf("%s: checkpoint_every = %d, want ≥ 0", f.Name, req.CheckpointEvery)
	}
	if req.OutDir == "" {
		return nil, fmt.Errorf("%s: no output directory for checkpoints", f.Name)
	}
	h, err := Resolve(f.Schema(), req.Hyper)
	if err != nil {
		return nil, err
	}
	ds, err := LoadSources(f, req.Datasets)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(req.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	samplerPCG := rand.NewPCG(req.Seed, 0x5a3b1e)
	var (
		l      Learner
		t      *Transform
		start  int
		total  = req.Steps
		lpcg   *rand.PCG
		resume *Checkpoint
	)
	if req.Resume != "" {
		resume, err = ReadCheckpoint(req.Resume)
		if err != nil {
			return nil, fmt.Errorf("%s: resume: %w", f.Name, err)
		}
		r, err := Restore(f, resume, req.Resume)
		if err != nil {
			return nil, fmt.Errorf("%s: resume: %w", f.Name, err)
		}
		if len(req.Hyper) > 0 && !reflect.DeepEqual(map[string]any(r.Hyper), map[string]any(h)) {
			return nil, fmt.Errorf("%s: resume: hyper-parameters %v differ from the checkpoint's %v", f.Name, h, r.Hyper)
		}
		m := ds[0].Meta
		if m.ObsDim != r.Transform.ObsDim || m.GoalDim != r.Transform.GoalDim || !sameSpace(m.ActionSpace, r.Transform.Space) {
			return nil, fmt.Errorf("%s: resume: datasets do not match checkpoint %s", f.Name, req.Resume)
		}
		if resume.Batch != req.Batch {
			return nil, fmt.Errorf("%s: resume: batch %d, checkpoint trained with %d", f.Name, req.Batch, resume.Batch)
		}
		if err := samplerPCG.UnmarshalBinary(resume.SamplerRNG); err != nil {
			return nil, fmt.Errorf("%s: resume: sampler random state: %w", f.Name, err)
		}
		l, t, h, lpcg, start = r.Learner, r.Transform, r.Hyper, r.LearnerPCG, resume.Step
		if resume.Total != total {
			return nil, fmt.Errorf("%s: resume: steps %d, checkpoint was planned for %d (schedules depend on it)", f.Name, total, resume.Total)
		}
	}
	// Filter (with the checkpoint's hyper-parameters on resume) before
	// fitting the normaliser, as CORL's any_percent_bc.py.
	if ds, err = selectData(f, h, ds); err != nil {
		return nil, err
	}
	if resume == nil {
		t = NewTransform(ds, h.Bool("normalize_obs"))
		lpcg = rand.NewPCG(req.Seed, 0x1ea4e4)
		l, err = f.New(Spec{InDim: t.InDim(), Space: t.Space, Steps: total}, h, rand.New(lpcg))
		if err != nil {
			return nil, err
		}
	}
	weights := make([]float64, len(req.Datasets))
	for i, s := range req.Datasets {
		weights[i] = s.Weight
	}
	sp := NewSampler(ds, weights, req.Batch, t, rand.New(samplerPCG))
	b := NewBatch(req.Batch, t.InDim(), actDim(t))
	names := l.MetricNames()
	logEvery := max(1, h.Int("log_every"))
	last := make([]float64, len(names))
	lastStep := 0
	res := &algo.TrainResult{}
	metricMap := func(v []float64) map[string]float64 {
		m := make(map[string]float64, len(names))
		for i, n := range names {
			m[n] = v[i]
		}
		return m
	}
	save := func(step int) error {
		for _, p := range l.State() {
			if !nn.AllFinite(p.Value) {
				return &DivergenceError{Algo: f.Name, Step: step, Metric: "tensor " + p.Name, Value: math.NaN(), LastStep: lastStep, Last: metricMap(last)}
			}
		}
		c := &Checkpoint{Algo: f.Name, Hyper: h, ObsDim: t.ObsDim, GoalDim: t.GoalDim, Space: t.Space, Step: step, Total: total,
			Batch: req.Batch, Seed: req.Seed, Metrics: metricMap(last)}
		for _, p := range l.Counters() {
			c.Counters = append(c.Counters, *p)
		}
		var err error
		if c.SamplerRNG, err = samplerPCG.MarshalBinary(); err != nil {
			return err
		}
		if c.LearnerRNG, err = lpcg.MarshalBinary(); err != nil {
			return err
		}
		path := filepath.Join(req.OutDir, fmt.Sprintf("%s-step%08d.ckpt", f.Name, step))
		if err := WriteCheckpoint(path, c, append(transformTensors(t), l.State()...)); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		res.Checkpoints = append(res.Checkpoints, algo.Checkpoint{Step: step, Path: path})
		if progress != nil {
			progress(algo.Progress{Step: step, Total: total, Metrics: metricMap(last), Checkpoint: path})
		}
		return nil
	}
	for step := start + 1; step <= total; step++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%s: stopped at step %d: %w", f.Name, step, err)
		}
		sp.Fill(b)
		m := l.Update(b)
		for i, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return res, &DivergenceError{Algo: f.Name, Step: step, Metric: names[i], Value: v, LastStep: lastStep, Last: metricMap(last)}
			}
		}
		copy(last, m)
		lastStep = step
		if progress != nil && (step%logEvery == 0) && !(req.CheckpointEvery > 0 && step%req.CheckpointEvery == 0) && step != total {
			progress(algo.Progress{Step: step, Total: total, Metrics: metricMap(last)})
		}
		if step == total || (req.CheckpointEvery > 0 && step%req.CheckpointEvery == 0) {
			if err := save(step); err != nil {
				return res, err
			}
		}
	}
	res.Metrics = metricMap(last)
	return res, nil
}

func actDim(t *Transform) int {
	if t.Space.Kind == dataset.Discrete {
		return 1
	}
	return t.Space.Dim
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/results"
)

// builtin are the executors over the plugin interfaces.
var builtin = map[experiments.StageKind]Executor{
	experiments.Collect:  collectStage,
	experiments.Ground:   groundStage,
	experiments.Imagine:  imagineStage,
	experiments.Train:    trainStage,
	experiments.Evaluate: evaluateStage,
	experiments.Encode:   encodeStage,
	experiments.Assess:   assessStage,
}

// Artifact layout, relative to a stage's artifact directory.
const (
	datasetDir = "dataset"     // collect, imagine: a framework/dataset directory
	trainFile  = "train.json"  // train: the checkpoints
	groundFile = "ground.json" // ground: the grounded LM checkpoint
	ckptDir    = "checkpoints" // train: the algorithm's output directory
	modelDir   = "model"       // ground: the LM's output directory
)

// maxPoints bounds the points recorded per metric of a stage: a plugin that
// reports every step of a long run is thinned to about this many.
const maxPoints = 1000

// series collects a stage's metric points, thinned to about maxPoints per
// metric: steps fall into buckets of total/maxPoints and each bucket keeps
// its last point, so the final value is always recorded.
type series struct {
	points []results.Metric
	last   map[string]int // name → index in points of its last point
}

func (s *series) add(step, total int, m map[string]float64) {
	if s.last == nil {
		s.last = map[string]int{}
	}
	gap := max(1, total/maxPoints)
	for _, k := range sortedNames(m) {
		p := results.Metric{Step: step, Name: k, Value: m[k]}
		if i, ok := s.last[k]; ok && s.points[i].Step/gap == step/gap {
			s.points[i] = p
			continue
		}
		s.last[k] = len(s.points)
		s.points = append(s.points, p)
	}
}

func sortedNames(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TrainArtifact is train.json: the checkpoints, relative to the artifact.
type TrainArtifact struct {
	Checkpoints []algo.Checkpoint `json:"checkpoints"`
}

// GroundArtifact is ground.json.
type GroundArtifact struct {
	Checkpoint string `json:"checkpoint"`
}

// launchEnv starts and configures the stage's env plugin.
func launchEnv(ctx context.Context, job *Job, ref experiments.PluginRef, cfg map[string]string) (env.Env, error) {
	h, err := job.Launch(ctx, ref)
	if err != nil {
		return nil, err
	}
	if h.Env == nil {
		return nil, fmt.Errorf("plugin %s is not an env plugin", ref.Name)
	}
	if c, ok := h.Env.(env.Configurer); ok && len(cfg) > 0 {
		if _, err := c.Configure(ctx, env.ConfigureRequest{Config: cfg}); err != nil {
			return nil, fmt.Errorf("env %s: configure: %w", ref.Name, err)
		}
	} else if len(cfg) > 0 {
		return nil, fmt.Errorf("env %s takes no configuration, but env.config sets %v", ref.Name, cfg)
	}
	return h.Env, nil
}

func collectStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.CollectConfig)
	if cfg.Dataset != "" {
		return copyUserDataset(job, cfg)
	}
	e, err := launchEnv(ctx, job, job.Stage.Plugins[0], cfg.EnvConfig)
	if err != nil {
		return nil, err
	}
	req := env.CollectRequest{Episodes: cfg.Episodes, Level: cfg.Level, Policy: cfg.Policy, Params: cfg.Params,
		Seed: job.Stage.Seed, Out: filepath.Join(job.Dir, datasetDir)}
	var metrics series
	progress := func(p env.Progress) {
		metrics.add(p.Done, p.Total, p.Metrics)
		job.Progress(p.Done, p.Total, p.Metrics)
	}
	if c, ok := e.(collector); ok {
		_, err = c.Collect(ctx, req, progress)
	} else {
		_, err = env.Collect(ctx, e, req, progress)
	}
	if err != nil {
		return nil, err
	}
	return &Output{Metrics: metrics.points}, nil
}

// trainJournal is what a train stage keeps in its Job.State while it runs:
// the checkpoints written so far (relative to State) and the metric points
// recorded up to the last of them. A later attempt continues from that
// checkpoint; algo plugins resume bit for bit, so the stage's outcome is
// the one an uninterrupted run would have recorded.
type trainJournal struct {
	Checkpoints []algo.Checkpoint `json:"checkpoints"`
	Metrics     []results.Metric  `json:"metrics"`
}

const journalFile = "journal.json"

// load reads the journal in dir; it is empty when there is none, or when
// its last checkpoint is missing.
func (j *trainJournal) load(dir string) {
	*j = trainJournal{}
	if ReadJSON(filepath.Join(dir, journalFile), j) != nil || len(j.Checkpoints) == 0 ||
		!exists(filepath.Join(dir, j.Checkpoints[len(j.Checkpoints)-1].Path)) {
		*j = trainJournal{}
	}
}

// save writes the journal into dir atomically.
func (j *trainJournal) save(dir string) error {
	tmp := filepath.Join(dir, journalFile+".tmp")
	if err := writeJSON(tmp, j); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, journalFile))
}

// resume restores the series of metric points recorded up to the journal's
// last checkpoint and returns that checkpoint (nil without one).
func (j *trainJournal) resume(s *series) *algo.Checkpoint {
	*s = series{}
	if len(j.Checkpoints) == 0 {
		return nil
	}
	s.points = append([]results.Metric(nil), j.Metrics...)
	s.last = map[string]int{}
	for i, p := range s.points {
		s.last[p.Name] = i
	}
	return &j.Checkpoints[len(j.Checkpoints)-1]
}

func trainStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.TrainConfig)
	h, err := job.Launch(ctx, job.Stage.Plugins[0])
	if err != nil {
		return nil, err
	}
	name := job.Stage.Plugins[0].Name
	if h.Algo == nil {
		return nil, fmt.Errorf("plugin %s is not an algo plugin", name)
	}
	var sources []algo.Source
	for _, d := range cfg.Datasets {
		if d.Weight > 0 {
			sources = append(sources, algo.Source{Path: filepath.Join(job.Inputs[d.Stage], datasetDir), Weight: d.Weight})
		}
	}
	// Checkpoints go to the stage's State, with a journal, so that an
	// interrupted or failed attempt is continued from its last checkpoint.
	out := filepath.Join(job.State, ckptDir)
	var (
		j       trainJournal
		metrics series
	)
	j.load(job.State)
	for attempt := 0; ; attempt++ {
		from := j.resume(&metrics)
		if from == nil {
			if err := os.RemoveAll(job.State); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		req := algo.TrainRequest{Datasets: sources, Hyper: cfg.Hyper, Steps: cfg.Steps, Batch: cfg.Batch,
			CheckpointEvery: cfg.CheckpointEvery, OutDir: out, Seed: job.Stage.Seed}
		if from != nil {
			// Whatever an interrupted attempt wrote after its last
			// journaled checkpoint (a checkpoint's temporary file, or
			// checkpoints this attempt writes again) is not the result's.
			if err := keepCheckpoints(job.State, j.Checkpoints); err != nil {
				return nil, err
			}
			if from.Step >= cfg.Steps {
				break // an earlier attempt trained to the end
			}
			req.Resume = filepath.Join(job.State, from.Path)
			last := map[string]float64{}
			for _, p := range metrics.points {
				last[p.Name] = p.Value
			}
			job.Progress(from.Step, cfg.Steps, last)
		}
		progressed := false
		res, err := h.Algo.Train(ctx, req, func(p algo.Progress) {
			if from != nil && !progressed && p.Step <= from.Step {
				// The plugin started over instead of continuing: so do we.
				metrics, j = series{}, trainJournal{}
			}
			progressed = true
			metrics.add(p.Step, p.Total, p.Metrics)
			job.Progress(p.Step, p.Total, p.Metrics)
			if rel, err := filepath.Rel(job.State, p.Checkpoint); p.Checkpoint != "" && err == nil && filepath.IsLocal(rel) {
				j.Checkpoints = append(j.Checkpoints, algo.Checkpoint{Step: p.Step, Path: rel})
				j.Metrics = append(j.Metrics[:0], metrics.points...)
				// Failing to write it only costs a later attempt time.
				j.save(job.State)
			}
		})
		if err != nil && from != nil && !progressed && ctx.Err() == nil && attempt == 0 {
			// The plugin could not continue from the checkpoint (another
			// version's format, or no support for resuming): start over.
			j = trainJournal{}
			continue
		}
		if err != nil {
			return nil, err
		}
		// The checkpoints the plugin reported as it went, and those it
		// lists at the end (some plugins only do the latter).
		for _, c := range res.Checkpoints {
			rel, err := filepath.Rel(job.State, c.Path)
			if err != nil || !filepath.IsLocal(rel) || !strings.HasPrefix(rel, ckptDir+string(filepath.Separator)) {
				return nil, fmt.Errorf("algo %s wrote checkpoint %s outside its output directory %s", name, c.Path, out)
			}
			j.Checkpoints = slices.DeleteFunc(j.Checkpoints, func(o algo.Checkpoint) bool { return o.Step >= c.Step })
			j.Checkpoints = append(j.Checkpoints, algo.Checkpoint{Step: c.Step, Path: rel})
		}
		break
	}
	if len(j.Checkpoints) == 0 {
		return nil, fmt.Errorf("algo %s trained without writing a checkpoint", name)
	}
	// Checkpoint paths relative to State are the same in the artifact.
	if err := os.Rename(out, filepath.Join(job.Dir, ckptDir)); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(job.Dir, trainFile), TrainArtifact{Checkpoints: j.Checkpoints}); err != nil {
		return nil, err
	}
	return &Output{Metrics: metrics.points}, nil
}

// keepCheckpoints removes from state's checkpoint directory every entry
// that is not one of ckpts (paths relative to state).
func keepCheckpoints(state string, ckpts []algo.Checkpoint) error {
	dir := filepath.Join(state, ckptDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		rel := filepath.Join(ckptDir, e.Name())
		if !slices.ContainsFunc(ckpts, func(c algo.Checkpoint) bool { return filepath.Clean(c.Path) == rel }) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func evaluateStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.EvalConfig)
	trainDir := job.Inputs[cfg.Train]
	var art TrainArtifact
	if err := ReadJSON(filepath.Join(trainDir, trainFile), &art); err != nil {
		return nil, err
	}
	ckpts := art.Checkpoints
	if len(ckpts) > cfg.Checkpoints {
		ckpts = ckpts[len(ckpts)-cfg.Checkpoints:]
	}
	e, err := launchEnv(ctx, job, job.Stage.Plugins[0], cfg.EnvConfig)
	if err != nil {
		return nil, err
	}
	h, err := job.Launch(ctx, job.Stage.Plugins[1])
	if err != nil {
		return nil, err
	}
	if h.Algo == nil {
		return nil, fmt.Errorf("plugin %s is not an algo plugin", job.Stage.Plugins[1].Name)
	}
	spec, err := e.Spec(ctx, env.SpecRequest{})
	if err != nil {
		return nil, err
	}
	// With goal_input lm, policies read each goal as the grounded LM
	// encodes its text, as they did in training.
	var enc *goalEncoder
	if cfg.GoalInput == experiments.GoalFromLM {
		if enc, err = launchEncoder(ctx, job, job.Stage.Plugins[2], cfg.Ground); err != nil {
			return nil, err
		}
	}
	out := &Output{}
	total := len(ckpts) * len(cfg.Levels)
	for ci, c := range ckpts {
		lr, err := h.Algo.Load(ctx, algo.LoadRequest{Checkpoint: filepath.Join(trainDir, c.Path)})
		if err != nil {
			return nil, err
		}
		pol := lr.Policy
		for li, level := range cfg.Levels {
			// Goals and initial states depend on the cell seed and the level
			// (a stream independent of collection), not on the checkpoint:
			// a cell's checkpoints are compared on the same episodes. Bump
			// experiments.StageFormats[Evaluate] when this changes.
			seed := env.SeedFor(job.Stage.Seed, "evaluate:"+level, 0)
			gr, err := e.Goals(ctx, env.GoalsRequest{Level: level, N: cfg.Episodes, Seed: seed})
			if err != nil {
				return nil, err
			}
			goals := gr.Goals
			gv, err := goalVectors(ctx, enc, goals)
			if err != nil {
				return nil, err
			}
			eps, err := env.Rollout(ctx, e, *spec, goals, seed, nil, func(ctx context.Context, t int, obs []float32) ([]float32, error) {
				r, err := h.Algo.Act(ctx, algo.ActRequest{Policy: pol, Observations: obs, Goals: gv, Deterministic: true, Seed: seed<<16 + uint64(t)})
				if err != nil {
					return nil, err
				}
				return r.Actions, nil
			})
			if err != nil {
				return nil, err
			}
			ev := results.Evaluation{Checkpoint: c.Step, Level: level, Episodes: len(eps)}
			for _, ep := range eps {
				if ep.Success {
					ev.SuccessRate++
				}
				for _, r := range ep.Rewards {
					ev.MeanReturn += float64(r)
				}
			}
			ev.SuccessRate /= float64(len(eps))
			ev.MeanReturn /= float64(len(eps))
			out.Evaluations = append(out.Evaluations, ev)
			job.Progress(ci*len(cfg.Levels)+li+1, total, map[string]float64{"success": ev.SuccessRate})
		}
	}
	return out, nil
}

// imagineStage generates rollouts for the goals of one novel level from
// initial states of the real data, then labels them with the env's judge.
func imagineStage(ctx context.Context, job *Job) (*Output, error) {
	cfg := job.Stage.Config.(experiments.ImagineConfig)
	var g GroundArtifact
	groundDir := job.Inputs[cfg.Ground]
	if err := ReadJSON(filepath.Join(groundDir, groundFile), &g); err != nil {
		return nil, err
	}
	hl, err := job.Launch(ctx, job.Stage.Plugins[0])
	if err != nil {
		return nil, err
	}
	if hl.LM == nil {
		return nil, fmt.Errorf("plugin %s is not an lm plugin", job.Stage.Plugins[0].Name)
	}
	e, err := launchEnv(ctx, job, job.Stage.Plugins[1], cfg.EnvConfig)
	if err != nil {
		return nil, err
	}
	spec, err := e.Spec(ctx, env.SpecRequest{})
	if err != nil {
		return nil, err
	}
	real, err := dataset.Load(filepath.Join(job.Inputs[cfg.Dataset], datasetDir))
	if err != nil {
		return nil, err
	}
	gr, err := e.Goals(ctx, env.GoalsRequest{Level: cfg.Level, N: cfg.Rollouts, Seed: job.Stage.Seed})
	if err != nil {
		return nil, err
	}
	goals := gr.Goals
	// Initial observations: the first observation of random real episodes.
	starts := episodeStarts(real)
	if len(starts) == 0 {
		return nil, errors.New("imagine: the real dataset has no episodes")
	}
	rng := rand.New(rand.NewPCG(job.Stage.Seed, 0x1a9e))
	od := real.Meta.ObsDim
	init := make([]float32, 0, len(goals)*od)
	for range goals {
		row := starts[rng.IntN(len(starts))]
		init = append(init, real.Obs[row*od:(row+1)*od]...)
	}
	raw := filepath.Join(job.Dir, "raw")
	// The env's judge ends each rollout when its goal is reached (or the
	// episode would have ended), as the paper's generation does.
	hist := make([]dataset.Episode, len(goals))
	for i := range hist {
		hist[i].Observations = append([]float32(nil), init[i*od:(i+1)*od]...)
	}
	ad := spec.ActionSpace.Dim
	// One JudgeBatch per generated step judges every rollout still running.
	batch := env.JudgeBatchRequest{Rollouts: make([]env.JudgeRequest, 0, len(goals))}
	judge := func(ctx context.Context, st lm.GenerateStep) (*lm.Verdict, error) {
		batch.Rollouts = batch.Rollouts[:0]
		for k, i := range st.Index {
			if int(i) < 0 || int(i) >= len(hist) || len(st.Observations) != len(st.Index)*od || len(st.Actions) != len(st.Index)*ad {
				return nil, fmt.Errorf("imagine: lm %s reported a malformed step %d", job.Stage.Plugins[0].Name, st.Step)
			}
			h := &hist[i]
			h.Observations = append(h.Observations, st.Observations[k*od:(k+1)*od]...)
			h.Actions = append(h.Actions, st.Actions[k*ad:(k+1)*ad]...)
			batch.Rollouts = append(batch.Rollouts, env.JudgeRequest{Goal: goals[i], Observations: h.Observations, Actions: h.Actions})
		}
		jr, err := env.JudgeBatch(ctx, e, batch)
		var re *env.RolloutError
		switch {
		case errors.As(err, &re) && re.Index >= 0 && re.Index < len(st.Index):
			i := st.Index[re.Index] // the batch holds the step's rollouts in st.Index's order
			return nil, fmt.Errorf("imagine: env %s: judging step %d of rollout %d (goal %q): %w", job.Stage.Plugins[1].Name, st.Step, i, goals[i].Text, re.Err)
		case err != nil:
			return nil, fmt.Errorf("imagine: env %s: judging step %d: %w", job.Stage.Plugins[1].Name, st.Step, err)
		}
		v := &lm.Verdict{Done: make([]bool, len(st.Index))}
		for k, j := range jr.Results {
			v.Done[k] = j.Success || slices.Contains(j.Terminals, true)
		}
		return v, nil
	}
	gen, err := hl.LM.Generate(ctx, lm.GenerateRequest{Checkpoint: filepath.Join(groundDir, g.Checkpoint), Goals: goals, Observations: init,
		MaxSteps: spec.Horizon, Temperature: cfg.Temperature, Seed: job.Stage.Seed, Out: raw, Config: cfg.LMConfig}, judge)
	if err != nil {
		return nil, err
	}
	if gen == nil {
		gen = &lm.GenerateResponse{}
	}
	r, err := dataset.Open(raw)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	meta := r.Meta()
	meta.Source = dataset.Imagined
	w, err := dataset.Create(filepath.Join(job.Dir, datasetDir), meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	n, succ, kept := 0, 0, 0
	plaus := map[string]float64{} // sums of the per-rollout shares by name (paper Tables 4–5)
	scorer, _ := e.(env.PlausibilityScorer)
	// The finished rollouts are labelled whole, one JudgeBatch per chunk.
	const chunk = 256
	eps := make([]*dataset.Episode, 0, chunk)
	label := func() error {
		if len(eps) == 0 {
			return nil
		}
		batch.Rollouts = batch.Rollouts[:0]
		for _, ep := range eps {
			batch.Rollouts = append(batch.Rollouts, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
		}
		jr, err := env.JudgeBatch(ctx, e, batch)
		var re *env.RolloutError
		switch {
		case errors.As(err, &re) && re.Index >= 0 && re.Index < len(eps):
			return fmt.Errorf("imagine: env %s: judging rollout %d (goal %q): %w", job.Stage.Plugins[1].Name, n+re.Index, eps[re.Index].Goal.Text, re.Err)
		case err != nil:
			return fmt.Errorf("imagine: env %s: judging rollouts %d to %d: %w", job.Stage.Plugins[1].Name, n, n+len(eps)-1, err)
		}
		for k, ep := range eps {
			j := &jr.Results[k]
			ep.Rewards, ep.Terminals, ep.Success = j.Rewards, j.Terminals, j.Success
			if len(ep.Timeouts) != len(ep.Rewards) {
				ep.Timeouts = make([]bool, len(ep.Rewards))
			}
			if scorer != nil {
				pl, err := scorer.Plausibility(ctx, env.PlausibilityRequest{Observations: ep.Observations, Actions: ep.Actions})
				switch {
				case errors.Is(err, env.ErrNoPlausibility):
					scorer = nil // the env has no rules: its rollouts are judged, not scored
				case err != nil:
					return err
				default:
					for _, sh := range pl.Shares {
						plaus[sh.Name] += sh.Value
					}
				}
			}
			n++
			if j.Success {
				succ++
			}
			if cfg.Keep != experiments.KeepSuccess || j.Success {
				if err := w.Write(ep); err != nil {
					return err
				}
				kept++
			}
			job.Progress(n, cfg.Rollouts, nil)
		}
		eps = eps[:0]
		return nil
	}
	for ep, err := range r.All() {
		if err != nil {
			return nil, err
		}
		if eps = append(eps, ep); len(eps) == chunk {
			if err := label(); err != nil {
				return nil, err
			}
		}
	}
	if err := label(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("lm %s generated no rollouts", job.Stage.Plugins[0].Name)
	}
	if kept == 0 {
		return nil, fmt.Errorf("imagine %s: none of the %d rollouts lm %s generated reaches its goal, and imagine.keep is %q; imagine more (imagine.rollouts), sample (imagine.temperature) or keep all",
			cfg.Level, n, job.Stage.Plugins[0].Name, cfg.Keep)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	// The judged copy is the artifact; the backend's own output is not.
	if err := os.RemoveAll(raw); err != nil {
		return nil, err
	}
	out := &Output{Metrics: []results.Metric{{Step: n, Name: "judged_success", Value: float64(succ) / float64(n)},
		{Step: n, Name: "kept", Value: float64(kept)}}}
	for _, k := range sortedNames(plaus) {
		out.Metrics = append(out.Metrics, results.Metric{Step: n, Name: "plausibility/" + k, Value: plaus[k] / float64(n)})
	}
	// The backend's own figures (rollouts/s; tokens and latency over HTTP).
	for _, k := range sortedNames(gen.Metrics) {
		out.Metrics = append(out.Metrics, results.Metric{Step: n, Name: "lm/" + k, Value: gen.Metrics[k]})
	}
	return out, nil
}

// episodeStarts returns the observation row of each episode's first state.
func episodeStarts(d *dataset.Data) []int {
	var rows []int
	last := int32(-1)
	for i, ep := range d.Episode {
		if ep != last {
			rows = append(rows, int(d.ObsRow[i]))
			last = ep
		}
	}
	return rows
}

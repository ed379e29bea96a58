package lmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
)

// memo is a small honest language-model backend the suite checks itself
// on: it grounds by memorising the dataset's episodes, imagines a rollout
// by replaying the memorised episode of the same goal text that starts
// nearest (continuing with its nearest-neighbour policy once that episode
// ends), predicts the next observation as the nearest memorised transition
// of the same action does, explains a rollout by the goal of the episode
// that starts and ends nearest, and encodes a text as a hashed bag of
// words. Its "training" draws one transition a step and tracks the
// leave-one-out error of the nearest-neighbour dynamics on it. Each bug
// flag breaks one rule of the contract.
type memo struct {
	bugs bugs
}

type bugs struct {
	noProgressCheckpoint bool // Ground never reports Progress.Checkpoint
	checkpointOutside    bool // Ground writes its checkpoint next to OutDir
	resumeRestarts       bool // Ground ignores Resume
	ignoreJudge          bool // Generate runs every rollout to MaxSteps
	overrun              bool // Generate writes MaxSteps+1 steps
	wrongStart           bool // Generate starts rollouts from the memorised episode's second observation
	unseeded             bool // sampling draws from a hidden counter
	explainEmpty         bool // Explain gives empty texts
	predictShort         bool // Predict drops the last value
	previousNilZero      bool // Predict reads absent previous observations as zeros
	encodeUnstable       bool // Encode adds a hidden counter
	actOutOfRange        bool // Act answers action 3
	acceptEmptyDataset   bool // Ground grounds on nothing
	panicOnGarbage       bool // loading a bad checkpoint panics
	acceptEmptyGoal      bool // Encode, Generate and Act take empty texts
	wrongObsDim          bool // Generate writes a dataset of obs dim + 1
}

var counter atomic.Uint64 // for the unseeded and encodeUnstable bugs

const memoFormat = "lmtest-memo/1"

// memoModel is a checkpoint.
type memoModel struct {
	Format   string          `json:"format"`
	Step     int             `json:"step"`
	Loss     float64         `json:"loss"` // moving average of the leave-one-out dynamics error
	ObsDim   int             `json:"obs_dim"`
	GoalDim  int             `json:"goal_dim"`
	Space    dataset.Space   `json:"action_space"`
	Episodes []memoEpisode   `json:"episodes"`
	Seed     uint64          `json:"seed"`
	Extra    json.RawMessage `json:"extra,omitempty"`
}

type memoEpisode struct {
	Text string    `json:"text"`
	Obs  []float32 `json:"obs"`
	Acts []float32 `json:"acts"`
}

func (e memoEpisode) len(ad int) int { return len(e.Acts) / ad }

func loadModel(path string, b bugs) (*memoModel, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("memo: checkpoint: %w", err)
	}
	var m memoModel
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != memoFormat {
		if b.panicOnGarbage {
			panic("memo: garbage checkpoint")
		}
		return nil, fmt.Errorf("memo: checkpoint %s is not a %s checkpoint (format %q, %v)", path, memoFormat, m.Format, err)
	}
	return &m, nil
}

func (m *memoModel) save(path string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func sq(a, b []float32) float64 {
	var d float64
	for i := range a {
		x := float64(a[i] - b[i])
		d += x * x
	}
	return d
}

// next predicts the observation after obs and action a from the memorised
// transition of the same action whose observation is nearest, skipping
// transition skip (episode, step) when skip[0] ≥ 0.
func (m *memoModel) next(obs, a []float32, skip [2]int) []float32 {
	od, ad := m.ObsDim, m.Space.Dim
	best, bd := []float32(nil), math.Inf(1)
	var from []float32
	for ei, e := range m.Episodes {
		for t := range e.len(ad) {
			if ei == skip[0] && t == skip[1] {
				continue
			}
			d := sq(obs, e.Obs[t*od:(t+1)*od]) + 1e3*sq(a, e.Acts[t*ad:(t+1)*ad])
			if d < bd {
				bd, best, from = d, e.Obs[(t+1)*od:(t+2)*od], e.Obs[t*od:(t+1)*od]
			}
		}
	}
	out := make([]float32, od)
	for i := range out {
		out[i] = obs[i] + best[i] - from[i]
	}
	return out
}

// act is the action of the nearest memorised observation among the
// episodes of text (all episodes when none has it).
func (m *memoModel) act(text string, obs []float32) []float32 {
	od, ad := m.ObsDim, m.Space.Dim
	var best []float32
	bd := math.Inf(1)
	for pass := 0; pass < 2 && best == nil; pass++ {
		for _, e := range m.Episodes {
			if pass == 0 && e.Text != text {
				continue
			}
			for t := range e.len(ad) {
				if d := sq(obs, e.Obs[t*od:(t+1)*od]); d < bd {
					bd, best = d, e.Acts[t*ad:(t+1)*ad]
				}
			}
		}
	}
	return best
}

func (b bugs) rng(seed uint64, stream uint64) *rand.Rand {
	if b.unseeded {
		seed = counter.Add(1)
	}
	return rand.New(rand.NewPCG(seed, stream))
}

func (l *memo) Ground(ctx context.Context, req lm.GroundRequest, progress func(lm.Progress)) (*lm.GroundResponse, error) {
	if len(req.Datasets) == 0 {
		return nil, errors.New("memo: ground: no datasets")
	}
	if req.Steps < 1 {
		return nil, fmt.Errorf("memo: ground: steps = %d, want ≥ 1", req.Steps)
	}
	m := &memoModel{Format: memoFormat, Seed: req.Seed}
	for i, path := range req.Datasets {
		d, err := dataset.Load(path)
		if err != nil {
			return nil, fmt.Errorf("memo: ground: dataset %d: %w", i, err)
		}
		if i == 0 {
			m.ObsDim, m.GoalDim, m.Space = d.Meta.ObsDim, d.Meta.GoalDim, d.Meta.ActionSpace
		} else if d.Meta.ObsDim != m.ObsDim || d.Meta.ActionSpace.Kind != m.Space.Kind || d.Meta.ActionSpace.Dim != m.Space.Dim {
			return nil, fmt.Errorf("memo: ground: dataset %s has obs dim %d and action space %+v, dataset %s has %d and %+v",
				path, d.Meta.ObsDim, d.Meta.ActionSpace, req.Datasets[0], m.ObsDim, m.Space)
		}
		od, ad := d.Meta.ObsDim, d.Meta.ActionSpace.Dim
		for i := 0; i < d.Len(); {
			ep, start := d.Episode[i], i
			for i < d.Len() && d.Episode[i] == ep {
				i++
			}
			r0 := int(d.ObsRow[start])
			m.Episodes = append(m.Episodes, memoEpisode{Text: d.Goals[ep].Text,
				Obs: d.Obs[r0*od : (r0+i-start+1)*od], Acts: d.Actions[start*ad : i*ad]})
		}
	}
	if len(m.Episodes) == 0 && !l.bugs.acceptEmptyDataset {
		return nil, fmt.Errorf("memo: ground: datasets %v hold no episodes", req.Datasets)
	}
	from := 0
	if req.Resume != "" && !l.bugs.resumeRestarts {
		ck, err := loadModel(req.Resume, l.bugs)
		if err != nil {
			return nil, fmt.Errorf("memo: ground: resume: %w", err)
		}
		from, m.Loss = ck.Step, ck.Loss
	}
	out := req.OutDir
	if l.bugs.checkpointOutside {
		out = req.OutDir + "-elsewhere"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	for step := from + 1; step <= req.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.Step = step
		if len(m.Episodes) > 0 {
			rng := rand.New(rand.NewPCG(req.Seed, uint64(step)))
			ei := rng.IntN(len(m.Episodes))
			e := m.Episodes[ei]
			t := rng.IntN(e.len(m.Space.Dim))
			od, ad := m.ObsDim, m.Space.Dim
			p := m.next(e.Obs[t*od:(t+1)*od], e.Acts[t*ad:(t+1)*ad], [2]int{ei, t})
			m.Loss = 0.9*m.Loss + 0.1*math.Sqrt(sq(p, e.Obs[(t+1)*od:(t+2)*od]))
		}
		p := lm.Progress{Step: step, Total: req.Steps, Metrics: map[string]float64{"dynamics_error": m.Loss}}
		if req.CheckpointEvery > 0 && step%req.CheckpointEvery == 0 && step < req.Steps && !l.bugs.noProgressCheckpoint {
			p.Checkpoint = filepath.Join(out, fmt.Sprintf("step-%d.json", step))
			if err := m.save(p.Checkpoint); err != nil {
				return nil, err
			}
		}
		progress(p)
	}
	ck := filepath.Join(out, "model.json")
	if err := m.save(ck); err != nil {
		return nil, err
	}
	return &lm.GroundResponse{Checkpoint: ck, Metrics: map[string]float64{"dynamics_error": m.Loss}}, nil
}

func (l *memo) Generate(ctx context.Context, req lm.GenerateRequest, judge lm.Judge) (*lm.GenerateResponse, error) {
	m, err := loadModel(req.Checkpoint, l.bugs)
	if err != nil {
		return nil, err
	}
	od, ad, n := m.ObsDim, m.Space.Dim, len(req.Goals)
	switch {
	case n == 0:
		return nil, errors.New("memo: generate: no goals")
	case len(req.Observations) != n*od:
		return nil, fmt.Errorf("memo: generate: %d observation values for %d goals of obs dim %d", len(req.Observations), n, od)
	case req.MaxSteps < 1:
		return nil, fmt.Errorf("memo: generate: MaxSteps = %d, want ≥ 1", req.MaxSteps)
	}
	for i, g := range req.Goals {
		if strings.TrimSpace(g.Text) == "" && !l.bugs.acceptEmptyGoal {
			return nil, fmt.Errorf("memo: generate: goal %d has an empty text", i)
		}
	}
	rng := l.bugs.rng(req.Seed, 0x6e)
	type rollout struct {
		src  *memoEpisode
		obs  []float32 // the current observation
		ep   dataset.Episode
		done bool
	}
	rs := make([]rollout, n)
	for i, g := range req.Goals {
		r := &rs[i]
		r.obs = append([]float32(nil), req.Observations[i*od:(i+1)*od]...)
		var cands []*memoEpisode
		for k := range m.Episodes {
			if m.Episodes[k].Text == g.Text {
				cands = append(cands, &m.Episodes[k])
			}
		}
		if len(cands) == 0 {
			for k := range m.Episodes {
				cands = append(cands, &m.Episodes[k])
			}
		}
		// Greedy: the episode that starts nearest; with a temperature, one
		// drawn with weights exp(-distance/T).
		ws := make([]float64, len(cands))
		best := 0
		for k, c := range cands {
			ws[k] = math.Sqrt(sq(r.obs, c.Obs[:od]))
			if ws[k] < ws[best] {
				best = k
			}
		}
		if req.Temperature > 0 {
			var sum float64
			for k := range ws {
				ws[k] = math.Exp(-ws[k] / req.Temperature)
				sum += ws[k]
			}
			u := rng.Float64() * sum
			for best = 0; best < len(ws)-1 && u >= ws[best]; best++ {
				u -= ws[best]
			}
		}
		r.src = cands[best]
		r.ep.Goal = g
		if len(g.Vector) != m.GoalDim {
			r.ep.Goal.Vector = make([]float32, m.GoalDim)
		}
		if l.bugs.wrongStart {
			r.obs = append([]float32(nil), r.src.Obs[od:2*od]...)
		}
		r.ep.Observations = append(r.ep.Observations, r.obs...)
	}
	limit := req.MaxSteps
	if l.bugs.overrun {
		limit++
	}
	for t := 1; t <= limit; t++ {
		st := lm.GenerateStep{Step: t}
		for i := range rs {
			r := &rs[i]
			if r.done {
				continue
			}
			var a []float32
			if t-1 < r.src.len(ad) {
				a = r.src.Acts[(t-1)*ad : t*ad]
			} else {
				a = m.act(r.ep.Goal.Text, r.obs)
			}
			r.obs = m.next(r.obs, a, [2]int{-1, -1})
			r.ep.Actions = append(r.ep.Actions, a...)
			r.ep.Observations = append(r.ep.Observations, r.obs...)
			r.ep.Rewards = append(r.ep.Rewards, 0)
			r.ep.Terminals = append(r.ep.Terminals, false)
			r.ep.Timeouts = append(r.ep.Timeouts, false)
			st.Index = append(st.Index, int32(i))
			st.Observations = append(st.Observations, r.obs...)
			st.Actions = append(st.Actions, a...)
		}
		if len(st.Index) == 0 {
			break
		}
		if judge != nil {
			v, err := judge(ctx, st)
			if err != nil {
				return nil, err
			}
			for k, i := range st.Index {
				if v.Done[k] && !l.bugs.ignoreJudge {
					rs[i].done = true
				}
			}
		}
	}
	meta := dataset.Meta{Env: "memo", Source: dataset.Imagined, ObsDim: od, GoalDim: m.GoalDim, ActionSpace: m.Space}
	if l.bugs.wrongObsDim {
		meta.ObsDim++
		for i := range rs {
			var wide []float32
			for k := 0; k < len(rs[i].ep.Observations); k += od {
				wide = append(append(wide, rs[i].ep.Observations[k:k+od]...), 0)
			}
			rs[i].ep.Observations = wide
		}
	}
	w, err := dataset.Create(req.Out, meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	for i := range rs {
		if err := w.Write(&rs[i].ep); err != nil {
			return nil, err
		}
	}
	meta = w.Meta()
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &lm.GenerateResponse{Meta: meta}, nil
}

func (l *memo) Explain(_ context.Context, req lm.ExplainRequest) (*lm.ExplainResponse, error) {
	m, err := loadModel(req.Checkpoint, l.bugs)
	if err != nil {
		return nil, err
	}
	od, ad := m.ObsDim, m.Space.Dim
	out := &lm.ExplainResponse{}
	for i, r := range req.Rollouts {
		t := len(r.Actions) / ad
		if t < 1 || len(r.Actions) != t*ad || len(r.Observations) != (t+1)*od {
			return nil, fmt.Errorf("memo: explain: rollout %d has %d observation and %d action values, want (T+1)·%d and T·%d",
				i, len(r.Observations), len(r.Actions), od, ad)
		}
		first, last := r.Observations[:od], r.Observations[t*od:]
		best, bd := "", math.Inf(1)
		for _, e := range m.Episodes {
			n := e.len(ad)
			if d := sq(first, e.Obs[:od]) + sq(last, e.Obs[n*od:(n+1)*od]); d < bd {
				bd, best = d, e.Text
			}
		}
		if l.bugs.explainEmpty {
			best = ""
		}
		out.Texts = append(out.Texts, best)
	}
	return out, nil
}

func (l *memo) Predict(_ context.Context, req lm.PredictRequest) (*lm.PredictResponse, error) {
	m, err := loadModel(req.Checkpoint, l.bugs)
	if err != nil {
		return nil, err
	}
	od, ad := m.ObsDim, m.Space.Dim
	n := len(req.Observations) / od
	if len(req.Observations) != n*od || len(req.Actions) != n*ad {
		return nil, fmt.Errorf("memo: predict: %d observation and %d action values, want N·%d and N·%d", len(req.Observations), len(req.Actions), od, ad)
	}
	if err := m.Space.Check(req.Actions); err != nil {
		return nil, fmt.Errorf("memo: predict: %w", err)
	}
	out := &lm.PredictResponse{}
	for i := range n {
		out.Observations = append(out.Observations, m.next(req.Observations[i*od:(i+1)*od], req.Actions[i*ad:(i+1)*ad], [2]int{-1, -1})...)
	}
	if l.bugs.previousNilZero {
		prev := req.Previous
		if prev == nil {
			prev = make([]float32, len(req.Observations))
		}
		for i, v := range req.Observations {
			out.Observations[i] += 0.5 * (v - prev[i])
		}
	}
	if l.bugs.predictShort {
		out.Observations = out.Observations[:len(out.Observations)-1]
	}
	return out, nil
}

const encodeDim = 8

func (l *memo) Encode(_ context.Context, req lm.EncodeRequest) (*lm.EncodeResponse, error) {
	if _, err := loadModel(req.Checkpoint, l.bugs); err != nil {
		return nil, err
	}
	out := &lm.EncodeResponse{Dim: encodeDim}
	for i, text := range req.Texts {
		words := strings.Fields(strings.ToLower(text))
		if len(words) == 0 && !l.bugs.acceptEmptyGoal {
			return nil, fmt.Errorf("memo: encode: text %d is empty", i)
		}
		v := make([]float32, encodeDim)
		for _, w := range words {
			h := fnv.New64a()
			h.Write([]byte(w))
			s := h.Sum64()
			v[s%encodeDim] += float32(1 + (s>>8)%3)
		}
		if l.bugs.encodeUnstable {
			v[0] += float32(counter.Add(1))
		}
		out.Vectors = append(out.Vectors, v...)
	}
	return out, nil
}

func (l *memo) Act(_ context.Context, req lm.ActRequest) (*lm.ActResponse, error) {
	m, err := loadModel(req.Checkpoint, l.bugs)
	if err != nil {
		return nil, err
	}
	od, ad, n := m.ObsDim, m.Space.Dim, len(req.Goals)
	if len(req.Observations) != n*od {
		return nil, fmt.Errorf("memo: act: %d observation values for %d goals of obs dim %d", len(req.Observations), n, od)
	}
	if req.HistoryLengths != nil {
		total := 0
		for _, h := range req.HistoryLengths {
			total += h
		}
		if len(req.HistoryLengths) != n || len(req.HistoryObservations) != total*od || len(req.HistoryActions) != total*ad {
			return nil, fmt.Errorf("memo: act: history of %d lengths summing to %d with %d observation and %d action values, for %d goals",
				len(req.HistoryLengths), total, len(req.HistoryObservations), len(req.HistoryActions), n)
		}
	}
	out := &lm.ActResponse{}
	for i, g := range req.Goals {
		if strings.TrimSpace(g) == "" && !l.bugs.acceptEmptyGoal {
			return nil, fmt.Errorf("memo: act: goal %d is empty", i)
		}
		a := m.act(g, req.Observations[i*od:(i+1)*od])
		if l.bugs.actOutOfRange {
			a = []float32{float32(m.Space.N)} // discrete: one past the last action
			if m.Space.Kind == dataset.Continuous {
				a = []float32{m.Space.High[0] + 1}
			}
		}
		out.Actions = append(out.Actions, a...)
	}
	return out, nil
}

func (l *memo) Describe(context.Context) (string, []string, error) {
	return "memo", []string{string(lm.GoalToRollout), string(lm.RolloutToGoal), string(lm.Dynamics)}, nil
}

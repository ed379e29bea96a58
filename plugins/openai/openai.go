package openai

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// LM is the openai backend. The zero value is not usable; call New.
type LM struct {
	mu     sync.Mutex
	limits map[string][2]*bucket // rate limits by server and model, shared by calls
}

var (
	_ lm.LM      = (*LM)(nil)
	_ lm.Schemer = (*LM)(nil)
)

// New returns an openai backend.
func New() *LM { return &LM{limits: map[string][2]*bucket{}} }

// Describe names the backend and the tasks it grounds on.
func (*LM) Describe(context.Context) (string, []string, error) {
	caps := []string{"ground", "generate", "explain", "predict", "encode", "act"}
	for _, t := range lm.Tasks {
		caps = append(caps, "task:"+string(t))
	}
	return "openai", caps, nil
}

// Schema declares the settings (lm.config).
func (*LM) Schema(context.Context, lm.SchemaRequest) (*lm.Schema, error) {
	s := Schema()
	return &s, nil
}

// client returns a client of cfg's server whose rate limits are shared
// with every other call to the same server and model.
func (l *LM) client(cfg Config) *client {
	c := newClient(cfg)
	k := cfg.BaseURL + "\x00" + cfg.Model
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.limits[k]; ok {
		c.reqs, c.toks = b[0], b[1]
	} else {
		l.limits[k] = [2]*bucket{c.reqs, c.toks}
	}
	return c
}

// open loads a library and its client.
func (l *LM) open(path string) (*Library, *client, error) {
	lib, err := loadLibrary(path)
	if err != nil {
		return nil, nil, err
	}
	return lib, l.client(lib.Config), nil
}

// itemSeed is the seed sent with item i of a call seeded with seed: 31 bits,
// which every server accepts.
func itemSeed(seed uint64, i int) int64 {
	x := seed*0x9e3779b97f4a7c15 + uint64(i)*0xbf58476d1ce4e5b9
	x ^= x >> 31
	return int64(x & 0x7fffffff)
}

// maxTokens bounds a reply: the configured bound, or twice the schema's
// longest reply in estimated tokens.
func (lib *Library) maxTokens(q *openaiapi.Query) int {
	if lib.Config.MaxTokens > 0 {
		return lib.Config.MaxTokens
	}
	num := 16 // bytes of a number and its comma
	state := lib.Spec.ObsDim*num + 2
	act := lib.Spec.Actions.Dim*num + 2
	n := 0
	switch q.Task {
	case openaiapi.TaskGenerate:
		n = q.Steps * (state + act + 24)
	case openaiapi.TaskExplain:
		n = 4*lib.Spec.MaxText + 16
	case openaiapi.TaskPredict:
		n = state + 16
	case openaiapi.TaskAct:
		n = act + 16
	}
	return 2*estimate(n) + 16
}

// ask sends the query with its few-shot prompt and decodes the reply into
// a T that check accepts. A reply that breaks the schema or the check is
// asked again, with the error and the query, up to Repairs more times.
func ask[T any](ctx context.Context, c *client, lib *Library, what string, q openaiapi.Query, temp float64, seed int64, check func(*T) error) (*T, error) {
	steps := q.Steps
	schema := lib.Spec.ReplySchema(q.Task, steps)
	msgs := lib.messages(q)
	req := openaiapi.ChatRequest{Model: lib.Config.Model, Temperature: temp, Seed: &seed, MaxTokens: lib.maxTokens(&q),
		ResponseFormat: lib.Spec.Format(q.Task, steps)}
	if b := lib.Config.Bounds; b != nil && !*b {
		req.ResponseFormat.JSONSchema.Schema = schema.Shape()
	}
	for attempt := 0; ; attempt++ {
		req.Messages = msgs
		size := 0
		for _, m := range msgs {
			size += len(m.Content)
		}
		var resp openaiapi.ChatResponse
		if err := c.post(ctx, what, "/chat/completions", req, &resp, estimate(size)+req.MaxTokens); err != nil {
			return nil, err
		}
		c.stats.usage(resp.Usage)
		var (
			out     T
			content string
			bad     error
		)
		if len(resp.Choices) == 0 {
			bad = errors.New("the reply has no choices")
		} else {
			content = unfence(resp.Choices[0].Message.Content)
			if bad = openaiapi.Decode([]byte(content), schema, &out); bad == nil && check != nil {
				bad = check(&out)
			}
		}
		if bad == nil {
			return &out, nil
		}
		if attempt >= lib.Config.Repairs {
			if len(content) > 200 {
				content = content[:200] + "…"
			}
			return nil, fmt.Errorf("openai: %s: after %d replies the last still breaks the env's spec: %v (reply %q)", what, attempt+1, bad, c.redact(content))
		}
		c.stats.repair()
		msgs = append(msgs[:len(msgs):len(msgs)], openaiapi.Message{Role: "assistant", Content: content},
			openaiapi.Message{Role: "user", Content: "That reply is invalid: " + bad.Error() + ". Answer the request again with JSON that follows the schema.\n" + q.Line()})
	}
}

// unfence strips a Markdown code fence some models wrap JSON in.
func unfence(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	return strings.TrimSpace(s)
}

// parallel runs f(0..n-1) with at most limit at once; the first error
// cancels the rest and is returned.
func parallel(ctx context.Context, n, limit int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, limit)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// checkObs reports observations that are not n rows of the spec's states.
func (lib *Library) checkObs(what string, obs []float32, n int) error {
	if len(obs) != n*lib.Spec.ObsDim {
		return fmt.Errorf("openai: %s: %d observation values for %d rows of dim %d, want %d", what, len(obs), n, lib.Spec.ObsDim, n*lib.Spec.ObsDim)
	}
	if !finite(obs) {
		return fmt.Errorf("openai: %s: an observation value is NaN or infinite", what)
	}
	return nil
}

func rows(v []float32, dim int) [][]float32 {
	out := make([][]float32, 0, len(v)/max(dim, 1))
	for i := 0; i+dim <= len(v) && dim > 0; i += dim {
		out = append(out, v[i:i+dim])
	}
	return out
}

// Generate asks for each goal's whole rollout in one reply (gen_batch goals
// at a time, concurrently), then plays the replies to the judge step by
// step, ending each rollout the judge calls done. The dataset appears at
// req.Out only when every rollout is written.
func (l *LM) Generate(ctx context.Context, req lm.GenerateRequest, judge lm.Judge) (*lm.GenerateResponse, error) {
	lib, c, err := l.open(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	n := len(req.Goals)
	od := lib.Spec.ObsDim
	if err := lib.checkObs("generate", req.Observations, n); err != nil {
		return nil, err
	}
	if req.MaxSteps < 1 {
		return nil, fmt.Errorf("openai: generate: max_steps %d, want at least 1", req.MaxSteps)
	}
	if req.Out == "" {
		return nil, fmt.Errorf("openai: generate: no output directory")
	}
	gd := -1
	for i, g := range req.Goals {
		if strings.TrimSpace(g.Text) == "" {
			return nil, fmt.Errorf("openai: generate: goal %d has an empty text", i)
		}
		if gd >= 0 && len(g.Vector) != gd {
			return nil, fmt.Errorf("openai: generate: goal %d has a vector of %d values, goal 0 of %d", i, len(g.Vector), gd)
		}
		gd = len(g.Vector)
	}
	w, err := dataset.Create(req.Out, dataset.Meta{Env: lib.Env, Source: dataset.Imagined, ObsDim: od, GoalDim: max(gd, 0),
		ActionSpace: lib.Spec.Actions, Attrs: map[string]string{"lm": "openai", "model": lib.Config.Model, "temperature": fmt.Sprint(req.Temperature)}})
	if err != nil {
		return nil, fmt.Errorf("openai: generate: %w", err)
	}
	defer w.Abort()
	batch := lib.Config.GenBatch
	switch v := req.Config["gen_batch"].(type) { // lm.config, as JSON (float64) or YAML (int) gave it
	case float64:
		batch = max(int(v), 1)
	case int:
		batch = max(v, 1)
	}
	start := time.Now()
	steps := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		replies := make([]*openaiapi.GenerateReply, hi-lo)
		err := parallel(ctx, hi-lo, lib.Config.Concurrency, func(ctx context.Context, k int) error {
			i := lo + k
			s0 := req.Observations[i*od : (i+1)*od]
			q := openaiapi.Query{Task: openaiapi.TaskGenerate, Goal: req.Goals[i].Text, State: s0, Steps: req.MaxSteps}
			what := fmt.Sprintf("generate, goal %d of %d (%q)", i, n, req.Goals[i].Text)
			r, err := ask(ctx, c, lib, what, q, req.Temperature, itemSeed(req.Seed, i), func(r *openaiapi.GenerateReply) error {
				for t, st := range r.Steps {
					if err := lib.Spec.CheckAction(st.Action); err != nil {
						return fmt.Errorf("step %d: %w", t, err)
					}
					if err := lib.Spec.CheckState(st.State); err != nil {
						return fmt.Errorf("step %d: %w", t, err)
					}
				}
				return nil
			})
			replies[k] = r
			return err
		})
		if err != nil {
			return nil, err
		}
		eps, k, err := play(ctx, req, lib, lo, replies, judge)
		if err != nil {
			return nil, err
		}
		steps += k
		for _, ep := range eps {
			if err := w.Write(ep); err != nil {
				return nil, fmt.Errorf("openai: generate: %w", err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("openai: generate: %w", err)
	}
	m := c.stats.metrics()
	m["rollouts"], m["steps"] = float64(n), float64(steps)
	m["rollouts_per_s"] = float64(n) / max(time.Since(start).Seconds(), 1e-9)
	return &lm.GenerateResponse{Meta: w.Meta(), Metrics: m}, nil
}

// play feeds the replies of goals lo.. to the judge step by step.
func play(ctx context.Context, req lm.GenerateRequest, lib *Library, lo int, replies []*openaiapi.GenerateReply, judge lm.Judge) ([]*dataset.Episode, int, error) {
	od := lib.Spec.ObsDim
	eps := make([]*dataset.Episode, len(replies))
	active := make([]int, len(replies))
	for k := range replies {
		i := lo + k
		eps[k] = &dataset.Episode{Goal: req.Goals[i], Observations: append([]float32(nil), req.Observations[i*od:(i+1)*od]...)}
		active[k] = k
	}
	steps := 0
	for t := 0; t < req.MaxSteps && len(active) > 0; t++ {
		// A reply's rollout ends with its last step.
		keep := active[:0]
		for _, k := range active {
			if t < len(replies[k].Steps) {
				keep = append(keep, k)
			}
		}
		if active = keep; len(active) == 0 {
			break
		}
		st := lm.GenerateStep{Step: t + 1}
		for _, k := range active {
			s := replies[k].Steps[t]
			st.Index = append(st.Index, int32(lo+k))
			st.Actions = append(st.Actions, s.Action...)
			st.Observations = append(st.Observations, s.State...)
			ep := eps[k]
			ep.Actions = append(ep.Actions, s.Action...)
			ep.Observations = append(ep.Observations, s.State...)
			ep.Rewards = append(ep.Rewards, 0)
			ep.Terminals = append(ep.Terminals, false)
			ep.Timeouts = append(ep.Timeouts, t+1 == req.MaxSteps)
		}
		steps += len(active)
		if judge == nil {
			continue
		}
		v, err := judge(ctx, st)
		if err != nil {
			return nil, 0, fmt.Errorf("openai: generate: judge: %w", err)
		}
		if len(v.Done) != len(active) {
			return nil, 0, fmt.Errorf("openai: generate: the judge returned %d verdicts for %d rollouts", len(v.Done), len(active))
		}
		keep = active[:0]
		for j, k := range active {
			if !v.Done[j] {
				keep = append(keep, k)
			}
		}
		active = keep
	}
	return eps, steps, nil
}

// Explain asks for each rollout's goal.
func (l *LM) Explain(ctx context.Context, req lm.ExplainRequest) (*lm.ExplainResponse, error) {
	lib, c, err := l.open(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	od, ad := lib.Spec.ObsDim, lib.Spec.Actions.Dim
	qs := make([]openaiapi.Query, len(req.Rollouts))
	for i, ep := range req.Rollouts {
		if ep == nil || len(ep.Observations) == 0 || len(ep.Observations)%od != 0 || len(ep.Actions)%ad != 0 ||
			len(ep.Observations)/od != len(ep.Actions)/ad+1 {
			return nil, fmt.Errorf("openai: explain: rollout %d is not T+1 observations of dim %d around T actions of dim %d", i, od, ad)
		}
		if !finite(ep.Observations) {
			return nil, fmt.Errorf("openai: explain: rollout %d has a NaN or infinite observation", i)
		}
		if err := lib.Spec.Actions.Check(ep.Actions); err != nil {
			return nil, fmt.Errorf("openai: explain: rollout %d: %w", i, err)
		}
		qs[i] = openaiapi.Query{Task: openaiapi.TaskExplain, States: rows(ep.Observations, od), Actions: rows(ep.Actions, ad)}
	}
	out := &lm.ExplainResponse{Texts: make([]string, len(qs))}
	err = parallel(ctx, len(qs), lib.Config.Concurrency, func(ctx context.Context, i int) error {
		r, err := ask(ctx, c, lib, fmt.Sprintf("explain, rollout %d of %d", i, len(qs)), qs[i], req.Temperature, itemSeed(req.Seed, i),
			func(r *openaiapi.ExplainReply) error {
				if strings.TrimSpace(r.Goal) == "" {
					return errors.New("an empty goal")
				}
				return nil
			})
		if err == nil {
			out.Texts[i] = strings.TrimSpace(r.Goal)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Predict asks for each transition's next state.
func (l *LM) Predict(ctx context.Context, req lm.PredictRequest) (*lm.PredictResponse, error) {
	lib, c, err := l.open(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	od, ad := lib.Spec.ObsDim, lib.Spec.Actions.Dim
	n := len(req.Observations) / od
	if err := lib.checkObs("predict", req.Observations, n); err != nil {
		return nil, err
	}
	if len(req.Actions) != n*ad {
		return nil, fmt.Errorf("openai: predict: %d action values for %d observations of action dim %d, want %d", len(req.Actions), n, ad, n*ad)
	}
	if err := lib.Spec.Actions.Check(req.Actions); err != nil {
		return nil, fmt.Errorf("openai: predict: %w", err)
	}
	if req.Previous != nil {
		if err := lib.checkObs("predict: previous observations", req.Previous, n); err != nil {
			return nil, err
		}
	}
	obs, err := askRows(ctx, c, lib, n, od, func(i int) (string, openaiapi.Query, float64, int64) {
		q := openaiapi.Query{Task: openaiapi.TaskPredict, State: req.Observations[i*od : (i+1)*od], Action: req.Actions[i*ad : (i+1)*ad]}
		if req.Previous != nil {
			q.Previous = req.Previous[i*od : (i+1)*od]
		}
		return fmt.Sprintf("predict, transition %d of %d", i, n), q, 0, itemSeed(0, i)
	}, func(r *openaiapi.PredictReply) ([]float32, error) { return r.State, lib.Spec.CheckState(r.State) })
	if err != nil {
		return nil, err
	}
	return &lm.PredictResponse{Observations: obs}, nil
}

// askRows asks n queries concurrently, query(i) giving each one's name,
// query, temperature and seed, and gathers the row of dim values row takes
// from each accepted reply (row's error asks again).
func askRows[T any](ctx context.Context, c *client, lib *Library, n, dim int, query func(i int) (string, openaiapi.Query, float64, int64),
	row func(*T) ([]float32, error)) ([]float32, error) {
	out := make([]float32, n*dim)
	err := parallel(ctx, n, lib.Config.Concurrency, func(ctx context.Context, i int) error {
		what, q, temp, seed := query(i)
		r, err := ask(ctx, c, lib, what, q, temp, seed, func(r *T) error { _, err := row(r); return err })
		if err == nil {
			v, _ := row(r)
			copy(out[i*dim:], v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Act asks for each goal's next action.
func (l *LM) Act(ctx context.Context, req lm.ActRequest) (*lm.ActResponse, error) {
	lib, c, err := l.open(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	od, ad := lib.Spec.ObsDim, lib.Spec.Actions.Dim
	n := len(req.Goals)
	if err := lib.checkObs("act", req.Observations, n); err != nil {
		return nil, err
	}
	if req.HistoryLengths != nil && len(req.HistoryLengths) != n {
		return nil, fmt.Errorf("openai: act: %d history lengths for %d goals", len(req.HistoryLengths), n)
	}
	total := 0
	for _, k := range req.HistoryLengths {
		if k < 0 {
			return nil, fmt.Errorf("openai: act: negative history length %d", k)
		}
		total += k
	}
	if len(req.HistoryObservations) != total*od || len(req.HistoryActions) != total*ad {
		return nil, fmt.Errorf("openai: act: a history of %d steps needs %d observation and %d action values, got %d and %d",
			total, total*od, total*ad, len(req.HistoryObservations), len(req.HistoryActions))
	}
	if err := lib.Spec.Actions.Check(req.HistoryActions); err != nil {
		return nil, fmt.Errorf("openai: act: history: %w", err)
	}
	qs := make([]openaiapi.Query, n)
	off := 0
	for i, g := range req.Goals {
		if strings.TrimSpace(g) == "" {
			return nil, fmt.Errorf("openai: act: goal %d has an empty text", i)
		}
		k := 0
		if req.HistoryLengths != nil {
			k = req.HistoryLengths[i]
		}
		from := max(0, k-lib.Config.History) // the most recent steps
		q := openaiapi.Query{Task: openaiapi.TaskAct, Goal: g,
			States:  rows(req.HistoryObservations[(off+from)*od:(off+k)*od], od),
			Actions: rows(req.HistoryActions[(off+from)*ad:(off+k)*ad], ad)}
		q.States = append(q.States, req.Observations[i*od:(i+1)*od])
		qs[i] = q
		off += k
	}
	acts, err := askRows(ctx, c, lib, n, ad, func(i int) (string, openaiapi.Query, float64, int64) {
		return fmt.Sprintf("act, goal %d of %d (%q)", i, n, req.Goals[i]), qs[i], req.Temperature, itemSeed(req.Seed, i)
	}, func(r *openaiapi.ActReply) ([]float32, error) { return r.Action, lib.Spec.CheckAction(r.Action) })
	if err != nil {
		return nil, err
	}
	return &lm.ActResponse{Actions: acts}, nil
}

// encodeBatch is the number of texts per /v1/embeddings request.
const encodeBatch = 64

// Encode embeds goal texts through /v1/embeddings.
func (l *LM) Encode(ctx context.Context, req lm.EncodeRequest) (*lm.EncodeResponse, error) {
	lib, c, err := l.open(req.Checkpoint)
	if err != nil {
		return nil, err
	}
	for i, t := range req.Texts {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("openai: encode: text %d is empty", i)
		}
	}
	model := lib.Config.EmbeddingModel
	if model == "" {
		model = lib.Config.Model
	}
	n := len(req.Texts)
	vecs := make([][]float32, n)
	chunks := (n + encodeBatch - 1) / encodeBatch
	err = parallel(ctx, chunks, lib.Config.Concurrency, func(ctx context.Context, b int) error {
		lo, hi := b*encodeBatch, min(n, (b+1)*encodeBatch)
		what := fmt.Sprintf("embeddings, texts %d..%d of %d", lo, hi-1, n)
		size := 0
		for _, t := range req.Texts[lo:hi] {
			size += len(t)
		}
		var r openaiapi.EmbeddingResponse
		if err := c.post(ctx, what, "/embeddings", openaiapi.EmbeddingRequest{Model: model, Input: req.Texts[lo:hi], EncodingFormat: "float"}, &r, estimate(size)); err != nil {
			return err
		}
		c.stats.usage(r.Usage)
		if len(r.Data) != hi-lo {
			return fmt.Errorf("openai: %s: %d embeddings in the reply", what, len(r.Data))
		}
		for _, e := range r.Data {
			if e.Index < 0 || e.Index >= hi-lo || vecs[lo+e.Index] != nil {
				return fmt.Errorf("openai: %s: an embedding of index %d", what, e.Index)
			}
			if len(e.Embedding) == 0 || !finite(e.Embedding) {
				return fmt.Errorf("openai: %s: embedding %d is empty or not finite", what, e.Index)
			}
			vecs[lo+e.Index] = e.Embedding
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &lm.EncodeResponse{}
	for i, v := range vecs {
		if out.Dim == 0 {
			out.Dim = len(v)
		}
		if len(v) != out.Dim {
			return nil, fmt.Errorf("openai: encode: text %d has an embedding of %d values, text 0 of %d", i, len(v), out.Dim)
		}
		out.Vectors = append(out.Vectors, v...)
	}
	if n == 0 {
		out.Dim = 1
	}
	return out, nil
}

// modelID asks /v1/models for the server's only model when none is
// configured, and checks a configured one is listed (a server without the
// endpoint is taken at its word).
func modelID(ctx context.Context, c *client, cfg Config) (string, error) {
	var list openaiapi.ModelList
	err := c.post(ctx, "list models", "/models", nil, &list, 0)
	var re *requestError
	if errors.As(err, &re) && re.status == 404 && cfg.Model != "" {
		return cfg.Model, nil
	}
	if err != nil {
		return "", err
	}
	var ids []string
	for _, m := range list.Data {
		if m.ID == cfg.Model {
			return cfg.Model, nil
		}
		ids = append(ids, m.ID)
	}
	if cfg.Model == "" && len(ids) == 1 {
		return ids[0], nil
	}
	if cfg.Model == "" {
		return "", fmt.Errorf("openai: no model given (lm.config.model or KALM_OPENAI_MODEL) and %s serves %d: %s", cfg.BaseURL, len(ids), strings.Join(ids, ", "))
	}
	if len(ids) == 0 {
		return cfg.Model, nil // some servers list nothing and serve what they are asked for
	}
	return "", fmt.Errorf("openai: model %q is not among the models %s serves: %s", cfg.Model, cfg.BaseURL, strings.Join(ids, ", "))
}

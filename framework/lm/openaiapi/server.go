package openaiapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
)

// Server answers the OpenAI API from one checkpoint of a kalm backend:
// POST /v1/chat/completions (kalm queries, see the package documentation),
// POST /v1/embeddings (LM.Encode) and GET /v1/models. Concurrent predict
// queries, and act queries at temperature 0, are gathered into one call of
// the backend while the previous one runs (up to MaxBatch), which is where
// a batch pays; generate and explain queries each make their own call, so
// that a seeded request gives the same reply however requests interleave.
//
// Create it with NewServer; Close stops its batching goroutines.
type Server struct {
	cfg     ServerConfig
	created int64
	predict chan *pending
	act     chan *pending
	wg      sync.WaitGroup
	mu      sync.RWMutex // held to read closed and send on the queues; Close takes it to close them
	closed  bool
	seq     atomic.Uint64
}

// ServerConfig configures a Server.
type ServerConfig struct {
	LM         lm.LM
	Checkpoint string
	// Model is the id /v1/models lists; a request naming another model is
	// refused (404), as OpenAI's API does.
	Model string
	// APIKey, when set, is required as "Authorization: Bearer KEY".
	APIKey string
	// MaxBatch bounds the queries gathered into one backend call (default 64).
	MaxBatch int
	// Log, when set, gets one line per refused or failed request (never a key).
	Log *log.Logger
	// Scratch is where a generate query's rollout is written by the backend
	// and read back (lm.LM.Generate writes a dataset); default /dev/shm
	// where it is a directory (a memory filesystem: a query's files cost
	// nothing there), else the system's temporary directory.
	Scratch string
}

// NewServer returns a server of cfg.LM on cfg.Checkpoint.
func NewServer(cfg ServerConfig) *Server {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.Scratch == "" {
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			cfg.Scratch = "/dev/shm"
		}
	}
	s := &Server{cfg: cfg, created: time.Now().Unix(), predict: make(chan *pending), act: make(chan *pending)}
	s.wg.Add(2)
	go s.batchLoop(s.predict, s.runPredict)
	go s.batchLoop(s.act, s.runAct)
	return s
}

// Close stops the batching goroutines; requests after it fail.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.predict)
		close(s.act)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// apiError is an error reply.
type apiError struct {
	status int
	typ    string
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "invalid_request_error", msg: fmt.Sprintf(format, a...)}
}

// ServeHTTP routes the API's three endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.APIKey != "" {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+s.cfg.APIKey)) != 1 {
			s.fail(w, r, &apiError{status: http.StatusUnauthorized, typ: "invalid_request_error", code: "invalid_api_key",
				msg: "incorrect or missing API key (Authorization: Bearer ...)"})
			return
		}
	}
	var (
		reply any
		err   error
	)
	switch path := strings.TrimSuffix(r.URL.Path, "/"); {
	case path == "/v1/models" && r.Method == http.MethodGet:
		reply = ModelList{Object: "list", Data: []Model{{ID: s.cfg.Model, Object: "model", Created: s.created, OwnedBy: "kalm"}}}
	case path == "/v1/chat/completions" && r.Method == http.MethodPost:
		reply, err = s.chat(r)
	case path == "/v1/embeddings" && r.Method == http.MethodPost:
		reply, err = s.embeddings(r)
	case path == "/v1/models" || path == "/v1/chat/completions" || path == "/v1/embeddings":
		err = &apiError{status: http.StatusMethodNotAllowed, typ: "invalid_request_error", msg: r.Method + " " + path + " is not served"}
	default:
		err = &apiError{status: http.StatusNotFound, typ: "invalid_request_error", msg: "no endpoint " + path + " (this server has /v1/chat/completions, /v1/embeddings and /v1/models)"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, typ: "server_error", msg: err.Error()}
		if r.Context().Err() != nil {
			return // the client is gone
		}
	}
	if s.cfg.Log != nil {
		s.cfg.Log.Printf("%s %s: %d %s", r.Method, r.URL.Path, ae.status, ae.msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	json.NewEncoder(w).Encode(ErrorResponse{Error: APIError{Message: ae.msg, Type: ae.typ, Code: ae.code}})
}

// decode reads a JSON request body of at most 64 MiB.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("the request body is not a valid request: %v", err)
	}
	return nil
}

func (s *Server) checkModel(model string) error {
	if model != s.cfg.Model {
		return &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "model_not_found",
			msg: fmt.Sprintf("the model %q does not exist (this server serves %q)", model, s.cfg.Model)}
	}
	return nil
}

// tokens estimates a text's tokens as a quarter of its bytes: the server's
// model reads numbers, not tokens of text.
func tokens(n int) int { return (n + 3) / 4 }

func (s *Server) chat(r *http.Request) (any, error) {
	var req ChatRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := s.checkModel(req.Model); err != nil {
		return nil, err
	}
	if req.Stream {
		return nil, badRequest("stream: this server answers in one reply (stream: false)")
	}
	q, err := ParseQuery(req.Messages)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if f := req.ResponseFormat; f != nil && f.JSONSchema != nil && f.JSONSchema.Name != SchemaName(q.Task) {
		return nil, badRequest("response_format.json_schema.name %q does not name the query's task %q (want %q)", f.JSONSchema.Name, q.Task, SchemaName(q.Task))
	}
	var seed uint64
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}
	p := &pending{q: q, temp: req.Temperature, seed: seed, done: make(chan result, 1)}
	ctx := r.Context()
	var reply any
	switch q.Task {
	case TaskGenerate:
		reply, err = s.generate(ctx, p)
	case TaskExplain:
		reply, err = s.explain(ctx, p)
	case TaskPredict:
		reply, err = s.enqueue(ctx, s.predict, p)
	case TaskAct:
		if p.temp == 0 {
			reply, err = s.enqueue(ctx, s.act, p)
		} else {
			s.runAct([]*pending{p})
			res := <-p.done
			reply, err = res.reply, res.err
		}
	}
	if err != nil {
		return nil, err
	}
	content, err := json.Marshal(reply)
	if err != nil {
		return nil, err
	}
	in := 0
	for _, m := range req.Messages {
		in += len(m.Content)
	}
	u := Usage{PromptTokens: tokens(in), CompletionTokens: tokens(len(content))}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return ChatResponse{ID: fmt.Sprintf("chatcmpl-kalm-%d", s.seq.Add(1)), Object: "chat.completion", Created: time.Now().Unix(),
		Model: s.cfg.Model, Choices: []Choice{{Message: Message{Role: "assistant", Content: string(content)}, FinishReason: "stop"}},
		Usage: u}, nil
}

// lmError turns a backend's refusal into a 400 naming the query's task.
func lmError(task string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return badRequest("%s: %v", task, err)
}

func (s *Server) generate(ctx context.Context, p *pending) (any, error) {
	q := p.q
	if q.Steps < 1 {
		return nil, badRequest("generate: steps %d, want at least 1", q.Steps)
	}
	tmp, err := os.MkdirTemp(s.cfg.Scratch, "kalm-serve-lm-")
	if err != nil && s.cfg.Scratch != "" {
		tmp, err = os.MkdirTemp("", "kalm-serve-lm-") // /dev/shm may be read-only or full
	}
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var reply GenerateReply
	judge := func(_ context.Context, st lm.GenerateStep) (*lm.Verdict, error) {
		ad := len(st.Actions) / max(len(st.Index), 1)
		od := len(st.Observations) / max(len(st.Index), 1)
		reply.Steps = append(reply.Steps, Step{Action: st.Actions[:ad], State: st.Observations[:od]})
		return &lm.Verdict{Done: make([]bool, len(st.Index))}, nil
	}
	_, err = s.cfg.LM.Generate(ctx, lm.GenerateRequest{Checkpoint: s.cfg.Checkpoint, Goals: []dataset.Goal{{Text: q.Goal}},
		Observations: q.State, MaxSteps: q.Steps, Temperature: p.temp, Seed: p.seed, Out: filepath.Join(tmp, "out")}, judge)
	if err != nil {
		return nil, lmError("generate", err)
	}
	return reply, nil
}

func (s *Server) explain(ctx context.Context, p *pending) (any, error) {
	ep, err := episode(p.q.States, p.q.Actions)
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.LM.Explain(ctx, lm.ExplainRequest{Checkpoint: s.cfg.Checkpoint, Rollouts: []*dataset.Episode{ep}, Seed: p.seed, Temperature: p.temp})
	if err != nil {
		return nil, lmError("explain", err)
	}
	if len(r.Texts) != 1 {
		return nil, fmt.Errorf("explain: the backend returned %d texts for one rollout", len(r.Texts))
	}
	return ExplainReply{Goal: r.Texts[0]}, nil
}

// episode flattens states and the actions between them.
func episode(states, actions [][]float32) (*dataset.Episode, error) {
	if len(states) != len(actions)+1 {
		return nil, badRequest("%d states around %d actions, want one more state than actions", len(states), len(actions))
	}
	ep := &dataset.Episode{}
	for _, st := range states {
		ep.Observations = append(ep.Observations, st...)
	}
	for _, a := range actions {
		ep.Actions = append(ep.Actions, a...)
	}
	return ep, nil
}

// pending is a query waiting for its batch.
type pending struct {
	q    *Query
	temp float64
	seed uint64
	done chan result
}

type result struct {
	reply any
	err   error
}

func (s *Server) enqueue(ctx context.Context, ch chan *pending, p *pending) (any, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, &apiError{status: http.StatusServiceUnavailable, typ: "server_error", msg: "the server is shutting down"}
	}
	select {
	case ch <- p:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return nil, ctx.Err()
	}
	select {
	case res := <-p.done:
		return res.reply, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batchLoop runs the queries of ch: the first that arrives with every other
// already waiting, up to MaxBatch, in one call.
func (s *Server) batchLoop(ch chan *pending, run func([]*pending)) {
	defer s.wg.Done()
	for p := range ch {
		batch := []*pending{p}
	gather:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case p, ok := <-ch:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		run(batch)
	}
}

// runBatch calls call on the batch; when the batch fails as a whole and
// holds more than one query, it calls it on each query alone, so that one
// bad query fails only itself.
func runBatch(batch []*pending, call func([]*pending) ([]any, error)) {
	replies, err := call(batch)
	if err != nil && len(batch) > 1 {
		for _, p := range batch {
			runBatch([]*pending{p}, call)
		}
		return
	}
	for i, p := range batch {
		if err != nil {
			p.done <- result{err: err}
		} else {
			p.done <- result{reply: replies[i]}
		}
	}
}

func (s *Server) runPredict(batch []*pending) {
	runBatch(batch, func(b []*pending) ([]any, error) {
		var obs, acts, prev []float32
		withPrev := false
		for _, p := range b {
			if len(p.q.State) == 0 || len(p.q.Action) == 0 {
				return nil, badRequest("predict: the query needs a state and an action")
			}
			if len(p.q.Previous) > 0 && len(p.q.Previous) != len(p.q.State) {
				return nil, badRequest("predict: the query's previous state has %d values, its state %d", len(p.q.Previous), len(p.q.State))
			}
			withPrev = withPrev || len(p.q.Previous) > 0
			obs = append(obs, p.q.State...)
			acts = append(acts, p.q.Action...)
		}
		if withPrev { // a query without one is a first step: its own state
			for _, p := range b {
				if len(p.q.Previous) > 0 {
					prev = append(prev, p.q.Previous...)
				} else {
					prev = append(prev, p.q.State...)
				}
			}
		}
		r, err := s.cfg.LM.Predict(context.Background(), lm.PredictRequest{Checkpoint: s.cfg.Checkpoint, Observations: obs, Actions: acts, Previous: prev})
		if err != nil {
			return nil, lmError("predict", err)
		}
		return split("predict", r.Observations, len(b), func(v []float32) any { return PredictReply{State: v} })
	})
}

// split cuts a backend's flat reply into n equal rows, one reply each.
func split(task string, v []float32, n int, reply func([]float32) any) ([]any, error) {
	if len(v)%n != 0 {
		return nil, fmt.Errorf("%s: the backend returned %d values for %d queries", task, len(v), n)
	}
	dim := len(v) / n
	out := make([]any, n)
	for i := range out {
		out[i] = reply(v[i*dim : (i+1)*dim])
	}
	return out, nil
}

func (s *Server) runAct(batch []*pending) {
	runBatch(batch, func(b []*pending) ([]any, error) {
		req := lm.ActRequest{Checkpoint: s.cfg.Checkpoint, Temperature: b[0].temp, Seed: b[0].seed}
		for _, p := range b {
			q := p.q
			if len(q.States) != len(q.Actions)+1 {
				return nil, badRequest("act: %d states after %d actions, want the history's states and the current one", len(q.States), len(q.Actions))
			}
			for _, st := range q.States[:len(q.Actions)] {
				req.HistoryObservations = append(req.HistoryObservations, st...)
			}
			for _, a := range q.Actions {
				req.HistoryActions = append(req.HistoryActions, a...)
			}
			req.HistoryLengths = append(req.HistoryLengths, len(q.Actions))
			req.Observations = append(req.Observations, q.States[len(q.States)-1]...)
			req.Goals = append(req.Goals, q.Goal)
		}
		r, err := s.cfg.LM.Act(context.Background(), req)
		if err != nil {
			return nil, lmError("act", err)
		}
		return split("act", r.Actions, len(b), func(v []float32) any { return ActReply{Action: v} })
	})
}

func (s *Server) embeddings(r *http.Request) (any, error) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := s.checkModel(req.Model); err != nil {
		return nil, err
	}
	var texts []string
	if err := json.Unmarshal(req.Input, &texts); err != nil {
		var one string
		if json.Unmarshal(req.Input, &one) != nil {
			return nil, badRequest("input: want a string or an array of strings")
		}
		texts = []string{one}
	}
	if len(texts) == 0 {
		return nil, badRequest("input: no texts")
	}
	e, err := s.cfg.LM.Encode(r.Context(), lm.EncodeRequest{Checkpoint: s.cfg.Checkpoint, Texts: texts})
	if err != nil {
		return nil, lmError("embeddings", err)
	}
	if e.Dim < 1 || len(e.Vectors) != len(texts)*e.Dim {
		return nil, fmt.Errorf("embeddings: the backend returned %d values of dim %d for %d texts", len(e.Vectors), e.Dim, len(texts))
	}
	out := EmbeddingResponse{Object: "list", Model: s.cfg.Model}
	n := 0
	for i, t := range texts {
		out.Data = append(out.Data, Embedding{Object: "embedding", Index: i, Embedding: e.Vectors[i*e.Dim : (i+1)*e.Dim]})
		n += len(t)
	}
	out.Usage = Usage{PromptTokens: tokens(n), TotalTokens: tokens(n)}
	return out, nil
}

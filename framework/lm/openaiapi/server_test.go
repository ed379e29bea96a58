package openaiapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
	"github.com/kalm-go/kalm/plugins/tinylm"
)

// TestMain removes the models grounded for the tests and benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range groundDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

var (
	groundDirs []string
	groundMu   sync.Mutex
	groundBy   = map[string]string{} // checkpoints by model size
	groundLM   = tinylm.New()
)

// grounded is a tinylm of the given size grounded briefly on the
// conformance suite's walk (discrete actions): obs [position, target],
// goals "go to cell K". Grounded once per test binary and size.
func grounded(tb testing.TB, size string, cfg map[string]any) (*tinylm.LM, string) {
	tb.Helper()
	groundMu.Lock()
	defer groundMu.Unlock()
	if ckpt, ok := groundBy[size]; ok {
		return groundLM, ckpt
	}
	dir, err := os.MkdirTemp("", "kalm-openaiapi-test-")
	if err != nil {
		tb.Fatal(err)
	}
	groundDirs = append(groundDirs, dir)
	data := filepath.Join(dir, "walk")
	if err := lmtest.WriteDataset(data, lmtest.SpaceOf(dataset.Discrete), 36, 1, 0); err != nil {
		tb.Fatal(err)
	}
	res, err := groundLM.Ground(tb.Context(), lm.GroundRequest{Datasets: []string{data}, Tasks: lm.Tasks, Config: cfg,
		Steps: 30, OutDir: filepath.Join(dir, "model"), Seed: 1}, nil)
	if err != nil {
		tb.Fatalf("grounding tinylm: %v", err)
	}
	groundBy[size] = res.Checkpoint
	return groundLM, res.Checkpoint
}

var tiny = map[string]any{"dim": 32, "layers": 1, "heads": 2, "vocab": 80, "prior": "none", "warmup": 5, "eval_every": 10, "batch": 8, "dyn_batch": 16}

func newServer(t testing.TB, key string, batch int) (*httptest.Server, *openaiapi.Server) {
	t.Helper()
	m, ckpt := grounded(t, "tiny", tiny)
	return serveModel(t, m, ckpt, key, batch)
}

func serveModel(t testing.TB, m lm.LM, ckpt, key string, batch int) (*httptest.Server, *openaiapi.Server) {
	srv := openaiapi.NewServer(openaiapi.ServerConfig{LM: m, Checkpoint: ckpt, Model: "walk", APIKey: key, MaxBatch: batch})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs, srv
}

func call(t testing.TB, url, method, key string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

var spec = openaiapi.Spec{ObsDim: 2, Actions: dataset.DiscreteSpace(3), MaxText: 20}

func chat(q openaiapi.Query) openaiapi.ChatRequest {
	return openaiapi.ChatRequest{Model: "walk", Messages: []openaiapi.Message{{Role: "system", Content: "examples would go here"},
		{Role: "user", Content: "Answer.\n" + q.Line()}}, ResponseFormat: spec.Format(q.Task, q.Steps)}
}

// TestServer checks each endpoint's answers and refusals.
func TestServer(t *testing.T) {
	hs, _ := newServer(t, "k3y", 0)
	v1 := hs.URL + "/v1"
	for _, c := range []struct {
		name, method, path, key string
		body                    any
		status                  int
		has                     string
	}{
		{"models", "GET", "/models", "k3y", nil, 200, `"id":"walk"`},
		{"no key", "GET", "/models", "", nil, 401, "invalid_api_key"},
		{"wrong key", "GET", "/models", "nope", nil, 401, "incorrect or missing API key"},
		{"unknown path", "GET", "/engines", "k3y", nil, 404, "no endpoint /v1/engines"},
		{"wrong method", "GET", "/chat/completions", "k3y", nil, 405, "is not served"},
		{"predict", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{2}}), 200, `\"state\":[`},
		{"act", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "act", Goal: "go to cell 3", States: [][]float32{{0, 3}, {1, 3}}, Actions: [][]float32{{2}}}), 200, `\"action\":[`},
		{"explain", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "explain", States: [][]float32{{0, 3}, {1, 3}}, Actions: [][]float32{{2}}}), 200, `\"goal\":`},
		{"generate", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "generate", Goal: "go to cell 3", State: []float32{0, 3}, Steps: 4}), 200, `\"steps\":[`},
		{"other model", "POST", "/chat/completions", "k3y", openaiapi.ChatRequest{Model: "gpt-4o"}, 404, "model_not_found"},
		{"no query", "POST", "/chat/completions", "k3y", openaiapi.ChatRequest{Model: "walk", Messages: []openaiapi.Message{{Role: "user", Content: "hello"}}}, 400, "no kalm query"},
		{"schema of another task", "POST", "/chat/completions", "k3y", func() openaiapi.ChatRequest {
			r := chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{2}})
			r.ResponseFormat = spec.Format("act", 0)
			return r
		}(), 400, `does not name the query's task`},
		{"bad action", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{7}}), 400, "predict: "},
		{"predict after a step", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{2}, Previous: []float32{0, 3}}), 200, `\"state\":[`},
		{"bad previous", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{2}, Previous: []float32{1}}), 400, "the query's previous state has 1 values, its state 2"},
		{"empty goal", "POST", "/chat/completions", "k3y", chat(openaiapi.Query{Task: "generate", State: []float32{0, 3}, Steps: 2}), 400, "generate: "},
		{"stream", "POST", "/chat/completions", "k3y", func() openaiapi.ChatRequest {
			r := chat(openaiapi.Query{Task: "predict", State: []float32{1, 3}, Action: []float32{2}})
			r.Stream = true
			return r
		}(), 400, "stream"},
		{"embeddings", "POST", "/embeddings", "k3y", openaiapi.EmbeddingRequest{Model: "walk", Input: []string{"go to cell 1", "go to cell 2"}}, 200, `"index":1`},
		{"embedding of a string", "POST", "/embeddings", "k3y", map[string]any{"model": "walk", "input": "go to cell 1"}, 200, `"index":0`},
		{"embedding of nothing", "POST", "/embeddings", "k3y", map[string]any{"model": "walk", "input": []string{}}, 400, "no texts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, v1+c.path, c.method, c.key, c.body)
			if status != c.status || !strings.Contains(string(body), c.has) {
				t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, status, body, c.status, c.has)
			}
		})
	}
}

// TestServerBatchesPredict: concurrent predict queries answered in
// batches give the replies the queries give one at a time.
func TestServerBatchesPredict(t *testing.T) {
	hs, _ := newServer(t, "", 16)
	url := hs.URL + "/v1/chat/completions"
	const n = 48
	query := func(i int) openaiapi.ChatRequest {
		return chat(openaiapi.Query{Task: "predict", State: []float32{float32(i % lmtest.Cells), float32(i % 4)}, Action: []float32{float32(i % 3)}})
	}
	reply := func(b []byte) string {
		var r openaiapi.ChatResponse
		if err := json.Unmarshal(b, &r); err != nil || len(r.Choices) != 1 {
			t.Fatalf("reply %s: %v", b, err)
		}
		return r.Choices[0].Message.Content
	}
	alone := make([]string, n)
	for i := range n {
		_, b := call(t, url, "POST", "", query(i))
		alone[i] = reply(b)
	}
	together := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, b := call(t, url, "POST", "", query(i))
			together[i] = reply(b)
		})
	}
	wg.Wait()
	for i := range n {
		var a, b openaiapi.PredictReply
		json.Unmarshal([]byte(alone[i]), &a)
		json.Unmarshal([]byte(together[i]), &b)
		for k := range a.State {
			if d := a.State[k] - b.State[k]; d > 1e-4 || d < -1e-4 || len(a.State) != len(b.State) {
				t.Fatalf("query %d: %s alone, %s among others", i, alone[i], together[i])
			}
		}
	}
}

// TestSchemaValidate checks the validator on replies that break each rule.
func TestSchemaValidate(t *testing.T) {
	gen := spec.ReplySchema(openaiapi.TaskGenerate, 2)
	cont := openaiapi.Spec{ObsDim: 1, Actions: dataset.BoxSpace(2, -1, 1)}.ReplySchema(openaiapi.TaskAct, 0)
	for _, c := range []struct {
		schema *openaiapi.Schema
		reply  string
		err    string // "" for a valid reply
	}{
		{gen, `{"steps":[{"action":[2],"state":[1,3]}]}`, ""},
		{gen, `{"steps":[{"action":[2],"state":[1,3]},{"action":[0],"state":[0,3]}]}`, ""},
		{gen, `{"steps":[]}`, "$.steps: 0 items, want 1..2"},
		{gen, `{"steps":[{"action":[3],"state":[1,3]}]}`, "$.steps[0].action[0]: 3, want within [0, 2]"},
		{gen, `{"steps":[{"action":[1.5],"state":[1,3]}]}`, "$.steps[0].action[0]: 1.5, want an integer"},
		{gen, `{"steps":[{"action":[1],"state":[1]}]}`, "$.steps[0].state: 1 items, want 2"},
		{gen, `{"steps":[{"action":[1],"state":[1,"x"]}]}`, `$.steps[0].state[1]: the string "x", want a number`},
		{gen, `{"steps":[{"action":[1],"state":[1,2],"why":"because"}]}`, `$.steps[0]: unexpected property "why"`},
		{gen, `{"step":[]}`, `$: no "steps"`},
		{gen, `[1]`, "$: an array, want an object"},
		{gen, `{"steps":[] `, "not JSON"},
		{gen, `{"steps":[]} {}`, "not one JSON value"},
		{cont, `{"action":[0.5,-1]}`, ""},
		{cont, `{"action":[0.5,-1.5]}`, "$.action[1]: -1.5, want within [-1, 1]"},
		{spec.ReplySchema(openaiapi.TaskExplain, 0), `{"goal":""}`, "$.goal: a string of 0 characters, want 1..20"},
		{spec.ReplySchema(openaiapi.TaskExplain, 0), `{"goal":null}`, "$.goal: null, want a string"},
	} {
		err := c.schema.Validate([]byte(c.reply))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.reply, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %s", c.reply, err, c.err)
		}
	}
}

// The schema a generate query's reply follows, as response_format sends it.
func ExampleSpec_Format() {
	s := openaiapi.Spec{ObsDim: 2, Actions: dataset.DiscreteSpace(3)}
	b, _ := json.Marshal(s.Format(openaiapi.TaskGenerate, 8))
	fmt.Println(string(b))
	q := openaiapi.Query{Task: openaiapi.TaskGenerate, Goal: "go to cell 3", State: []float32{1, 3}, Steps: 8}
	fmt.Println(q.Line())
	// Output:
	// {"type":"json_schema","json_schema":{"name":"kalm_generate","strict":true,"schema":{"type":"object","properties":{"steps":{"type":"array","items":{"type":"object","properties":{"action":{"type":"array","items":{"type":"integer","minimum":0,"maximum":2},"minItems":1,"maxItems":1},"state":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2}},"required":["action","state"],"additionalProperties":false},"minItems":1,"maxItems":8}},"required":["steps"],"additionalProperties":false}}}
	// {"task":"generate","goal":"go to cell 3","state":[1,3],"steps":8}
}

// TestSchemaShape: the shape keeps types, properties and required keys and
// drops every bound.
func TestSchemaShape(t *testing.T) {
	full := spec.ReplySchema(openaiapi.TaskGenerate, 2)
	b, _ := json.Marshal(full.Shape())
	for _, bound := range []string{"minItems", "maxItems", "minimum", "maximum", "minLength"} {
		if strings.Contains(string(b), bound) {
			t.Errorf("the shape keeps %s: %s", bound, b)
		}
	}
	long := `{"steps":[{"action":[7],"state":[1,2,3]}]}`
	if err := full.Shape().Validate([]byte(long)); err != nil {
		t.Errorf("the shape refuses a reply of the right shape: %v", err)
	}
	if err := full.Validate([]byte(long)); err == nil {
		t.Errorf("the full schema accepts an out-of-range reply")
	}
	if err := full.Shape().Validate([]byte(`{"steps":[{"action":[7]}]}`)); err == nil {
		t.Errorf("the shape accepts a step without a state")
	}
}

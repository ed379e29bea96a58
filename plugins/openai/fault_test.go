package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
)

// secret is the API key of the fault tests; it must appear in no error.
const secret = "sk-kalm-test-5ecret-0f-the-fault-server"

// faulty is the project's own fault-injecting server on loopback: in front
// of the served tinylm, it answers each chat request by fault(n), n its
// 1-based count: "" passes the request on; "timeout" answers after the
// client has given up; "429" asks to retry after a second; "500"; "garbage"
// sends a body that is not JSON; "shape" passes the request on and cuts the
// reply's state or action short; "refuse" refuses the key, quoting it as
// OpenAI's API does.
type faulty struct {
	mu    sync.Mutex
	n     int
	at    []time.Time
	fault func(n int) string
	next  http.Handler
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+secret {
		http.Error(w, `{"error":{"message":"missing key","type":"invalid_request_error"}}`, http.StatusUnauthorized)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		f.next.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.n++
	n, fault := f.n, f.fault
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	switch fault(n) {
	case "timeout":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":{"message":"rate limit reached","type":"requests"}}`, http.StatusTooManyRequests)
	case "500":
		http.Error(w, `{"error":{"message":"the model crashed","type":"server_error"}}`, http.StatusInternalServerError)
	case "garbage":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "chatcmpl-1", "choices": [{"message": {"content": "{\"sta`)
	case "shape":
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		var resp openaiapi.ChatResponse
		json.Unmarshal(rec.Body.Bytes(), &resp)
		c := resp.Choices[0].Message.Content
		c = strings.Replace(c, `"state":[`, `"state":[7,`, 1)
		c = strings.Replace(c, `"action":[`, `"action":[99,`, 1)
		resp.Choices[0].Message.Content = c
		json.NewEncoder(w).Encode(resp)
	case "refuse":
		http.Error(w, `{"error":{"message":"Incorrect API key provided: `+secret+`. You can find your API key at https://example.invalid","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// set starts a new count of requests with fault.
func (f *faulty) set(fault func(n int) string) {
	f.mu.Lock()
	f.n, f.at, f.fault = 0, nil, fault
	f.mu.Unlock()
}

// seen returns the requests counted since set and when they came.
func (f *faulty) seen() (int, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, append([]time.Time(nil), f.at...)
}

// faultFixture grounds the backend through a fault-free server and returns
// the library and a server whose faults the test sets.
func faultFixture(t *testing.T) (*LM, string, *faulty) {
	t.Helper()
	s := serve(t, dataset.Discrete)
	f := &faulty{fault: func(int) string { return "" }, next: s.srv}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	t.Setenv("OPENAI_API_KEY", secret)
	t.Setenv("KALM_OPENAI_API_KEY", "")
	m := New()
	cfg := s.config(map[string]any{"base_url": hs.URL + "/v1", "timeout": 1.5, "retries": 2, "repairs": 1, "concurrency": 1})
	res, err := m.Ground(t.Context(), lm.GroundRequest{Datasets: []string{s.data}, Tasks: lm.Tasks, Config: cfg, Steps: 3,
		OutDir: filepath.Join(t.TempDir(), "library"), Seed: 1}, nil)
	if err != nil {
		t.Fatalf("Ground through the fault-free server: %v", err)
	}
	return m, res.Checkpoint, f
}

func predictOne(ctx context.Context, m *LM, ckpt string) error {
	_, err := m.Predict(ctx, lm.PredictRequest{Checkpoint: ckpt, Observations: []float32{1, 3}, Actions: []float32{2}})
	return err
}

// TestFaults checks each fault: a retry where one can help, otherwise a
// clear error naming the request, and never the key.
func TestFaults(t *testing.T) {
	m, ckpt, f := faultFixture(t)
	for _, c := range []struct {
		name   string
		fault  func(n int) string
		ok     bool
		calls  int      // chat requests the server saw
		errHas []string // substrings of the error
	}{
		{"timeout then ok", func(n int) string { return map[bool]string{true: "timeout"}[n == 1] }, true, 2, nil},
		{"timeouts", func(int) string { return "timeout" }, false, 3,
			[]string{"predict, transition 0 of 1", "/v1/chat/completions", "no reply within the timeout of 1.5s", "after 3 attempts"}},
		{"429 then ok", func(n int) string { return map[bool]string{true: "429"}[n == 1] }, true, 2, nil},
		{"500 then ok", func(n int) string { return map[bool]string{true: "500"}[n <= 2] }, true, 3, nil},
		{"500s", func(int) string { return "500" }, false, 3, []string{"predict, transition 0 of 1", "500 Internal Server Error", "after 3 attempts", "the model crashed"}},
		{"garbage then ok", func(n int) string { return map[bool]string{true: "garbage"}[n == 1] }, true, 2, nil},
		{"wrong shape then ok", func(n int) string { return map[bool]string{true: "shape"}[n == 1] }, true, 2, nil},
		{"wrong shapes", func(int) string { return "shape" }, false, 2,
			[]string{"predict, transition 0 of 1", "after 2 replies the last still breaks the env's spec", "$.state: 3 items, want 2"}},
		{"refused key", func(int) string { return "refuse" }, false, 1,
			[]string{"predict, transition 0 of 1", "401 Unauthorized", "refused the API key from $OPENAI_API_KEY", "Incorrect API key provided: [key]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set(c.fault)
			err := predictOne(t.Context(), m, ckpt)
			n, at := f.seen()
			if c.ok && err != nil {
				t.Fatalf("no recovery: %v", err)
			}
			if !c.ok && err == nil {
				t.Fatalf("no error")
			}
			if n != c.calls {
				t.Errorf("the server saw %d requests, want %d", n, c.calls)
			}
			if err != nil {
				t.Logf("error: %v", err)
				for _, s := range c.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("the error does not say %q: %v", s, err)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows the key: %v", err)
				}
			}
			if c.name == "429 then ok" && len(at) == 2 && at[1].Sub(at[0]) < 900*time.Millisecond {
				t.Errorf("retried %v after a 429 with Retry-After: 1", at[1].Sub(at[0]))
			}
		})
	}
}

// TestGenerateFailsCleanly: a server that fails mid-way leaves no dataset,
// complete or partial, where the imagine stage would look.
func TestGenerateFailsCleanly(t *testing.T) {
	m, ckpt, f := faultFixture(t)
	f.set(func(n int) string { return map[bool]string{true: "500"}[n > 3] })
	dir := t.TempDir()
	out := filepath.Join(dir, "imagined")
	var goals []dataset.Goal
	var obs []float32
	for k := range 6 {
		goals = append(goals, dataset.Goal{Text: lmtest.GoalText(k)})
		obs = append(obs, float32((k+2)%lmtest.Cells), float32(k))
	}
	_, err := m.Generate(t.Context(), lm.GenerateRequest{Checkpoint: ckpt, Goals: goals, Observations: obs, MaxSteps: 4, Out: out}, nil)
	if err == nil || !strings.Contains(err.Error(), "generate, goal 3 of 6") {
		t.Fatalf("Generate through a failing server: %v, want an error naming goal 3", err)
	}
	left, _ := os.ReadDir(dir)
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}

// TestKeyFromConfigRefused: a key in lm.config is refused without repeating it.
func TestKeyFromConfigRefused(t *testing.T) {
	_, err := ParseConfig(map[string]any{"base_url": "http://127.0.0.1:1/v1", "api_key": secret})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "environment") {
		t.Fatalf("ParseConfig with api_key: %v", err)
	}
	_, err = ParseConfig(map[string]any{"base_url": "http://127.0.0.1:1/v1", "temprature": 1})
	if err == nil || !strings.Contains(err.Error(), `unknown field "temprature"`) {
		t.Fatalf("ParseConfig with a typo: %v", err)
	}
}

// TestGroundRefusals: a model the server does not list, and a server that
// fails the held-out check, are errors naming them.
func TestGroundRefusals(t *testing.T) {
	s := serve(t, dataset.Discrete)
	fault := func(n int) string { return map[bool]string{true: "500"}[n >= 2] }
	f := &faulty{fault: fault, next: s.srv}
	hs := httptest.NewServer(f)
	defer hs.Close()
	t.Setenv("OPENAI_API_KEY", secret)
	t.Setenv("KALM_OPENAI_API_KEY", "")
	for _, c := range []struct {
		name string
		cfg  map[string]any
		has  []string
	}{
		{"unknown model", s.config(map[string]any{"base_url": hs.URL + "/v1", "model": "gpt-9"}), []string{`model "gpt-9" is not among the models`, "tinylm-walk"}},
		{"failing check", s.config(map[string]any{"base_url": hs.URL + "/v1", "retries": 1, "concurrency": 1}), []string{"ground check, step 2 (explain)", "500 Internal Server Error", "after 2 attempts"}},
		{"no server", s.config(map[string]any{"base_url": "http://127.0.0.1:1/v1", "retries": 0}), []string{"list models", "is the server running at http://127.0.0.1:1/v1?"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set(fault)
			_, err := New().Ground(t.Context(), lm.GroundRequest{Datasets: []string{s.data}, Tasks: lm.Tasks, Config: c.cfg, Steps: 4,
				OutDir: filepath.Join(t.TempDir(), "library"), Seed: 1}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, h := range c.has {
				if !strings.Contains(err.Error(), h) {
					t.Errorf("the error does not say %q: %v", h, err)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}

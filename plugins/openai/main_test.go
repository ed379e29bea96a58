package openai

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/plugins/tinylm"
	"github.com/kalm-go/kalm/registry"
)

// The test binary doubles as the plugin binary: run as `TEST plugin serve
// openai` it serves this backend, as kalm-plugin-openai does.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if os.Args[3] != "openai" {
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		lm.Serve(New(), lm.WithArgs(os.Args[4:]), lm.WithVersion("test"))
		os.Exit(0)
	}
	code := m.Run()
	for _, s := range servedBy {
		os.RemoveAll(filepath.Dir(s.data))
	}
	os.Exit(code)
}

// tiny is a tinylm small enough to ground on the suite's walk in a second.
var tiny = map[string]any{"dim": 32, "layers": 1, "heads": 2, "vocab": 80, "prior": "none", "warmup": 5, "lr": 0.003,
	"eval_every": 10, "batch": 8, "dyn_batch": 16}

// served is a tinylm grounded on the conformance suite's walk dataset of one
// action-space kind, served over the OpenAI API on loopback.
type served struct {
	data string // the walk dataset
	url  string // the API base, .../v1
	srv  *openaiapi.Server
}

var (
	servedMu sync.Mutex
	servedBy = map[dataset.Kind]*served{}
)

// serve grounds tinylm on the walk dataset of kind k (once per test
// binary) and serves it from a real HTTP server on 127.0.0.1 that lives as
// long as the test binary. wrap, when set, sees every request first.
func serve(t testing.TB, k dataset.Kind) *served {
	t.Helper()
	servedMu.Lock()
	defer servedMu.Unlock()
	if s, ok := servedBy[k]; ok {
		return s
	}
	dir, err := os.MkdirTemp("", "kalm-openai-test-")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "walk")
	if err := lmtest.WriteDataset(data, lmtest.SpaceOf(k), 36, 1, 0); err != nil {
		t.Fatal(err)
	}
	tl := tinylm.New()
	res, err := tl.Ground(t.Context(), lm.GroundRequest{Datasets: []string{data}, Tasks: lm.Tasks, Config: tiny, Steps: 30,
		OutDir: filepath.Join(dir, "tinylm"), Seed: 1}, nil)
	if err != nil {
		t.Fatalf("grounding tinylm: %v", err)
	}
	srv := openaiapi.NewServer(openaiapi.ServerConfig{LM: tl, Checkpoint: res.Checkpoint, Model: "tinylm-walk"})
	hs := httptest.NewServer(srv)
	s := &served{data: data, url: hs.URL + "/v1", srv: srv}
	servedBy[k] = s
	return s
}

// config is the backend's config for a served model: fast retries.
func (s *served) config(extra map[string]any) map[string]any {
	c := map[string]any{"base_url": s.url, "model": "tinylm-walk", "backoff": 0.01, "timeout": 20, "check": 6, "shots": 2}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// TestConformance runs the lm conformance suite over the backend in this
// process, against tinylm served on loopback, for each action-space kind.
func TestConformance(t *testing.T) {
	for _, k := range []dataset.Kind{dataset.Discrete, dataset.Continuous} {
		s := serve(t, k)
		lmtest.Suite{New: func(testing.TB) lm.LM { return New() }, Config: s.config(nil), Steps: 12,
			Spaces: []dataset.Kind{k}}.Run(t)
	}
}

// TestConformanceSubprocess runs the suite through a real plugin process.
func TestConformanceSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin subprocess")
	}
	reg := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: []string{"openai"}, StartTimeout: 20 * time.Second})
	defer reg.Close()
	newLM := lmtest.Once(func() (lm.LM, error) {
		in, err := reg.Launch(t.Context(), "openai", plugin.LM)
		if err != nil {
			return nil, err
		}
		return in.LM()
	})
	for _, k := range []dataset.Kind{dataset.Discrete, dataset.Continuous} {
		lmtest.Suite{Config: serve(t, k).config(nil), Steps: 12, Spaces: []dataset.Kind{k}, New: newLM}.Run(t)
	}
}

package tinylm

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// The test binary doubles as the plugin binary: run as `TEST plugin serve
// tinylm` it serves tinylm, as kalm-plugin-tinylm does.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if os.Args[3] != "tinylm" {
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		lm.Serve(New(), lm.WithArgs(os.Args[4:]), lm.WithVersion("test"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// small is a model small enough for the conformance suite's toy domain.
var small = map[string]any{"dim": 32, "layers": 1, "heads": 2, "vocab": 80, "prior": "none", "warmup": 5, "lr": 0.003,
	"eval_every": 10, "batch": 8, "dyn_batch": 16}

// TestConformance runs the suite on the small model, and on it with the
// slot head reading the last change (state_history), whose Predict reads
// previous observations.
func TestConformance(t *testing.T) {
	history := map[string]any{"state_slots": 2, "state_history": true}
	for k, v := range small {
		history[k] = v
	}
	for _, c := range []struct {
		name   string
		config map[string]any
	}{{"small", small}, {"state_history", history}} {
		t.Run(c.name, func(t *testing.T) {
			lmtest.Suite{New: func(testing.TB) lm.LM { return New() }, Config: c.config, Steps: 30}.Run(t)
		})
	}
}

// TestConformanceSubprocess runs the suite through a real plugin process.
func TestConformanceSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin subprocess")
	}
	reg := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: []string{"tinylm"}, StartTimeout: 20 * time.Second})
	defer reg.Close()
	lmtest.Suite{Config: small, Steps: 30, New: lmtest.Once(func() (lm.LM, error) {
		in, err := reg.Launch(t.Context(), "tinylm", plugin.LM)
		if err != nil {
			return nil, err
		}
		return in.LM()
	})}.Run(t)
}

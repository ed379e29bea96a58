package clevr

import (
	"context"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
)

func newEnv(tb testing.TB, config map[string]string) *Env {
	tb.Helper()
	e, err := New(DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	if config != nil {
		if _, err := e.Configure(context.Background(), env.ConfigureRequest{Config: config}); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

func TestConformance(t *testing.T) {
	for name, config := range map[string]map[string]string{
		"kalm":      nil,
		"kinematic": {"model": "kinematic"},
		"original":  {"preset": "original", "horizon": "30"},
	} {
		t.Run(name, func(t *testing.T) {
			envtest.Run(t, func(tb testing.TB) env.Env { return newEnv(tb, config) })
		})
	}
}

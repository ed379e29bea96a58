package envtest_test

import (
	"testing"

	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/env/envtest"
)

// newMyEnv stands for a plugin's constructor.
func newMyEnv() env.Env { return nil }

// A plugin checks its env with one call in a test:
//
//	func TestConformance(t *testing.T) {
//		envtest.Run(t, func(testing.TB) env.Env { return mygrid.New() })
//	}
//
// The factory may also configure the env, or launch the plugin binary and
// return its client, so the same suite checks the env across the process
// boundary.
func Example() {
	conformance := func(t *testing.T) {
		envtest.Run(t, func(tb testing.TB) env.Env {
			e := newMyEnv()
			if c, ok := e.(env.Configurer); ok {
				if _, err := c.Configure(tb.Context(), env.ConfigureRequest{Config: map[string]string{"horizon": "20"}}); err != nil {
					tb.Fatal(err)
				}
			}
			return e
		})
	}
	_ = conformance
}

// Suite tunes the run: smaller batches, more episodes, another seed.
func ExampleSuite() {
	conformance := func(t *testing.T) {
		envtest.Suite{
			New:      func(testing.TB) env.Env { return newMyEnv() },
			Batches:  []int{1, 16},
			Episodes: 12,
			Seed:     42,
		}.Run(t)
	}
	_ = conformance
}

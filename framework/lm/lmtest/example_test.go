package lmtest_test

import (
	"testing"

	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/lmtest"
)

// newMyLM stands for a plugin's constructor.
func newMyLM() lm.LM { return nil }

// A plugin checks its backend with one call in a test:
//
//	func TestConformance(t *testing.T) {
//		lmtest.Run(t, func(testing.TB) lm.LM { return mylm.New() })
//	}
func Example() {
	conformance := func(t *testing.T) {
		lmtest.Run(t, func(testing.TB) lm.LM { return newMyLM() })
	}
	_ = conformance
}

// Suite keeps grounding tiny with a small model and few steps.
func ExampleSuite() {
	conformance := func(t *testing.T) {
		lmtest.Suite{
			New:    func(testing.TB) lm.LM { return newMyLM() },
			Config: map[string]any{"d": 16, "layers": 1},
			Steps:  30,
		}.Run(t)
	}
	_ = conformance
}

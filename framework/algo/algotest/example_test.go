package algotest_test

import (
	"testing"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/algo/algotest"
)

// newMyAlgo stands for a plugin's constructor.
func newMyAlgo() algo.Algo { return nil }

// A plugin checks its algorithm with one call in a test:
//
//	func TestConformance(t *testing.T) {
//		algotest.Run(t, func(testing.TB) algo.Algo { return myalgo.New() })
//	}
func Example() {
	conformance := func(t *testing.T) {
		algotest.Run(t, func(testing.TB) algo.Algo { return newMyAlgo() })
	}
	_ = conformance
}

// Suite keeps training tiny with small networks and few steps.
func ExampleSuite() {
	conformance := func(t *testing.T) {
		algotest.Suite{
			New:   func(testing.TB) algo.Algo { return newMyAlgo() },
			Hyper: map[string]any{"hidden": 16, "layers": 1},
			Steps: 30,
			Batch: 32,
		}.Run(t)
	}
	_ = conformance
}

package lmtest

import (
	"testing"

	"github.com/kalm-go/kalm/framework/internal/suite"
)

// tester is the suite's test handle: *testing.T in real use, a recorder
// when the suite checks itself.
type tester = suite.Tester

type realT = suite.T

func newRecorder(parent testing.TB) (*suite.Recorder, *suite.Report) {
	return suite.NewRecorder(parent)
}

package algotest

import (
	"strings"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/algo"
)

func TestMean(t *testing.T) {
	Run(t, func(testing.TB) algo.Algo { return newMean(bugs{}) })
}

// TestMeanRecorded runs the suite over the correct algorithm through the
// recorder, so the recorder itself is known to pass a good algorithm.
func TestMeanRecorded(t *testing.T) {
	rec, rep := newRecorder(t)
	Suite{New: func(testing.TB) algo.Algo { return newMean(bugs{}) }}.run(rec)
	if rec.Failed() {
		for name, msgs := range rep.Failures() {
			t.Errorf("%s: %s", name, strings.Join(msgs, "; "))
		}
	}
	if len(rep.Ran()) < 20 {
		t.Errorf("ran %d checks, want ≥ 20: %v", len(rep.Ran()), rep.Ran())
	}
}

// TestBrokenAlgosFail checks that each broken algorithm fails the check
// meant to catch it.
func TestBrokenAlgosFail(t *testing.T) {
	tests := []struct {
		name string
		bugs bugs
		fail []string
	}{
		{"AcceptUnknownHyper", bugs{acceptUnknownHyper: true}, []string{"Hyper/Unknown"}},
		{"BadDefault", bugs{badDefault: true}, []string{"Schema"}},
		{"NoCheckpointFile", bugs{noCheckpointFile: true}, []string{"discrete/Train", "continuous/Train"}},
		{"IgnoreCancel", bugs{ignoreCancel: true}, []string{"discrete/Cancel"}},
		{"ActShort", bugs{actShort: true}, []string{"discrete/Act", "continuous/Act"}},
		{"ActNil", bugs{actNil: true}, []string{"discrete/Act", "continuous/Act"}},
		{"ActOutOfRange", bugs{actOutOfRange: true}, []string{"discrete/Act"}},
		{"NoisyDeterministic", bugs{noisyDeterministic: true}, []string{"continuous/ActDeterministic"}},
		{"UnseededSampling", bugs{unseededSampling: true}, []string{"continuous/ActSeeded"}},
		{"LoadAcceptsMissing", bugs{loadAcceptsMissing: true}, []string{"discrete/BadInput"}},
		{"ActNoGoalCheck", bugs{actNoGoalCheck: true}, []string{"discrete/BadInput/GoalsWrongLength"}},
		{"NoProgress", bugs{noProgress: true}, []string{"discrete/Train"}},
		{"TrainUnseeded", bugs{trainUnseeded: true}, []string{"continuous/Seeded"}},
		{"MixIgnoresDims", bugs{mixIgnoresDims: true}, []string{"discrete/Mixed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, rep := newRecorder(t)
			Suite{New: func(testing.TB) algo.Algo { return newMean(tt.bugs) }, StopWithin: 300 * time.Millisecond}.run(rec)
			for _, name := range tt.fail {
				if !rep.Failed(name) {
					t.Errorf("check %s passed a broken algorithm; failures: %v", name, keys(rep.Failures()))
				}
			}
		})
	}
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

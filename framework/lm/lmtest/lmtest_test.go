package lmtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/registry"
)

// The test binary doubles as a plugin binary: run as `TEST plugin serve
// memo` it serves the memorising backend, as a kalm-plugin-NAME would.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if os.Args[3] != "memo" {
			fmt.Fprintf(os.Stderr, "no test plugin %q\n", os.Args[3])
			os.Exit(2)
		}
		lm.Serve(&memo{}, lm.WithArgs(os.Args[4:]), lm.WithVersion("test"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMemo(t *testing.T) {
	Run(t, func(testing.TB) lm.LM { return &memo{} })
}

// TestMemoSubprocess runs the suite through a real plugin subprocess, the
// registry and gRPC, the judged Generate stream included.
func TestMemoSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a plugin subprocess")
	}
	reg := registry.New(registry.Config{Self: []string{os.Args[0]}, Builtins: []string{"memo"}, StartTimeout: 20 * time.Second})
	defer reg.Close()
	Run(t, Once(func() (lm.LM, error) {
		in, err := reg.Launch(t.Context(), "memo", plugin.LM)
		if err != nil {
			return nil, err
		}
		return in.LM()
	}))
}

// TestMemoRecorded runs the suite over the correct backend through the
// recorder, so the recorder itself is known to pass a good backend.
func TestMemoRecorded(t *testing.T) {
	rec, rep := newRecorder(t)
	Suite{New: func(testing.TB) lm.LM { return &memo{} }}.run(rec)
	if rec.Failed() {
		for name, msgs := range rep.Failures() {
			t.Errorf("%s: %s", name, strings.Join(msgs, "; "))
		}
	}
	if len(rep.Ran()) < 50 {
		t.Errorf("ran %d checks, want ≥ 50: %v", len(rep.Ran()), rep.Ran())
	}
}

// TestBrokenBackendsFail checks that each broken backend fails the check
// meant to catch it.
func TestBrokenBackendsFail(t *testing.T) {
	tests := []struct {
		name string
		bugs bugs
		fail []string
	}{
		{"NoProgressCheckpoint", bugs{noProgressCheckpoint: true}, []string{"discrete/Ground", "discrete/Resume"}},
		{"CheckpointOutside", bugs{checkpointOutside: true}, []string{"discrete/Ground"}},
		{"ResumeRestarts", bugs{resumeRestarts: true}, []string{"discrete/Resume"}},
		{"IgnoreJudge", bugs{ignoreJudge: true}, []string{"discrete/GenerateJudged"}},
		{"Overrun", bugs{overrun: true}, []string{"discrete/Generate/temperature=0", "discrete/Generate/temperature=1"}},
		{"WrongStart", bugs{wrongStart: true}, []string{"discrete/Generate/temperature=0", "discrete/GenerateJudged"}},
		{"Unseeded", bugs{unseeded: true}, []string{"discrete/GenerateSeeded/temperature=1", "continuous/GenerateSeeded/temperature=1"}},
		{"ExplainEmpty", bugs{explainEmpty: true}, []string{"discrete/Explain"}},
		{"PredictShort", bugs{predictShort: true}, []string{"discrete/Predict"}},
		{"PreviousNilZero", bugs{previousNilZero: true}, []string{"discrete/Predict", "continuous/Predict"}},
		{"EncodeUnstable", bugs{encodeUnstable: true}, []string{"discrete/Encode", "discrete/Resume"}},
		{"ActOutOfRange", bugs{actOutOfRange: true}, []string{"discrete/Act/NoHistory", "discrete/Act/History", "continuous/Act/NoHistory"}},
		{"AcceptEmptyDataset", bugs{acceptEmptyDataset: true}, []string{"discrete/BadInput/Ground/EmptyDataset"}},
		{"PanicOnGarbage", bugs{panicOnGarbage: true}, []string{"discrete/BadInput/GarbageCheckpoint", "discrete/BadInput/Ground/ResumeGarbage"}},
		{"AcceptEmptyGoal", bugs{acceptEmptyGoal: true}, []string{"discrete/BadInput/EmptyGoalText"}},
		{"WrongObsDim", bugs{wrongObsDim: true}, []string{"discrete/Generate/temperature=0", "discrete/GenerateJudged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, rep := newRecorder(t)
			Suite{New: func(testing.TB) lm.LM { return &memo{bugs: tt.bugs} }}.run(rec)
			for _, name := range tt.fail {
				if !rep.Failed(name) {
					t.Errorf("check %s passed a broken backend; failures: %v", name, keys(rep.Failures()))
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

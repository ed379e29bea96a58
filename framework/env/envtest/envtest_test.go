package envtest

import (
	"context"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
)

func TestLine(t *testing.T) {
	Run(t, func(testing.TB) env.Env { return &line{} })
}

// TestLineRecorded runs the suite over the correct env through the
// recorder, so the recorder itself is known to pass a good env.
func TestLineRecorded(t *testing.T) {
	rec, rep := newRecorder(t)
	Suite{New: func(testing.TB) env.Env { return &line{} }}.run(rec)
	if rec.Failed() {
		for name, msgs := range rep.Failures() {
			t.Errorf("%s: %s", name, strings.Join(msgs, "; "))
		}
	}
	if len(rep.Ran()) < 30 {
		t.Errorf("ran %d checks, want ≥ 30: %v", len(rep.Ran()), rep.Ran())
	}
}

// TestBrokenEnvsFail checks that each broken env fails the check meant to
// catch it.
func TestBrokenEnvsFail(t *testing.T) {
	tests := []struct {
		name string
		bugs bugs
		fail []string // checks that must fail
	}{
		{"GoalsIgnoreSeed", bugs{goalsIgnoreSeed: true}, []string{"Goals/near", "Goals/far"}},
		{"AcceptBadActions", bugs{acceptBadActions: true}, []string{
			"BadInput/Step/Empty", "BadInput/Step/TooFew", "BadInput/Step/TooMany", "BadInput/Step/NaN",
			"BadInput/Step/IndexTooLarge", "BadInput/Step/NegativeIndex", "BadInput/Step/FractionalIndex"}},
		{"NoTimeout", bugs{noTimeout: true}, []string{"Episodes"}},
		{"JudgeShifted", bugs{judgeShifted: true}, []string{"Judge/expert"}},
		{"Nondeterministic", bugs{nondeterministic: true}, []string{"Deterministic"}},
		{"DoneKeepsMoving", bugs{doneKeepsMoving: true}, []string{"Episodes"}},
		{"BehaveOutOfSpace", bugs{behaveOutOfSpace: true}, []string{"Behave/expert", "Judge/expert", "Collect"}},
		{"BadPNG", bugs{badPNG: true}, []string{"Render/width=0", "Render/width=96"}},
		{"GoalsNil", bugs{goalsNil: true}, []string{"Goals/near", "Goals/far"}},
		{"WrongGoalDim", bugs{wrongGoalDim: true}, []string{"Goals/near", "Collect"}},
		{"IgnoreInitObs", bugs{ignoreInitObs: true}, []string{"ResetObservations", "BadInput/Reset/ObservationsWrongLength"}},
		{"PlausibilityAbove", bugs{plausibilityAbove: true}, []string{"Plausibility/random"}},
		{"ShareUnnamed", bugs{shareUnnamed: true}, []string{"Plausibility/expert", "Plausibility/random"}},
		{"ShareNamesVary", bugs{shareNamesVary: true}, []string{"Plausibility"}},
		{"NoPolicies", bugs{noPolicies: true}, []string{"Spec", "Behave", "Judge"}},
		{"Miscounts", bugs{collectMiscounts: true}, []string{"Goals", "ResetStep/batch=7", "Collect"}},
		{"BehaveIgnoresSeed", bugs{behaveIgnoresSeed: true}, []string{"Behave/random"}},
		{"ConfigAcceptsAll", bugs{configAcceptsAll: true}, []string{"Configure"}},
		{"BatchReversed", bugs{batchReversed: true}, []string{"JudgeBatch/Mixed"}},
		{"BatchFirstGoal", bugs{batchFirstGoal: true}, []string{"JudgeBatch/Mixed"}},
		{"BatchUnindexed", bugs{batchUnindexed: true}, []string{"JudgeBatch/Malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, rep := newRecorder(t)
			Suite{New: func(testing.TB) env.Env { return &line{bugs: tt.bugs} }}.run(rec)
			for _, name := range tt.fail {
				if !rep.Failed(name) {
					t.Errorf("check %s passed a broken env; failures: %v", name, keys(rep.Failures()))
				}
			}
		})
	}
}

// bare is the line env without its optional capabilities (Configure,
// Render, Plausibility): only Env's methods.
type bare struct{ env.Env }

// TestWithoutCapabilities checks that an env lacking render and plausibility
// passes, their checks skipped rather than failed.
func TestWithoutCapabilities(t *testing.T) {
	e := bare{&line{}}
	if _, ok := env.Env(e).(env.Renderer); ok {
		t.Fatal("bare still renders")
	}
	if _, ok := env.Env(e).(env.BatchJudger); ok {
		t.Fatal("bare still judges batches itself")
	}
	rec, rep := newRecorder(t)
	Suite{New: func(testing.TB) env.Env { return e }}.run(rec)
	if rec.Failed() {
		t.Errorf("an env without optional capabilities failed: %v", rep.Failures())
	}
	for _, name := range []string{"Plausibility", "Render", "BadInput/Plausibility/WrongLength", "BadInput/Render/WrongLength"} {
		if !rep.Skipped(name) {
			t.Errorf("check %s was not skipped for an env without the capability", name)
		}
	}
	if rep.Skipped("Judge") || rep.Skipped("JudgeBatch/Mixed") || rep.Skipped("JudgeBatch/Malformed") || rep.Skipped("BadInput/Judge/ObservationsWrongLength") {
		t.Errorf("a mandatory check was skipped")
	}
}

func TestPanickingEnvFails(t *testing.T) {
	rec, rep := newRecorder(t)
	Suite{New: func(testing.TB) env.Env { return panicky{&line{}} }}.run(rec)
	for _, name := range []string{"ResetStep/batch=1", "Deterministic", "Episodes", "Judge"} {
		if !rep.Failed(name) {
			t.Errorf("check %s passed an env whose Step panics", name)
		}
	}
	msgs := strings.Join(rep.Messages("ResetStep/batch=1"), " ")
	if !strings.Contains(msgs, "panicked") {
		t.Errorf("failure does not say the env panicked: %q", msgs)
	}
}

// panicky is an env whose Step panics.
type panicky struct{ *line }

func (panicky) Step(context.Context, env.StepRequest) (*env.StepResponse, error) {
	panic("boom")
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

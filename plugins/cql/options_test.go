package cql

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
)

func newContinuousFor(t *testing.T, hyper map[string]any) (*Continuous, error) {
	t.Helper()
	h, err := offline.Resolve(Factory.Schema(), hyper)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(offline.Spec{InDim: 3, Space: dataset.BoxSpace(2, -1, 1)}, h, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return nil, err
	}
	return l.(*Continuous), nil
}

// TestContinuousOptionsRejected: bad values of the continuous options stop
// with an error naming the parameter, the value and what is allowed.
func TestContinuousOptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		hyper map[string]any
		want  []string
	}{
		{map[string]any{"alpha_prime_lr": -1e-4}, []string{"alpha_prime_lr", "-0.0001", "≥ 0"}},
		{map[string]any{"n_actions": 0}, []string{"n_actions", "0", "≥ 1"}},
		{map[string]any{"temperature": 0.0}, []string{"temperature", "0", "> 0"}},
		{map[string]any{"initial_temperature": 0.0}, []string{"initial_temperature", "0", "> 0"}},
		{map[string]any{"bc_steps": -1}, []string{"bc_steps", "-1", "≥ 0"}},
		{map[string]any{"bc_weight": -0.5}, []string{"bc_weight", "-0.5", "≥ 0"}},
		{map[string]any{"deterministic_backup": true, "max_target_backup": true}, []string{"deterministic_backup", "max_target_backup", "at most one"}},
		{map[string]any{"deterministic_backup": true, "backup_entropy": true}, []string{"deterministic_backup", "backup_entropy", "at most one"}},
	} {
		_, err := newContinuousFor(t, tc.hyper)
		if err == nil {
			t.Errorf("%v: no error", tc.hyper)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", tc.hyper, err, w)
			}
		}
	}
}

// TestLagrangeState: with lagrange, log α' (init 1, as CORL) and its Adam
// moments are state, its step count a counter and α' a metric; without, none
// of them exist (checkpoints of the default configuration are unchanged).
// alpha_prime_lr defaults to critic_lr.
func TestLagrangeState(t *testing.T) {
	for _, tc := range []struct {
		hyper  map[string]any
		on     bool
		wantLR float64
	}{
		{nil, false, 0},
		{map[string]any{"lagrange": true, "critic_lr": 7e-4}, true, 7e-4},
		{map[string]any{"lagrange": true, "alpha_prime_lr": 2e-3}, true, 2e-3},
	} {
		l, err := newContinuousFor(t, tc.hyper)
		if err != nil {
			t.Fatal(err)
		}
		names := func(ps []*nn.Param) []string {
			var s []string
			for _, p := range ps {
				s = append(s, p.Name)
			}
			return s
		}(l.State())
		for _, n := range []string{"log_alpha_prime", "log_alpha_prime.exp_avg", "log_alpha_prime.exp_avg_sq"} {
			if slices.Contains(names, n) != tc.on {
				t.Errorf("%v: state has %s = %v, want %v", tc.hyper, n, !tc.on, tc.on)
			}
		}
		if got := slices.Contains(l.MetricNames(), "alpha_prime"); got != tc.on {
			t.Errorf("%v: alpha_prime metric %v, want %v", tc.hyper, got, tc.on)
		}
		wantCounters := 3
		if tc.on {
			wantCounters = 4
			if l.LogAlphaPrime.Value[0] != 1 || l.APOpt.LR != tc.wantLR {
				t.Errorf("%v: log α' %v lr %v, want 1 and %v", tc.hyper, l.LogAlphaPrime.Value[0], l.APOpt.LR, tc.wantLR)
			}
		}
		if n := len(l.Counters()); n != wantCounters {
			t.Errorf("%v: %d counters, want %d", tc.hyper, n, wantCounters)
		}
		b := offline.NewBatch(4, 3, 2)
		for i := range b.Obs {
			b.Obs[i], b.NextObs[i] = float32(i%5)/5, float32(i%3)/3
		}
		for i := range b.Act {
			b.Act[i] = float32(i%4)/2 - 0.75
		}
		if m := l.Update(b); len(m) != len(l.MetricNames()) {
			t.Fatalf("%d metrics for %d names", len(m), len(l.MetricNames()))
		} else if tc.on && m[len(m)-1] != float64(float32(2.718281828459045)) {
			t.Errorf("first-step alpha_prime %v, want e", m[len(m)-1])
		}
	}
}

package experiments

import (
	"slices"
	"strings"
	"testing"
)

func TestExecutorSection(t *testing.T) {
	base, err := Open("quick", Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open("quick", Options{Set: []string{"executor.kind=slurm", "executor.slurm.default.mem=4G", "executor.slurm.train.cpus=8",
		"executor.slurm.train.extra=[--qos=low]"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Hash != base.Hash {
		t.Errorf("the executor changed the experiment's hash: %s, was %s", e.Hash, base.Hash)
	}
	r := e.Spec.Executor.Slurm.Resources(Train)
	if r.CPUs != 8 || r.Mem != "4G" || !slices.Equal(r.Extra, []string{"--qos=low"}) || e.Spec.Executor.Slurm.Retries != 2 {
		t.Errorf("train resources %+v, retries %d", r, e.Spec.Executor.Slurm.Retries)
	}
	if r := e.Spec.Executor.Slurm.Resources(Collect); r.CPUs != 0 || r.Mem != "4G" {
		t.Errorf("collect resources %+v", r)
	}
	for _, tc := range []struct{ set, want string }{
		{"executor.kind=pbs", `executor.kind: "pbs" is not an executor`},
		{"executor.slurm.retries=-1", "executor.slurm.retries: -1 is out of range"},
		{"executor.slurm.train.cpus=-2", "executor.slurm.train.cpus: -2 is out of range"},
		{"executor.slurm.default.extra=[qos]", "executor.slurm.default.extra[0]"},
		{"executor.slurm.trian.cpus=2", "did you mean"},
	} {
		if _, err := Open("quick", Options{Set: []string{tc.set}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: got %v, want %q", tc.set, err, tc.want)
		}
	}
}

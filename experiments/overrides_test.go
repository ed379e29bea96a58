package experiments

import (
	"slices"
	"testing"
)

// TestOverrides checks that an experiment keeps the KALM_* variables and
// --set flags that set something, and that OverrideOptions gives them back:
// parsed again with them, the file resolves to the same run id.
func TestOverrides(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"none", Options{Environ: []string{"HOME=/root", "KALM_WORKDIR=/tmp/w"}}, nil},
		{"set", Options{Set: []string{"seeds=3", "train.steps=50"}}, []string{"--set seeds=3", "--set train.steps=50"}},
		{"env and set", Options{Environ: []string{"KALM_TRAIN__STEPS=40", "KALM_DATASET__EPISODES=30", "KALM_WORKDIR=w"}, Set: []string{"seeds=2"}},
			[]string{"KALM_DATASET__EPISODES=30", "KALM_TRAIN__STEPS=40", "--set seeds=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Open("quick", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.Overrides, tc.want) {
				t.Fatalf("Overrides = %q, want %q", e.Overrides, tc.want)
			}
			again, err := Parse(e.Source, e.Given, OverrideOptions(e.Overrides))
			if err != nil {
				t.Fatal(err)
			}
			if again.Hash != e.Hash {
				t.Errorf("parsed again with its overrides: run %s, want %s", again.Hash, e.Hash)
			}
		})
	}
}

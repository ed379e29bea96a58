package results

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFindExperiment records three runs, two of one experiment with other
// --set flags, and finds each by name, id and id prefix.
func TestFindExperiment(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, e := range []Experiment{
		{ID: "aaaa1111", Name: "quick", Overrides: []string{"--set seeds=3"}},
		{ID: "aaaa2222", Name: "quick", Overrides: []string{"KALM_TRAIN__STEPS=100", "--set seeds=5"}},
		{ID: "bbbb3333", Name: "other"},
	} {
		e.Source, e.Config = "q.yaml", "{}"
		if err := s.PutExperiment(ctx, e, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ref, id string
		over    []string
		err     string
	}{
		{"", "bbbb3333", nil, ""},
		{"quick", "aaaa2222", []string{"KALM_TRAIN__STEPS=100", "--set seeds=5"}, ""}, // the latest of the name
		{"aaaa1111", "aaaa1111", []string{"--set seeds=3"}, ""},
		{"aaaa1", "aaaa1111", []string{"--set seeds=3"}, ""},
		{"bbbb", "bbbb3333", nil, ""},
		{"aaaa", "", nil, `2 runs have ids starting "aaaa"`},
		{"aaa", "", nil, `no run named "aaa"`}, // too short a prefix
		{"quikc", "", nil, `did you mean "quick"?`},
	} {
		e, err := s.FindExperiment(ctx, tc.ref)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FindExperiment(%q) = %s, %v; want error %q", tc.ref, e.ID, err, tc.err)
			}
			continue
		}
		if err != nil || e.ID != tc.id || !slices.Equal(e.Overrides, tc.over) {
			t.Errorf("FindExperiment(%q) = %s %q, %v; want %s %q", tc.ref, e.ID, e.Overrides, err, tc.id, tc.over)
		}
	}
	runs, err := s.RunsNamed(ctx, "quick")
	if err != nil || len(runs) != 2 || runs[0].ID != "aaaa2222" || !slices.Equal(runs[1].Overrides, []string{"--set seeds=3"}) {
		t.Errorf("RunsNamed(quick) = %+v, %v", runs, err)
	}
}

// TestBindWorkDir: a database serves the work directory it was first used
// with; another is refused while that one exists, and takes over once it
// is gone.
func TestBindWorkDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range []struct {
		dir    string
		remove string // removed before the call
		err    bool
	}{
		{dir: a},
		{dir: a},
		{dir: b, err: true},
		{dir: b, remove: a},
		{dir: b},
	} {
		if tc.remove != "" {
			os.RemoveAll(tc.remove)
		}
		err := s.BindWorkDir(ctx, tc.dir)
		if tc.err != errors.Is(err, ErrOtherWorkDir) || tc.err != (err != nil) {
			t.Errorf("%d: BindWorkDir(%s) = %v, want error %v", i, filepath.Base(tc.dir), err, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "-workdir "+a) {
			t.Errorf("%d: the error does not say which work directory to use: %v", i, err)
		}
	}
}

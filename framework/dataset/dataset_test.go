package dataset

import (
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testMeta() Meta {
	return Meta{Env: "test", Source: Real, ObsDim: 2, GoalDim: 3, ActionSpace: DiscreteSpace(4)}
}

func testEpisode(t int, seed float32) *Episode {
	e := &Episode{Goal: Goal{Level: "train", Params: map[string]string{"k": "v"}, Text: "do it", Vector: []float32{1, 0, seed}}}
	for i := range t + 1 {
		e.Observations = append(e.Observations, seed+float32(i), float32(-i))
	}
	for i := range t {
		e.Actions = append(e.Actions, float32(i%4))
		e.Rewards = append(e.Rewards, float32(i)/10)
		e.Terminals = append(e.Terminals, i == t-1)
		e.Timeouts = append(e.Timeouts, false)
	}
	e.Success = true
	return e
}

func writeTest(t *testing.T, dir string, eps ...*Episode) {
	t.Helper()
	w, err := Create(dir, testMeta())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	eps := []*Episode{testEpisode(3, 0), testEpisode(1, 5), testEpisode(5, 9)}
	writeTest(t, dir, eps...)

	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if m := r.Meta(); m.Episodes != 3 || m.Steps != 9 || m.Version != Version {
		t.Fatalf("meta = %+v", m)
	}
	for i := 0; ; i++ {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			if i != 3 {
				t.Fatalf("got %d episodes, want 3", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := eps[i]
		if e.Len() != want.Len() || e.Goal.Text != want.Goal.Text || e.Goal.Params["k"] != "v" ||
			!equal(e.Observations, want.Observations) || !equal(e.Actions, want.Actions) ||
			!equal(e.Goal.Vector, want.Goal.Vector) || e.Terminals[e.Len()-1] != true {
			t.Fatalf("episode %d differs: %+v", i, e)
		}
	}

	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 9 || len(d.Obs) != 12*2 || d.ObsRow[3] != 4 || d.Episode[3] != 1 {
		t.Fatalf("data: len %d, obs %d, row %v, ep %v", d.Len(), len(d.Obs), d.ObsRow, d.Episode)
	}
	// Transition 3 is episode 1's first: obs (5, 0), next (6, -1).
	if r := d.ObsRow[3]; d.Obs[2*r] != 5 || d.Obs[2*(r+1)] != 6 {
		t.Fatalf("obs rows wrong: %v", d.Obs)
	}
}

func TestWriteRejects(t *testing.T) {
	nan := testEpisode(2, 0)
	nan.Observations[1] = float32(math.NaN())
	badAction := testEpisode(2, 0)
	badAction.Actions[0] = 4
	fracAction := testEpisode(2, 0)
	fracAction.Actions[0] = 1.5
	shortObs := testEpisode(2, 0)
	shortObs.Observations = shortObs.Observations[:4]
	noGoal := testEpisode(2, 0)
	noGoal.Goal.Vector = nil
	for _, tc := range []struct {
		name string
		e    *Episode
		want string
	}{
		{"nan", nan, "observation value 1 is NaN"},
		{"action out of range", badAction, "not an action index in 0..3"},
		{"fractional action", fracAction, "not an action index"},
		{"short obs", shortObs, "want (T+1)·obs_dim = 6"},
		{"goal dim", noGoal, "want goal_dim = 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Create(filepath.Join(t.TempDir(), "ds"), testMeta())
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			err = w.Write(tc.e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		want   string
	}{
		{"truncated obs", func(dir string) error { return os.Truncate(filepath.Join(dir, obsFile), 10) }, "truncated or foreign"},
		{"no meta", func(dir string) error { return os.Remove(filepath.Join(dir, metaFile)) }, "not a kalm dataset"},
		{"foreign meta", func(dir string) error { return os.WriteFile(filepath.Join(dir, metaFile), []byte("PK\x03\x04"), 0o644) }, "meta.json"},
		{"newer version", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, metaFile), []byte(`{"version": 99, "obs_dim": 2, "action_space": {"kind": "discrete", "n": 4, "dim": 1}}`), 0o644)
		}, "format version 99"},
		{"bad terminal byte", func(dir string) error { return os.WriteFile(filepath.Join(dir, terminalsFile), []byte{0, 0, 7}, 0o644) }, "want 0 or 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ds")
			writeTest(t, dir, testEpisode(3, 0))
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCreateIsAtomic(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "ds")
	w, err := Create(dir, testMeta())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testEpisode(2, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dataset visible before Close: %v", err)
	}
	w.Abort()
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Fatalf("Abort left %v", left)
	}
	if _, err := Create(base, testMeta()); err == nil {
		t.Fatal("Create over an existing directory succeeded")
	}
}

// TestNumpy checks the five-line numpy recipe of the package documentation.
func TestNumpy(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import numpy").Run() != nil {
		if py, err = exec.LookPath("/usr/bin/python3"); err != nil || exec.Command(py, "-c", "import numpy").Run() != nil {
			t.Skip("python3 with numpy is not installed")
		}
	}
	dir := filepath.Join(t.TempDir(), "ds")
	writeTest(t, dir, testEpisode(3, 0), testEpisode(2, 7))
	script := `import json, sys, numpy as np
d = sys.argv[1]
meta = json.load(open(d + "/meta.json"))
obs = np.fromfile(d + "/obs.f32", "<f4").reshape(-1, meta["obs_dim"])
act = np.fromfile(d + "/actions.f32", "<f4").reshape(-1, meta["action_space"]["dim"])
lengths = np.fromfile(d + "/lengths.i32", "<i4")
print(obs.shape, act.shape, list(lengths), obs[4].tolist())`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "(7, 2) (5, 1) [3, 2] [7.0, 0.0]"; got != want {
		t.Fatalf("numpy read %q, want %q", got, want)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSummarize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	a, b := testEpisode(3, 0), testEpisode(1, 5)
	b.Success = false
	b.Goal.Text = "other"
	writeTest(t, dir, a, b)
	s, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Rewards are t/10: episode a returns 0+0.1+0.2, b returns 0.
	if s.Episodes != 2 || s.Steps != 4 || s.Length.Mean != 2 || s.Length.Max != 3 || s.SuccessRate != 0.5 ||
		s.Goals != 2 || s.Levels["train"] != 2 || s.Terminals != 2 || s.Actions[0] != 2 || math.Abs(s.Return.Max-0.3) > 1e-6 {
		t.Fatalf("summary = %+v", s)
	}
}

// TestAll: Reader.All yields the episodes Next reads, in order; a reading
// error comes once, with a nil episode, and ends the sequence; a loop may
// stop early.
func TestAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	eps := []*Episode{testEpisode(3, 0), testEpisode(1, 5), testEpisode(5, 9)}
	writeTest(t, dir, eps...)
	read := func(stopAfter int) (got []*Episode, errs []error) {
		r, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for e, err := range r.All() {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, e)
			if len(got) == stopAfter {
				break
			}
		}
		return got, errs
	}
	got, errs := read(-1)
	if len(got) != 3 || len(errs) != 0 || got[1].Goal.Text != eps[1].Goal.Text || !equal(got[2].Observations, eps[2].Observations) {
		t.Fatalf("All read %d episodes and errors %v, want the 3 written", len(got), errs)
	}
	if got, _ := read(1); len(got) != 1 {
		t.Fatalf("a loop that stops after one episode got %d", len(got))
	}
	// Cut episodes.jsonl after its second line: the third episode fails.
	path := filepath.Join(dir, episodesFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(path, []byte(lines[0]+lines[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	got, errs = read(-1)
	if len(got) != 2 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "episode 2") {
		t.Fatalf("truncated dataset: %d episodes and errors %v, want 2 and one error naming episode 2", len(got), errs)
	}
}

package clevr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
)

func TestBadInputIsAnError(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	gr, err := e.Goals(ctx, env.GoalsRequest{Level: LevelTrain, N: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	gs := gr.Goals
	if _, err := e.Step(ctx, env.StepRequest{Actions: []float32{0, 0}}); err == nil {
		t.Error("step before reset: no error")
	}
	if _, err := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: gs}); err != nil {
		t.Fatal(err)
	}
	for name, acts := range map[string][]float32{
		"action 40":     {40, 0},
		"action -1":     {0, -1},
		"action 3.5":    {3.5, 0},
		"one action":    {0},
		"three actions": {0, 1, 2},
		"no actions":    nil,
	} {
		_, err := e.Step(ctx, env.StepRequest{Actions: acts})
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "clevr") {
			t.Errorf("%s: error %q does not say where it comes from", name, err)
		}
	}
	nonsense := dataset.Goal{Level: LevelTrain, Text: "bake a cake with three eggs"}
	_, err = e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: []dataset.Goal{nonsense}})
	if !errors.Is(err, ErrNoGoal) {
		t.Errorf("reset with a goal text that parses to nothing: %v, want ErrNoGoal", err)
	}
	obs := make([]float32, 20)
	if _, err := e.Judge(ctx, env.JudgeRequest{Goal: nonsense, Observations: obs, Actions: []float32{0}}); !errors.Is(err, ErrNoGoal) {
		t.Errorf("judge with a goal text that parses to nothing: %v, want ErrNoGoal", err)
	}
	// A goal given as text only is parsed.
	textOnly := dataset.Goal{Level: LevelTrain, Text: "push the red ball to the left of the blue ball"}
	if _, err := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: []dataset.Goal{textOnly}}); err != nil {
		t.Errorf("reset with a parsable text-only goal: %v", err)
	}
	badParams := dataset.Goal{Level: LevelTrain, Params: map[string]string{"kind": "relation", "src": "red", "dst": "red", "dir": "left"}}
	if _, err := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: []dataset.Goal{badParams}}); err == nil {
		t.Error("reset with src = dst: no error")
	}
	wrongLevel := dataset.Goal{Level: LevelEasy, Params: map[string]string{"kind": "relation", "src": "red", "dst": "blue", "dir": "left"}}
	if _, err := e.Reset(ctx, env.ResetRequest{Seed: 1, Goals: []dataset.Goal{wrongLevel}}); err == nil {
		t.Error("reset with a relation goal at the easy level: no error")
	}
	if _, err := e.Behave(ctx, env.BehaveRequest{Policy: PolicyExpert, Observations: obs[:10], Goals: gs[:1], Params: map[string]float64{"temperature": 1}}); err == nil {
		t.Error("behave with an unknown param: no error")
	}
	if _, err := e.Render(ctx, env.RenderRequest{Observation: obs[:10], Width: 100000}); err == nil {
		t.Error("render 100000 pixels wide: no error")
	}
	for name, cfg := range map[string]map[string]string{
		"unknown key":    {"gravity": "1"},
		"bad number":     {"dt": "fast"},
		"bad model":      {"model": "bullet"},
		"bad preset":     {"preset": "paper"},
		"too many balls": {"num_balls": "6"},
		"zero texts":     {"texts_per_goal": "0"},
	} {
		if _, err := e.Configure(ctx, env.ConfigureRequest{Config: cfg}); err == nil {
			t.Errorf("configure %s: no error", name)
		}
	}
}

func TestImportToy(t *testing.T) {
	out := filepath.Join(t.TempDir(), "toy")
	m, err := ImportToy(toyPath(t), out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Episodes != 80 || m.Steps != 898 || m.ObsDim != 10 || m.GoalDim != GoalDim || m.ActionSpace.N != 40 {
		t.Fatalf("imported metadata %+v, want 80 episodes, 898 steps, obs 10, goal %d, 40 actions", m, GoalDim)
	}
	d, err := dataset.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	// Every imported episode is judged exactly as recorded by our env.
	e := newEnv(t, nil)
	r, err := dataset.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; ; i++ {
		ep, err := r.Next()
		if err != nil {
			break
		}
		if len(ep.Goal.Texts) != 54 || !ep.Success {
			t.Errorf("episode %d: %d texts, success %v; want 54 texts and success", i, len(ep.Goal.Texts), ep.Success)
		}
		j, err := e.Judge(context.Background(), env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
		if err != nil {
			t.Fatal(err)
		}
		for k := range ep.Rewards {
			if j.Terminals[k] != ep.Terminals[k] || abs(float64(j.Rewards[k]-ep.Rewards[k])) > 1e-3 {
				t.Errorf("episode %d step %d: judge (%g, %v), imported (%g, %v)", i, k, j.Rewards[k], j.Terminals[k], ep.Rewards[k], ep.Terminals[k])
			}
		}
	}
	if len(d.Rewards) != 898 {
		t.Errorf("loaded %d transitions, want 898", len(d.Rewards))
	}
	if _, err := ImportToy(toyPath(t), out); err == nil {
		t.Error("import into an existing directory: no error")
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(toyPath(t))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"truncated.json": full[:len(full)/2],
		"empty.json":     nil,
		"foreign.json":   []byte(`{"name": "something else", "rows": [1, 2, 3]}`),
		"binary.npy":     []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f4'}"),
		"reference.json": mustRead(t, "testdata/mujoco-reference.json"),
		"badaction.json": []byte(strings.Replace(string(full), `"actions": [28,`, `"actions": [99,`, 1)),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ImportToy(p, filepath.Join(dir, "out-"+name))
		if err == nil {
			t.Errorf("%s: imported without error", name)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
		if _, statErr := os.Stat(filepath.Join(dir, "out-"+name)); statErr == nil {
			t.Errorf("%s: a dataset directory was left behind", name)
		}
	}
	if _, err := ImportToy(filepath.Join(dir, "missing.json"), filepath.Join(dir, "out")); err == nil {
		t.Error("missing file: no error")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTruncatedImportedDataset: a dataset the importer wrote and something later truncated,
// or a foreign file in its place, is refused on opening with an error naming the file.
func TestTruncatedImportedDataset(t *testing.T) {
	out := filepath.Join(t.TempDir(), "toy")
	if _, err := ImportToy(toyPath(t), out); err != nil {
		t.Fatal(err)
	}
	obs := filepath.Join(out, "obs.f32")
	b := mustRead(t, obs)
	if err := os.WriteFile(obs, b[:len(b)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Open(out); err == nil || !strings.Contains(err.Error(), "obs.f32") {
		t.Errorf("truncated obs.f32: %v, want an error naming it", err)
	}
	if err := os.WriteFile(filepath.Join(out, "meta.json"), []byte("PK\x03\x04 not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Open(out); err == nil || !strings.Contains(err.Error(), "meta.json") {
		t.Errorf("foreign meta.json: %v, want an error naming it", err)
	}
}

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kalm-go/kalm/experiments"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
	"github.com/kalm-go/kalm/results/report"
)

// ParseGoals reads "reach 1" and "reach 2" back into goals, as the line's
// Goals writes them; any other text names no goal of the line.
func (e *lineEnv) ParseGoals(_ context.Context, r env.ParseGoalsRequest) (*env.ParseGoalsResponse, error) {
	out := &env.ParseGoalsResponse{Goals: make([]dataset.Goal, len(r.Texts)), Errors: make([]string, len(r.Texts))}
	for i, text := range r.Texts {
		var x float32
		if _, err := fmt.Sscanf(text, "reach %g", &x); err != nil || (x != 1 && x != 2) {
			out.Errors[i] = fmt.Sprintf("line: %q names no goal (reach 1 or reach 2)", text)
			continue
		}
		out.Goals[i] = dataset.Goal{Text: text, Vector: []float32{x}}
	}
	return out, nil
}

// threadLaunches records the launches that asked for their own threads.
var threadLaunches struct {
	sync.Mutex
	list []string
}

// LaunchThreads implements ThreadLauncher: it records the request and
// launches as Launch does.
func (f *fakePlugins) LaunchThreads(ctx context.Context, kind plugin.Kind, name string, threads int) (*Handle, error) {
	threadLaunches.Lock()
	threadLaunches.list = append(threadLaunches.list, fmt.Sprintf("%s %s %d", kind, name, threads))
	threadLaunches.Unlock()
	return f.Launch(ctx, kind, name)
}

// lmExperiment is lineExperiment with the parrot LM, one imagined level
// (far) and the real bc algorithm, which reads the goal vectors.
func lmPlan(t *testing.T, set ...string) *experiments.Plan {
	t.Helper()
	base := []string{"lm.plugin=parrot", "lm.ground.steps=5", "imagine.rollouts=12", "train.imagined_ratio=0.5",
		"algo=bc", "grid.axes=[]", "lm.assess.episodes=20"}
	return planFor(t, lineExperiment, append(base, set...)...)
}

// TestGoalInputLM runs the chain with train.goal_input: lm: the real and the
// imagined data are encoded by the LM (one encode stage each, shared by the
// seeds), training reads the encodings, and evaluation encodes its goals.
func TestGoalInputLM(t *testing.T) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := lmPlan(t, "train.goal_input=lm")
	counts := plan.KindCounts()
	if counts[experiments.Encode] != 2 || counts[experiments.Ground] != 1 || counts[experiments.Train] != 2 || counts[experiments.Assess] != 1 {
		t.Fatalf("stages %v, want 2 encode (real and far), 1 ground, 1 assess, 2 train", counts)
	}
	c := plan.Cells[0]
	tc := plan.Stage(c.Stages[experiments.Train]).Config.(experiments.TrainConfig)
	for _, d := range tc.Datasets {
		if plan.Stage(d.Stage).Kind != experiments.Encode {
			t.Errorf("train reads the %s stage %s, want an encode stage", plan.Stage(d.Stage).Kind, d.Stage)
		}
	}
	ev := plan.Stage(c.Stages[experiments.Evaluate])
	if cfg := ev.Config.(experiments.EvalConfig); cfg.GoalInput != experiments.GoalFromLM || cfg.Ground != c.Stages[experiments.Ground] ||
		len(ev.Plugins) != 3 || ev.Plugins[2].Kind != plugin.LM {
		t.Fatalf("evaluate stage %+v with plugins %v does not encode goals through the LM", cfg, ev.Plugins)
	}
	sum, err := r.Run(context.Background(), plan)
	if err != nil || sum.CellsDone != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	for _, key := range c.Encode {
		d, err := dataset.Load(filepath.Join(work, "artifacts", "encode", key, datasetDir))
		if err != nil {
			t.Fatal(err)
		}
		if d.Meta.GoalDim != 2 || d.Meta.Attrs["goal_input"] != "lm" {
			t.Fatalf("encoded dataset meta %+v", d.Meta)
		}
		for i, g := range d.Goals {
			x, _ := parrotTarget(g.Text)
			if got := d.GoalVectors[2*i : 2*i+2]; !slices.Equal(got, []float32{x / 2, 2}) {
				t.Fatalf("episode %d (%q): goal vector %v, want the parrot's [%g 2]", i, g.Text, got, x/2)
			}
		}
	}
	var n int
	s.DB().QueryRow(`SELECT count(*) FROM evaluations WHERE stage_key=?`, c.Stages[experiments.Evaluate]).Scan(&n)
	if n != 4 {
		t.Errorf("%d evaluations, want one per level and checkpoint (2 × 2)", n)
	}
	var cellStages []string
	rows, err := s.DB().Query(`SELECT kind FROM cell_stages WHERE cell_id=? ORDER BY kind`, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		cellStages = append(cellStages, k)
	}
	rows.Close()
	if want := []string{"assess", "collect", "encode/collect", "encode/imagine/far", "evaluate", "ground", "imagine/far", "train"}; !slices.Equal(cellStages, want) {
		t.Errorf("cell stages %v, want %v", cellStages, want)
	}

	// Without imagined data, goal_input lm still grounds and encodes.
	plan = lmPlan(t, "train.goal_input=lm", "train.imagined_ratio=0")
	if counts := plan.KindCounts(); counts[experiments.Encode] != 1 || counts[experiments.Imagine] != 0 || counts[experiments.Ground] != 1 {
		t.Fatalf("goal_input lm without imagined data: stages %v", counts)
	}
	// With the env's goals and no imagined data, no LM stage is planned.
	plan = lmPlan(t, "train.imagined_ratio=0")
	if counts := plan.KindCounts(); counts[experiments.Ground]+counts[experiments.Encode]+counts[experiments.Assess] != 0 {
		t.Fatalf("no LM needed, yet stages %v", counts)
	}
}

// TestAssess checks the grounding report's measurements on the parrot, which
// knows the line's dynamics exactly and explains a rollout by where it
// ended, and the report kalm prints from them: on real data of the scripted
// policy, which reaches its goals, and of the lazy one, which never moves
// (its rollouts are explained as "reach 0", which names no goal).
func TestAssess(t *testing.T) {
	for _, policy := range []string{"scripted", "lazy"} {
		t.Run(policy, func(t *testing.T) { testAssess(t, policy) })
	}
}

func testAssess(t *testing.T, policy string) {
	work := t.TempDir()
	r, s := newRunner(t, work)
	plan := lmPlan(t, "dataset.policy="+policy)
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	c := plan.Cells[0]
	key := c.Stages[experiments.Assess]
	got := map[string]float64{}
	rows, err := s.DB().Query(`SELECT name, value FROM metrics WHERE stage_key=?`, key)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		var v float64
		rows.Scan(&n, &v)
		got[n] = v
	}
	rows.Close()
	// The explained training rollouts are right exactly when they reached
	// their goal: the parrot names where a rollout ended.
	real, err := readEpisodes(filepath.Join(work, "artifacts", "collect", c.Stages[experiments.Collect], datasetDir), 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	succ := 0
	for _, ep := range real {
		if ep.Success {
			succ++
		}
	}
	want := map[string]float64{
		"dynamics/median_l2": 0, "dynamics/mean_l2": 0,
		"explain/near/rollouts": 20, "explain/near/accuracy": float64(succ) / 20, "explain/near/parsed": float64(succ) / 20,
		"explain/near/holds": float64(succ) / 20, "explain/near/agrees": float64(succ) / 20,
		"explain/far/rollouts": 12, "explain/far/accuracy": 1, "explain/far/parsed": 1, "explain/far/holds": 1, "explain/far/agrees": 1,
		"explain/near-heldout/rollouts": 20,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (recorded %v), want %v", k, g, ok, v)
		}
	}
	if got["dynamics/transitions"] < 20 {
		t.Errorf("dynamics measured on %v transitions of 20 held-out rollouts", got["dynamics/transitions"])
	}
	if wantSucc := map[string]int{"scripted": 20, "lazy": 0}[policy]; succ != wantSucc {
		t.Fatalf("%d of 20 real rollouts of the %s policy succeed, want %d", succ, policy, wantSucc)
	}
	gs, err := s.Grounding(context.Background(), plan.Experiment.Hash)
	if err != nil || len(gs) != 1 {
		t.Fatalf("grounding records %+v, %v", gs, err)
	}
	found := 0
	for _, row := range report.GroundingRows(gs) {
		switch {
		case row.Measure == "explanation accuracy (%)" && row.Level == "near":
			found++
			if row.Value != 100*float64(succ)/20 || row.N != 20 || row.LM != "parrot@v1" {
				t.Errorf("report row %+v, want %g%% of 20", row, 100*float64(succ)/20)
			}
		case row.Measure == "generation match (%)" && row.Level == "far":
			found++
			if row.Value != 100 {
				t.Errorf("report row %+v, want 100%%", row)
			}
		}
	}
	if found != 2 {
		t.Errorf("the grounding report lacks the near explanation or the far match row: %+v", report.GroundingRows(gs))
	}
	var b bytes.Buffer
	if err := report.WriteGrounding(context.Background(), &b, s, report.Options{}); err != nil || !strings.Contains(b.String(), "grounding report") {
		t.Errorf("kalm report -what grounding: %v\n%s", err, b.String())
	}
}

// TestGroundContinuesFromCheckpoint interrupts a ground stage after its
// checkpoint at step 20: the next run continues from it (the backend's next
// step is 21) and records what an uninterrupted run does.
func TestGroundContinuesFromCheckpoint(t *testing.T) {
	set := []string{"lm.ground.steps=50", "lm.ground.checkpoint_every=10", "lm.threads=2"}
	plan := lmPlan(t, set...)
	ref := t.TempDir()
	r, _ := newRunner(t, ref)
	threadLaunches.Lock()
	threadLaunches.list = nil
	threadLaunches.Unlock()
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	threadLaunches.Lock()
	launched := slices.Clone(threadLaunches.list)
	threadLaunches.Unlock()
	// ground, imagine, assess and (none here) encode start the LM with lm.threads.
	if want := []string{"lm parrot 2", "lm parrot 2", "lm parrot 2"}; !slices.Equal(launched, want) {
		t.Errorf("launches with their own threads: %v, want %v", launched, want)
	}

	work := t.TempDir()
	r, _ = newRunner(t, work)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Executors = map[experiments.StageKind]Executor{experiments.Ground: func(ctx context.Context, j *Job) (*Output, error) {
		progress := j.Progress
		j.Progress = func(step, total int, m map[string]float64) {
			progress(step, total, m)
			if step == 25 {
				cancel()
			}
		}
		return groundStage(ctx, j)
	}}
	if _, err := r.Run(ctx, plan); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	journals, _ := filepath.Glob(filepath.Join(work, "partial", "ground", "*", journalFile))
	if len(journals) != 1 {
		t.Fatalf("%d ground journals after the interrupt, want 1", len(journals))
	}
	var j groundJournal
	if err := ReadJSON(journals[0], &j); err != nil || j.Step != 20 || !strings.HasPrefix(j.Checkpoint, modelDir+"/") {
		t.Fatalf("journal %+v, %v", j, err)
	}
	var shown strings.Builder
	if err := PrintPlan(context.Background(), &shown, plan, r.Store, work); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.String(), "[interrupted; continues from its checkpoint at step 20]") {
		t.Errorf("kalm plan does not show the ground stage continuing from step 20:\n%s", shown.String())
	}
	var steps []int
	r.Executors = map[experiments.StageKind]Executor{experiments.Ground: func(ctx context.Context, j *Job) (*Output, error) {
		progress := j.Progress
		j.Progress = func(step, total int, m map[string]float64) {
			steps = append(steps, step)
			progress(step, total, m)
		}
		return groundStage(ctx, j)
	}}
	if _, err := r.Run(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	if len(steps) < 2 || steps[0] != 20 || steps[1] != 21 {
		t.Errorf("the continued ground stage reported steps %v first, want [20 21 ...]", steps[:min(3, len(steps))])
	}
	if got, want := dump(t, filepath.Join(work, "results.db")), dump(t, filepath.Join(ref, "results.db")); got != want {
		t.Fatalf("the continued run recorded other results than an uninterrupted one:\n--- got\n%s\n--- want\n%s", got, want)
	}
	if left, _ := os.ReadDir(filepath.Join(work, "partial", "ground")); len(left) != 0 {
		t.Errorf("partial state left after the stage finished: %v", left)
	}
	var g GroundArtifact
	groundKey := plan.Cells[0].Stages[experiments.Ground]
	if err := ReadJSON(filepath.Join(work, "artifacts", "ground", groundKey, groundFile), &g); err != nil || g.Checkpoint != modelDir+"/parrot.txt" {
		t.Errorf("ground artifact %+v, %v", g, err)
	}
}

// TestImagineTemperature checks that imagine.temperature reaches Generate
// and the stage key, and that a missing temperature keeps the key it had
// before the setting existed.
func TestImagineTemperature(t *testing.T) {
	greedy, warm := lmPlan(t), lmPlan(t, "imagine.temperature=0.7")
	g, w := greedy.Cells[0].Imagine[0], warm.Cells[0].Imagine[0]
	if g == w {
		t.Fatalf("imagine stages with temperature 0 and 0.7 share key %s", g)
	}
	if cfg := warm.Stage(w).Config.(experiments.ImagineConfig); cfg.Temperature != 0.7 {
		t.Fatalf("imagine config %+v", cfg)
	}
	if greedy.Cells[0].Stages[experiments.Ground] != warm.Cells[0].Stages[experiments.Ground] {
		t.Errorf("the temperature changed the ground stage's key")
	}
	cfg, err := json.Marshal(greedy.Stage(g).Config)
	if err != nil || strings.Contains(string(cfg), "temperature") {
		t.Errorf("greedy imagine config %s (%v) names a temperature: the keys of existing imagine stages would change", cfg, err)
	}
}

func TestSameGoal(t *testing.T) {
	g := func(p map[string]string, v ...float32) dataset.Goal { return dataset.Goal{Params: p, Vector: v} }
	rel := func(a, b string) map[string]string {
		return map[string]string{"kind": "relations", "n": "2", "src1": a, "dir1": "left", "dst1": "blue", "src2": b, "dir2": "behind", "dst2": "cyan"}
	}
	for _, tc := range []struct {
		name         string
		parsed, want dataset.Goal
		same         bool
	}{
		{"equal params", g(map[string]string{"kind": "move", "ball": "red"}), g(map[string]string{"kind": "move", "ball": "red"}), true},
		{"other value", g(map[string]string{"kind": "move", "ball": "red"}), g(map[string]string{"kind": "move", "ball": "blue"}), false},
		{"missing key", g(map[string]string{"kind": "move"}), g(map[string]string{"kind": "move", "ball": "blue"}), false},
		{"groups reordered", g(rel("red", "green")), g(map[string]string{"kind": "relations", "n": "2", "src2": "red", "dir2": "left", "dst2": "blue",
			"src1": "green", "dir1": "behind", "dst1": "cyan"}), true},
		{"groups mixed up", g(rel("red", "green")), g(rel("green", "red")), false},
		{"vectors", g(nil, 1, 0), g(nil, 1, 0), true},
		{"other vector", g(nil, 1, 0), g(nil, 0, 1), false},
		{"no vector", g(nil), g(nil), false},
	} {
		if got := sameGoal(tc.parsed, tc.want); got != tc.same {
			t.Errorf("%s: sameGoal = %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestImagineKeepSuccess: with imagine.keep success the imagined dataset
// holds only rollouts the env's judge calls successful; the default, all,
// keeps the stage key it had before the setting existed.
func TestImagineKeepSuccess(t *testing.T) {
	all, succ := lmPlan(t), lmPlan(t, "imagine.keep=success")
	a, s := all.Cells[0].Imagine[0], succ.Cells[0].Imagine[0]
	if a == s {
		t.Fatalf("imagine stages keeping all and success share key %s", a)
	}
	if cfg, _ := json.Marshal(all.Stage(a).Config); strings.Contains(string(cfg), "keep") {
		t.Errorf("imagine config %s names keep: the keys of existing imagine stages would change", cfg)
	}
	work := t.TempDir()
	r, st := newRunner(t, work)
	if sum, err := r.Run(context.Background(), succ); err != nil || sum.CellsDone != 2 {
		t.Fatalf("%+v %v", sum, err)
	}
	d, err := dataset.Load(filepath.Join(work, "artifacts", "imagine", s, datasetDir))
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range d.Success {
		if !ok {
			t.Errorf("imagined episode %d does not reach its goal, yet imagine.keep is success", i)
		}
	}
	var kept float64
	if err := st.DB().QueryRow(`SELECT value FROM metrics WHERE stage_key=? AND name='kept'`, s).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if int(kept) != len(d.Success) {
		t.Errorf("kept metric %g, dataset has %d episodes", kept, len(d.Success))
	}
	file := filepath.Join(t.TempDir(), "exp.yaml")
	if err := os.WriteFile(file, []byte(lineExperiment), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := experiments.Load(file, experiments.Options{Set: []string{"lm.plugin=parrot", "imagine.keep=best"}}); err == nil ||
		!strings.Contains(err.Error(), "imagine.keep") {
		t.Errorf("imagine.keep=best: %v", err)
	}
}

// TestImagineJudgeFails: an env whose judge rejects a generated rollout
// fails the imagine stage with an error naming the step, the rollout and
// its goal, and so the cells that train on imagined data; the cell without
// imagined data runs to the end.
func TestImagineJudgeFails(t *testing.T) {
	plan := lmPlan(t, "env.plugin=line-badjudge", "seeds=1", "grid.axes=[{key: train.imagined_ratio, values: [0, 0.5]}]")
	r, _ := newRunner(t, t.TempDir())
	sum, err := r.Run(context.Background(), plan)
	if !errors.Is(err, ErrCellsFailed) {
		t.Fatalf("err = %v", err)
	}
	if sum.CellsDone != 1 || sum.CellsFailed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	want := `imagine: env line-badjudge: judging step 2 of rollout 0 (goal "reach 2"): line: judge: this bad judge rejects every rollout of 2 actions`
	if !slices.ContainsFunc(sum.Errors, func(e string) bool { return strings.Contains(e, want) }) {
		t.Errorf("errors %q, want one saying %q", sum.Errors, want)
	}
}

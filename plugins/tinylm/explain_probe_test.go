package tinylm

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/plugins/clevr"
)

var (
	probeEpisodes = flag.Int("probe.episodes", 0, "TestExplainProbe: CLEVR rollouts to ground on (0: skip the test)")
	probeSteps    = flag.Int("probe.steps", 4000, "TestExplainProbe: grounding steps")
	probeTasks    = flag.String("probe.tasks", "", "TestExplainProbe: tasks to ground on, comma-separated (default all four)")
	probeSet      = flag.String("probe.set", "", "TestExplainProbe: settings over quick's, k=v,k=v")
	probeData     = flag.String("probe.data", "", "TestExplainProbe: directory to keep the collected rollouts in between runs")
	probeCkpt     = flag.String("probe.ckpt", "", "TestExplainProbe: explain with this checkpoint instead of grounding")
	probeOut      = flag.String("probe.out", "", "TestExplainProbe: directory to ground into and keep (default a temporary one)")
	probeOneText  = flag.Bool("probe.onetext", false, "TestExplainProbe: ground on one fixed phrasing per goal (drawn once per relation) instead of the rollouts' own")
)

// TestExplainProbe measures explanation on CLEVR in process, without the
// runner: it collects -probe.episodes rollouts of the quick experiment's
// noisy expert, grounds tinylm on them at quick's settings, and explains
// 300 of the rollouts grounded on and 300 held out, each explanation parsed
// by the env and scored as the grounding report scores it (exact label,
// the label up to orientation, holds, agrees). Opt-in (a few minutes):
//
//	go test ./plugins/tinylm -run ExplainProbe -v -probe.episodes 2000
//	go test ./plugins/tinylm -run ExplainProbe -v -probe.episodes 2000 -probe.tasks rollout-to-goal -probe.set explain_order=forward
func TestExplainProbe(t *testing.T) {
	if *probeEpisodes == 0 {
		t.Skip("set -probe.episodes to run")
	}
	ctx := context.Background()
	e, err := clevr.New(clevr.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	base := *probeData
	if base == "" {
		base = t.TempDir()
	}
	collect := func(name string, n int, seed uint64) []*dataset.Episode {
		dir := filepath.Join(base, name)
		if _, err := os.Stat(dir); err != nil {
			req := env.CollectRequest{Episodes: n, Policy: "expert", Params: map[string]float64{"noise": 0.05, "random_share": 0.2}, Seed: seed, Out: dir}
			if _, err := env.Collect(ctx, e, req, nil); err != nil {
				t.Fatal(err)
			}
		}
		return readEpisodes(t, dir)
	}
	trainDir := fmt.Sprintf("train-%d", *probeEpisodes)
	eps := collect(trainDir, *probeEpisodes, env.SeedFor(0, "collect", 0))
	held := collect("heldout-300", 300, 99)
	if *probeOneText {
		eps = oneText(t, filepath.Join(base, trainDir), filepath.Join(base, trainDir+"-onetext"), eps)
		trainDir += "-onetext"
	}
	probeEnds(t, eps)
	l := New()
	ck := *probeCkpt
	if ck == "" {
		cfg := map[string]any{"dim": 64, "layers": 2, "heads": 4, "batch": 32, "threads": 2}
		if *probeSet != "" {
			for _, kv := range strings.Split(*probeSet, ",") {
				k, v, _ := strings.Cut(kv, "=")
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					cfg[k] = f
				} else {
					cfg[k] = v
				}
			}
		}
		var tasks []lm.Task
		if *probeTasks != "" {
			for _, s := range strings.Split(*probeTasks, ",") {
				tasks = append(tasks, lm.Task(s))
			}
		}
		out := *probeOut
		if out == "" {
			out = t.TempDir()
		}
		res, err := l.Ground(ctx, lm.GroundRequest{Datasets: []string{filepath.Join(base, trainDir)}, Tasks: tasks, Steps: *probeSteps,
			OutDir: out, Seed: 0, Config: cfg}, func(p lm.Progress) {
			if p.Step%1000 == 0 || p.Step == p.Total {
				t.Logf("step %d/%d: %v", p.Step, p.Total, p.Metrics)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		ck = res.Checkpoint
	}
	probeExplain(t, l, e, ck, "grounded on", eps[:min(len(eps), 300)])
	probeExplain(t, l, e, ck, "held out", held)
}

// readEpisodes reads every episode of the dataset in dir.
func readEpisodes(t *testing.T, dir string) []*dataset.Episode {
	r, err := dataset.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var eps []*dataset.Episode
	for ep, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	return eps
}

// oneText writes eps, read from the dataset in src, to dir with each
// goal's texts replaced by one phrasing per relation, drawn once, and
// returns the rewritten episodes.
func oneText(t *testing.T, src, dir string, eps []*dataset.Episode) []*dataset.Episode {
	r, err := dataset.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	meta := r.Meta()
	r.Close()
	os.RemoveAll(dir)
	w, err := dataset.Create(dir, meta)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	phrase := map[string]string{}
	for _, task := range clevr.AllTasks(clevr.LevelTrain, 5) {
		phrase[task.String()] = clevr.Language{}.Texts(&task, 1, rng)[0]
	}
	for _, ep := range eps {
		task, err := clevr.TaskOf(ep.Goal, 5)
		if err != nil {
			t.Fatal(err)
		}
		ep.Goal.Text, ep.Goal.Texts = phrase[task.String()], nil
		if err := w.Write(ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return eps
}

// probeEnds logs how many relations become true at a rollout's last step:
// the candidates an explainer reading the rollout's end chooses among.
func probeEnds(t *testing.T, eps []*dataset.Episode) {
	cfg := clevr.DefaultConfig()
	j, err := clevr.NewJudge(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nb, od := cfg.NumBalls, 2*cfg.NumBalls
	var hist [6]int
	var succ, labelSrc int
	for _, ep := range eps {
		T := len(ep.Actions)
		if ep.Success {
			succ++
		}
		task, err := clevr.TaskOf(ep.Goal, nb)
		if err != nil || T == 0 {
			continue
		}
		sT, sP := ep.Observations[T*od:], ep.Observations[(T-1)*od:T*od]
		n := 0
		for a := range nb {
			for b := a + 1; b < nb; b++ {
				for d := range clevr.NumRelations {
					if r := (clevr.Relation{Src: a, Dst: b, Dir: d}); j.RelationHolds(sT, r) && !j.RelationHolds(sP, r) {
						n++
					}
				}
			}
		}
		hist[min(n, 5)]++
		if task.Relations[0].Src == int(ep.Actions[T-1])/clevr.NumDirections {
			labelSrc++
		}
	}
	t.Logf("%d rollouts, %d successful; unordered relations that become true at the last step: 0…5+ %v; the last push moves the label's first ball in %d",
		len(eps), succ, hist, labelSrc)
}

func probeExplain(t *testing.T, l *LM, e *clevr.Env, ck, name string, eps []*dataset.Episode) {
	ex, err := l.Explain(context.Background(), lm.ExplainRequest{Checkpoint: ck, Rollouts: eps})
	if err != nil {
		t.Fatal(err)
	}
	scoreTexts(t, e, context.Background(), name, eps, ex.Texts)
}

// scoreTexts parses texts, the explanations of eps, with the env and logs
// how many name the label exactly, up to orientation, hold at the end and
// agree with the label (the judge ends the rollout at the same step).
func scoreTexts(t *testing.T, e *clevr.Env, ctx context.Context, name string, eps []*dataset.Episode, texts []string) {
	p, err := e.ParseGoals(ctx, env.ParseGoalsRequest{Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	var parsed, exact, mirror, holds, agrees int
	for i, ep := range eps {
		if p.Errors[i] != "" {
			continue
		}
		parsed++
		g := p.Goals[i]
		g.Level = ep.Goal.Level
		got, err1 := clevr.TaskOf(g, 5)
		want, err2 := clevr.TaskOf(ep.Goal, 5)
		if err1 == nil && err2 == nil && got.Kind == clevr.KindRelation {
			a, b := got.Relations[0], want.Relations[0]
			if a == b {
				exact++
			}
			if a == b || (a.Src == b.Dst && a.Dst == b.Src && a.Dir == (b.Dir+2)%clevr.NumRelations) {
				mirror++
			}
		}
		jr, err := e.Judge(ctx, env.JudgeRequest{Goal: g, Observations: ep.Observations, Actions: ep.Actions})
		if err != nil || !jr.Success {
			continue
		}
		holds++
		lr, err := e.Judge(ctx, env.JudgeRequest{Goal: ep.Goal, Observations: ep.Observations, Actions: ep.Actions})
		if err == nil && lr.Success && lr.Steps == jr.Steps && slices.Equal(lr.Terminals, jr.Terminals) {
			agrees++
		}
	}
	f := func(k int) float64 { return 100 * float64(k) / float64(len(eps)) }
	t.Logf("%d rollouts %s: parsed %.1f %%, exact label %.1f %%, up to orientation %.1f %%, holds %.1f %%, agrees %.1f %%; e.g. %q for %q",
		len(eps), name, f(parsed), f(exact), f(mirror), f(holds), f(agrees), texts[0], eps[0].Goal.Text)
}

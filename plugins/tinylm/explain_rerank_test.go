package tinylm

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/plugins/clevr"
)

var probeRerank = flag.Bool("probe.rerank", false, "TestExplainRerank: score every relation goal against rollouts with -probe.ckpt")

// TestExplainRerank asks how well a grounded tinylm names a rollout's goal
// when it chooses among CLEVR's 80 relation goals (one phrasing each) by
// its own likelihoods: of the rollout's actions given the goal (goal →
// rollout, inverse planning), of the goal's text given the rollout
// (rollout → goal), and their sum. Opt-in, with a checkpoint grounded by
// TestExplainProbe -probe.out DIR and the same -probe.data and
// -probe.episodes:
//
//	go test ./plugins/tinylm -run ExplainRerank -v -probe.rerank -probe.ckpt DIR/model.tinylm -probe.data D
func TestExplainRerank(t *testing.T) {
	if !*probeRerank || *probeCkpt == "" || *probeData == "" {
		t.Skip("set -probe.rerank, -probe.ckpt and -probe.data to run")
	}
	ctx := context.Background()
	e, err := clevr.New(clevr.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := New()
	m, err := l.open(*probeCkpt)
	if err != nil {
		t.Fatal(err)
	}
	// The candidates: every relation goal of the training level, one
	// phrasing each.
	rng := rand.New(rand.NewPCG(7, 7))
	var cands []string
	var candIDs [][]int32
	for _, task := range clevr.AllTasks(clevr.LevelTrain, 5) {
		text := clevr.Language{}.Texts(&task, 1, rng)[0]
		ids, err := m.encodeGoal(0, text)
		if err != nil {
			t.Fatal(err)
		}
		cands, candIDs = append(cands, text), append(candIDs, ids)
	}
	b := m.h.Config.newBuilder(m.v, m.norm, m.model.Shape, m.od, m.ad)
	read := func(name string) []*dataset.Episode { return readEpisodes(t, filepath.Join(*probeData, name)) }
	grounded := read(fmt.Sprintf("train-%d", *probeEpisodes))
	for _, set := range []struct {
		name string
		eps  []*dataset.Episode
	}{{"grounded on", grounded[:min(300, len(grounded))]}, {"held out", read("heldout-300")}} {
		var pick [3][]string // by actions, by text, by both
		for _, ep := range set.eps {
			ro := episode{obs: ep.Observations, act: ep.Actions}
			act, txt := make([]float64, len(cands)), make([]float64, len(cands))
			seqs := make([]seq, len(cands))
			var batch Batch
			// log p(actions | goal): goal → rollout, teacher forced.
			for i := range cands {
				b.goalToRollout(&seqs[i], &ro, candIDs[i])
			}
			b.lay(&batch, seqs)
			h := m.model.Hidden(&batch)
			logits := head(m.model.ActOut, gatherRows(h, batch.ActRow))
			for r, row := range batch.ActRow {
				act[int(row)/batch.T] += logSoftmaxAt(logits.Row(r), int(batch.ActY[r]))
			}
			// log p(goal text | rollout): rollout → goal, teacher forced.
			for i := range seqs {
				seqs[i].reset()
				b.rolloutToGoal(&seqs[i], &ro, candIDs[i])
			}
			b.lay(&batch, seqs)
			h = m.model.Hidden(&batch)
			logits = head(m.model.TokOut, gatherRows(h, batch.TokRow))
			for r, row := range batch.TokRow {
				txt[int(row)/batch.T] += logSoftmaxAt(logits.Row(r), int(batch.TokY[r]))
			}
			score := func(k, i int) float64 { return [3]float64{act[i], txt[i], act[i] + txt[i]}[k] }
			for k := range pick {
				best := 0
				for i := range cands {
					if score(k, i) > score(k, best) {
						best = i
					}
				}
				pick[k] = append(pick[k], cands[best])
			}
		}
		for k, name := range []string{"actions given the goal", "the goal given the rollout", "both"} {
			scoreTexts(t, e, ctx, set.name+", by "+name, set.eps, pick[k])
		}
	}
}

func logSoftmaxAt(row []float32, y int) float64 {
	mx := float64(row[0])
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return float64(row[y]) - mx - math.Log(s)
}

package cql

import (
	"flag"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalm-go/kalm/framework/algo/offline"
	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/nn"
	"github.com/kalm-go/kalm/plugins/bc"
	"github.com/kalm-go/kalm/plugins/td3bc"
)

var (
	probeData  = flag.String("probe.data", "", "TestActionGap: a dataset directory (a collect artifact's dataset)")
	probeCkpts = flag.String("probe.ckpts", "", "TestActionGap: comma-separated cql, bc or td3bc checkpoints trained on it")
)

// TestActionGap (opt-in: -probe.data DIR -probe.ckpts A,B,...) measures how
// far trained policies act from the data on 4,096 of its transitions: the
// mean |π(s) − a| per action dimension of the deterministic action, the
// share of data action components at ±1 the policy matches to within 0.1,
// and for CQL its critics' min Q at the data's actions and at the policy's.
// The README's tabletop CQL figures come from it.
func TestActionGap(t *testing.T) {
	ds, cks := *probeData, *probeCkpts
	if ds == "" {
		t.Skip("opt-in: -probe.data DIR -probe.ckpts CKPT,...")
	}
	d, err := dataset.Load(ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range strings.Split(cks, ",") {
		c, err := offline.ReadCheckpoint(ck)
		if err != nil {
			t.Fatal(err)
		}
		f := map[string]offline.Factory{"cql": Factory, "bc": bc.Factory, "td3bc": td3bc.Factory}[c.Algo]
		r, err := offline.Restore(f, c, ck)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := r.Learner.(*Continuous)
		tr := r.Transform
		smp := offline.NewSampler([]*dataset.Data{d}, []float64{1}, 4096, tr, rand.New(rand.NewPCG(1, 2)))
		b := offline.NewBatch(4096, tr.InDim(), 4)
		smp.Fill(b)
		act := make([]float32, b.N*4)
		r.Learner.Act(nn.View(b.Obs, b.N, b.InDim), true, nil, act)
		var mae [4]float64
		sat, satHit := 0, 0
		for i := range b.N {
			for j := range 4 {
				mae[j] += math.Abs(float64(act[i*4+j] - b.Act[i*4+j]))
				if math.Abs(float64(b.Act[i*4+j])) == 1 {
					sat++
					if math.Abs(float64(act[i*4+j])) > 0.9 && act[i*4+j]*b.Act[i*4+j] > 0 {
						satHit++
					}
				}
			}
		}
		if l == nil {
			n := float64(b.N)
			name := filepath.Base(ck)
			t.Logf("%s: |π(s) − a| per dim %.3f %.3f %.3f %.3f; data components at ±1: %.0f %%, matched to within 0.1: %.0f %%",
				name, mae[0]/n, mae[1]/n, mae[2]/n, mae[3]/n, 100*float64(sat)/(4*n), 100*float64(satHit)/float64(max(sat, 1)))
			continue
		}
		w := b.InDim + 4
		q := func(a []float32) []float32 {
			x := make([]float32, b.N*w)
			for i := range b.N {
				copy(x[i*w:], b.Obs[i*b.InDim:(i+1)*b.InDim])
				copy(x[i*w+b.InDim:], a[i*4:(i+1)*4])
			}
			q1 := append([]float32(nil), l.C1.Forward(nn.View(x, b.N, w)).Data...)
			q2 := l.C2.Forward(nn.View(x, b.N, w)).Data
			for i := range q1 {
				q1[i] = min(q1[i], q2[i])
			}
			return q1
		}
		qd, qp := q(b.Act), q(act)
		var md, mp, better float64
		for i := range qd {
			md += float64(qd[i])
			mp += float64(qp[i])
			if qp[i] > qd[i] {
				better++
			}
		}
		n := float64(b.N)
		name := filepath.Base(ck)
		t.Logf("%s: |π(s) − a| per dim %.3f %.3f %.3f %.3f; data components at ±1: %.0f %%, matched to within 0.1: %.0f %%; Q(s,a) %.2f Q(s,π(s)) %.2f, π above data in %.0f %%",
			name, mae[0]/n, mae[1]/n, mae[2]/n, mae[3]/n, 100*float64(sat)/(4*n), 100*float64(satHit)/float64(max(sat, 1)), md/n, mp/n, 100*better/n)
	}
}

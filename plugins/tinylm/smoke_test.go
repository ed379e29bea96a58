package tinylm

import (
	"context"
	"testing"

	"github.com/kalm-go/kalm/framework/lm"
)

func TestSmokeGround(t *testing.T) {
	data := toyData(t, 200, 4, 1)
	out := t.TempDir()
	l := New()
	res, err := l.Ground(context.Background(), lm.GroundRequest{Datasets: []string{data}, Steps: 300, OutDir: out, Seed: 1,
		Config: map[string]any{"eval_every": 50, "dim": 32, "layers": 1, "heads": 2, "vocab": 100, "prior": "none", "warmup": 10, "lr": 0.003}}, func(p lm.Progress) { t.Logf("%d/%d %v", p.Step, p.Total, p.Metrics) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
}

package clevr

import (
	"bytes"
	"context"
	"flag"
	"image/gif"
	"image/png"
	"os"
	"testing"

	"github.com/kalm-go/kalm/framework/env"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/img")

// golden compares b with testdata/img/name (rewriting it with -update).
func golden(t *testing.T, name string, b []byte) {
	t.Helper()
	p := "testdata/img/" + name
	if *update {
		if err := os.MkdirAll("testdata/img", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -run Render -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file (%d vs %d bytes); inspect and rerun with -update if intended", p, len(b), len(want))
	}
}

// expertEpisode plays one training goal with the expert and returns its goal and observations.
func expertEpisode(t *testing.T) (string, []float32) {
	ctx := context.Background()
	e := newEnv(t, nil)
	gr, err := e.Goals(ctx, env.GoalsRequest{Level: LevelTrain, N: 1, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	gs := gr.Goals
	eps, err := env.Rollout(ctx, e, mustSpec(t, e), gs, 5, nil, func(ctx context.Context, k int, obs []float32) ([]float32, error) {
		r, err := e.Behave(ctx, env.BehaveRequest{Policy: PolicyExpert, Observations: obs, Goals: gs, Seed: uint64(k)})
		if err != nil {
			return nil, err
		}
		return r.Actions, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !eps[0].Success {
		t.Fatalf("the expert failed %q", gs[0].Text)
	}
	return gs[0].Text, eps[0].Observations
}

func mustSpec(t *testing.T, e env.Env) env.Spec {
	sp, err := e.Spec(context.Background(), env.SpecRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return *sp
}

// TestRenderImages renders the README's pictures: the first state of an expert episode as a
// PNG and the whole episode as an animated GIF. They are golden files.
func TestRenderImages(t *testing.T) {
	text, obs := expertEpisode(t)
	r := NewRenderer(DefaultConfig())
	b, err := r.PNG(obs[:10], text, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != DefaultRenderWidth {
		t.Errorf("width %d, want %d", img.Bounds().Dx(), DefaultRenderWidth)
	}
	// The red ball is drawn in red where the observation puts it.
	x := int((float64(obs[0]) + 0.65) / 1.3 * DefaultRenderWidth)
	y := int((0.75 - float64(obs[1])) / 1.3 * DefaultRenderWidth)
	if cr, cg, cb, _ := img.At(x, y).RGBA(); cr>>8 != 255 || cg>>8 != 26 || cb>>8 != 26 {
		t.Errorf("pixel at the red ball's centre (%d, %d) is (%d, %d, %d), want red", x, y, cr>>8, cg>>8, cb>>8)
	}
	golden(t, "scene.png", b)
	g, err := r.GIF(obs, text, 320, 50)
	if err != nil {
		t.Fatal(err)
	}
	anim, err := gif.DecodeAll(bytes.NewReader(g))
	if err != nil {
		t.Fatal(err)
	}
	if len(anim.Image) != len(obs)/10 {
		t.Errorf("GIF has %d frames, want %d", len(anim.Image), len(obs)/10)
	}
	golden(t, "episode.gif", g)
	t.Logf("rendered %q: %d-step episode", text, len(obs)/10-1)
	if _, err := r.PNG(obs[:9], "", 0); err == nil {
		t.Error("render of 9 values: no error")
	}
	if _, err := r.GIF(obs[:15], "", 0, 0); err == nil {
		t.Error("GIF of 1.5 observations: no error")
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"os"

	"github.com/kalm-go/kalm/framework/dataset"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/plugin"
)

// cmdRender draws environment states through the env plugin's Render: the
// first state of an episode as PNG, and the whole episode as an animated GIF.
func cmdRender(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("render", "[flags]", stdout)
	var pf pluginFlags
	pf.register(fs)
	envName := fs.String("env", "clevr", "env plugin")
	level := fs.String("level", "", "goal level (default the env's training level)")
	policy := fs.String("policy", "expert", "behaviour policy that plays the episode")
	seed := fs.Uint64("seed", 1, "seed of the goal, scene and policy")
	text := fs.String("caption", "", "caption to draw instead of the goal text")
	width := fs.Int("width", 0, "image width in pixels (default the env's)")
	out := fs.String("o", "state.png", "PNG of the first state")
	gifOut := fs.String("gif", "", "also write the whole episode as an animated GIF here")
	datasetDir := fs.String("dataset", "", "render episode -episode of this dataset instead of playing one")
	episode := fs.Int("episode", 0, "episode index within -dataset")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	reg, err := pf.registry(stderr)
	if err != nil {
		return err
	}
	defer reg.Close()
	in, err := reg.Launch(ctx, *envName, plugin.Env)
	if err != nil {
		return err
	}
	defer in.Close()
	e, err := in.Env()
	if err != nil {
		return err
	}
	spec, err := e.Spec(ctx, env.SpecRequest{})
	if err != nil {
		return err
	}
	var ep *dataset.Episode
	if *datasetDir != "" {
		if ep, err = readEpisode(*datasetDir, *episode); err != nil {
			return err
		}
	} else {
		if *level == "" && len(spec.Levels) > 0 {
			*level = spec.Levels[0]
		}
		gr, err := e.Goals(ctx, env.GoalsRequest{Level: *level, N: 1, Seed: *seed})
		if err != nil {
			return err
		}
		goals := gr.Goals
		eps, err := env.Rollout(ctx, e, *spec, goals, *seed, nil, func(ctx context.Context, t int, obs []float32) ([]float32, error) {
			r, err := e.Behave(ctx, env.BehaveRequest{Policy: *policy, Observations: obs, Goals: goals, Seed: *seed<<16 + uint64(t)})
			if err != nil {
				return nil, err
			}
			return r.Actions, nil
		})
		if err != nil {
			return err
		}
		ep = eps[0]
	}
	caption := ep.Goal.Text
	if *text != "" {
		caption = *text
	}
	frames := ep.Len() + 1
	od := spec.ObsDim
	if len(ep.Observations) != frames*od {
		return fmt.Errorf("episode has %d observation values, want %d for obs dim %d", len(ep.Observations), frames*od, od)
	}
	first, err := e.Render(ctx, env.RenderRequest{Observation: ep.Observations[:od], Caption: caption, Width: *width})
	if errors.Is(err, env.ErrNoRender) {
		return fmt.Errorf("env %s does not render: it has no pictures to draw (render is optional; `kalm plugins %s` lists what it can do)", *envName, *envName)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, first.PNG, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: first state of %q (%d steps, success %v)\n", *out, caption, ep.Len(), ep.Success)
	if *gifOut == "" {
		return nil
	}
	anim := &gif.GIF{}
	for t := range frames {
		c := caption
		if t > 0 {
			c = fmt.Sprintf("%s  [step %d/%d]", caption, t, ep.Len())
		}
		r, err := e.Render(ctx, env.RenderRequest{Observation: ep.Observations[t*od : (t+1)*od], Caption: c, Width: *width})
		if err != nil {
			return err
		}
		img, err := png.Decode(bytes.NewReader(r.PNG))
		if err != nil {
			return fmt.Errorf("plugin %s rendered frame %d as something that is not a PNG: %w", *envName, t, err)
		}
		pal := image.NewPaletted(img.Bounds(), palette.Plan9)
		draw.FloydSteinberg.Draw(pal, img.Bounds(), img, image.Point{})
		delay := 40
		if t == 0 || t == frames-1 {
			delay = 120
		}
		anim.Image = append(anim.Image, pal)
		anim.Delay = append(anim.Delay, delay)
	}
	f, err := os.Create(*gifOut)
	if err != nil {
		return err
	}
	if err := gif.EncodeAll(f, anim); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d frames\n", *gifOut, frames)
	return nil
}

func readEpisode(dir string, i int) (*dataset.Episode, error) {
	r, err := dataset.Open(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if n := r.Meta().Episodes; i < 0 || i >= n {
		return nil, fmt.Errorf("dataset %s: -episode %d, want 0..%d", dir, i, n-1)
	}
	for k := 0; ; k++ {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if k == i {
			return e, nil
		}
	}
}

package gridgoal

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/kalm-go/kalm/framework/env"
)

// DefaultWidth is the width of a rendered image unless one is asked for.
const DefaultWidth = 256

var palette = []color.RGBA{
	{220, 50, 47, 255},   // red
	{80, 180, 60, 255},   // green
	{38, 110, 230, 255},  // blue
	{230, 200, 30, 255},  // yellow
	{150, 80, 200, 255},  // purple
	{150, 150, 150, 255}, // grey
}

var (
	floorColor = color.RGBA{30, 30, 34, 255}
	gridColor  = color.RGBA{60, 60, 66, 255}
	agentColor = color.RGBA{250, 250, 250, 255}
)

// Render draws an observation: the room seen from above, the agent as a
// white triangle pointing where it faces, and the caption below.
func (e *Env) Render(_ context.Context, req env.RenderRequest) (*env.RenderResponse, error) {
	if err := finite(req.Observation); err != nil {
		return nil, fmt.Errorf("gridgoal: render: %w", err)
	}
	w, err := decode(req.Observation, false)
	if err != nil {
		return nil, fmt.Errorf("gridgoal: render: %w", err)
	}
	width := req.Width
	if width <= 0 {
		width = DefaultWidth
	}
	if width < Size || width > 4096 {
		return nil, fmt.Errorf("gridgoal: render: width %d, want %d..4096", width, Size)
	}
	const captionHeight = 18
	img := image.NewRGBA(image.Rect(0, 0, width, width+captionHeight))
	draw.Draw(img, img.Bounds(), &image.Uniform{floorColor}, image.Point{}, draw.Src)
	cell := func(x, y int) image.Rectangle {
		return image.Rect(x*width/Size, y*width/Size, (x+1)*width/Size, (y+1)*width/Size)
	}
	for x := range Size {
		for y := range Size {
			r := cell(x, y)
			fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), gridColor)
			fill(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), gridColor)
		}
	}
	for _, o := range w.objs {
		if o.color < 1 || o.color > len(palette) {
			continue
		}
		c := palette[o.color-1]
		r := cell(o.x, o.y)
		if o.state == Carried || !inside(o.x, o.y) {
			if !inside(w.x, w.y) {
				continue
			}
			a := cell(w.x, w.y) // carried: a small mark in the agent's corner
			fill(img, image.Rect(a.Min.X+2, a.Min.Y+2, a.Min.X+a.Dx()/3, a.Min.Y+a.Dy()/3), c)
			continue
		}
		s := r.Dx()
		in := r.Inset(s / 6)
		switch o.typ {
		case Key:
			fill(img, image.Rect(in.Min.X, in.Min.Y, in.Min.X+in.Dx()/2, in.Min.Y+in.Dy()/2), c)
			fill(img, image.Rect(in.Min.X+in.Dx()/5, in.Min.Y+in.Dy()/2, in.Min.X+in.Dx()/3, in.Max.Y), c)
			fill(img, image.Rect(in.Min.X+in.Dx()/3, in.Max.Y-in.Dy()/6, in.Min.X+in.Dx()*2/3, in.Max.Y), c)
		case Ball:
			disc(img, in, c)
		case Box: // a crate: a frame with a lid line
			frame(img, in, max(1, s/10), c)
			fill(img, image.Rect(in.Min.X, in.Min.Y+in.Dy()/3, in.Max.X, in.Min.Y+in.Dy()/3+max(1, s/10)), c)
		case Door:
			switch o.state {
			case Open: // the doorway, its leaf swung against the left jamb
				frame(img, r.Inset(1), max(1, s/16), c)
				fill(img, image.Rect(r.Min.X+1, r.Min.Y+1, r.Min.X+1+s/5, r.Max.Y-1), c)
			case Locked:
				fill(img, r.Inset(1), c)
				fill(img, r.Inset(s*2/5), floorColor)
			default:
				fill(img, r.Inset(1), c)
				fill(img, image.Rect(r.Min.X+s/2, r.Min.Y+1, r.Min.X+s/2+max(1, s/16), r.Max.Y-1), floorColor)
			}
		}
	}
	if inside(w.x, w.y) && w.dir >= 0 && w.dir < 4 {
		triangle(img, cell(w.x, w.y).Inset(width/Size/5), w.dir, agentColor)
	}
	if req.Caption != "" {
		d := font.Drawer{Dst: img, Src: image.NewUniform(agentColor), Face: basicfont.Face7x13,
			Dot: fixed.P(4, width+captionHeight-5)}
		d.DrawString(req.Caption)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("gridgoal: render: %w", err)
	}
	return &env.RenderResponse{PNG: buf.Bytes()}, nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

func frame(img *image.RGBA, r image.Rectangle, t int, c color.RGBA) {
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), c)
	fill(img, image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), c)
	fill(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), c)
	fill(img, image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), c)
}

func disc(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	cx, cy, rad := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2, r.Dx()/2
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= rad*rad {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// triangle fills a triangle inside r pointing in direction dir.
func triangle(img *image.RGBA, r image.Rectangle, dir int, c color.RGBA) {
	s := r.Dx()
	if s <= 0 {
		return
	}
	for j := range s {
		for i := range s {
			// u runs along the pointing direction (0 at the base), v across.
			var u, v int
			switch dir {
			case Up:
				u, v = s-1-j, i
			case Down:
				u, v = j, i
			case Right:
				u, v = i, j
			case Left:
				u, v = s-1-i, j
			}
			half := (s - u) / 2
			if v >= s/2-half && v <= s/2+half {
				img.SetRGBA(r.Min.X+i, r.Min.Y+j, c)
			}
		}
	}
}

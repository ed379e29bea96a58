package clevr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/kalm-go/kalm/plugins/internal/render"
)

// BallColors are the render colours of the balls (the scene's RGB values, spec §1.2).
var BallColors = [MaxBalls]color.RGBA{
	{255, 26, 26, 255}, {51, 128, 255, 255}, {51, 255, 0, 255}, {204, 51, 255, 255}, {51, 255, 255, 255},
}

var (
	tableColor   = color.RGBA{228, 222, 208, 255}
	outsideColor = color.RGBA{90, 90, 96, 255}
	gridColor    = color.RGBA{212, 205, 190, 255}
	inkColor     = color.RGBA{20, 20, 24, 255}
	captionBG    = color.RGBA{250, 250, 250, 255}
)

// DefaultRenderWidth is the image width when none is asked for.
const DefaultRenderWidth = 480

// Renderer draws top-down views of the table: +x to the right and +y up, i.e. away from
// the default camera, so "behind" (KALM) is up in the picture.
type Renderer struct {
	cfg Config
}

// NewRenderer prepares a renderer for a configuration.
func NewRenderer(cfg Config) *Renderer { return &Renderer{cfg: cfg} }

// Image draws one observation (2·NumBalls positions) with a caption below, width pixels wide.
func (r *Renderer) Image(obs []float32, caption string, width int) (*image.RGBA, error) {
	n := r.cfg.NumBalls
	if len(obs) != 2*n {
		return nil, fmt.Errorf("clevr render: observation of %d values, want %d", len(obs), 2*n)
	}
	for i, v := range obs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("clevr render: observation value %d is %g", i, v)
		}
	}
	if width <= 0 {
		width = DefaultRenderWidth
	}
	if width < 16 || width > 8192 {
		return nil, fmt.Errorf("clevr render: width %d, want 16..8192", width)
	}
	c := &r.cfg
	// The view shows the walls plus a margin of 0.05 m.
	const margin = 0.05
	x0, x1 := c.WallXMin-margin, c.WallXMax+margin
	y0, y1 := c.WallYMin-margin, c.WallYMax+margin
	scale := float64(width) / (x1 - x0)
	h := int(math.Round((y1 - y0) * scale))
	lines := render.Wrap(caption, max(8, (width-8)/7))
	capH := 0
	if len(lines) > 0 {
		capH = 13*len(lines) + 8
	}
	img := image.NewRGBA(image.Rect(0, 0, width, h+capH))
	toPix := func(x, y float64) (float64, float64) { return (x - x0) * scale, (y1 - y) * scale }
	draw.Draw(img, image.Rect(0, 0, width, h), &image.Uniform{outsideColor}, image.Point{}, draw.Src)
	ax, ay := toPix(c.WallXMin, c.WallYMax)
	bx, by := toPix(c.WallXMax, c.WallYMin)
	draw.Draw(img, image.Rect(int(ax), int(ay), int(bx), int(by)), &image.Uniform{tableColor}, image.Point{}, draw.Src)
	// A 0.1 m grid helps read distances.
	for gx := math.Ceil(c.WallXMin*10) / 10; gx <= c.WallXMax; gx += 0.1 {
		px, _ := toPix(gx, 0)
		draw.Draw(img, image.Rect(int(px), int(ay), int(px)+1, int(by)), &image.Uniform{gridColor}, image.Point{}, draw.Src)
	}
	for gy := math.Ceil(c.WallYMin*10) / 10; gy <= c.WallYMax; gy += 0.1 {
		_, py := toPix(0, gy)
		draw.Draw(img, image.Rect(int(ax), int(py), int(bx), int(py)+1), &image.Uniform{gridColor}, image.Point{}, draw.Src)
	}
	rad := c.Radius * scale
	for i := 0; i < n; i++ {
		px, py := toPix(float64(obs[2*i]), float64(obs[2*i+1]))
		col := BallColors[i%MaxBalls]
		disc(img, px, py, rad, inkColor)
		disc(img, px, py, rad-math.Max(1, rad/14), col)
	}
	if capH > 0 {
		draw.Draw(img, image.Rect(0, h, width, h+capH), &image.Uniform{captionBG}, image.Point{}, draw.Src)
		d := &font.Drawer{Dst: img, Src: &image.Uniform{inkColor}, Face: basicfont.Face7x13}
		for k, line := range lines {
			d.Dot = fixed.P(4, h+4+11+13*k)
			d.DrawString(line)
		}
	}
	return img, nil
}

// disc fills a circle with a one-pixel anti-aliased edge.
func disc(img *image.RGBA, cx, cy, r float64, col color.RGBA) {
	b := img.Bounds()
	xa, xb := max(b.Min.X, int(cx-r-1)), min(b.Max.X-1, int(cx+r+1))
	ya, yb := max(b.Min.Y, int(cy-r-1)), min(b.Max.Y-1, int(cy+r+1))
	for y := ya; y <= yb; y++ {
		for x := xa; x <= xb; x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			a := math.Max(0, math.Min(1, r-d+0.5))
			if a == 0 {
				continue
			}
			o := img.RGBAAt(x, y)
			mix := func(p, q uint8) uint8 { return uint8(float64(p)*(1-a) + float64(q)*a + 0.5) }
			img.SetRGBA(x, y, color.RGBA{mix(o.R, col.R), mix(o.G, col.G), mix(o.B, col.B), 255})
		}
	}
}

// PNG renders one observation with a caption as PNG bytes.
func (r *Renderer) PNG(obs []float32, caption string, width int) ([]byte, error) {
	img, err := r.Image(obs, caption, width)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("clevr render: %w", err)
	}
	return buf.Bytes(), nil
}

// GIF renders an episode (T+1 observations, flat) as an animated GIF, one frame per
// observation (delayCS hundredths of a second each, the last held three times as long), each
// captioned with the goal text and the step number.
func (r *Renderer) GIF(obs []float32, caption string, width, delayCS int) ([]byte, error) {
	od := 2 * r.cfg.NumBalls
	if len(obs) == 0 || len(obs)%od != 0 {
		return nil, fmt.Errorf("clevr render: %d observation values is not a whole number of observations of dim %d", len(obs), od)
	}
	if delayCS <= 0 {
		delayCS = 60
	}
	pal := color.Palette{tableColor, outsideColor, gridColor, inkColor, captionBG, color.White}
	for _, c := range BallColors {
		pal = append(pal, c)
	}
	// Blends of each ball colour with the table and ink, for the anti-aliased edges.
	for _, c := range BallColors {
		for _, k := range []float64{0.25, 0.5, 0.75} {
			pal = append(pal, color.RGBA{uint8(float64(c.R)*k + float64(inkColor.R)*(1-k)), uint8(float64(c.G)*k + float64(inkColor.G)*(1-k)), uint8(float64(c.B)*k + float64(inkColor.B)*(1-k)), 255})
		}
	}
	frames := len(obs) / od
	anim, err := render.Frames(frames, pal, delayCS, func(k int) (*image.RGBA, error) {
		return r.Image(obs[k*od:(k+1)*od], fmt.Sprintf("%s  [step %d/%d]", caption, k, frames-1), width)
	})
	if err != nil {
		return nil, err
	}
	for _, f := range anim.Image {
		anim.Config.Width = max(anim.Config.Width, f.Bounds().Dx())
		anim.Config.Height = max(anim.Config.Height, f.Bounds().Dy())
	}
	anim.Config.ColorModel = pal
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		return nil, fmt.Errorf("clevr render: %w", err)
	}
	return buf.Bytes(), nil
}

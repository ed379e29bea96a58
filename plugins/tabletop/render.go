package tabletop

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

// DefaultRenderWidth is the width of a rendered state in pixels.
const DefaultRenderWidth = 480

var (
	bgColor      = color.RGBA{235, 235, 232, 255}
	tableColor   = color.RGBA{190, 160, 122, 255}
	gridColor    = color.RGBA{176, 146, 110, 255}
	inkColor     = color.RGBA{30, 30, 30, 255}
	targetColor  = color.RGBA{20, 170, 60, 255}
	puckColor    = color.RGBA{230, 128, 25, 255}
	blockColor   = color.RGBA{50, 150, 230, 255}
	housingColor = color.RGBA{90, 90, 90, 255}
	buttonColor  = color.RGBA{215, 25, 25, 255}
	cabinetColor = color.RGBA{115, 77, 51, 255}
	drawerColor  = color.RGBA{153, 107, 71, 255}
	handleColor  = color.RGBA{50, 50, 50, 255}
	frameColor   = color.RGBA{128, 128, 140, 255}
	paneColor    = color.NRGBA{150, 200, 255, 200}
	wallColor    = color.RGBA{205, 205, 190, 255}
	palmColor    = color.NRGBA{70, 70, 90, 170}
	fingerColor  = color.NRGBA{200, 200, 215, 220}
)

// gifPalette holds the scene's colours and, for the see-through hand and
// pane, their blends over the table.
var gifPalette = func() color.Palette {
	base := []color.RGBA{bgColor, tableColor, gridColor, inkColor, targetColor, puckColor, blockColor, housingColor,
		buttonColor, cabinetColor, drawerColor, handleColor, frameColor, wallColor, {255, 255, 255, 255}}
	p := color.Palette{}
	for _, c := range base {
		p = append(p, c)
	}
	for _, over := range []color.NRGBA{palmColor, fingerColor, paneColor} {
		for _, under := range base[:14] {
			a := float64(over.A) / 255
			mix := func(o, u uint8) uint8 { return uint8(float64(o)*a + float64(u)*(1-a) + 0.5) }
			p = append(p, color.RGBA{mix(over.R, under.R), mix(over.G, under.G), mix(over.B, under.B), 255})
		}
	}
	return p
}()

// view maps a plane of the world (horizontal axis u, vertical axis v) to a panel of pixels.
type view struct {
	img       *image.RGBA
	u0, v1, s float64 // world left edge, world top edge, pixels per metre
	top, w, h int
}

func (p *view) px(u, v float64) (int, int) {
	return int(math.Round((u - p.u0) * p.s)), p.top + int(math.Round((p.v1-v)*p.s))
}

// box fills the world rectangle [u0, u1] × [v0, v1].
func (p *view) box(u0, u1, v0, v1 float64, c color.Color) {
	x0, y1 := p.px(u0, v0)
	x1, y0 := p.px(u1, v1)
	r := image.Rect(x0, y0, max(x1, x0+1), max(y1, y0+1)).Intersect(image.Rect(0, p.top, p.w, p.top+p.h))
	draw.Draw(p.img, r, &image.Uniform{c}, image.Point{}, draw.Over)
}

// disc fills a world circle.
func (p *view) disc(u, v, r float64, c color.RGBA) {
	cx, cy := p.px(u, v)
	rp := math.Max(1.5, r*p.s)
	for y := int(float64(cy) - rp); y <= int(float64(cy)+rp); y++ {
		for x := int(float64(cx) - rp); x <= int(float64(cx)+rp); x++ {
			dx, dy := float64(x-cx), float64(y-cy)
			if dx*dx+dy*dy <= rp*rp && image.Pt(x, y).In(image.Rect(0, p.top, p.w, p.top+p.h)) {
				p.img.SetRGBA(x, y, c)
			}
		}
	}
}

// cross marks the target.
func (p *view) cross(u, v float64, c color.RGBA) {
	cx, cy := p.px(u, v)
	for d := -7; d <= 7; d++ {
		for w := -1; w <= 1; w++ {
			for _, q := range []image.Point{{cx + d, cy + d + w}, {cx + d, cy - d + w}} {
				if q.In(image.Rect(0, p.top, p.w, p.top+p.h)) {
					p.img.SetRGBA(q.X, q.Y, c)
				}
			}
		}
	}
}

// Image draws a state: the table from above (y away from the robot, up the
// picture), below it the scene from the robot's side (z up), and the caption.
func Image(s State, caption string, width int) (*image.RGBA, error) {
	if err := checkState(s, "render state"); err != nil {
		return nil, err
	}
	if width <= 0 {
		width = DefaultRenderWidth
	}
	if width < 64 || width > 8192 {
		return nil, fmt.Errorf("tabletop render: width %d, want 64..8192", width)
	}
	const margin = 0.03
	u0, u1 := TableXMin-margin, TableXMax+margin
	sc := float64(width) / (u1 - u0)
	topH := int(math.Round((TableYMax - TableYMin + 2*margin) * sc))
	const zMin, zMax = -0.04, 0.32
	sideH := int(math.Round((zMax - zMin) * sc))
	lines := render.Wrap(caption, max(8, (width-8)/7))
	capH := 0
	if len(lines) > 0 {
		capH = 13*len(lines) + 8
	}
	img := image.NewRGBA(image.Rect(0, 0, width, topH+2+sideH+capH))
	draw.Draw(img, img.Bounds(), &image.Uniform{bgColor}, image.Point{}, draw.Src)
	top := &view{img: img, u0: u0, v1: TableYMax + margin, s: sc, top: 0, w: width, h: topH}
	side := &view{img: img, u0: u0, v1: zMax, s: sc, top: topH + 2, w: width, h: sideH}
	draw.Draw(img, image.Rect(0, topH, width, topH+2), &image.Uniform{inkColor}, image.Point{}, draw.Src)

	top.box(TableXMin, TableXMax, TableYMin, TableYMax, tableColor)
	for g := math.Ceil(TableXMin*10) / 10; g <= TableXMax; g += 0.1 {
		top.box(g, g, TableYMin, TableYMax, gridColor)
	}
	for g := math.Ceil(TableYMin*10) / 10; g <= TableYMax; g += 0.1 {
		top.box(TableXMin, TableXMax, g, g, gridColor)
	}
	side.box(TableXMin, TableXMax, -0.025, 0, tableColor)

	if s.Active(Wall) {
		w := s.Pos(Wall)
		top.box(w[0]-WallHalfX, w[0]+WallHalfX, w[1]-WallHalfY, w[1]+WallHalfY, wallColor)
		side.box(w[0]-WallHalfX, w[0]+WallHalfX, w[2]-WallHalfZ, w[2]+WallHalfZ, wallColor)
	}
	if s.Active(Drawer) {
		d, open := s.Pos(Drawer), s.DrawerOpening()
		top.box(d[0]-0.1, d[0]+0.1, CabinetY-0.1, CabinetY+0.1, cabinetColor)
		cy := CabinetY - 0.005 - open
		top.box(d[0]-0.09, d[0]+0.09, cy-0.1, cy+0.1, drawerColor)
		top.box(d[0]-0.005, d[0]+0.005, d[1], cy-0.1, handleColor)
		top.disc(d[0], d[1], HandleRadius, handleColor)
		side.box(d[0]-0.1, d[0]+0.1, 0, 0.12, cabinetColor)
		side.box(d[0]-0.01, d[0]+0.01, d[2]-0.026, d[2]+0.026, handleColor)
	}
	if s.Active(Window) {
		w := s.Pos(Window)
		fy := w[1] - WindowHandleY
		top.box(WindowX-0.1, WindowX+0.3, fy-0.02, fy+0.02, frameColor)
		top.box(w[0]-0.08, w[0]+0.08, fy-0.005, fy+0.005, paneColor)
		top.box(w[0]-0.005, w[0]+0.005, w[1], fy, handleColor)
		top.disc(w[0], w[1], HandleRadius, handleColor)
		side.box(WindowX-0.1, WindowX+0.3, 0, 0.01, frameColor)
		side.box(WindowX-0.1, WindowX+0.3, 0.19, 0.2, frameColor)
		side.box(w[0]-0.08, w[0]+0.08, 0.015, 0.185, paneColor)
		side.box(w[0]-0.01, w[0]+0.01, w[2]-0.026, w[2]+0.026, handleColor)
	}
	if s.Active(Door) {
		hinge, a, h := s.DoorHinge(), s.DoorAngle(), s.Pos(Door)
		c, sn := math.Cos(a), math.Sin(a)
		top.box(hinge[0]-0.023, hinge[0]-0.007, hinge[1]-0.008, hinge[1]+0.008, frameColor)
		for d := 0.0; d <= 0.18; d += 0.004 { // the panel, a turned line of discs
			top.disc(hinge[0]+d*c, hinge[1]-d*sn, 0.006, drawerColor)
		}
		top.disc(h[0], h[1], HandleRadius, handleColor)
		side.box(hinge[0]-0.023, hinge[0]-0.007, 0, 0.2, frameColor)
		side.box(math.Min(hinge[0], hinge[0]+0.18*c), math.Max(hinge[0], hinge[0]+0.18*c), 0.01, 0.19, drawerColor)
		side.box(h[0]-0.01, h[0]+0.01, h[2]-0.026, h[2]+0.026, handleColor)
	}
	if s.Active(Button) {
		b := s.Pos(Button)
		top.box(b[0]-0.04, b[0]+0.04, b[1]-0.04, b[1]+0.04, housingColor)
		top.box(b[0]-ButtonHalf, b[0]+ButtonHalf, b[1]-ButtonHalf, b[1]+ButtonHalf, buttonColor)
		side.box(b[0]-ButtonHalf, b[0]+ButtonHalf, b[2]-0.01, b[2]+0.01, buttonColor)
		side.box(b[0]-0.04, b[0]+0.04, 0, ButtonBaseTop, housingColor)
	}
	if s.Active(Puck) {
		p := s.Pos(Puck)
		top.disc(p[0], p[1], PuckRadius, puckColor)
		side.box(p[0]-PuckRadius, p[0]+PuckRadius, p[2]-PuckHalfHeight, p[2]+PuckHalfHeight, puckColor)
	}
	if s.Active(Block) {
		p := s.Pos(Block)
		top.box(p[0]-BlockHalf, p[0]+BlockHalf, p[1]-BlockHalf, p[1]+BlockHalf, blockColor)
		side.box(p[0]-BlockHalf, p[0]+BlockHalf, p[2]-BlockHalf, p[2]+BlockHalf, blockColor)
	}
	t := s.Target()
	top.cross(t[0], t[1], targetColor)
	side.cross(t[0], t[2], targetColor)

	h, g := s.Hand(), math.Max(0, s.Gap())/2
	top.box(h[0]-0.065, h[0]+0.065, h[1]-0.015, h[1]+0.015, palmColor)
	side.box(h[0]-0.065, h[0]+0.065, h[2]+FingerLen, h[2]+FingerLen+0.02, palmColor)
	for _, sg := range []float64{-1, 1} {
		x0 := h[0] + sg*g
		top.box(math.Min(x0, x0+sg*0.01), math.Max(x0, x0+sg*0.01), h[1]-0.012, h[1]+0.012, fingerColor)
		side.box(math.Min(x0, x0+sg*0.01), math.Max(x0, x0+sg*0.01), h[2], h[2]+FingerLen, fingerColor)
	}
	if capH > 0 {
		y := topH + 2 + sideH
		d := &font.Drawer{Dst: img, Src: &image.Uniform{inkColor}, Face: basicfont.Face7x13}
		for k, line := range lines {
			d.Dot = fixed.P(4, y+4+11+13*k)
			d.DrawString(line)
		}
	}
	return img, nil
}

// PNG renders a state as PNG.
func PNG(s State, caption string, width int) ([]byte, error) {
	img, err := Image(s, caption, width)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("tabletop render: %w", err)
	}
	return buf.Bytes(), nil
}

// GIF renders an episode (its states, flat) as an animated GIF, one frame a
// state, delayCS hundredths of a second each (the last held three times as long).
func GIF(obs []float32, caption string, width, delayCS int) ([]byte, error) {
	if len(obs) == 0 || len(obs)%ObsDim != 0 {
		return nil, fmt.Errorf("tabletop render: %d observation values is not a whole number of states of %d", len(obs), ObsDim)
	}
	if delayCS <= 0 {
		delayCS = 10
	}
	frames := len(obs) / ObsDim
	anim, err := render.Frames(frames, gifPalette, delayCS, func(k int) (*image.RGBA, error) {
		return Image(State(obs[k*ObsDim:(k+1)*ObsDim]), fmt.Sprintf("%s  [step %d/%d]", caption, k, frames-1), width)
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		return nil, fmt.Errorf("tabletop render: %w", err)
	}
	return buf.Bytes(), nil
}

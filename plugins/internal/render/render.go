package render

import (
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"strings"
)

// Wrap breaks text at spaces into lines of at most maxChars characters (a
// longer word gets a line of its own).
func Wrap(text string, maxChars int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && len(cur)+1+len(w) > maxChars {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// Frames draws n frames with frame and turns them into an animation on the
// palette pal, delayCS hundredths of a second each and the last held three
// times as long. The caller sets the GIF's Config if it wants one and
// encodes it.
func Frames(n int, pal color.Palette, delayCS int, frame func(k int) (*image.RGBA, error)) (*gif.GIF, error) {
	anim := &gif.GIF{}
	for k := 0; k < n; k++ {
		img, err := frame(k)
		if err != nil {
			return nil, err
		}
		p := image.NewPaletted(img.Bounds(), pal)
		draw.Draw(p, p.Bounds(), img, image.Point{}, draw.Src)
		anim.Image = append(anim.Image, p)
		d := delayCS
		if k == n-1 {
			d *= 3
		}
		anim.Delay = append(anim.Delay, d)
	}
	return anim, nil
}

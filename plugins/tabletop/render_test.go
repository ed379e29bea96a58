package tabletop

import (
	"bytes"
	"flag"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/img")

// TestRender draws a fresh scene of every task: the picture must have the
// requested width, show the target's green and the colours of the entities
// the task uses, and nothing of those it does not.
func TestRender(t *testing.T) {
	colours := map[Entity]struct{ r, g, b uint32 }{Puck: {230, 128, 25}, Block: {50, 150, 230}, Button: {215, 25, 25}}
	for i, task := range Tasks {
		s := Scene(task, rand.New(rand.NewPCG(uint64(i), 7)))
		b, err := PNG(s, task.Name, 360)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if w := img.Bounds().Dx(); w != 360 {
			t.Fatalf("%s: width %d, want 360", task.Name, w)
		}
		seen := map[[3]uint32]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				seen[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			}
		}
		if !seen[[3]uint32{20, 170, 60}] {
			t.Errorf("%s: no target marker drawn", task.Name)
		}
		for e, c := range colours {
			if got := seen[[3]uint32{c.r, c.g, c.b}]; got != task.Uses(e) {
				t.Errorf("%s: %s colour drawn = %v, want %v", task.Name, e, got, task.Uses(e))
			}
		}
		if *update && (task.Name == "drawer-open" || task.Name == "pick-place-then-press") {
			if err := os.WriteFile(filepath.Join("testdata", "img", task.Name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := PNG(make(State, ObsDim-1), "", 0); err == nil {
		t.Fatal("PNG of a short state: no error")
	}
}

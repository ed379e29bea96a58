package render

import (
	"image"
	"image/color"
	"reflect"
	"testing"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text string
		max  int
		want []string
	}{
		{"", 10, nil},
		{"push the red ball", 10, []string{"push the", "red ball"}},
		{"a verylongword b", 5, []string{"a", "verylongword", "b"}},
		{"  spaced   out  ", 20, []string{"spaced out"}},
	} {
		if got := Wrap(tc.text, tc.max); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tc.text, tc.max, got, tc.want)
		}
	}
}

func TestFrames(t *testing.T) {
	pal := color.Palette{color.Black, color.White}
	anim, err := Frames(3, pal, 7, func(k int) (*image.RGBA, error) {
		img := image.NewRGBA(image.Rect(0, 0, 2, 2))
		img.Set(k%2, 0, color.White)
		return img, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(anim.Delay, []int{7, 7, 21}) || len(anim.Image) != 3 {
		t.Fatalf("delays %v, %d frames; want [7 7 21], 3", anim.Delay, len(anim.Image))
	}
	if anim.Image[1].ColorIndexAt(1, 0) != 1 || anim.Image[1].ColorIndexAt(0, 0) != 0 {
		t.Error("frame 1 is not the image drawn for it")
	}
}

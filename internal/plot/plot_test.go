package plot

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"testing"
)

func TestFigure(t *testing.T) {
	var b bytes.Buffer
	err := Figure(&b, []Panel{
		{Series: []Series{{Name: "SENT", Color: Blue, Values: []float64{0, 1, 2, math.NaN(), 4}}, {Name: "DROPPED", Color: Red, Values: []float64{4, 3, 2, 1, 0}}}},
		{Series: []Series{{Name: "ZERO", Color: Green, Values: []float64{0, 0, 0}}}},
		{}, // no series: an empty panel, not a panic
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, 800, 600) {
		t.Errorf("bounds %v, want 800x600", got)
	}
	// The first series' key square is blue.
	if r, g, bl, _ := img.At(115, 12).RGBA(); r>>8 != 30 || g>>8 != 90 || bl>>8 != 220 {
		t.Errorf("key colour %d %d %d, want blue", r>>8, g>>8, bl>>8)
	}
}

func TestTextAdvances(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 20))
	if x := Text(img, 0, 0, "AB?", Red); x != 24 {
		t.Errorf("Text returned x %d, want 24 (unknown runes take room too)", x)
	}
}

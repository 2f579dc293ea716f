// Package plot draws the project's charts as PNG with the standard library
// alone: lines (Bresenham), colour keys and a 3x5 pixel font for short
// labels. floodsim draws its attack series with it, and promcheck the series
// of a real Prometheus.
package plot

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
)

// Colours the charts use.
var (
	Blue   = color.RGBA{30, 90, 220, 255}
	Red    = color.RGBA{220, 40, 40, 255}
	Green  = color.RGBA{20, 150, 60, 255}
	Orange = color.RGBA{230, 130, 0, 255}
	Purple = color.RGBA{130, 50, 180, 255}
	Grey   = color.RGBA{120, 120, 120, 255}
)

// Series is one line: its values at evenly spaced times, NaN for a gap.
type Series struct {
	Name   string // drawn in the key (upper-case letters, digits, space and -./%)
	Color  color.RGBA
	Values []float64
}

// Panel is one chart; its series share a scale from 0 to their largest
// value, written at the top of the axis.
type Panel struct{ Series []Series }

// Figure draws panels one above the other, 800 pixels wide and 200 high
// each, and encodes them as PNG.
func Figure(w io.Writer, panels []Panel) error {
	const W, H = 800, 200
	img := image.NewRGBA(image.Rect(0, 0, W, H*max(len(panels), 1)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for i, p := range panels {
		drawPanel(img, image.Rect(0, i*H, W, (i+1)*H), p)
	}
	return png.Encode(w, img)
}

func drawPanel(img *image.RGBA, r image.Rectangle, p Panel) {
	const m = 30
	left, right, top, bottom := r.Min.X+m, r.Max.X-m, r.Min.Y+m, r.Max.Y-m/2
	Line(img, left, bottom, right, bottom, Grey)
	Line(img, left, top, left, bottom, Grey)
	scale, n := 0.0, 0
	for _, s := range p.Series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				scale = max(scale, v)
			}
		}
	}
	if scale == 0 {
		scale = 1
	}
	x := func(i int) int { return left + i*(right-left)/max(n-1, 1) }
	y := func(v float64) int { return bottom - int(v/scale*float64(bottom-top)) }
	for _, s := range p.Series {
		px, py := -1, 0
		for i, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				px = -1
				continue
			}
			cx, cy := x(i), y(v)
			if px < 0 {
				img.Set(cx, cy, s.Color)
			} else {
				Line(img, px, py, cx, cy, s.Color)
			}
			px, py = cx, cy
		}
	}
	// The scale: the value at the top of the axis.
	Text(img, r.Min.X+2, top-12, strings.ToUpper(strconv.FormatFloat(scale, 'g', 4, 64)), Grey)
	kx := left + 80
	for _, s := range p.Series {
		draw.Draw(img, image.Rect(kx, r.Min.Y+8, kx+12, r.Min.Y+20), image.NewUniform(s.Color), image.Point{}, draw.Src)
		kx = Text(img, kx+16, r.Min.Y+9, s.Name, s.Color) + 16
	}
}

// Key draws a colour square and its name at x, y, and returns where the
// next one goes.
func Key(img *image.RGBA, x, y int, name string, c color.Color) int {
	draw.Draw(img, image.Rect(x, y, x+12, y+12), image.NewUniform(c), image.Point{}, draw.Src)
	return Text(img, x+16, y+1, name, c) + 16
}

// Text draws s with the 3x5 glyphs scaled by two and returns the x after it.
// Runes without a glyph are left blank.
func Text(img *image.RGBA, x, y int, s string, c color.Color) int {
	for _, r := range s {
		g := glyphs[r]
		for row, bits := range g {
			for col := range 3 {
				if bits&(4>>col) != 0 {
					draw.Draw(img, image.Rect(x+2*col, y+2*row, x+2*col+2, y+2*row+2),
						image.NewUniform(c), image.Point{}, draw.Src)
				}
			}
		}
		x += 8
	}
	return x
}

// Line is Bresenham's algorithm.
func Line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	for e := dx + dy; ; {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e, x0 = e+dy, x0+sx
		}
		if e2 <= dx {
			e, y0 = e+dx, y0+sy
		}
	}
}

func abs(v int) int { return max(v, -v) }

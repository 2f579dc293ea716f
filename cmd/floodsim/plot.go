package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
)

// Plot colours; the CSV header names the same colours.
var (
	blue  = color.RGBA{30, 90, 220, 255} // IN: bytes the attackers sent the server
	red   = color.RGBA{220, 40, 40, 255} // OUT: bytes the server sent the victims
	green = color.RGBA{20, 150, 60, 255} // OK: legit answered fraction, 0..1 on full height
	grey  = color.RGBA{120, 120, 120, 255}
)

// glyphs is a 3x5 pixel font holding just the legend's letters.
var glyphs = map[rune][5]uint8{
	'I': {7, 2, 2, 2, 7}, 'N': {6, 5, 5, 5, 5}, 'O': {7, 5, 5, 5, 7},
	'U': {5, 5, 5, 5, 7}, 'T': {7, 2, 2, 2, 2}, 'K': {5, 5, 6, 5, 5},
}

// plotSeries draws both byte series on one shared scale and the legit
// answered fraction on 0..1, with a colour key in the top left corner.
func plotSeries(w io.Writer, series []second) error {
	const W, H, m = 800, 400, 40
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	line(img, m, H-m, W-m, H-m, grey)
	line(img, m, m, m, H-m, grey)
	var top float64 = 1
	for _, s := range series {
		top = max(top, float64(s.SentBytes), float64(s.RecvBytes))
	}
	n := max(len(series)-1, 1)
	x := func(i int) int { return m + i*(W-2*m)/n }
	y := func(v float64) int { return H - m - int(v*float64(H-2*m)) }
	plot := func(c color.RGBA, v func(second) float64) {
		px, py := -1, 0
		for i, s := range series {
			f := v(s)
			if math.IsNaN(f) {
				px = -1 // gap: nothing was measured
				continue
			}
			if cx, cy := x(i), y(f); px < 0 {
				px, py = cx, cy
				img.Set(cx, cy, c)
			} else {
				line(img, px, py, cx, cy, c)
				px, py = cx, cy
			}
		}
	}
	plot(blue, func(s second) float64 { return float64(s.SentBytes) / top })
	plot(red, func(s second) float64 { return float64(s.RecvBytes) / top })
	plot(green, func(s second) float64 { return fraction(s.LegitOK, s.LegitDone) })
	for i, k := range []struct {
		c    color.RGBA
		name string
	}{{blue, "IN"}, {red, "OUT"}, {green, "OK"}} {
		x0 := m + 10 + i*80
		draw.Draw(img, image.Rect(x0, 10, x0+12, 22), image.NewUniform(k.c), image.Point{}, draw.Src)
		text(img, x0+16, 11, k.name, k.c)
	}
	return png.Encode(w, img)
}

// text draws s with the 3x5 glyphs scaled by two.
func text(img *image.RGBA, x, y int, s string, c color.Color) {
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
}

// line is Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
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

package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"github.com/floodguard/floodguard/internal/plot"
)

// Plot colours; the CSV header names the same colours.
var (
	blue  = color.RGBA{30, 90, 220, 255} // IN: bytes the attackers sent the server
	red   = color.RGBA{220, 40, 40, 255} // OUT: bytes the server sent the victims
	green = color.RGBA{20, 150, 60, 255} // OK: legit answered fraction, 0..1 on full height
	grey  = color.RGBA{120, 120, 120, 255}
)

// plotSeries draws both byte series on one shared scale and the legit
// answered fraction on 0..1, with a colour key in the top left corner.
func plotSeries(w io.Writer, series []second) error {
	const W, H, m = 800, 400, 40
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	plot.Line(img, m, H-m, W-m, H-m, grey)
	plot.Line(img, m, m, m, H-m, grey)
	var top float64 = 1
	for _, s := range series {
		top = max(top, float64(s.SentBytes), float64(s.RecvBytes))
	}
	n := max(len(series)-1, 1)
	x := func(i int) int { return m + i*(W-2*m)/n }
	y := func(v float64) int { return H - m - int(v*float64(H-2*m)) }
	trace := func(c color.RGBA, v func(second) float64) {
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
				plot.Line(img, px, py, cx, cy, c)
				px, py = cx, cy
			}
		}
	}
	trace(blue, func(s second) float64 { return float64(s.SentBytes) / top })
	trace(red, func(s second) float64 { return float64(s.RecvBytes) / top })
	trace(green, func(s second) float64 { return fraction(s.LegitOK, s.LegitDone) })
	for i, k := range []struct {
		c    color.RGBA
		name string
	}{{blue, "IN"}, {red, "OUT"}, {green, "OK"}} {
		plot.Key(img, m+10+i*80, 10, k.name, k.c)
	}
	return png.Encode(w, img)
}

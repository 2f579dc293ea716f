package main

import (
	"io"

	"github.com/floodguard/floodguard/internal/plot"
)

// writePlot draws the replay over time, one value per timeline step: UDP
// bytes in, out as replayed and out as captured; then the queries by
// outcome.
func (r *replayer) writePlot(w io.Writer) error {
	per := float64(r.tl.step) / 1e9 // seconds per step: values are per second
	n := len(r.tl.buckets)
	series := func(name string, c plotColor, v func(b *bucket) uint64) plot.Series {
		s := plot.Series{Name: name, Color: c, Values: make([]float64, n)}
		for i := range r.tl.buckets {
			s.Values[i] = float64(v(&r.tl.buckets[i])) / per
		}
		return s
	}
	bytes := plot.Panel{Series: []plot.Series{
		series("IN B/S", plot.Blue, func(b *bucket) uint64 { return b.udpIn }),
		series("OUT B/S", plot.Red, func(b *bucket) uint64 { return b.udpOut }),
	}}
	if r.rep.capturedResponses > 0 {
		bytes.Series = append(bytes.Series, series("CAPTURED OUT B/S", plot.Grey, func(b *bucket) uint64 { return b.capturedOut }))
	}
	out := plot.Panel{Series: []plot.Series{
		series("SENT/S", plot.Green, func(b *bucket) uint64 { return b.outcomes[sent] + b.outcomes[minimal] + b.outcomes[refused] }),
		series("DROPPED/S", plot.Red, func(b *bucket) uint64 { return b.outcomes[dropped] + b.outcomes[wouldDrop] }),
		series("SLIPPED/S", plot.Orange, func(b *bucket) uint64 {
			return b.outcomes[slipped] + b.outcomes[truncated] + b.outcomes[wouldSlip] + b.outcomes[badcookie]
		}),
		series("BANNED/S", plot.Purple, func(b *bucket) uint64 { return b.outcomes[banned] }),
	}}
	return plot.Figure(w, []plot.Panel{bytes, out})
}

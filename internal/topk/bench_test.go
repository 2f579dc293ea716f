package topk

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

// Streams of prefixes, each a power of two long.
var benchStreams = []struct {
	name string
	ps   []netip.Prefix
}{
	// 128 prefixes, held for good: every Add hits, in all shards.
	{"hit", randNets(5, 128)},
	// One prefix: every Add hits, and every core takes one shard's lock.
	{"hot", randNets(6, 1)},
	// Far more prefixes than counters, as in a spoofed flood: nearly
	// every Add evicts in both rankings.
	{"miss", randNets(7, 1<<16)},
}

func BenchmarkAdd(b *testing.B) {
	for _, st := range benchStreams {
		ps := st.ps
		b.Run(st.name, func(b *testing.B) {
			s := New(512, 10*sec, 7)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.Add(int64(i), ps[i&(len(ps)-1)], 40, 500, Answered)
				i++
			}
		})
		b.Run(st.name+"/parallel", func(b *testing.B) {
			s := New(512, 10*sec, 7)
			var start atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(start.Add(7919)) // apart, so goroutines do not march in step
				for pb.Next() {
					s.Add(int64(i), ps[i&(len(ps)-1)], 40, 500, Answered)
					i++
				}
			})
		})
	}
}

func BenchmarkTop(b *testing.B) {
	s := New(512, 10*sec, 7)
	ps := randNets(7, 1<<16)
	var now int64
	for i := range 1 << 20 { // every epoch of the window full
		now = int64(i) * 70 * sec >> 20
		s.Add(now, ps[i&(len(ps)-1)], 40, 500, Answered)
	}
	for _, by := range []By{ByQueries, ByBytes} {
		b.Run([]string{"queries", "bytes"}[by], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Top(now, 20, by)
			}
		})
	}
}

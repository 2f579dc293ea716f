package topk

import (
	"math/rand/v2"
	"testing"
)

// checkSummary checks the heap, the tags, and the Space-Saving bounds of
// s against the true weights.
func checkSummary(t *testing.T, s *summary, truth map[key]uint64) {
	t.Helper()
	var sum uint64
	held := map[key]bool{}
	for i := int32(0); i < s.n; i++ {
		ci, count := s.heap[i].ci, s.heap[i].count
		c := &s.c[ci]
		if s.pos[ci] != i {
			t.Fatalf("counter at heap %d says pos %d", i, s.pos[ci])
		}
		if p := (i - 1) / 2; i > 0 && s.heap[p].count > count {
			t.Fatalf("heap order broken at %d", i)
		}
		if s.find(&c.key, tagOf(c.key)) != ci || held[c.key] {
			t.Fatalf("%v lost or held twice", c.key.prefix())
		}
		held[c.key] = true
		tw := truth[c.key]
		if count < tw || count-c.err > tw || c.err > s.min() {
			t.Fatalf("%v: count %d err %d true %d min %d", c.key.prefix(), count, c.err, tw, s.min())
		}
		sum += count
	}
	if sum != s.total {
		t.Fatalf("counts sum to %d, total %d", sum, s.total)
	}
	if s.heap[s.n] != sentinel {
		t.Fatalf("no sentinel after the heap")
	}
	for k, tw := range truth {
		if tw == 0 || held[k] {
			continue
		}
		if s.find(&k, tagOf(k)) >= 0 {
			t.Fatalf("%v found but not held", k.prefix())
		}
		if !s.full() || tw > s.min() {
			t.Fatalf("%v (true %d) missing, min %d", k.prefix(), tw, s.min())
		}
	}
}

// tagOf stands in for the seeded hash with only four tag values, so that
// most tag matches are false and find must tell them apart.
func tagOf(k key) uint8 { return uint8(k.lo>>8) & 3 }

func TestSummaryInvariants(t *testing.T) {
	tests := []struct {
		name  string
		m     int
		bytes bool
	}{
		{"one counter", 1, false},
		{"two counters", 2, false},
		{"odd size", 5, false},
		{"default size", 32, false},
		{"default size, byte weights", 32, true},
		{"large", 300, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &newSummaries(1, tt.m)[0]
			s.reset(0)
			r := rand.New(rand.NewPCG(7, uint64(tt.m)))
			truth := map[key]uint64{}
			for i := range 20000 {
				// Half the stream from a few keys, half from many.
				n := uint32(4 * tt.m)
				if r.IntN(2) == 0 {
					n = 50000
				}
				k := makeKey(net24(r.Uint32N(n)))
				w := uint64(1)
				if tt.bytes {
					w = uint64(r.IntN(1500)) // zero included
				}
				s.add(&k, uint64(tagOf(k)), w, &hit{resp: w})
				truth[k] += w
				if i%997 == 0 {
					checkSummary(t, s, truth)
				}
			}
			checkSummary(t, s, truth)
		})
	}
}

// TestSummaryReset: after a reset, stale tags and counters of the last
// epoch neither match nor count.
func TestSummaryReset(t *testing.T) {
	s := &newSummaries(1, 8)[0]
	s.reset(0)
	x := &hit{}
	for i := range uint32(20) {
		k := makeKey(net24(i))
		s.add(&k, uint64(tagOf(k)), 1, x)
	}
	s.reset(1)
	truth := map[key]uint64{}
	for i := range uint32(3) {
		k := makeKey(net24(100 + i))
		s.add(&k, uint64(tagOf(k)), 2, x)
		truth[k] += 2
	}
	checkSummary(t, s, truth)
	for i := range uint32(20) {
		if k := makeKey(net24(i)); s.find(&k, tagOf(k)) >= 0 {
			t.Errorf("%v survived the reset", k.prefix())
		}
	}
}

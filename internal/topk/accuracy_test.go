package topk

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestSkewed: five heavy prefixes hidden in 200,000 one-off /24s are the
// top five, with estimates within the bound.
func TestSkewed(t *testing.T) {
	s := New(512, 10*sec, 7)
	heavy := []netip.Prefix{
		pfx("192.0.2.0/24"), pfx("198.51.100.0/24"), pfx("203.0.113.0/24"),
		pfx("2001:db8:1::/48"), pfx("2001:db8:2::/48"),
	}
	stream := randNets(1, 200000)
	for _, p := range heavy {
		for range 2000 {
			stream = append(stream, p)
		}
	}
	rand.New(rand.NewPCG(2, 0)).Shuffle(len(stream), func(i, j int) {
		stream[i], stream[j] = stream[j], stream[i]
	})
	truth := map[netip.Prefix]uint64{}
	for i, p := range stream {
		s.Add(int64(i), p, 40, 100, Answered)
		truth[p]++
	}
	now := int64(len(stream))
	top := s.Top(now, 5, ByQueries)
	if len(top) != 5 {
		t.Fatalf("got %d entries", len(top))
	}
	for _, p := range heavy {
		e, ok := entryOf(top, p)
		b := bound(s, now, p, ByQueries)
		if !ok || e.Estimate < truth[p] || e.Estimate > truth[p]+b || e.Estimate-e.Error > truth[p] {
			t.Errorf("%v: got %+v (listed %v), true %d, bound %d", p, e, ok, truth[p], b)
		}
	}
}

func TestByBytes(t *testing.T) {
	s := New(512, 10*sec, 7)
	few, many := pfx("192.0.2.0/24"), pfx("2001:db8::/48")
	for range 10 {
		s.Add(0, few, 40, 4000, Answered)
	}
	for range 1000 {
		s.Add(0, many, 40, 20, Answered)
	}
	tests := []struct {
		by    By
		first netip.Prefix
		est   uint64
	}{
		{ByQueries, many, 1000},
		{ByBytes, few, 40000},
	}
	for _, tt := range tests {
		top := s.Top(0, 1, tt.by)
		if len(top) != 1 || top[0].Prefix != tt.first || top[0].Estimate != tt.est {
			t.Errorf("by %d: got %+v, want %v at %d", tt.by, top, tt.first, tt.est)
		}
	}
}

// TestMergeFullEpochs: with one counter per shard, an epoch whose counter
// another prefix holds adds its minimum to both estimate and error.
func TestMergeFullEpochs(t *testing.T) {
	s := New(16, 10, 2)
	ps := sameShard(t, s, 2)
	a, b := ps[0], ps[1]
	for range 5 {
		s.Add(0, a, 0, 0, Answered)
	}
	s.Add(1, b, 0, 0, Answered) // evicts a: b counts 6, error 5
	s.Add(10, a, 0, 0, Answered)
	s.Add(11, a, 0, 0, Answered) // epoch 1: a counts 2
	tests := []struct {
		p           netip.Prefix
		est, err, q uint64
		trueWeight  uint64
	}{
		{a, 2 + 6, 0 + 6, 2, 7},
		{b, 6 + 2, 5 + 2, 1, 1},
	}
	top := s.Top(19, 10, ByQueries)
	for _, tt := range tests {
		e, ok := entryOf(top, tt.p)
		if !ok || e.Estimate != tt.est || e.Error != tt.err || e.Queries != tt.q {
			t.Errorf("%v: got %+v, want estimate %d error %d queries %d", tt.p, e, tt.est, tt.err, tt.q)
		}
		if e.Estimate < tt.trueWeight || e.Estimate-e.Error > tt.trueWeight {
			t.Errorf("%v: %+v does not bracket %d", tt.p, e, tt.trueWeight)
		}
	}
}

// TestWindowGuarantee checks the bound of the package comment on a skewed
// stream over many epochs, for both rankings.
func TestWindowGuarantee(t *testing.T) {
	for _, by := range []By{ByQueries, ByBytes} {
		s := New(64, 100, 3)
		r := rand.New(rand.NewPCG(3, uint64(by)))
		type ev struct {
			now  int64
			p    netip.Prefix
			resp int
		}
		var evs []ev
		for i := range 30000 {
			n := uint32(8)
			if r.IntN(3) > 0 {
				n = 1 << 20
			}
			evs = append(evs, ev{int64(i / 50), net24(r.Uint32N(n)), r.IntN(1200)})
		}
		for _, v := range evs {
			s.Add(v.now, v.p, 40, v.resp, Answered)
		}
		now := evs[len(evs)-1].now
		truth := map[netip.Prefix]uint64{}
		queries := map[netip.Prefix]uint64{}
		for _, v := range evs {
			if inWindow(v.now/100, now/100, 3) {
				w := uint64(1)
				if by == ByBytes {
					w = uint64(v.resp)
				}
				truth[v.p] += w
				queries[v.p]++
			}
		}
		top := s.Top(now, math.MaxInt, by)
		for _, e := range top {
			tw, b := truth[e.Prefix], bound(s, now, e.Prefix, by)
			if e.Estimate < tw || e.Estimate-e.Error > tw || e.Estimate > tw+b || e.Queries > queries[e.Prefix] {
				t.Fatalf("by %d: %+v, true %d (%d queries), bound %d", by, e, tw, queries[e.Prefix], b)
			}
		}
		listed := 0
		for p, tw := range truth {
			if tw > bound(s, now, p, by) {
				listed++
				if _, ok := entryOf(top, p); !ok {
					t.Errorf("by %d: %v weighs %d over the bound but is not listed", by, p, tw)
				}
			}
		}
		if listed == 0 {
			t.Errorf("by %d: no prefix above the bound: the test tests nothing", by)
		}
	}
}

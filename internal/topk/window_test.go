package topk

import (
	"math"
	"net/netip"
	"testing"
)

func TestWindow(t *testing.T) {
	s := New(512, 10, 3) // epochs of 10 ns, a window of 3
	a, b, c := pfx("192.0.2.0/24"), pfx("198.51.100.0/24"), pfx("2001:db8::/48")
	s.Add(0, a, 0, 1, Answered)  // epoch 0
	s.Add(15, b, 0, 1, Answered) // epoch 1
	s.Add(25, c, 0, 1, Answered) // epoch 2
	tests := []struct {
		now  int64
		want []netip.Prefix
	}{
		{29, []netip.Prefix{a, b, c}},
		{30, []netip.Prefix{b, c}},
		{45, []netip.Prefix{c}},
		{59, []netip.Prefix{}},
	}
	for _, tt := range tests {
		for _, by := range []By{ByQueries, ByBytes} {
			got := s.Top(tt.now, 10, by)
			if len(got) != len(tt.want) {
				t.Errorf("Top(%d, by %d) = %+v, want %v", tt.now, by, got, tt.want)
				continue
			}
			for _, p := range tt.want {
				if e, ok := entryOf(got, p); !ok || e.Estimate != 1 {
					t.Errorf("Top(%d, by %d): %v is %+v", tt.now, by, p, e)
				}
			}
		}
	}
}

// TestRingReuse: an epoch that comes back to a ring slot starts it afresh.
func TestRingReuse(t *testing.T) {
	s := New(512, 10, 3)
	p := pfx("192.0.2.0/24")
	s.Add(0, p, 0, 0, Answered)
	s.Add(1, p, 0, 0, Answered)
	s.Add(30, p, 0, 0, Answered) // epoch 3, the slot of epoch 0
	top := s.Top(30, 1, ByQueries)
	if len(top) != 1 || top[0].Estimate != 1 {
		t.Errorf("got %+v, want an estimate of 1", top)
	}
	s.Add(1000, p, 0, 0, Answered) // a long gap: every older epoch is gone
	if top := s.Top(1000, 1, ByQueries); len(top) != 1 || top[0].Estimate != 1 {
		t.Errorf("after a gap: got %+v", top)
	}
}

// TestLateNow: a reading older than the shard's epoch counts in the
// current epoch; the shard does not go back.
func TestLateNow(t *testing.T) {
	s := New(512, 10, 3)
	p := pfx("192.0.2.0/24")
	tests := []struct {
		name string
		now  int64
		want uint64 // estimate at now 100 after the Add
	}{
		{"current", 100, 1},
		{"late, same epoch", 95, 2},
		{"late, older epoch", 42, 3},
		{"late, out of the window", 0, 4},
		{"late, negative", -7, 5},
		{"late, minimum", math.MinInt64, 6},
	}
	for _, tt := range tests {
		s.Add(tt.now, p, 0, 1, Answered)
		top := s.Top(100, 1, ByQueries)
		if len(top) != 1 || top[0].Estimate != tt.want || top[0].Error != 0 {
			t.Errorf("%s: got %+v, want %d", tt.name, top, tt.want)
		}
	}
	if sh := shardOf(s, p); sh.cur != 10 {
		t.Errorf("shard epoch %d, want 10", sh.cur)
	}
}

// TestExtremeTimes: times at the ends of int64 neither panic nor wrap.
func TestExtremeTimes(t *testing.T) {
	tests := []struct {
		name     string
		epochLen int64
		now      []int64
	}{
		{"negative", 10, []int64{-25, -5, 5}},
		{"minimum then maximum", 1, []int64{math.MinInt64, math.MaxInt64}},
		{"maximum, long epochs", 10e9, []int64{math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(16, tt.epochLen, 7)
			p := pfx("192.0.2.0/24")
			for _, now := range tt.now {
				s.Add(now, p, 1, 1, Answered)
				for _, at := range []int64{math.MinInt64, 0, now, math.MaxInt64} {
					s.Top(at, 1, ByBytes)
				}
			}
			last := tt.now[len(tt.now)-1]
			if top := s.Top(last, 1, ByQueries); len(top) != 1 || top[0].Estimate == 0 {
				t.Errorf("Top at %d: %+v", last, top)
			}
		})
	}
}

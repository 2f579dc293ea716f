package topk

import (
	"net/netip"
	"testing"
	"unsafe"
)

const sec = int64(1e9)

func TestNewClamps(t *testing.T) {
	tests := []struct {
		name     string
		counters int
		epochLen int64
		epochs   int
		want     int
	}{
		{"defaults", 512, 10e9, 7, 512},
		{"zeros", 0, 0, 0, 16},
		{"negatives", -5, -1, -3, 16},
		{"rounded up", 17, 1, 1, 32},
		{"one per shard", 16, sec, 1, 16},
		{"too many counters", 1 << 30, sec, 1, 1 << 14},
		{"too many epochs", 16, sec, 1 << 30, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.counters, tt.epochLen, tt.epochs)
			if got := s.Counters(); got != tt.want {
				t.Errorf("Counters() = %d, want %d", got, tt.want)
			}
			p := pfx("192.0.2.0/24")
			s.Add(5, p, 40, 100, Answered)
			top := s.Top(5, 10, ByQueries)
			if len(top) != 1 || top[0].Prefix != p || top[0].Estimate != 1 {
				t.Errorf("Top = %+v", top)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	small, big := New(512, 10e9, 7).Bytes(), New(1024, 10e9, 7).Bytes()
	t.Logf("New(512, 10e9, 7).Bytes() = %d", small)
	if floor := 512 * 7 * 2 * int(unsafe.Sizeof(counter{})); small < floor || small > 2*floor || big <= small {
		t.Errorf("Bytes() = %d for 512 counters, %d for 1024", small, big)
	}
}

// TestExactUnderCapacity: with fewer prefixes than counters nothing is
// evicted, so every count is exact.
func TestExactUnderCapacity(t *testing.T) {
	s := New(512, 10*sec, 7)
	type load struct {
		p         netip.Prefix
		n         int
		req, resp int
	}
	loads := []load{
		{p: pfx("192.0.2.0/24"), n: 50, req: 30, resp: 100},
		{p: pfx("198.51.100.0/24"), n: 20, req: 40, resp: 1000},
		{p: pfx("2001:db8::/48"), n: 35, req: 50, resp: 10},
		{p: netip.PrefixFrom(netip.MustParseAddr("::ffff:192.0.2.0"), 24), n: 3, req: 60, resp: 1},
		{p: netip.Prefix{}, n: 7, req: 1, resp: 2},
	}
	for i := range 60 { // interleaved, over two epochs
		for _, l := range loads {
			if i < l.n {
				s.Add(int64(i)*sec/4, l.p, l.req, l.resp, Answered)
			}
		}
	}
	for _, by := range []By{ByQueries, ByBytes} {
		top := s.Top(15*sec, 100, by)
		if len(top) != len(loads) {
			t.Fatalf("by %d: %d entries, want %d", by, len(top), len(loads))
		}
		for _, l := range loads {
			e, ok := entryOf(top, l.p)
			want := uint64(l.n)
			if by == ByBytes {
				want = uint64(l.n * l.resp)
			}
			if !ok || e.Estimate != want || e.Error != 0 || e.Queries != uint64(l.n) ||
				e.RequestBytes != uint64(l.n*l.req) || e.ResponseBytes != uint64(l.n*l.resp) {
				t.Errorf("by %d: %v: got %+v, want estimate %d", by, l.p, e, want)
			}
		}
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name                      string
		o                         Outcome
		req, resp                 int
		dropped, slipped, refused uint64
		wantReq, wantResp         uint64
	}{
		{"answered", Answered, 40, 500, 0, 0, 0, 40, 500},
		{"dropped", Dropped, 40, 0, 1, 0, 0, 40, 0},
		{"slipped", Slipped, 40, 12, 0, 1, 0, 40, 12},
		{"refused", Refused, 40, 12, 0, 0, 1, 40, 12},
		{"unknown counts as a query only", Outcome(9), 40, 12, 0, 0, 0, 40, 12},
		{"negative bytes count as zero", Answered, -1, -500, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(512, 10*sec, 7)
			p := pfx("192.0.2.0/24")
			for range 3 {
				s.Add(0, p, tt.req, tt.resp, tt.o)
			}
			top := s.Top(0, 1, ByQueries)
			if len(top) != 1 {
				t.Fatalf("got %+v", top)
			}
			want := Entry{Prefix: p, Estimate: 3, Queries: 3,
				RequestBytes: 3 * tt.wantReq, ResponseBytes: 3 * tt.wantResp,
				Dropped: 3 * tt.dropped, Slipped: 3 * tt.slipped, Refused: 3 * tt.refused}
			if top[0] != want {
				t.Errorf("got %+v, want %+v", top[0], want)
			}
			// Without response bytes there is nothing to rank by bytes.
			if got := s.Top(0, 1, ByBytes); tt.wantResp == 0 && len(got) != 0 {
				t.Errorf("by bytes: got %+v", got)
			}
		})
	}
}

func TestTopOrderAndLimits(t *testing.T) {
	s := New(512, 10*sec, 7)
	ps := []netip.Prefix{pfx("2001:db8::/48"), pfx("198.51.100.0/24"), pfx("192.0.2.0/24"), {}}
	for _, p := range ps {
		s.Add(0, p, 0, 10, Answered) // all tied
	}
	s.Add(0, ps[0], 0, 10, Answered)
	want := []netip.Prefix{ps[0], {}, ps[2], ps[1]}
	tests := []struct {
		n    int
		by   By
		want []netip.Prefix
	}{
		{0, ByQueries, nil},
		{-1, ByQueries, nil},
		{1, ByQueries, want[:1]},
		{2, ByQueries, want[:2]},
		{3, ByQueries, want[:3]},
		{10, ByQueries, want},
		{10, ByBytes, want},
		{10, By(7), nil},
	}
	for _, tt := range tests {
		got := s.Top(0, tt.n, tt.by)
		if len(got) != len(tt.want) {
			t.Errorf("Top(%d, %d): %d entries, want %d", tt.n, tt.by, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if got[i].Prefix != tt.want[i] {
				t.Errorf("Top(%d, %d)[%d] = %v, want %v", tt.n, tt.by, i, got[i].Prefix, tt.want[i])
			}
		}
	}
}

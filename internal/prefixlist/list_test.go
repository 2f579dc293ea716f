package prefixlist

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func mustParse(t testing.TB, text string) *List {
	t.Helper()
	l, err := Parse("test.txt", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLookup(t *testing.T) {
	l := mustParse(t, `
10.0.0.0/8          # ten
10.1.0.0/16         # ten-one
10.1.2.0/24 2026-06-01T00:00:00Z  # ten-one-two, expiring
10.1.2.3            # host
192.0.2.0/24 2026-01-01T00:00:00Z # expired alone
0.0.0.0/0 2000-01-01T00:00:00Z    # expired default
2001:db8::/32       # doc
2001:db8:1::/48 2026-06-01T00:00:00Z # doc-one, expiring
::ffff:198.51.100.0/120 # mapped
`)
	before := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	expiry := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	after := expiry.Add(time.Nanosecond)
	tests := []struct {
		name string
		addr string
		now  time.Time
		want string // prefix found; "" for none
	}{
		{"longest", "10.1.2.3", before, "10.1.2.3/32"},
		{"middle", "10.1.2.4", before, "10.1.2.0/24"},
		{"shorter", "10.1.3.4", before, "10.1.0.0/16"},
		{"shortest", "10.2.0.0", before, "10.0.0.0/8"},
		{"miss", "11.0.0.0", before, ""},
		{"live at expiry", "10.1.2.4", expiry, "10.1.2.0/24"},
		{"expired falls back", "10.1.2.4", after, "10.1.0.0/16"},
		{"expired above live host", "10.1.2.3", after, "10.1.2.3/32"},
		{"expired alone", "192.0.2.1", before, ""},
		{"v6", "2001:db8:2::1", before, "2001:db8::/32"},
		{"v6 longest", "2001:db8:1::1", before, "2001:db8:1::/48"},
		{"v6 expired falls back", "2001:db8:1::1", after, "2001:db8::/32"},
		{"v6 miss", "2001:db9::1", before, ""},
		{"mapped query", "::ffff:10.1.2.3", before, "10.1.2.3/32"},
		{"mapped entry", "198.51.100.9", before, "198.51.100.0/24"},
		{"v4 not in v6", "::a01:203", before, ""}, // ::10.1.2.3, compatible but not mapped
		{"v6 not in v4", "::", before, ""},        // 0.0.0.0/0 is IPv4 only
		{"zoned query", "2001:db8::1%eth0", before, "2001:db8::/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			e, ok := l.Lookup(addr, tt.now)
			got := ""
			if ok {
				got = e.Prefix.String()
			}
			if got != tt.want {
				t.Errorf("Lookup(%s) = %q, want %q", tt.addr, got, tt.want)
			}
			if c := l.Contains(addr, tt.now); c != (tt.want != "") {
				t.Errorf("Contains(%s) = %v", tt.addr, c)
			}
		})
	}

	e, _ := l.Lookup(netip.MustParseAddr("10.1.2.3"), before)
	if e.Comment != "host" || e.Line != 5 {
		t.Errorf("entry %+v: want comment %q, line 5", e, "host")
	}
}

func TestLookupNothing(t *testing.T) {
	var nilList *List
	empty := mustParse(t, "")
	now := time.Now()
	tests := []struct {
		name string
		l    *List
		addr netip.Addr
	}{
		{"nil list", nilList, netip.MustParseAddr("192.0.2.1")},
		{"empty list", empty, netip.MustParseAddr("192.0.2.1")},
		{"invalid address", mustParse(t, "0.0.0.0/0\n::/0"), netip.Addr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.l.Lookup(tt.addr, now); ok {
				t.Error("found an entry")
			}
			if tt.l.Contains(tt.addr, now) {
				t.Error("Contains is true")
			}
		})
	}
	if nilList.Len() != 0 || nilList.Live(now) != 0 || nilList.Entries() != nil {
		t.Error("nil list is not empty")
	}
}

func TestLiveAndEntries(t *testing.T) {
	l := mustParse(t, `
192.0.2.0/24 2026-01-01T00:00:00Z
198.51.100.0/24 2027-01-01T00:00:00Z
2001:db8::/32
`)
	tests := []struct {
		now  time.Time
		want int
	}{
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 3},
		{time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), 2},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		if got := l.Live(tt.now); got != tt.want {
			t.Errorf("Live(%v) = %d, want %d", tt.now, got, tt.want)
		}
	}
	if l.Len() != 3 {
		t.Errorf("Len() = %d, want 3", l.Len())
	}

	// Entries is a copy: changing it must not change the list.
	es := l.Entries()
	es[0].Prefix = netip.MustParsePrefix("203.0.113.0/24")
	if !l.Contains(netip.MustParseAddr("192.0.2.1"), time.Time{}) ||
		l.Contains(netip.MustParseAddr("203.0.113.1"), time.Time{}) {
		t.Error("changing Entries() changed the list")
	}
	if !slices.IsSortedFunc(l.Entries(), func(a, b Entry) int { return comparePrefix(a.Prefix, b.Prefix) }) {
		t.Error("Entries() not sorted")
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	l := New([]Entry{
		{Prefix: netip.MustParsePrefix("192.0.2.7/24"), Expires: now.Add(time.Minute)},
		{Prefix: netip.MustParsePrefix("2001:db8::/32")},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Expires: now.Add(-time.Second)},
	})
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"192.0.2.200", true},
		{"192.0.3.1", false},
		{"2001:db8::53", true},
		{"198.51.100.1", false}, // expired
	} {
		if got := l.Contains(netip.MustParseAddr(tc.addr), now); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if e, ok := l.Lookup(netip.MustParseAddr("192.0.2.1"), now); !ok || e.Prefix != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("Lookup = %v %v, want the masked 192.0.2.0/24", e.Prefix, ok)
	}
}

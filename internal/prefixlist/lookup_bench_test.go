package prefixlist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// mixedList returns n entries of many lengths, half IPv4 and half IPv6, a
// tenth of them expiring, and addresses that hit and miss them.
func mixedList(tb testing.TB, n int) (*List, []netip.Addr) {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	v4bits := []int{8, 12, 16, 20, 22, 24, 26, 28, 30, 32}
	v6bits := []int{29, 32, 40, 48, 56, 64, 80, 96, 112, 128}
	var b strings.Builder
	var addrs []netip.Addr
	for i := range n {
		var a netip.Addr
		var bits int
		if i%2 == 0 {
			a = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			bits = v4bits[r.IntN(len(v4bits))]
		} else {
			var s [16]byte
			s[0], s[1] = 0x20, 0x01
			for j := 2; j < 16; j++ {
				s[j] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(s)
			bits = v6bits[r.IntN(len(v6bits))]
		}
		p, _ := a.Prefix(bits)
		b.WriteString(p.String())
		if i%10 == 0 {
			b.WriteString(" 2026-01-01T00:00:00Z")
		}
		b.WriteString(" # bench\n")
		addrs = append(addrs, a, a.Next()) // a hit, and mostly a hit
	}
	for range n {
		// Random addresses: IPv4 ones often hit a short prefix, IPv6 ones miss.
		addrs = append(addrs,
			netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.Uint32()), 15: 1}))
	}
	l, err := Parse("bench.txt", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return l, addrs
}

// TestLookupAllocs guards the hot path: a lookup per UDP query must not
// allocate, whether it hits, misses or passes an expired entry.
func TestLookupAllocs(t *testing.T) {
	l, addrs := mixedList(t, 1000)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		addr netip.Addr
	}{
		{"hit v4", addrs[0]},
		{"hit v6", addrs[2]},
		{"random v4", addrs[len(addrs)-2]},
		{"random v6", addrs[len(addrs)-1]},
		{"mapped", netip.AddrFrom16(addrs[0].As16())},
		{"zoned", addrs[2].WithZone("eth0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, func() { l.Lookup(tt.addr, now) }); n != 0 {
				t.Errorf("Lookup allocates %v times", n)
			}
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	l, addrs := mixedList(b, 10_000)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, family := range []string{"mixed", "v4", "v6"} {
		var set []netip.Addr
		for _, a := range addrs {
			if family == "mixed" || (family == "v4") == a.Is4() {
				set = append(set, a)
			}
		}
		b.Run(family, func(b *testing.B) {
			b.ReportAllocs()
			hits := 0
			i := 0
			for b.Loop() {
				if l.Contains(set[i], now) {
					hits++
				}
				if i++; i == len(set) {
					i = 0
				}
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for i := range 10_000 {
		fmt.Fprintf(&sb, "10.%d.%d.0/24 2026-12-31T00:00:00Z # entry %d\n", i>>8&255, i&255, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.txt", data); err != nil {
			b.Fatal(err)
		}
	}
}

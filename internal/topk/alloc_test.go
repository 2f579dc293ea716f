package topk

import (
	"net/netip"
	"testing"
)

func TestAddAllocs(t *testing.T) {
	misses := randNets(4, 4096)
	tests := []struct {
		name string
		ps   []netip.Prefix
	}{
		{"hit", []netip.Prefix{pfx("192.0.2.0/24")}},
		{"miss", misses},
		{"zero prefix", []netip.Prefix{{}}},
		{"IPv6", []netip.Prefix{pfx("2001:db8::/48"), pfx("2001:db8:1::/48")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(512, 10*sec, 7)
			i := 0
			n := testing.AllocsPerRun(1000, func() {
				s.Add(int64(i)*sec/100, tt.ps[i%len(tt.ps)], 40, 500, Answered)
				i++
			})
			if n != 0 {
				t.Errorf("Add allocates %v times per call", n)
			}
		})
	}
}

package topk

import (
	"net/netip"
	"testing"
)

func TestKeyRoundTrip(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.0")
	mapped := netip.MustParseAddr("::ffff:192.0.2.0")
	tests := []struct {
		name string
		p    netip.Prefix
	}{
		{"zero", netip.Prefix{}},
		{"v4 /24", netip.PrefixFrom(v4, 24)},
		{"v4 /0", pfx("0.0.0.0/0")},
		{"v4 /32", pfx("192.0.2.1/32")},
		{"mapped, same bytes and bits as v4 /24", netip.PrefixFrom(mapped, 24)},
		{"mapped /120", netip.PrefixFrom(mapped, 120)},
		{"mapped /0", pfx("::ffff:0.0.0.0/0")},
		{"v6 /0", pfx("::/0")},
		{"v6 /48", pfx("2001:db8:1::/48")},
		{"v6 /128", pfx("2001:db8::1/128")},
		{"invalid v4 with address", netip.PrefixFrom(v4, 33)},
		{"invalid v6 with address", netip.PrefixFrom(mapped, 129)},
	}
	seen := map[key]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := makeKey(tt.p)
			if got := k.prefix(); got != tt.p {
				t.Errorf("round trip of %v gave %v", tt.p, got)
			}
			if other, ok := seen[k]; ok {
				t.Errorf("key of %v equals that of %s", tt.p, other)
			}
			seen[k] = tt.name
		})
	}
}

package floodguard

import (
	"net"
	"net/netip"
	"testing"
)

func TestRemoteOf(t *testing.T) {
	mapped := net.ParseIP("::ffff:192.0.2.1")
	if len(mapped) != net.IPv6len {
		t.Fatalf("net.ParseIP(::ffff:192.0.2.1) has %d bytes, want 16", len(mapped))
	}

	tests := []struct {
		name     string
		addr     net.Addr
		wantAddr string // "" for an invalid address
		wantUDP  bool
	}{
		{name: "UDP IPv4", addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1).To4(), Port: 53}, wantAddr: "192.0.2.1", wantUDP: true},
		{name: "UDP IPv4 in 16 bytes", addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 53}, wantAddr: "192.0.2.1", wantUDP: true},
		{name: "TCP IPv4", addr: &net.TCPAddr{IP: net.ParseIP("198.51.100.7").To4(), Port: 4242}, wantAddr: "198.51.100.7"},
		{name: "UDP IPv6", addr: &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 53}, wantAddr: "2001:db8::1", wantUDP: true},
		{name: "TCP IPv6", addr: &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 53}, wantAddr: "2001:db8::2"},
		{name: "UDP IPv4-mapped IPv6", addr: &net.UDPAddr{IP: mapped, Port: 53}, wantAddr: "192.0.2.1", wantUDP: true},
		{name: "TCP IPv4-mapped IPv6", addr: &net.TCPAddr{IP: mapped, Port: 53}, wantAddr: "192.0.2.1"},
		{name: "link-local with zone", addr: &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 53, Zone: "eth0"}, wantAddr: "fe80::1", wantUDP: true},
		{name: "loopback", addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, wantAddr: "127.0.0.1", wantUDP: true},

		// Addresses that cannot be read come back invalid.
		{name: "empty TCPAddr (cache prefetch)", addr: &net.TCPAddr{}},
		{name: "empty UDPAddr", addr: &net.UDPAddr{}, wantUDP: true},
		{name: "nil interface", addr: nil},
		{name: "typed nil UDPAddr", addr: (*net.UDPAddr)(nil)},
		{name: "typed nil TCPAddr", addr: (*net.TCPAddr)(nil)},
		{name: "unspecified IPv4 in 4 bytes", addr: &net.UDPAddr{IP: net.IPv4zero.To4(), Port: 53}, wantUDP: true},
		{name: "unspecified IPv6", addr: &net.UDPAddr{IP: net.IPv6unspecified, Port: 53}, wantUDP: true},
		{name: "unspecified IPv6 over TCP", addr: &net.TCPAddr{IP: net.ParseIP("::")}},
		{name: "unspecified IPv4 in 16 bytes", addr: &net.UDPAddr{IP: net.ParseIP("0.0.0.0"), Port: 53}, wantUDP: true},
		{name: "IP of bad length", addr: &net.UDPAddr{IP: net.IP{1, 2, 3}, Port: 53}, wantUDP: true},
		{name: "IP of bad length over TCP", addr: &net.TCPAddr{IP: make(net.IP, 5)}},
		{name: "unix address", addr: &net.UnixAddr{Name: "/run/dns.sock", Net: "unix"}},
		{name: "IPAddr is not read", addr: &net.IPAddr{IP: net.ParseIP("192.0.2.1")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := remoteOf(tc.addr)
			if got.udp != tc.wantUDP {
				t.Errorf("udp = %v, want %v", got.udp, tc.wantUDP)
			}
			if tc.wantAddr == "" {
				if got.addr.IsValid() {
					t.Errorf("addr = %v, want invalid", got.addr)
				}
				return
			}
			want := netip.MustParseAddr(tc.wantAddr)
			if got.addr != want {
				t.Errorf("addr = %v, want %v", got.addr, want)
			}
			if got.addr.Zone() != "" {
				t.Errorf("addr has zone %q, want none", got.addr.Zone())
			}
			if want.Is4() && (!got.addr.Is4() || got.addr.Is4In6()) {
				t.Errorf("addr %v is not a plain IPv4 address", got.addr)
			}
		})
	}
}

func TestPrefixOf(t *testing.T) {
	tests := []struct {
		name           string
		addr           netip.Addr
		v4Bits, v6Bits int
		want           netip.Prefix
	}{
		{"IPv4 /24", netip.MustParseAddr("192.0.2.77"), 24, 56, netip.MustParsePrefix("192.0.2.0/24")},
		{"IPv4 /16", netip.MustParseAddr("198.51.100.200"), 16, 56, netip.MustParsePrefix("198.51.0.0/16")},
		{"IPv4 /0", netip.MustParseAddr("192.0.2.77"), 0, 56, netip.MustParsePrefix("0.0.0.0/0")},
		{"IPv4 /32 keeps the address", netip.MustParseAddr("192.0.2.77"), 32, 56, netip.MustParsePrefix("192.0.2.77/32")},
		{"IPv4 ignores the IPv6 length", netip.MustParseAddr("192.0.2.77"), 24, 0, netip.MustParsePrefix("192.0.2.0/24")},
		{"IPv6 /56", netip.MustParseAddr("2001:db8:aaaa:bbcc:dddd::1"), 24, 56, netip.MustParsePrefix("2001:db8:aaaa:bb00::/56")},
		{"IPv6 /64", netip.MustParseAddr("2001:db8:1:2:3:4:5:6"), 24, 64, netip.MustParsePrefix("2001:db8:1:2::/64")},
		{"IPv6 /0", netip.MustParseAddr("2001:db8::1"), 24, 0, netip.MustParsePrefix("::/0")},
		{"IPv6 /128 keeps the address", netip.MustParseAddr("2001:db8::1"), 24, 128, netip.MustParsePrefix("2001:db8::1/128")},
		{"IPv6 ignores the IPv4 length", netip.MustParseAddr("2001:db8:aaaa:bbcc::1"), 0, 56, netip.MustParsePrefix("2001:db8:aaaa:bb00::/56")},
		{"IPv6 zone dropped", netip.MustParseAddr("fe80::1:2:3:4%eth0"), 24, 64, netip.MustParsePrefix("fe80::/64")},
		{"IPv4 length out of range", netip.MustParseAddr("192.0.2.77"), 33, 56, netip.Prefix{}},
		{"IPv6 length out of range", netip.MustParseAddr("2001:db8::1"), 24, 129, netip.Prefix{}},
		{"invalid address", netip.Addr{}, 24, 56, netip.Prefix{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := prefixOf(tc.addr, tc.v4Bits, tc.v6Bits); got != tc.want {
				t.Errorf("prefixOf(%v, %d, %d) = %v, want %v", tc.addr, tc.v4Bits, tc.v6Bits, got, tc.want)
			}
		})
	}
}

// A client reaching a dual-stack socket as ::ffff:192.0.2.1 shares the
// bucket prefix of the same client over an IPv4 socket.
func TestPrefixOfMappedClient(t *testing.T) {
	plain := remoteOf(&net.UDPAddr{IP: net.ParseIP("192.0.2.1").To4(), Port: 53})
	mapped := remoteOf(&net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.200"), Port: 53})
	for _, bits := range []struct{ v4, v6 int }{{24, 56}, {24, 128}, {16, 0}, {0, 64}} {
		p1 := prefixOf(plain.addr, bits.v4, bits.v6)
		p2 := prefixOf(mapped.addr, bits.v4, bits.v6)
		if !p1.IsValid() || p1 != p2 {
			t.Errorf("bits %v: plain %v and mapped %v prefixes differ", bits, p1, p2)
		}
		if p1.Bits() != bits.v4 || !p1.Addr().Is4() {
			t.Errorf("bits %v: prefix %v is not an IPv4 /%d", bits, p1, bits.v4)
		}
	}
	if got, want := prefixOf(mapped.addr, 24, 56), netip.MustParsePrefix("192.0.2.0/24"); got != want {
		t.Errorf("mapped prefix = %v, want %v", got, want)
	}
	// At /32 they are different clients.
	if prefixOf(plain.addr, 32, 128) == prefixOf(mapped.addr, 32, 128) {
		t.Error("192.0.2.1/32 and 192.0.2.200/32 are equal")
	}
}

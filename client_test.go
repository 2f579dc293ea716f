package floodguard

import (
	"net"
	"net/netip"
	"testing"

	cproxyproto "github.com/coredns/coredns/plugin/pkg/proxyproto"
	"github.com/coredns/coredns/plugin/test"
)

// addrWriter is a writer with given local and remote addresses.
type addrWriter struct {
	test.ResponseWriter
	local, remote net.Addr
}

func (w *addrWriter) LocalAddr() net.Addr  { return w.local }
func (w *addrWriter) RemoteAddr() net.Addr { return w.remote }

func TestSenderOf(t *testing.T) {
	mapped := net.ParseIP("::ffff:192.0.2.1")
	if len(mapped) != net.IPv6len {
		t.Fatalf("net.ParseIP(::ffff:192.0.2.1) has %d bytes, want 16", len(mapped))
	}
	udpSocket := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	tcpSocket := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	lb := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 41000} // a load balancer sending PROXY headers
	proxied := func(under, real net.Addr) net.Addr { return cproxyproto.NewAddr(under, real, nil) }

	const (
		internal = "internal"
		opaque   = "unreadable"
	)
	tests := []struct {
		name   string
		local  net.Addr // the socket the query came in on
		remote net.Addr
		proves bool   // the listener's transport proves addresses (DoT, DoQ, ...)
		want   string // the address, internal or unreadable
		udp    bool
	}{
		{"UDP IPv4", udpSocket, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1).To4(), Port: 53}, false, "192.0.2.1", true},
		{"UDP IPv4 in 16 bytes", udpSocket, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 53}, false, "192.0.2.1", true},
		{"TCP IPv4", tcpSocket, &net.TCPAddr{IP: net.ParseIP("198.51.100.7").To4(), Port: 4242}, false, "198.51.100.7", false},
		{"UDP IPv6", udpSocket, &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 53}, false, "2001:db8::1", true},
		{"TCP IPv6", tcpSocket, &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 53}, false, "2001:db8::2", false},
		{"UDP IPv4-mapped IPv6", udpSocket, &net.UDPAddr{IP: mapped, Port: 53}, false, "192.0.2.1", true},
		{"TCP IPv4-mapped IPv6", tcpSocket, &net.TCPAddr{IP: mapped, Port: 53}, false, "192.0.2.1", false},
		{"link-local with zone", udpSocket, &net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 53, Zone: "eth0"}, false, "fe80::1", true},
		{"loopback", udpSocket, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, false, "127.0.0.1", true},

		// Behind a PROXY-protocol load balancer: the header's source, with
		// the transport of the socket, whatever the header claims.
		{"PROXY v2 over UDP", udpSocket, proxied(lb, &net.UDPAddr{IP: net.ParseIP("203.0.113.5"), Port: 5353}), false, "203.0.113.5", true},
		{"PROXY header claiming TCP over UDP", udpSocket, proxied(lb, &net.TCPAddr{IP: net.ParseIP("203.0.113.5"), Port: 5353}), false, "203.0.113.5", true},
		{"PROXY over TCP", tcpSocket, proxied(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 41000}, &net.TCPAddr{IP: net.ParseIP("2001:db8::5"), Port: 5353}), false, "2001:db8::5", false},
		{"PROXY header with a unix source", udpSocket, proxied(lb, &net.UnixAddr{Name: "/run/x", Net: "unixgram"}), false, opaque, true},

		// Transports that prove the address: DoQ and DoH3 report UDP addresses.
		{"DoQ", udpSocket, &net.UDPAddr{IP: net.ParseIP("192.0.2.9"), Port: 4433}, true, "192.0.2.9", false},
		{"socket of unknown type", nil, &net.UDPAddr{IP: net.ParseIP("192.0.2.9"), Port: 4433}, false, "192.0.2.9", true},

		// No sender: internal queries, passed on untouched.
		{"empty TCPAddr (cache prefetch)", &net.TCPAddr{}, &net.TCPAddr{}, false, internal, false},
		{"empty UDPAddr", udpSocket, &net.UDPAddr{}, false, internal, true},
		{"nil interface", udpSocket, nil, false, internal, true},
		{"typed nil UDPAddr", udpSocket, (*net.UDPAddr)(nil), false, internal, true},
		{"typed nil TCPAddr", tcpSocket, (*net.TCPAddr)(nil), false, internal, false},
		{"unspecified IPv4 in 4 bytes", udpSocket, &net.UDPAddr{IP: net.IPv4zero.To4(), Port: 53}, false, internal, true},
		{"unspecified IPv6", udpSocket, &net.UDPAddr{IP: net.IPv6unspecified, Port: 53}, false, internal, true},
		{"unspecified IPv6 over TCP", tcpSocket, &net.TCPAddr{IP: net.ParseIP("::")}, false, internal, false},
		{"unspecified IPv4 in 16 bytes", udpSocket, &net.UDPAddr{IP: net.ParseIP("0.0.0.0"), Port: 53}, false, internal, true},
		{"PROXY address without a source", udpSocket, proxied(lb, nil), false, opaque, true},

		// Addresses floodguard cannot read: limited, all under one key.
		{"IP of bad length", udpSocket, &net.UDPAddr{IP: net.IP{1, 2, 3}, Port: 53}, false, opaque, true},
		{"IP of bad length over TCP", tcpSocket, &net.TCPAddr{IP: make(net.IP, 5)}, false, opaque, false},
		{"unix address", udpSocket, &net.UnixAddr{Name: "/run/dns.sock", Net: "unix"}, false, opaque, true},
		{"IPAddr is not read", udpSocket, &net.IPAddr{IP: net.ParseIP("192.0.2.1")}, false, opaque, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, isInternal := senderOf(&addrWriter{local: tc.local, remote: tc.remote}, tc.proves)
			if isInternal != (tc.want == internal) {
				t.Fatalf("internal = %v, want %v", isInternal, !isInternal)
			}
			if isInternal {
				return
			}
			if got.udp != tc.udp {
				t.Errorf("udp = %v, want %v", got.udp, tc.udp)
			}
			if tc.want == opaque {
				if got.addr.IsValid() {
					t.Errorf("addr = %v, want none (unreadable)", got.addr)
				}
				if p := prefixOf(got.addr, 24, 56); p != unreadable {
					t.Errorf("prefix %v, want the unreadable prefix", p)
				}
				return
			}
			want := netip.MustParseAddr(tc.want)
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
		{"unreadable address", netip.Addr{}, 24, 56, unreadable},
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
	socket := &net.UDPAddr{IP: net.IPv6loopback, Port: 53}
	plain, _ := senderOf(&addrWriter{local: socket, remote: &net.UDPAddr{IP: net.ParseIP("192.0.2.1").To4(), Port: 53}}, false)
	mapped, _ := senderOf(&addrWriter{local: socket, remote: &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.200"), Port: 53}}, false)
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

package floodguard

import (
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// sender is what floodguard knows of a query's sender.
type sender struct {
	// addr is the client's address, unmapped (::ffff:192.0.2.1 is
	// 192.0.2.1); the zero Addr when its type is one floodguard cannot read.
	addr netip.Addr
	// udp: the query came as a plain UDP datagram, whose source address
	// proves nothing and can be forged. Everything else (TCP, and the
	// transports on top of TCP or QUIC) has completed a handshake with the
	// client's address, so nothing can be reflected through it.
	udp bool
}

// unreadable is the one prefix that clients of address types floodguard
// cannot read share. Bits -1 sets it apart from every real prefix.
var unreadable = netip.Prefix{}

// senderOf reads the sender of the query w answers. internal reports a
// query without one (nil, empty or unspecified address), such as the cache
// plugin's prefetch, which floodguard passes on untouched.
//
// The address is read by type, never from strings, through any wrappers
// that carry the real client behind a proxy (the proxyproto plugin's
// address unwraps to the PROXY header's source). The transport comes from
// the local end of the connection, never from the PROXY header's source,
// so a spoofed datagram cannot claim to be TCP: listenerProves says the
// listener's own transport proves addresses (DoT, DoH, gRPC, DoQ, DoH3); on
// a plain DNS listener the query is TCP only if its local address is a TCP
// address. Anything else counts as UDP: limits fail closed. (Behind a PROXY
// load balancer a TCP connection's local address is the header's
// destination, so a header can make TCP look like UDP, and limited, but a
// datagram's local address is always its socket's.)
func senderOf(w dns.ResponseWriter, listenerProves bool) (s sender, internal bool) {
	s.udp = !listenerProves && !isTCP(w.LocalAddr())
	var ip net.IP
	switch a := unwrapAddr(w.RemoteAddr()).(type) {
	case nil:
		return s, true
	case *net.UDPAddr:
		if a == nil {
			return s, true
		}
		ip = a.IP
	case *net.TCPAddr:
		if a == nil {
			return s, true
		}
		ip = a.IP
	default:
		return s, false // an address of another type: limited under unreadable
	}
	if len(ip) == 0 {
		return s, true
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return s, false // an IP of a length no address has: unreadable, limited
	}
	addr = addr.Unmap() // before the check: 0.0.0.0 is often stored as ::ffff:0.0.0.0
	if addr.IsUnspecified() {
		return s, true
	}
	s.addr = addr
	return s, false
}

// unwrapAddr returns the address a wrapper carries (Unwrap() net.Addr, as
// CoreDNS's PROXY protocol address has), through a few layers at most.
func unwrapAddr(a net.Addr) net.Addr {
	for range 4 {
		u, ok := a.(interface{ Unwrap() net.Addr })
		if !ok {
			return a
		}
		inner := u.Unwrap()
		if inner == nil {
			return a
		}
		a = inner
	}
	return a
}

func isTCP(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t != nil
}

// prefixOf masks the sender's address to the configured prefix length of
// its family; an unreadable address gets the unreadable prefix.
func prefixOf(addr netip.Addr, v4Bits, v6Bits int) netip.Prefix {
	if !addr.IsValid() {
		return unreadable
	}
	bits := v6Bits
	if addr.Is4() {
		bits = v4Bits
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return unreadable
	}
	return p
}

// prefixText names p in log lines.
func prefixText(p netip.Prefix) string {
	if p == unreadable {
		return "clients of unreadable address types"
	}
	return p.String()
}

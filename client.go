package floodguard

import (
	"net"
	"net/netip"
)

// remote is what floodguard needs to know of a query's sender.
type remote struct {
	addr netip.Addr // unmapped: ::ffff:192.0.2.1 is 192.0.2.1
	udp  bool
}

// remoteOf reads the sender from the writer's address by type, never by
// parsing strings. Addresses it cannot read (nil, empty, unspecified, as in
// the cache plugin's internal prefetch queries) come back invalid.
func remoteOf(a net.Addr) remote {
	var ip net.IP
	var udp bool
	switch a := a.(type) {
	case *net.UDPAddr:
		if a == nil {
			return remote{}
		}
		ip, udp = a.IP, true
	case *net.TCPAddr:
		if a == nil {
			return remote{}
		}
		ip = a.IP
	default:
		return remote{}
	}
	addr, ok := netip.AddrFromSlice(ip)
	addr = addr.Unmap() // before the check: 0.0.0.0 is often stored as ::ffff:0.0.0.0
	if !ok || addr.IsUnspecified() {
		return remote{udp: udp}
	}
	return remote{addr: addr, udp: udp}
}

// prefixOf masks addr to the configured prefix length of its family.
func prefixOf(addr netip.Addr, v4Bits, v6Bits int) netip.Prefix {
	bits := v6Bits
	if addr.Is4() {
		bits = v4Bits
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

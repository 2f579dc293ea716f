package main

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// segment is one captured UDP datagram or TCP segment, as far as DNS
// cares: who sent it to whom, over what, and its payload.
type segment struct {
	src, dst netip.AddrPort
	tcp      bool
	payload  []byte // points into the packet's bytes: valid until the next decode
	// TCP only.
	seq           uint32
	syn, fin, rst bool
	// fragment is a UDP datagram of which only the first IP fragment is
	// here: payload is partial, size is the whole payload's length.
	fragment bool
	size     int // the payload's length as sent: more than len(payload) when the capture cut it
}

// Why a packet carries no DNS for the replay; each is counted.
var (
	errLinkType  = errors.New("unknown link type")
	errNotIP     = errors.New("not IPv4 or IPv6")
	errTransport = errors.New("neither UDP nor TCP")
	errFragment  = errors.New("a later IP fragment")
	errMalformed = errors.New("malformed headers")
)

// decoder decodes packets without allocating: one parser per link type,
// sharing the layers it fills.
type decoder struct {
	eth      layers.Ethernet
	dot1q    layers.Dot1Q
	sll      layers.LinuxSLL
	sll2     layers.LinuxSLL2
	loop     layers.Loopback
	ip4      layers.IPv4
	ip6      layers.IPv6
	ip6frag  layers.IPv6Fragment
	udp      layers.UDP
	tcp      layers.TCP
	payload  gopacket.Payload
	parsers  map[layers.LinkType]*gopacket.DecodingLayerParser
	decoded  []gopacket.LayerType
	linkType layers.LinkType
}

func newDecoder() *decoder {
	d := &decoder{parsers: map[layers.LinkType]*gopacket.DecodingLayerParser{}, decoded: make([]gopacket.LayerType, 0, 8)}
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6, &d.ip6frag, &d.udp, &d.tcp, &d.payload}
	first := map[layers.LinkType]gopacket.LayerType{
		layers.LinkTypeEthernet:  layers.LayerTypeEthernet,
		layers.LinkTypeLinuxSLL:  layers.LayerTypeLinuxSLL,
		layers.LinkTypeLinuxSLL2: layers.LayerTypeLinuxSLL2,
		layers.LinkTypeNull:      layers.LayerTypeLoopback,
		layers.LinkTypeLoop:      layers.LayerTypeLoopback,
		layers.LinkTypeIPv4:      layers.LayerTypeIPv4,
		layers.LinkTypeIPv6:      layers.LayerTypeIPv6,
	}
	for lt, l := range first {
		p := gopacket.NewDecodingLayerParser(l, all...)
		p.IgnoreUnsupported = true // stop quietly at the first layer we have no use for
		d.parsers[lt] = p
	}
	return d
}

// rawLinkTypes carry an IP packet with no link header; which IP version is
// in the packet's first nibble.
func rawLinkType(lt layers.LinkType) bool {
	return lt == layers.LinkTypeRaw || lt == 12 || lt == layers.LinkTypeIPv4 || lt == layers.LinkTypeIPv6
}

// decode reads the UDP or TCP segment of a packet of link type lt.
func (d *decoder) decode(lt layers.LinkType, data []byte, s *segment) error {
	if rawLinkType(lt) {
		switch {
		case len(data) == 0:
			return errMalformed
		case data[0]>>4 == 4:
			lt = layers.LinkTypeIPv4
		case data[0]>>4 == 6:
			lt = layers.LinkTypeIPv6
		default:
			return errNotIP
		}
	}
	p, ok := d.parsers[lt]
	if !ok {
		return errLinkType
	}
	*s = segment{}
	d.decoded = d.decoded[:0]
	if err := p.DecodeLayers(data, &d.decoded); err != nil {
		if len(d.decoded) == 0 {
			return errMalformed
		}
		// A layer failed after some decoded: judged below by what did.
	}
	var ip, fragment, transport bool
	var proto layers.IPProtocol
	var fragData []byte // what follows the header of a first fragment
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv4:
			ip, proto = true, d.ip4.Protocol
			s.src = netip.AddrPortFrom(addr4(d.ip4.SrcIP), 0)
			s.dst = netip.AddrPortFrom(addr4(d.ip4.DstIP), 0)
			fragment = d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0
			if fragment && d.ip4.FragOffset != 0 {
				return errFragment
			}
			fragData = d.ip4.Payload
		case layers.LayerTypeIPv6:
			ip, proto = true, d.ip6.NextHeader
			s.src = netip.AddrPortFrom(addr6(d.ip6.SrcIP), 0)
			s.dst = netip.AddrPortFrom(addr6(d.ip6.DstIP), 0)
		case layers.LayerTypeIPv6Fragment:
			proto = d.ip6frag.NextHeader
			fragment = d.ip6frag.MoreFragments || d.ip6frag.FragmentOffset != 0
			if fragment && d.ip6frag.FragmentOffset != 0 {
				return errFragment
			}
			fragData = d.ip6frag.Payload
		case layers.LayerTypeUDP:
			transport = true
			s.src = netip.AddrPortFrom(s.src.Addr(), uint16(d.udp.SrcPort))
			s.dst = netip.AddrPortFrom(s.dst.Addr(), uint16(d.udp.DstPort))
			s.payload = d.udp.Payload
		case layers.LayerTypeTCP:
			transport = true
			s.tcp = true
			s.src = netip.AddrPortFrom(s.src.Addr(), uint16(d.tcp.SrcPort))
			s.dst = netip.AddrPortFrom(s.dst.Addr(), uint16(d.tcp.DstPort))
			s.payload = d.tcp.Payload
			s.seq, s.syn, s.fin, s.rst = d.tcp.Seq, d.tcp.SYN, d.tcp.FIN, d.tcp.RST
		}
	}
	switch {
	case !ip:
		return errNotIP
	case fragment:
		// The first fragment of a datagram: a UDP header and the start
		// of its payload. Its size is all a replay can use of it.
		return firstFragment(proto, fragData, s)
	case !transport:
		return errTransport
	case !s.src.Addr().IsValid() || !s.dst.Addr().IsValid():
		return errMalformed
	}
	s.size = len(s.payload)
	if !s.tcp && int(d.udp.Length) >= 8+s.size {
		// The datagram's own length: a capture cut at a snap length
		// (tcpdump -s) still counts every byte sent.
		s.size = int(d.udp.Length) - 8
	}
	return nil
}

// firstFragment reads the UDP header at the start of a first fragment,
// rest.
func firstFragment(proto layers.IPProtocol, rest []byte, s *segment) error {
	if proto != layers.IPProtocolUDP {
		return errTransport
	}
	if len(rest) < 8 {
		return errMalformed
	}
	n := int(binary.BigEndian.Uint16(rest[4:6]))
	if n < 8 {
		return errMalformed
	}
	s.src = netip.AddrPortFrom(s.src.Addr(), binary.BigEndian.Uint16(rest[0:2]))
	s.dst = netip.AddrPortFrom(s.dst.Addr(), binary.BigEndian.Uint16(rest[2:4]))
	s.payload, s.fragment, s.size = rest[8:], true, n-8
	return nil
}

func addr4(b []byte) netip.Addr {
	if len(b) != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(b))
}

func addr6(b []byte) netip.Addr {
	if len(b) != 16 {
		return netip.Addr{}
	}
	return netip.AddrFrom16([16]byte(b)).Unmap()
}

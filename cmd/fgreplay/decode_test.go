package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func TestDecode(t *testing.T) {
	payload := []byte("0123456789abcdef")
	v4 := pkt{src: ap("192.0.2.1:1234"), dst: ap("198.51.100.1:53"), payload: payload}
	v6 := pkt{src: ap("[2001:db8::1]:1234"), dst: ap("[2001:db8::53]:53"), payload: payload}
	tcp := pkt{src: ap("192.0.2.1:1234"), dst: ap("198.51.100.1:53"), tcp: true, seq: 77, payload: payload}
	d := newDecoder()
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		p    pkt
	}{
		{"Ethernet IPv4 UDP", layers.LinkTypeEthernet, v4},
		{"Ethernet IPv6 UDP", layers.LinkTypeEthernet, v6},
		{"Ethernet IPv4 TCP", layers.LinkTypeEthernet, tcp},
		{"Linux cooked IPv4", layers.LinkTypeLinuxSLL, v4},
		{"Linux cooked IPv6", layers.LinkTypeLinuxSLL, v6},
		{"BSD loopback IPv4", layers.LinkTypeNull, v4},
		{"BSD loopback IPv6", layers.LinkTypeNull, v6},
		{"raw IPv4", layers.LinkTypeRaw, v4},
		{"raw IPv6", layers.LinkTypeRaw, v6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s segment
			if err := d.decode(tc.lt, frame(t, tc.lt, tc.p), &s); err != nil {
				t.Fatal(err)
			}
			if s.src != tc.p.src || s.dst != tc.p.dst || s.tcp != tc.p.tcp || !bytes.Equal(s.payload, payload) || s.size != len(payload) {
				t.Errorf("got %v > %v tcp=%v %q, want %v > %v tcp=%v", s.src, s.dst, s.tcp, s.payload, tc.p.src, tc.p.dst, tc.p.tcp)
			}
			if tc.p.tcp && s.seq != 77 {
				t.Errorf("seq %d", s.seq)
			}
		})
	}
}

// TestDecodeFragments: the first fragment of a big UDP response gives its
// ports and whole size; later fragments are skipped.
func TestDecodeFragments(t *testing.T) {
	d := newDecoder()
	whole := frame(t, layers.LinkTypeRaw, pkt{src: ap("198.51.100.1:53"), dst: ap("192.0.2.1:1234"), payload: make([]byte, 3000)})
	first := append([]byte(nil), whole[:1500]...)
	binary.BigEndian.PutUint16(first[2:4], 1500)
	first[6] |= 0x20 // more fragments
	var s segment
	if err := d.decode(layers.LinkTypeRaw, first, &s); err != nil {
		t.Fatal(err)
	}
	if !s.fragment || s.size != 3000 || s.src != ap("198.51.100.1:53") || s.dst != ap("192.0.2.1:1234") {
		t.Errorf("first fragment: %+v", s)
	}
	later := append([]byte(nil), whole[:20]...)
	later = append(later, whole[1500:]...)
	binary.BigEndian.PutUint16(later[2:4], uint16(len(later)))
	binary.BigEndian.PutUint16(later[6:8], (1480/8)&0x1fff)
	if err := d.decode(layers.LinkTypeRaw, later, &s); err != errFragment {
		t.Errorf("later fragment: %v, want errFragment", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	d := newDecoder()
	arp := frame(t, layers.LinkTypeEthernet, pkt{src: ap("192.0.2.1:1"), dst: ap("192.0.2.2:2"), payload: []byte("x")})
	arp[12], arp[13] = 0x08, 0x06 // EtherType ARP
	icmp := frame(t, layers.LinkTypeRaw, pkt{src: ap("192.0.2.1:1"), dst: ap("192.0.2.2:2"), payload: []byte("x")})
	icmp[9] = 1 // protocol ICMP
	for _, tc := range []struct {
		name string
		lt   layers.LinkType
		data []byte
		want error
	}{
		{"unknown link type", layers.LinkType(189), []byte{1, 2, 3}, errLinkType},
		{"ARP", layers.LinkTypeEthernet, arp, errNotIP},
		{"ICMP", layers.LinkTypeRaw, icmp, errTransport},
		{"empty raw", layers.LinkTypeRaw, nil, errMalformed},
		{"raw, not IP", layers.LinkTypeRaw, []byte{0x10, 0, 0}, errNotIP},
		{"short Ethernet", layers.LinkTypeEthernet, []byte{1, 2, 3}, errMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s segment
			if err := d.decode(tc.lt, tc.data, &s); err != tc.want {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStreams(t *testing.T) {
	msg := func(n int, b byte) []byte {
		return append([]byte{byte(n >> 8), byte(n)}, bytes.Repeat([]byte{b}, n)...)
	}
	a, b := msg(30, 'a'), msg(40, 'b')
	both := append(append([]byte(nil), a...), b...)
	c, s := ap("192.0.2.1:1234"), ap("198.51.100.1:53")
	seg := func(seq uint32, data []byte) segment {
		return segment{src: c, dst: s, tcp: true, seq: seq, payload: data}
	}
	for _, tc := range []struct {
		name string
		segs []segment
		want string
		lost int
	}{
		{"two in one segment", []segment{seg(1, both)}, "a30 b40", 0},
		{"split everywhere", []segment{seg(1, both[:1]), seg(2, both[1:20]), seg(20, both[19:33]), seg(34, both[33:])}, "a30 b40", 0},
		{"retransmission", []segment{seg(1, a), seg(1, a), seg(1+uint32(len(a)), b)}, "a30 b40", 0},
		{"gap: out of step until the next SYN", []segment{seg(1, a[:10]), seg(1+uint32(len(a)), b),
			{src: c, dst: s, tcp: true, syn: true, seq: 500}, seg(501, b)}, "b40", 1},
		{"2^31 away", []segment{seg(1, a), seg(1+uint32(len(a))+1<<31, b), seg(1+uint32(len(a)), b)}, "a30 b40", 0},
		{"just over 2^31 on: a gap", []segment{seg(1<<31+1, a), seg(1, b), seg(1<<31+1+uint32(len(a)), b)}, "a30", 1},
		{"SYN then data", []segment{{src: c, dst: s, tcp: true, syn: true, seq: 99}, seg(100, a)}, "a30", 0},
		{"FIN with a partial message", []segment{seg(1, a[:5]), {src: c, dst: s, tcp: true, fin: true, seq: 6}}, "", 1},
		{"zero-length message", []segment{seg(1, []byte{0, 0})}, "?0", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := newStreams(16)
			var got []string
			for i := range tc.segs {
				ss.add(&tc.segs[i], func(m []byte) {
					k := byte('?')
					if len(m) > 0 {
						k = m[0]
					}
					got = append(got, fmt.Sprintf("%c%d", k, len(m)))
				})
			}
			if g := fmt.Sprint(got); g != fmt.Sprint(splitNonEmpty(tc.want)) || ss.lost != tc.lost {
				t.Errorf("got %v lost %d, want [%s] lost %d", got, ss.lost, tc.want, tc.lost)
			}
		})
	}
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, f := range bytes.Fields([]byte(s)) {
		out = append(out, string(f))
	}
	return out
}

// TestStreamsBigSegment: a segment merged by offload (GRO, TSO), bigger
// than any message, yields every message in it.
func TestStreamsBigSegment(t *testing.T) {
	var data []byte
	for len(data) < 65000 {
		data = append(data, 0, 30)
		data = append(data, bytes.Repeat([]byte{'q'}, 30)...)
	}
	ss := newStreams(4)
	n := 0
	first := segment{src: ap("192.0.2.1:1234"), dst: ap("198.51.100.1:53"), tcp: true, seq: 1, payload: data[:1000]}
	rest := segment{src: ap("192.0.2.1:1234"), dst: ap("198.51.100.1:53"), tcp: true, seq: 1001, payload: data[1000:]}
	ss.add(&first, func([]byte) { n++ })
	ss.add(&rest, func([]byte) { n++ })
	if want := len(data) / 32; n != want || ss.lost != 0 || ss.buffered != 0 {
		t.Errorf("%d messages, %d lost, %d bytes held: want %d, 0, 0", n, ss.lost, ss.buffered, want)
	}
}

// TestStreamsBounded: past its limit of flows, the oldest is forgotten.
func TestStreamsBounded(t *testing.T) {
	ss := newStreams(4)
	for i := 0; i < 100; i++ {
		s := segment{src: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(1000+i)), dst: ap("198.51.100.1:53"), tcp: true, seq: 1, payload: []byte{0, 10, 1}}
		ss.add(&s, func([]byte) {})
	}
	if len(ss.flows) > 4 || ss.lost != 96 {
		t.Errorf("%d flows, %d lost: want at most 4, and 96 partial messages lost", len(ss.flows), ss.lost)
	}
}

func TestHeavy(t *testing.T) {
	hv := newHeavy(64)
	heavyP := netip.MustParsePrefix("192.0.2.0/24")
	second := netip.MustParsePrefix("198.51.100.0/24")
	for i := 0; i < 100000; i++ {
		switch {
		case i%10 == 0:
			hv.add(heavyP, dropped, 30, 0)
		case i%25 == 1:
			hv.add(second, sent, 30, 100)
		default: // a random-source flood: every prefix new
			hv.add(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), sent, 30, 100)
		}
	}
	top := hv.top(2)
	if top[0].prefix != heavyP || top[1].prefix != second {
		t.Fatalf("top %v %v", top[0].prefix, top[1].prefix)
	}
	if top[0].queries-top[0].err > 10000 || top[0].queries < 10000 || top[0].outcomes[dropped] == 0 {
		t.Errorf("heavy: %d queries (error %d), want a bound around the true 10,000", top[0].queries, top[0].err)
	}
	if len(hv.h) != 64 || len(hv.idx) != 64 {
		t.Errorf("%d entries, %d indexed: want 64", len(hv.h), len(hv.idx))
	}
}

func TestTimelineMerges(t *testing.T) {
	tl := newTimeline()
	for s := int64(0); s < 3*maxBuckets; s++ {
		tl.at(s*1e9).queries++
	}
	if len(tl.buckets) > maxBuckets || tl.step != 4e9 {
		t.Errorf("%d buckets of %v", len(tl.buckets), time.Duration(tl.step))
	}
	var n uint64
	for _, b := range tl.buckets {
		n += b.queries
	}
	if n != 3*maxBuckets {
		t.Errorf("%d queries after merging, want %d", n, 3*maxBuckets)
	}
}

func TestRecommend(t *testing.T) {
	for _, tc := range []struct{ size, peak, evictions, want int }{
		{262144, 0, 0, 1024},
		{262144, 3000, 0, 8192},
		{262144, 4096, 0, 8192},
		{64, 64, 10, 1024},
		{262144, 49037, 30, 131072}, // a few chance evictions at a fifth full
		{262144, 262144, 5, 1 << 20},
		{1 << 24, 1 << 24, 5, 1 << 24},
	} {
		if got := recommend(tc.size, tc.peak, tc.evictions); got.RecommendedSize != tc.want || got.Full != (tc.evictions > 0 && 2*tc.peak >= tc.size) {
			t.Errorf("recommend(%d, %d, %d) = %+v, want %d", tc.size, tc.peak, tc.evictions, got, tc.want)
		}
	}
}

// TestOpenCapture: each format is recognised by its magic.
func TestOpenCapture(t *testing.T) {
	p := []pkt{{src: ap("192.0.2.1:1"), dst: ap("192.0.2.2:53"), payload: []byte("x")}}
	for _, path := range []string{writePcap(t, layers.LinkTypeEthernet, p), writePcapng(t, p)} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := openCapture(f)
		if err != nil {
			t.Fatal(path, err)
		}
		_, ts, lt, err := c.next()
		if err != nil || !ts.Equal(epoch) || lt != layers.LinkTypeEthernet {
			t.Errorf("%s: %v %v %v", path, ts, lt, err)
		}
		f.Close()
	}
}

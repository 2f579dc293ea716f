package main

import (
	"bufio"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"
)

// TestMakeBenchCapture writes the capture bench/replay.sh replays for the
// speed target, when FGREPLAY_BENCH_CAPTURE names the file (skipped
// otherwise): FGREPLAY_BENCH_QUERIES queries (1,000,000 by default) over
// 100 s of capture time, each with a response of the size plain CoreDNS
// gave it. 60 % are a single victim's reflection flood (ANY, ". NS" and a
// big TXT), 39.9 % a random-source flood of the same over 127.0.0.0/8 (a
// new /32 each time), and 0.1 % a real client's ordinary questions.
func TestMakeBenchCapture(t *testing.T) {
	path := os.Getenv("FGREPLAY_BENCH_CAPTURE")
	if path == "" {
		t.Skip("FGREPLAY_BENCH_CAPTURE is not set")
	}
	n := 1_000_000
	if s := os.Getenv("FGREPLAY_BENCH_QUERIES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	server := ap("127.0.0.1:5300")
	type kind struct {
		name  string
		qtype uint16
		reply int // bytes of the answer plain CoreDNS gave (from a live capture)
	}
	attack := []kind{{"example.org.", dns.TypeANY, 1200}, {".", dns.TypeNS, 30}, {"big.example.org.", dns.TypeTXT, 3800}}
	legitNames := []string{"www.example.org.", "mail.example.org.", "ns1.example.org.", "ns2.example.org."}
	rng := rand.New(rand.NewPCG(1, 2))
	step := 100 * time.Second / time.Duration(n)
	eth := layers.Ethernet{SrcMAC: []byte{0, 0, 0, 0, 0, 1}, DstMAC: []byte{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	write := func(at time.Duration, src, dst netip.AddrPort, payload []byte, size int) {
		ip := layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		udp := layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		udp.SetNetworkLayerForChecksum(&ip)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, &eth, &ip, &udp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		udpLen := 8 + size
		b[14+24], b[14+25] = byte(udpLen>>8), byte(udpLen) // the UDP length as sent
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: epoch.Add(at), CaptureLength: len(b), Length: len(b) - len(payload) + size}, b); err != nil {
			t.Fatal(err)
		}
	}
	// Responses are kept to their header, as tcpdump -s 96 keeps them:
	// their size is in the UDP header, and the file stays small.
	reply := func(q []byte, size int) ([]byte, int) {
		h := append([]byte(nil), q[:12]...)
		h[2] |= 0x80 // QR
		return h, size
	}
	for i := 0; i < n; i++ {
		at := time.Duration(i) * step
		var src netip.AddrPort
		var k kind
		switch r := rng.IntN(1000); {
		case r < 600:
			src, k = ap("127.66.0.1:40000"), attack[i%3]
		case r < 999:
			a := rng.Uint32()
			src, k = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(a >> 16), byte(a >> 8), byte(a) | 1}), 40000), attack[i%3]
		default:
			src, k = ap("127.77.0.2:53000"), kind{legitNames[i%len(legitNames)], dns.TypeA, 100}
		}
		q := query(t, uint16(i), k.name, k.qtype, true)
		write(at, src, server, q, len(q))
		h, size := reply(q, k.reply)
		write(at+50*time.Microsecond, server, src, h, size)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

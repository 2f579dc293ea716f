package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"
)

// pkt is one packet a test writes to a capture.
type pkt struct {
	at       time.Duration // after the capture's start
	src, dst netip.AddrPort
	tcp      bool
	seq      uint32
	syn, fin bool
	payload  []byte
}

var epoch = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// frame builds the bytes of p with a link header of type lt.
func frame(t testing.TB, lt layers.LinkType, p pkt) []byte {
	t.Helper()
	var ls []gopacket.SerializableLayer
	ethType := layers.EthernetTypeIPv4
	if p.src.Addr().Is6() {
		ethType = layers.EthernetTypeIPv6
	}
	switch lt {
	case layers.LinkTypeEthernet:
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: ethType})
	case layers.LinkTypeLinuxSLL: // no serializer in gopacket: its 16 bytes are prepended below
	case layers.LinkTypeNull:
		fam := layers.ProtocolFamilyIPv4
		if p.src.Addr().Is6() {
			fam = layers.ProtocolFamilyIPv6Linux
		}
		ls = append(ls, &layers.Loopback{Family: fam})
	case layers.LinkTypeRaw:
	default:
		t.Fatalf("frame: link type %v", lt)
	}
	var netLayer gopacket.NetworkLayer
	proto := layers.IPProtocolUDP
	if p.tcp {
		proto = layers.IPProtocolTCP
	}
	if p.src.Addr().Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		ls, netLayer = append(ls, ip), ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		ls, netLayer = append(ls, ip), ip
	}
	if p.tcp {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.src.Port()), DstPort: layers.TCPPort(p.dst.Port()), Seq: p.seq, SYN: p.syn, FIN: p.fin, ACK: !p.syn, Window: 65535}
		tcp.SetNetworkLayerForChecksum(netLayer)
		ls = append(ls, tcp)
	} else {
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.src.Port()), DstPort: layers.UDPPort(p.dst.Port())}
		udp.SetNetworkLayerForChecksum(netLayer)
		ls = append(ls, udp)
	}
	ls = append(ls, gopacket.Payload(p.payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	if lt == layers.LinkTypeLinuxSLL {
		sll := []byte{0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 1, 0, 0, byte(ethType >> 8), byte(ethType)}
		return append(sll, buf.Bytes()...)
	}
	return buf.Bytes()
}

// writePcap writes pkts as a pcap file of link type lt and returns its path.
func writePcap(t testing.TB, lt layers.LinkType, pkts []pkt) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65536, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		b := frame(t, lt, p)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: epoch.Add(p.at), CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// writePcapng writes pkts as a pcapng file (Ethernet).
func writePcapng(t testing.TB, pkts []pkt) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgo.NewNgWriter(f, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		b := frame(t, layers.LinkTypeEthernet, p)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: epoch.Add(p.at), CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// query packs a query for name and type with ID id (EDNS 1232 if edns).
func query(t testing.TB, id uint16, name string, qtype uint16, edns bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = id
	m.RecursionDesired = false
	if edns {
		m.SetEdns0(1232, false)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer packs a response to q with one A record.
func answer(t testing.TB, q []byte, a string) []byte {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(q); err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	r.SetReply(m)
	rr, err := dns.NewRR(m.Question[0].Name + " 300 IN A " + a)
	if err != nil {
		t.Fatal(err)
	}
	r.Answer = append(r.Answer, rr)
	b, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeCorefile writes a Corefile (with the example zone beside it) and
// returns its path.
func writeCorefile(t testing.TB, body string) string {
	t.Helper()
	dir := t.TempDir()
	zone, err := os.ReadFile("../../testdata/example.org.zone")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.org.zone"), zone, 0o644); err != nil {
		t.Fatal(err)
	}
	body = strings.ReplaceAll(body, "ZONEFILE", filepath.Join(dir, "example.org.zone"))
	path := filepath.Join(dir, "Corefile")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// replayJSON runs fgreplay with args and decodes its JSON report.
func replayJSON(t testing.TB, args ...string) *report {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(append([]string{"-json"}, args...), &out, &errb); err != nil {
		t.Fatalf("fgreplay %v: %v\n%s", args, err, errb.String())
	}
	rep := new(report)
	if err := json.Unmarshal(out.Bytes(), rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	return rep
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }

package floodguard

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestE2EPrePluginRepliesCannotAmplify backs the README's claim about the
// replies CoreDNS writes before any plugin runs: none is larger than the
// packet that caused it, so reflecting them amplifies nothing.
func TestE2EPrePluginRepliesCannotAmplify(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))

	withOPT := func(m *dns.Msg, version uint8) *dns.Msg {
		m.SetEdns0(4096, true)
		m.IsEdns0().SetVersion(version)
		return m
	}
	noQuestion := func(opt bool) []byte {
		m := new(dns.Msg)
		m.Id = 7
		if opt {
			m.SetEdns0(4096, true)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	packed := func(m *dns.Msg) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	chaos := query("version.bind", dns.TypeTXT, 9)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	tests := []struct {
		name   string
		packet []byte
	}{
		{"no question", noQuestion(false)},
		{"no question, with OPT", noQuestion(true)},
		{"two questions", func() []byte {
			m := query("www.example.org", dns.TypeA, 8)
			m.Question = append(m.Question, m.Question[0])
			return packed(m)
		}()},
		{"class CHAOS", packed(chaos)},
		{"EDNS version 1", packed(withOPT(query("big.example.org", dns.TypeTXT, 10), 1))},
		{"name outside every block", packed(withOPT(query("example.net", dns.TypeANY, 11), 0))},
	}
	raddr, _ := net.ResolveUDPAddr("udp", srv.udp)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.90.1")}, raddr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(tt.packet); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 65535)
			n, err := conn.Read(buf)
			if err != nil {
				t.Skipf("no reply at all (nothing to amplify): %v", err)
			}
			if n > len(tt.packet) {
				t.Errorf("reply of %d bytes to a %d-byte packet: amplifies", n, len(tt.packet))
			}
		})
	}
}

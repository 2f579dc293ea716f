package floodguard

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// staleVerifyCorefile is the Corefile of the crash report: a cache that
// verifies stale entries in the background, keeping floodguard's writer
// after floodguard's ServeDNS has returned, in front of an upstream.
const staleVerifyCorefile = `.:{port} {
    bind 127.0.0.1
    floodguard
    cache 1 {
        serve_stale 1h verify 500ms
    }
    forward . %s
}
`

// TestE2EWriterKeptByALaterPlugin: the cache's background verification of
// a stale entry holds floodguard's writer while the upstream is silent and
// forward retries, long after the query was answered stale. CoreDNS must
// survive it (a nil-pointer panic in that goroutine kills the process), and
// the writer must not be handed to other queries meanwhile (under -race, a
// data race).
func TestE2EWriterKeptByALaterPlugin(t *testing.T) {
	up := startUpstream(t)
	srv := startServer(t, fmt.Sprintf(staleVerifyCorefile, up.addr))
	ask := func(from, name string, id uint16) *dns.Msg {
		return udpExchange(t, from, srv.udp, query(name, dns.TypeA, id), 2*time.Second)
	}

	if r := ask("127.0.90.1", "stale.example.net", 1); r == nil || len(r.Answer) == 0 {
		t.Fatalf("first query: %v, want the upstream's answer", r)
	}
	up.silent.Store(true)

	// Wait (the cache's own clock) until the entry is stale: it is then
	// served stale, with the upstream check left running in the background.
	deadline := time.Now().Add(10 * time.Second)
	for up.queries.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the cache never went back to the upstream")
		}
		time.Sleep(250 * time.Millisecond)
		if r := ask("127.0.90.1", "stale.example.net", 2); r == nil || len(r.Answer) == 0 {
			t.Fatalf("stale query: %v, want the stale answer", r)
		}
	}
	// Other queries meanwhile, each needing a writer of its own (a pooled
	// writer would be handed on to them while the verification holds it).
	// The upstream answers none of them: no need to wait.
	for i := range 20 {
		udpSend(t, fmt.Sprintf("127.0.91.%d", i+1), srv.udp, query(fmt.Sprintf("other%d.example.net", i), dns.TypeA, uint16(10+i)))
	}
	// forward retries the silent upstream after its read timeout, asking
	// the kept writer for the client's address.
	deadline = time.Now().Add(15 * time.Second)
	for before := up.queries.Load(); up.queries.Load() < before+2; {
		if time.Now().After(deadline) {
			t.Fatal("forward never retried the silent upstream")
		}
		time.Sleep(100 * time.Millisecond)
	}
	up.silent.Store(false)
	if r := ask("127.0.90.2", "alive.example.net", 3); r == nil || len(r.Answer) == 0 {
		t.Fatalf("after the retries: %v, want an answer", r)
	}
}

// TestE2EMaxUDPSizeOnTheWire measures the UDP replies themselves: an answer
// under *.m.example.org has 40 A records, about 1,400 bytes uncompressed and
// 700 compressed. CoreDNS sends a message uncompressed whenever that fits the
// client's buffer (which a spoofed query sets to 4096) and 1480 bytes, so
// the cap must hold for what goes on the wire: the answer compressed when
// only that fits, else an empty TC=1 reply. Plugins that write packed bytes
// (ResponseWriter.Write) are held to the same.
func TestE2EMaxUDPSizeOnTheWire(t *testing.T) {
	useFrozenClock(t)
	full := answerSizes(t, "w.m.example.org")
	t.Logf("the answer: %d bytes uncompressed, %d compressed", full.plain, full.compressed)
	if full.plain <= defaultMaxUDPSize || full.plain > 1480 {
		t.Fatalf("the answer has %d bytes uncompressed: CoreDNS compresses it only over 1480, and it should be over 1232", full.plain)
	}
	between := (full.plain + full.compressed) / 2
	below := full.compressed - 50

	tests := []struct {
		name    string
		options string
		label   string // first label: packed has the answer written as bytes; w is as short as possible
		edns    uint16 // the client's buffer; 0 for no EDNS
		whole   bool   // the 40 records, compressed; else an empty TC=1 reply
	}{
		{"default 1232, EDNS 4096", "", "w", 4096, true},
		{"default 1232, EDNS 4096, written as bytes", "", "packed", 4096, true},
		{"max-udp-size between the two sizes, EDNS 4096", fmt.Sprint("max-udp-size ", between), "w", 4096, true},
		{"max-udp-size under the compressed size, EDNS 4096", fmt.Sprint("max-udp-size ", below), "w", 4096, false},
		{"max-udp-size under the compressed size, EDNS 4096, written as bytes", fmt.Sprint("max-udp-size ", below), "packed", 4096, false},
		{"max-udp-size 4096, EDNS 1232", "max-udp-size 4096", "w", 1232, true},
		{"no EDNS: 512 bytes", "", "w", 0, false},
		{"no EDNS, written as bytes", "", "packed", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, fmt.Sprintf(rrlCorefile, tt.options))
			m := query(tt.label+".m.example.org", dns.TypeA, 2)
			limit := dns.MinMsgSize
			if tt.edns > 0 {
				m.SetEdns0(tt.edns, false)
				limit = min(int(tt.edns), capOf(tt.options))
			}
			n, r := rawUDPExchange(t, "127.0.92.1", srv.udp, m)
			if n > limit {
				t.Errorf("%d bytes on the wire, over the limit of %d", n, limit)
			}
			if tt.whole && (r.Truncated || len(r.Answer) != 40) {
				t.Errorf("want all 40 records: truncated=%v, %d records, %d bytes", r.Truncated, len(r.Answer), n)
			}
			if !tt.whole && (!r.Truncated || len(r.Answer) != 0) {
				t.Errorf("want an empty TC=1 reply: truncated=%v, %d records, %d bytes", r.Truncated, len(r.Answer), n)
			}
			// The byte counter says what went out.
			action := "truncated"
			if tt.whole {
				action = "sent"
			}
			if got := int(srv.scrape(t)[`coredns_floodguard_response_bytes_total{action="`+action+`"}`]); got != n {
				t.Errorf("response_bytes_total{action=%q} = %v for %d bytes on the wire", action, got, n)
			}
		})
	}
}

// capOf reads max-udp-size from a block's options; 1232 when not given.
func capOf(options string) int {
	var n int
	if _, err := fmt.Sscanf(options, "max-udp-size %d", &n); err == nil {
		return n
	}
	return defaultMaxUDPSize
}

type sizes struct{ plain, compressed int }

// answerSizes is the size of the full answer for name, as the file plugin
// gives it (over TCP, so nothing cuts it), uncompressed and compressed, with
// an OPT record.
func answerSizes(t *testing.T, name string) sizes {
	t.Helper()
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))
	q := query(name, dns.TypeA, 1)
	q.SetEdns0(4096, false)
	r := tcpQuery(t, "127.0.93.1", srv.tcp, q)
	if len(r.Answer) != 40 || r.IsEdns0() == nil {
		t.Fatalf("over TCP: %d records, OPT %v; want 40 and an OPT", len(r.Answer), r.IsEdns0() != nil)
	}
	r.Compress = false
	plain := r.Len()
	r.Compress = true
	return sizes{plain, r.Len()}
}

// rawUDPExchange sends m from the loopback address from and returns the
// size of the datagram that came back, and the reply in it.
func rawUDPExchange(t *testing.T, from, to string, m *dns.Msg) (int, *dns.Msg) {
	t.Helper()
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, mustUDPAddr(t, to))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatalf("unreadable reply: %v", err)
	}
	return n, r
}

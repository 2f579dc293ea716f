package floodguard

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/pires/go-proxyproto"
)

// The PROXY-protocol tests put floodguard behind a load balancer: every
// query reaches CoreDNS from a loopback socket (the load balancer, which
// proxyproto's allow list trusts) and carries a real PROXY header naming
// the client. Limits and policy must follow the header's source, and the
// transport must follow the socket.

const proxyCorefile = `.:{port} {
    bind 127.0.0.1
    proxyproto {
        allow 127.0.0.0/8
    }
    floodguard {
        authoritative example.org
        responses-per-second 5
        slip 0
    }
    prometheus {metrics}
    file testdata/example.org.zone example.org
}
`

// proxyV2 formats a PROXY v2 header from src to dst ("ip:port") claiming the
// transport tp; the library wants UDP addresses for a datagram transport and
// TCP ones for a stream.
func proxyV2(t *testing.T, tp proxyproto.AddressFamilyAndProtocol, src, dst string) []byte {
	t.Helper()
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	h := proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: tp}
	if tp.IsDatagram() {
		h.SourceAddr, h.DestinationAddr = net.UDPAddrFromAddrPort(s), net.UDPAddrFromAddrPort(d)
	} else {
		h.SourceAddr, h.DestinationAddr = net.TCPAddrFromAddrPort(s), net.TCPAddrFromAddrPort(d)
	}
	b, err := h.Format()
	if err != nil {
		t.Fatalf("formatting PROXY v2 header: %v", err)
	}
	return b
}

// proxyV1 is a PROXY v1 line from srcIP:5353 to dst, written by hand as a
// load balancer puts it on the wire.
func proxyV1(t *testing.T, srcIP, dst string) []byte {
	t.Helper()
	d := netip.MustParseAddrPort(dst)
	return fmt.Appendf(nil, "PROXY TCP4 %s %s 5353 %d\r\n", srcIP, d.Addr(), d.Port())
}

// lbDatagrams sends msgs as datagrams from one socket on the loopback
// address lb, each prefixed with heads[i] (nil: no header), and collects
// the replies by id within wait after the last send. CoreDNS writes replies
// to the socket the datagram came from, never to the PROXY source, so they
// all come back here; it returns early once every query has its reply. A
// nil entry is a query that got no reply.
func lbDatagrams(t *testing.T, lb, to string, heads [][]byte, msgs []*dns.Msg, wait time.Duration) []*dns.Msg {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(lb)})
	if err != nil {
		t.Fatalf("binding %s: %v", lb, err)
	}
	defer conn.Close()
	raddr := mustUDPAddr(t, to)
	for i, m := range msgs {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDP(append(append([]byte(nil), heads[i]...), b...), raddr); err != nil {
			t.Fatal(err)
		}
	}
	return readReplies(t, conn, msgs, wait)
}

// lbStream opens one TCP connection from the load balancer, writes head and
// then msgs (two-byte length framing), then end, a query of its own that is
// answered whatever happened to the others. CoreDNS serves a connection's
// queries one after another, so end's reply closes the exchange: no wait on
// silence. It returns the replies to msgs by position, nil for none.
func lbStream(t *testing.T, to string, head []byte, msgs []*dns.Msg, end *dns.Msg) []*dns.Msg {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dialing %s: %v", to, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second)) // bounds every write and read below
	if _, err := c.Write(head); err != nil {
		t.Fatalf("writing the PROXY header: %v", err)
	}
	co := &dns.Conn{Conn: c}
	index := map[uint16]int{}
	for i, m := range append(msgs, end) {
		index[m.Id] = i
		if err := co.WriteMsg(m); err != nil {
			t.Fatalf("writing query %d: %v", i, err)
		}
	}
	replies := make([]*dns.Msg, len(msgs))
	for {
		r, err := co.ReadMsg()
		if err != nil {
			t.Fatalf("reading replies (%d of %d queries answered so far): %v", count(replies).answered, len(msgs), err)
		}
		if r.Id == end.Id {
			return replies
		}
		i, ok := index[r.Id]
		if !ok || replies[i] != nil {
			t.Fatalf("unexpected or duplicate reply id %d", r.Id)
		}
		replies[i] = r
	}
}

// wantWWW checks that every reply that came is the full www.example.org A
// answer: a limited reply is dropped (slip 0), never mangled.
func wantWWW(t *testing.T, replies []*dns.Msg) {
	t.Helper()
	for i, r := range replies {
		if r == nil {
			continue
		}
		if r.Rcode != dns.RcodeSuccess || r.Truncated || len(r.Answer) != 1 {
			t.Errorf("reply %d: want the full answer, got %v", i, r)
			continue
		}
		if a, ok := r.Answer[0].(*dns.A); !ok || !a.A.Equal(net.ParseIP("192.0.2.10")) {
			t.Errorf("reply %d: answer %v, want www.example.org A 192.0.2.10", i, r.Answer[0])
		}
	}
}

// wantLimited checks the prefixes floodguard logged it started limiting:
// the log names the key, so it shows whose address the limit is on.
func wantLimited(t *testing.T, logs *captureLog, prefixes ...string) {
	t.Helper()
	for _, p := range prefixes {
		if n := logs.lines("floodguard: limiting responses to " + p + " ("); n != 1 {
			t.Errorf("%d log lines limiting %s, want 1", n, p)
		}
	}
	if n := logs.lines("floodguard: limiting responses to "); n != len(prefixes) {
		t.Errorf("%d prefixes limited, want %d (%v):\n%s", n, len(prefixes), prefixes, logs.buf.String())
	}
}

// TestE2EProxyUDP floods over UDP through the load balancer and counts
// reply by reply which PROXY source got what.
func TestE2EProxyUDP(t *testing.T) {
	useFrozenClock(t)
	const wait = 400 * time.Millisecond
	const perSource = 50

	v2 := func(src string) func(t *testing.T, dst string) []byte {
		return func(t *testing.T, dst string) []byte { return proxyV2(t, proxyproto.UDPv4, src+":5353", dst) }
	}
	v1 := func(src string) func(t *testing.T, dst string) []byte {
		return func(t *testing.T, dst string) []byte { return proxyV1(t, src, dst) }
	}
	none := func(t *testing.T, dst string) []byte { return nil }

	tests := []struct {
		name    string
		lb      string                                  // the load balancer's socket address
		sources []func(t *testing.T, dst string) []byte // headers, interleaved query by query
		each    *tally                                  // what every source gets, if they are independent
		total   tally                                   // what they get together
		limited []string                                // the prefixes floodguard limits
	}{
		{
			name:    "v2 header, one client",
			lb:      "127.0.0.1",
			sources: []func(*testing.T, string) []byte{v2("203.0.113.7")},
			each:    &tally{5, 0, 45},
			total:   tally{5, 0, 45},
			limited: []string{"203.0.113.0/24"},
		},
		{
			// The load balancer's address is the same for both: keyed on
			// it, they would share one 5.
			name:    "v2 headers, two clients in different /24s",
			lb:      "127.0.0.1",
			sources: []func(*testing.T, string) []byte{v2("203.0.113.7"), v2("198.51.100.7")},
			each:    &tally{5, 0, 45},
			total:   tally{10, 0, 90},
			limited: []string{"203.0.113.0/24", "198.51.100.0/24"},
		},
		{
			// ... and keyed on the header's /24, not the whole address.
			name:    "v2 headers, two clients in one /24",
			lb:      "127.0.0.1",
			sources: []func(*testing.T, string) []byte{v2("192.0.2.7"), v2("192.0.2.200")},
			total:   tally{5, 0, 95},
			limited: []string{"192.0.2.0/24"},
		},
		{
			// Headers are optional under the USE policy that allow gives:
			// a plain query is limited on the socket's own address, so the
			// test can tell a limit from a failure.
			name:    "no header",
			lb:      "127.0.60.1",
			sources: []func(*testing.T, string) []byte{none},
			each:    &tally{5, 0, 45},
			total:   tally{5, 0, 45},
			limited: []string{"127.0.60.0/24"},
		},
		{
			// CoreDNS accepts only v2 over UDP and drops anything else before
			// any plugin runs.
			name:    "v1 header over UDP is dropped",
			lb:      "127.0.0.1",
			sources: []func(*testing.T, string) []byte{v1("203.0.113.77")},
			total:   tally{0, 0, 50},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := captureLogs(t)
			srv := startServer(t, proxyCorefile) // each flood starts with full credit
			var heads [][]byte
			var msgs []*dns.Msg
			for i := range perSource * len(tt.sources) {
				heads = append(heads, tt.sources[i%len(tt.sources)](t, srv.udp))
				msgs = append(msgs, query("www.example.org", dns.TypeA, uint16(1000+i)))
			}
			replies := lbDatagrams(t, tt.lb, srv.udp, heads, msgs, wait)
			wantWWW(t, replies)
			if got := count(replies); got != tt.total {
				t.Errorf("answered/truncated/silent = %v, want %v", got, tt.total)
			}
			wantLimited(t, logs, tt.limited...)
			if tt.each == nil {
				return
			}
			for s := range tt.sources {
				var own []*dns.Msg
				for i := s; i < len(replies); i += len(tt.sources) {
					own = append(own, replies[i])
				}
				if got := count(own); got != *tt.each {
					t.Errorf("source %d: answered/truncated/silent = %v, want %v", s, got, *tt.each)
				}
			}
		})
	}
}

// TestE2EProxyPolicy: recursion and ANY policy read the client from the
// PROXY header too. The load balancer is loopback, which the default
// recursion list allows: read there, every client behind it could recurse.
func TestE2EProxyPolicy(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, proxyCorefile)
	const refused = `coredns_floodguard_requests_total{action="refused",reason="recursion"}`
	one := func(t *testing.T, head []byte, m *dns.Msg) *dns.Msg {
		t.Helper()
		r := lbDatagrams(t, "127.0.0.1", srv.udp, [][]byte{head}, []*dns.Msg{m}, time.Second)[0]
		if r == nil {
			t.Fatal("no reply")
		}
		return r
	}

	t.Run("out-of-zone name from a PROXY client is refused", func(t *testing.T) {
		before := srv.scrape(t)[refused]
		r := one(t, proxyV2(t, proxyproto.UDPv4, "203.0.113.8:5353", srv.udp), query("www.example.net", dns.TypeA, 1))
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
		}
		if got := srv.scrape(t)[refused]; got != before+1 {
			t.Errorf("%s = %v, want %v", refused, got, before+1)
		}
	})

	t.Run("the same query from the load balancer itself may recurse", func(t *testing.T) {
		// No header: the client is the loopback load balancer, which may
		// recurse, so floodguard lets it through. With no forward plugin,
		// file refuses the name itself: only the metric tells who did.
		before := srv.scrape(t)[refused]
		r := one(t, nil, query("www.example.net", dns.TypeA, 2))
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED from file", dns.RcodeToString[r.Rcode])
		}
		if got := srv.scrape(t)[refused]; got != before {
			t.Errorf("%s = %v, want still %v", refused, got, before)
		}
	})

	t.Run("a PROXY client inside recursion may recurse", func(t *testing.T) {
		// The other way round: a header naming a loopback client lets it
		// through as if it had asked directly (file refuses the name, not
		// floodguard). Read as an unknown address type, it would be refused.
		before := srv.scrape(t)[refused]
		r := one(t, proxyV2(t, proxyproto.UDPv4, "127.0.0.53:5353", srv.udp), query("www.example.net", dns.TypeA, 6))
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("rcode %s, want REFUSED from file", dns.RcodeToString[r.Rcode])
		}
		if got := srv.scrape(t)[refused]; got != before {
			t.Errorf("%s = %v, want still %v", refused, got, before)
		}
	})

	t.Run("ANY from a PROXY client over UDP gets the RFC 8482 answer", func(t *testing.T) {
		r := one(t, proxyV2(t, proxyproto.UDPv4, "203.0.113.10:5353", srv.udp), query("example.org", dns.TypeANY, 3))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("want one HINFO, got %v", r)
		}
		if h, ok := r.Answer[0].(*dns.HINFO); !ok || h.Cpu != "RFC8482" || h.Os != "" {
			t.Errorf("answer %v, want HINFO \"RFC8482\" \"\"", r.Answer[0])
		}
	})

	t.Run("ANY from a PROXY client over TCP is left to the chain", func(t *testing.T) {
		// file answers ANY with NODATA and the SOA; what matters is that it
		// is file's reply, not the synthesised HINFO.
		replies := lbStream(t, srv.tcp, proxyV1(t, "203.0.113.11", srv.tcp),
			[]*dns.Msg{query("example.org", dns.TypeANY, 4)}, query("example.org", dns.TypeSOA, 5))
		r := replies[0]
		if r == nil {
			t.Fatal("no reply")
		}
		if _, ok := firstHINFO(r); ok || r.Rcode != dns.RcodeSuccess || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			t.Errorf("want file's NODATA with the SOA, got %v", r)
		}
	})
}

// TestE2EProxyTCP: a PROXY header over TCP names the client, but TCP has
// proved the connection's address and is never limited: 50 identical
// queries on one connection are all answered in full.
func TestE2EProxyTCP(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, proxyCorefile)
	const tcpResponses = `coredns_floodguard_tcp_responses_total`
	tests := []struct {
		name string
		head func(t *testing.T) []byte
	}{
		{"v1 header", func(t *testing.T) []byte { return proxyV1(t, "203.0.113.9", srv.tcp) }},
		{"v2 header", func(t *testing.T) []byte { return proxyV2(t, proxyproto.TCPv4, "203.0.113.9:5353", srv.tcp) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.scrape(t)[tcpResponses]
			replies := lbStream(t, srv.tcp, tt.head(t), burst(50, same("www.example.org"), dns.TypeA), query("example.org", dns.TypeSOA, 9999))
			wantWWW(t, replies)
			if got := count(replies); got != (tally{50, 0, 0}) {
				t.Errorf("answered/truncated/silent = %v, want {50 0 0}", got)
			}
			// Counted as TCP replies: floodguard saw TCP, not merely no limit.
			if got := srv.scrape(t)[tcpResponses]; got != before+51 {
				t.Errorf("%s = %v, want %v", tcpResponses, got, before+51)
			}
		})
	}
}

// TestE2EProxyTransport: a PROXY header that claims another transport than
// the socket's must never make a query less limited than its socket.
func TestE2EProxyTransport(t *testing.T) {
	useFrozenClock(t)
	logs := captureLogs(t)
	srv := startServer(t, proxyCorefile)

	t.Run("TCP connection whose header claims UDP", func(t *testing.T) {
		// pires/go-proxyproto's Conn reports the header's addresses as both
		// ends of the connection: RemoteAddr is the source and LocalAddr the
		// destination, here *net.UDPAddr. senderOf takes the transport from
		// LocalAddr, and a local end that is not a *net.TCPAddr counts as
		// UDP (fail closed), so this TCP connection is limited like UDP,
		// keyed on the header's source: 5 answered, 45 dropped. More limited
		// than TCP warrants, never less; the reverse (a datagram that passes
		// for TCP) cannot happen, as the next case shows.
		head := proxyV2(t, proxyproto.UDPv4, "203.0.113.12:5353", srv.tcp)
		replies := lbStream(t, srv.tcp, head, burst(50, same("www.example.org"), dns.TypeA), query("example.org", dns.TypeSOA, 9999))
		wantWWW(t, replies)
		if got := count(replies); got != (tally{5, 0, 45}) {
			t.Errorf("answered/truncated/silent = %v, want {5 0 45}", got)
		}
		wantLimited(t, logs, "203.0.113.0/24")
	})

	t.Run("UDP datagram whose header claims TCP", func(t *testing.T) {
		// CoreDNS drops a v2 header without a UDP transport on its UDP
		// listener; were it let through, LocalAddr would still be the UDP
		// socket's and floodguard would limit it. Either way: at most 5.
		var heads [][]byte
		msgs := burst(50, same("www.example.org"), dns.TypeA)
		for range msgs {
			heads = append(heads, proxyV2(t, proxyproto.TCPv4, "203.0.113.13:5353", srv.udp))
		}
		replies := lbDatagrams(t, "127.0.0.1", srv.udp, heads, msgs, 400*time.Millisecond)
		wantWWW(t, replies)
		got := count(replies)
		if got.answered+got.truncated > 5 {
			t.Errorf("answered/truncated/silent = %v, want at most 5 replies", got)
		}
		t.Logf("datagrams claiming TCP: %v; CoreDNS dropped %d as invalid PROXY packets",
			got, logs.lines("dropping invalid Proxy Protocol packet"))
	})
}

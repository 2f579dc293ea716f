package floodguard

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream is a second DNS server in the test, reached through forward,
// that counts the queries it receives and answers every name with an A,
// until it is told to go silent (a dead or overloaded upstream).
type upstream struct {
	addr    string
	queries atomic.Int64
	silent  atomic.Bool
	cookie  atomic.Bool // put a COOKIE option of its own in every reply, as a real server does
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().String()
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		if u.silent.Load() {
			return
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		if r.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.200")
			m.Answer = []dns.RR{rr}
		}
		if u.cookie.Load() {
			withCookieOption(m, "1111111111111111"+"2222222222222222"+"3333333333333333")
		}
		w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return u
}

const policyCorefile = `.:{port} {
    bind 127.0.0.1 ::1
    floodguard {
        authoritative example.org
        recursion 127.0.50.0/24
        %s
    }
    prometheus {metrics}
    metadata
    file testdata/example.org.zone example.org
    forward . %s
}
`

// TestE2ERecursionAndRoot: a name outside the authoritative zones is
// REFUSED, and never reaches the upstream, unless the client may recurse.
func TestE2ERecursionAndRoot(t *testing.T) {
	useFrozenClock(t)
	up := startUpstream(t)
	srv := startServer(t, fmt.Sprintf(policyCorefile, "responses-per-second 2", up.addr))
	v6 := strings.Replace(srv.udp, "127.0.0.1", "[::1]", 1)

	tests := []struct {
		name     string
		from     string
		to       string
		tcp      bool
		q        *dns.Msg
		rcode    int
		upstream int64 // queries the upstream must see
	}{
		{"out-of-zone, outsider, UDP", "127.0.51.1", srv.udp, false, query("www.example.net", dns.TypeA, 1), dns.RcodeRefused, 0},
		{"out-of-zone, outsider, TCP", "127.0.51.1", srv.tcp, true, query("www.example.net", dns.TypeA, 2), dns.RcodeRefused, 0},
		{"out-of-zone, outsider, IPv6", "::1", v6, false, query("www.example.net", dns.TypeA, 3), dns.RcodeRefused, 0},
		{"root NS, outsider", "127.0.51.1", srv.udp, false, query(".", dns.TypeNS, 4), dns.RcodeRefused, 0},
		{"RD=0 changes nothing", "127.0.53.1", srv.udp, false, func() *dns.Msg { m := query("www.example.net", dns.TypeA, 5); m.RecursionDesired = false; return m }(), dns.RcodeRefused, 0},
		{"in-zone, outsider", "127.0.51.1", srv.udp, false, query("www.example.org", dns.TypeA, 6), dns.RcodeSuccess, 0},
		{"out-of-zone, recursion client, UDP", "127.0.50.1", srv.udp, false, query("www.example.net", dns.TypeA, 7), dns.RcodeSuccess, 1},
		{"out-of-zone, recursion client, TCP", "127.0.50.1", srv.tcp, true, query("www.example.com", dns.TypeA, 8), dns.RcodeSuccess, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *dns.Msg
			if tt.tcp {
				r = tcpQuery(t, tt.from, tt.to, tt.q)
			} else {
				rs := udpBurst(t, tt.from, tt.to, []*dns.Msg{tt.q}, time.Second)
				if r = rs[0]; r == nil {
					t.Fatal("no reply")
				}
			}
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if got := up.queries.Load(); got != tt.upstream {
				t.Errorf("upstream saw %d queries, want %d", got, tt.upstream)
			}
		})
	}

	t.Run("a spoofed flood of refused names gets the errors allowance", func(t *testing.T) {
		replies := udpBurst(t, "127.0.52.1", srv.udp, burst(10, random("n%d.example.net"), dns.TypeA), 400*time.Millisecond)
		if got := count(replies); got != (tally{2, 0, 8}) {
			t.Fatalf("answered/truncated/silent = %v, want {2 0 8}", got)
		}
		if got := up.queries.Load(); got != 2 {
			t.Errorf("upstream saw %d queries, want still 2", got)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		got := srv.scrape(t)
		want := map[string]float64{
			`coredns_floodguard_requests_total{action="refused",reason="recursion"}`: 4 + 10,
			`coredns_floodguard_requests_total{action="refused",reason="root"}`:      1,
			`coredns_floodguard_limited_total{class="error"}`:                        8,
		}
		for series, w := range want {
			if got[series] != w {
				t.Errorf("%s = %v, want %v", series, got[series], w)
			}
		}
	})
}

// TestE2EAny covers the ANY modes and any-per-minute.
func TestE2EAny(t *testing.T) {
	clk := useFrozenClock(t)
	up := startUpstream(t)
	srv := startServer(t, fmt.Sprintf(policyCorefile, "responses-per-second 2\n        any-per-minute 4", up.addr))
	one := func(t *testing.T, from, name string) *dns.Msg {
		t.Helper()
		return udpBurst(t, from, srv.udp, []*dns.Msg{query(name, dns.TypeANY, 1)}, time.Second)[0]
	}

	t.Run("minimal answers over UDP", func(t *testing.T) {
		tests := []struct {
			name   string
			rcode  int
			answer uint16 // type of the single answer, 0 for none
		}{
			{"example.org", dns.RcodeSuccess, dns.TypeHINFO},
			{"alias.example.org", dns.RcodeSuccess, dns.TypeCNAME},
			{"nx.example.org", dns.RcodeNameError, 0},
		}
		for i, tt := range tests {
			r := one(t, fmt.Sprintf("127.0.60.%d", i+1), tt.name)
			if r == nil {
				t.Fatalf("%s: no reply", tt.name)
			}
			wantAnswers := 0
			if tt.answer != 0 {
				wantAnswers = 1
			}
			if r.Rcode != tt.rcode || len(r.Answer) != wantAnswers || (wantAnswers == 1 && r.Answer[0].Header().Rrtype != tt.answer) {
				t.Errorf("%s ANY: %v", tt.name, r)
			}
			if h, ok := firstHINFO(r); ok && (h.Cpu != "RFC8482" || h.Os != "") {
				t.Errorf("HINFO %q %q, want \"RFC8482\" \"\"", h.Cpu, h.Os)
			}
		}
	})

	t.Run("TCP gets the full answer", func(t *testing.T) {
		r := tcpQuery(t, "127.0.61.1", srv.tcp, query("example.org", dns.TypeANY, 1))
		if _, ok := firstHINFO(r); ok {
			t.Errorf("TCP ANY got the synthesised HINFO: %v", r)
		}
	})

	t.Run("any-per-minute", func(t *testing.T) {
		names := []string{"www.example.org", "mail.example.org", "ns1.example.org", "ns2.example.org", "example.org", "big.example.org"}
		var msgs []*dns.Msg
		for i, n := range names {
			msgs = append(msgs, query(n, dns.TypeANY, uint16(i)))
		}
		if got := count(udpBurst(t, "127.0.62.1", srv.udp, msgs, 400*time.Millisecond)); got != (tally{4, 0, 2}) {
			t.Fatalf("6 ANY in a minute: %v, want {4 0 2}", got)
		}
		clk.advance(time.Minute)
		if got := count(udpBurst(t, "127.0.62.1", srv.udp, msgs[:1], 400*time.Millisecond)); got != (tally{1, 0, 0}) {
			t.Fatalf("a minute later: %v, want {1 0 0}", got)
		}
		if got := srv.scrape(t)[`coredns_floodguard_requests_total{action="dropped",reason="any"}`]; got != 2 {
			t.Errorf("requests_total{dropped,any} = %v, want 2", got)
		}
	})
}

func firstHINFO(r *dns.Msg) (*dns.HINFO, bool) {
	for _, rr := range r.Answer {
		if h, ok := rr.(*dns.HINFO); ok {
			return h, true
		}
	}
	return nil, false
}

// TestE2EQueriesAndBans covers queries-per-second and bans.
func TestE2EQueriesAndBans(t *testing.T) {
	clk := useFrozenClock(t)
	up := startUpstream(t)
	srv := startServer(t, fmt.Sprintf(policyCorefile, "responses-per-second 2\n        queries-per-second 5\n        slip 2\n        ban 4 60s 10m\n        exempt-clients 127.0.79.1", up.addr))

	t.Run("queries-per-second", func(t *testing.T) {
		// 8 distinct positive answers (no response limit is reached):
		// 5 pass, then slip, drop, slip.
		qs := []struct {
			name  string
			qtype uint16
		}{{"www", dns.TypeA}, {"www", dns.TypeAAAA}, {"mail", dns.TypeA}, {"ns1", dns.TypeA}, {"ns2", dns.TypeA}, {"", dns.TypeA}, {"", dns.TypeMX}, {"", dns.TypeTXT}}
		var msgs []*dns.Msg
		for i, q := range qs {
			msgs = append(msgs, query(strings.TrimPrefix(q.name+".example.org", "."), q.qtype, uint16(i)))
		}
		got := count(udpBurst(t, "127.0.70.1", srv.udp, msgs, 400*time.Millisecond))
		if got != (tally{5, 2, 1}) {
			t.Fatalf("8 queries: %v, want {5 2 1}", got)
		}
	})

	t.Run("ban", func(t *testing.T) {
		// Twice 9 identical queries, a second apart: queries-per-second lets 5
		// of each through, of whose answers (at rate 2) 3 are over the
		// limit; 4 of those ban www.example.org A for this /24, and nothing
		// else. (Queries over queries-per-second ban nothing: that limit is
		// blind to names.)
		for range 2 {
			udpBurst(t, "127.0.71.1", srv.udp, burst(9, same("www.example.org"), dns.TypeA), 400*time.Millisecond)
			clk.advance(time.Second)
		}
		clk.advance(2 * time.Second) // the response bucket has credit again...
		got := count(udpBurst(t, "127.0.71.2", srv.udp, burst(4, same("www.example.org"), dns.TypeA), 400*time.Millisecond))
		if got != (tally{0, 1, 3}) { // ... but the name is banned: one TC reply a second
			t.Fatalf("banned name from the /24: %v, want {0 1 3}", got)
		}
		// Every other name of the /24 is answered as before: a spoofed
		// flood bans only what the flood asks.
		others := []string{"mail.example.org", "ns1.example.org", "ns2.example.org", "example.org"}
		if got := count(udpBurst(t, "127.0.71.3", srv.udp, burst(4, func(i int) string { return others[i] }, dns.TypeA), 400*time.Millisecond)); got != (tally{4, 0, 0}) {
			t.Fatalf("other names from the banned name's /24: %v, want {4 0 0}", got)
		}
		if r := tcpQuery(t, "127.0.71.2", srv.tcp, query("www.example.org", dns.TypeA, 1)); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Fatalf("TCP for the banned name: %v", r)
		}
		clk.advance(10 * time.Minute)
		if got := count(udpBurst(t, "127.0.71.2", srv.udp, burst(2, same("www.example.org"), dns.TypeA), 400*time.Millisecond)); got != (tally{2, 0, 0}) {
			t.Fatalf("after the ban: %v, want {2 0 0}", got)
		}
		if got := srv.scrape(t)[`coredns_floodguard_bans_total`]; got != 1 {
			t.Errorf("bans_total = %v, want 1", got)
		}
	})

	t.Run("exempt clients are never limited or banned", func(t *testing.T) {
		got := count(udpBurst(t, "127.0.79.1", srv.udp, burst(20, same("www.example.org"), dns.TypeA), 400*time.Millisecond))
		if got != (tally{20, 0, 0}) {
			t.Fatalf("exempt: %v, want {20 0 0}", got)
		}
	})
}

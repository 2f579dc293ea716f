package floodguard

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const rrlCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        responses-per-second 2
        all-per-second 50
        slip 3
        exempt-clients 127.0.0.9
        %s
    }
    prometheus {metrics}
    metadata
    errors
    fgtestbackend
    file testdata/example.org.zone
}
`

// burst is n queries from one client; names may vary per query.
func burst(n int, name func(i int) string, qtype uint16) []*dns.Msg {
	msgs := make([]*dns.Msg, n)
	for i := range msgs {
		msgs[i] = query(name(i), qtype, uint16(1000+i))
	}
	return msgs
}

// withEDNS gives every query an EDNS0 OPT with a 4096-byte buffer, as
// reflection attacks do to get the largest answers.
func withEDNS(msgs []*dns.Msg) []*dns.Msg {
	for _, m := range msgs {
		m.SetEdns0(4096, false)
	}
	return msgs
}

func same(name string) func(int) string { return func(int) string { return name } }

func random(format string) func(int) string {
	return func(i int) string { return fmt.Sprintf(format, i) }
}

// TestE2EResponseRateLimiting floods a real CoreDNS over UDP from distinct
// loopback clients and checks BIND's RRL treatment reply by reply, then the
// metrics endpoint.
func TestE2EResponseRateLimiting(t *testing.T) {
	clk := useFrozenClock(t)
	// max-udp-size 4096 lets the big TXT through whole when allowed, so that
	// case is about the rate limit alone; TestE2EAnswerTooBigForTheBuffer
	// covers the cap.
	srv := startServer(t, fmt.Sprintf(rrlCorefile, "max-udp-size 4096"))
	const wait = 400 * time.Millisecond

	tests := []struct {
		name   string
		from   string
		msgs   []*dns.Msg
		want   tally
		rcode  int
		limits string // the class the limited replies count against
	}{
		{"identical answers", "127.0.1.1", burst(5, same("www.example.org"), dns.TypeA), tally{2, 1, 2}, dns.RcodeSuccess, "response"},
		{"same /24, exhausted bucket", "127.0.1.2", burst(5, same("www.example.org"), dns.TypeA), tally{0, 2, 3}, dns.RcodeSuccess, "response"},
		{"other prefix is independent", "127.0.2.1", burst(5, same("www.example.org"), dns.TypeA), tally{2, 1, 2}, dns.RcodeSuccess, "response"},
		{"big TXT", "127.0.3.1", withEDNS(burst(5, same("big.example.org"), dns.TypeTXT)), tally{2, 1, 2}, dns.RcodeSuccess, "response"},
		{"wildcard names share a bucket", "127.0.4.1", burst(5, random("r%d.wild.example.org"), dns.TypeA), tally{2, 1, 2}, dns.RcodeSuccess, "response"},
		{"nxdomain keyed by zone", "127.0.5.1", burst(5, random("nx%d.example.org"), dns.TypeA), tally{2, 1, 2}, dns.RcodeNameError, "nxdomain"},
		{"nodata", "127.0.6.1", burst(5, same("www.example.org"), dns.TypeMX), tally{2, 1, 2}, dns.RcodeSuccess, "nodata"},
		{"referral keyed by delegation", "127.0.7.1", burst(5, random("h%d.sub.example.org"), dns.TypeA), tally{2, 1, 2}, dns.RcodeSuccess, "referral"},
		{"errors never slip", "127.0.8.1", burst(10, same("servfail.example.org"), dns.TypeA), tally{2, 0, 8}, dns.RcodeServerFailure, "error"},
		{"distinct names are not limited", "127.0.9.1", burst(5, random("n%d.example.org"), dns.TypeA)[:0], tally{}, 0, ""},
		{"exempt client", "127.0.0.9", burst(5, same("www.example.org"), dns.TypeA), tally{5, 0, 0}, dns.RcodeSuccess, ""},
	}
	wantMetrics := map[string]float64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replies := udpBurst(t, tt.from, srv.udp, tt.msgs, wait)
			if got := count(replies); got != tt.want {
				t.Fatalf("answered/truncated/silent = %v, want %v", got, tt.want)
			}
			for _, r := range replies {
				if r == nil {
					continue
				}
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if r.Truncated && (len(r.Answer) > 0 || len(r.Ns) > 0) {
					t.Errorf("truncated reply carries records: %v", r)
				}
				if r.Truncated && tt.msgs[0].IsEdns0() != nil && r.IsEdns0() == nil {
					t.Errorf("truncated reply lost the OPT record")
				}
				if !r.Truncated && tt.rcode == dns.RcodeSuccess && tt.limits == "response" && len(r.Answer) == 0 {
					t.Errorf("answer without records: %v", r)
				}
			}
			if tt.limits == "" {
				return
			}
			wantMetrics[`coredns_floodguard_responses_total{action="sent"}`] += float64(tt.want.answered)
			wantMetrics[`coredns_floodguard_responses_total{action="slipped"}`] += float64(tt.want.truncated)
			wantMetrics[`coredns_floodguard_responses_total{action="dropped"}`] += float64(tt.want.silent)
			wantMetrics[`coredns_floodguard_limited_total{class="`+tt.limits+`"}`] += float64(tt.want.truncated + tt.want.silent)
		})
	}

	t.Run("TCP is never limited", func(t *testing.T) {
		for i := range 5 {
			r := tcpQuery(t, "127.0.1.1", srv.tcp, query("www.example.org", dns.TypeA, uint16(i)))
			if r.Truncated || len(r.Answer) == 0 {
				t.Fatalf("TCP reply %d: truncated=%v answers=%d", i, r.Truncated, len(r.Answer))
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		got := srv.scrape(t)
		for series, want := range wantMetrics {
			if got[series] != want {
				t.Errorf("%s = %v, want %v", series, got[series], want)
			}
		}
		if got[`coredns_floodguard_request_bytes_total`] <= 0 {
			t.Errorf("request_bytes_total did not move")
		}
		if got[`coredns_floodguard_response_bytes_total{action="dropped"}`] <= 0 {
			t.Errorf("response_bytes_total{dropped} did not move")
		}
	})

	t.Run("credit returns with time", func(t *testing.T) {
		// The /24 of 127.0.1.x owes window x rate; window+1 s repays it all.
		clk.advance(16 * time.Second)
		replies := udpBurst(t, "127.0.1.1", srv.udp, burst(3, same("www.example.org"), dns.TypeA), wait)
		if got := count(replies); got != (tally{2, 1, 0}) {
			t.Fatalf("after the window: %v, want {2 1 0}", got)
		}
	})
}

// TestE2EServerWrittenErrors covers rcodes the backend returns without
// writing, which CoreDNS's server would otherwise write itself, unlimited:
// floodguard must account them, and no second reply may go out.
func TestE2EServerWrittenErrors(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))
	tests := []struct {
		label string
		rcode int
		from  string
	}{
		{"servfail", dns.RcodeServerFailure, "127.0.10.1"},
		{"refused", dns.RcodeRefused, "127.0.11.1"},
		{"formerr", dns.RcodeFormatError, "127.0.12.1"},
		{"notimp", dns.RcodeNotImplemented, "127.0.13.1"},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			replies := udpBurst(t, tt.from, srv.udp, burst(10, same(tt.label+".example.org"), dns.TypeA), 400*time.Millisecond)
			if got := count(replies); got != (tally{2, 0, 8}) {
				t.Fatalf("answered/truncated/silent = %v, want {2 0 8}", got)
			}
			for _, r := range replies {
				if r != nil && r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
			}
			// Over TCP the same error is answered every time, exactly once.
			if r := tcpQuery(t, tt.from, srv.tcp, query(tt.label+".example.org", dns.TypeA, 7)); r.Rcode != tt.rcode {
				t.Errorf("TCP rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
		})
	}
}

// TestE2ELogOnly checks that log-only decides and counts but sends everything.
func TestE2ELogOnly(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(rrlCorefile, "log-only"))
	replies := udpBurst(t, "127.0.20.1", srv.udp, burst(5, same("www.example.org"), dns.TypeA), 400*time.Millisecond)
	if got := count(replies); got != (tally{5, 0, 0}) {
		t.Fatalf("log-only: %v, want every reply sent in full", got)
	}
	got := srv.scrape(t)
	want := map[string]float64{
		`coredns_floodguard_responses_total{action="sent"}`:       2,
		`coredns_floodguard_responses_total{action="would_slip"}`: 1,
		`coredns_floodguard_responses_total{action="would_drop"}`: 2,
		`coredns_floodguard_responses_total{action="dropped"}`:    0,
		`coredns_floodguard_limited_total{class="response"}`:      3,
	}
	for series, w := range want {
		if got[series] != w {
			t.Errorf("%s = %v, want %v", series, got[series], w)
		}
	}
}

// TestE2EAnswerTooBigForTheBuffer: an answer that does not fit in
// max-udp-size (default 1232) or the client's UDP buffer gets an empty
// truncated reply, not CoreDNS's partial one (whose records the client
// discards before retrying over TCP); TCP and exempt clients get it all,
// and log-only leaves the cap alone.
func TestE2EAnswerTooBigForTheBuffer(t *testing.T) {
	useFrozenClock(t)
	edns := func(id, size uint16) *dns.Msg {
		m := query("big.example.org", dns.TypeTXT, id) // 16 TXT records, about 3.5 KB
		if size > 0 {
			m.SetEdns0(size, false)
		}
		return m
	}
	tests := []struct {
		name    string
		options string
		client  string
		query   *dns.Msg
		full    bool
	}{
		{"no EDNS: 512 bytes", "", "127.0.15.1", edns(1, 0), false},
		{"EDNS 1232", "", "127.0.16.1", edns(2, 1232), false},
		{"EDNS 4096, default max-udp-size 1232", "", "127.0.17.1", edns(3, 4096), false},
		{"EDNS 4096, max-udp-size 4096", "max-udp-size 4096", "127.0.18.1", edns(4, 4096), true},
		{"EDNS 1232, max-udp-size 4096", "max-udp-size 4096", "127.0.19.1", edns(5, 1232), false},
		{"EDNS 4096, exempt client", "", "127.0.0.9", edns(6, 4096), true},
		{"EDNS 4096, log-only", "log-only", "127.0.20.1", edns(7, 4096), true},
		{"no EDNS, log-only: the client's buffer still counts", "log-only", "127.0.21.1", edns(8, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, fmt.Sprintf(rrlCorefile, tt.options))
			r := udpBurst(t, tt.client, srv.udp, []*dns.Msg{tt.query}, time.Second)[0]
			if r == nil {
				t.Fatal("no reply")
			}
			if tt.full && (r.Truncated || len(r.Answer) != 16) {
				t.Errorf("want the full answer: truncated=%v, %d records", r.Truncated, len(r.Answer))
			}
			if !tt.full && (!r.Truncated || len(r.Answer)+len(r.Ns) != 0) {
				t.Errorf("want an empty truncated reply: truncated=%v, %d+%d records", r.Truncated, len(r.Answer), len(r.Ns))
			}
			got := srv.scrape(t)[`coredns_floodguard_responses_total{action="truncated"}`]
			want := 0.0
			if !tt.full {
				want = 1
			}
			if got != want {
				t.Errorf("responses_total{action=\"truncated\"} = %v, want %v", got, want)
			}
			if r := tcpQuery(t, tt.client, srv.tcp, edns(9, 4096)); r.Truncated || len(r.Answer) != 16 {
				t.Errorf("TCP: truncated=%v, %d records, want all 16", r.Truncated, len(r.Answer))
			}
		})
	}
}

// TestE2EMinimalAnyKeepsErrors: a minimal ANY answer is built from what the
// rest of the chain holds for the name. When the chain fails without
// writing (forward timing out, a backend returning SERVFAIL), that failure
// is the answer, as it is for every other type: a synthesised HINFO with a
// TTL of an hour would have resolvers cache a NOERROR for it.
func TestE2EMinimalAnyKeepsErrors(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))
	tests := []struct {
		name  string
		rcode int
		hinfo bool
	}{
		{"servfail.example.org", dns.RcodeServerFailure, false},
		{"refused.example.org", dns.RcodeRefused, false},
		{"formerr.example.org", dns.RcodeFormatError, false},
		{"notimp.example.org", dns.RcodeNotImplemented, false},
		{"example.org", dns.RcodeSuccess, true}, // the name exists: HINFO, so the test can tell
	}
	// Each from its own /24: errors share one bucket per prefix.
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := udpExchange(t, fmt.Sprintf("127.0.%d.1", 94+i), srv.udp, query(tt.name, dns.TypeANY, uint16(i+1)), 2*time.Second)
			if r == nil {
				t.Fatal("no reply")
			}
			_, hinfo := firstHINFO(r)
			if r.Rcode != tt.rcode || hinfo != tt.hinfo {
				t.Errorf("rcode %s, HINFO %v; want %s, HINFO %v", dns.RcodeToString[r.Rcode], hinfo, dns.RcodeToString[tt.rcode], tt.hinfo)
			}
		})
	}
	if got := srv.scrape(t)[`coredns_floodguard_requests_total{action="minimal",reason="any"}`]; got != float64(len(tests)) {
		t.Errorf("requests_total{minimal,any} = %v, want %d", got, len(tests))
	}
}

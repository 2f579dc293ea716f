package floodguard

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// recordingWriter records what reaches the client.
type recordingWriter struct {
	addr    net.Addr
	replies []*dns.Msg
}

func (w *recordingWriter) LocalAddr() net.Addr {
	if _, tcp := w.addr.(*net.TCPAddr); tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *recordingWriter) RemoteAddr() net.Addr        { return w.addr }
func (w *recordingWriter) WriteMsg(m *dns.Msg) error   { w.replies = append(w.replies, m); return nil }
func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *recordingWriter) Close() error                { return nil }
func (w *recordingWriter) TsigStatus() error           { return nil }
func (w *recordingWriter) TsigTimersOnly(bool)         {}
func (w *recordingWriter) Hijack()                     {}
func (w *recordingWriter) Network() string             { return "" }

// countingBackend answers every query with an A (or a CNAME for
// alias.example.org.) and counts the queries that reach it.
type countingBackend struct{ calls int }

func (b *countingBackend) Name() string { return "counting" }
func (b *countingBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	b.calls++
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	if q.Name == "alias.example.org." {
		rr, _ := dns.NewRR("alias.example.org. 300 IN CNAME www.example.org.")
		m.Answer = []dns.RR{rr}
	} else if q.Qtype == dns.TypeA {
		rr, _ := dns.NewRR(q.Name + " 300 IN A 192.0.2.10")
		m.Answer = []dns.RR{rr}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// TestPolicy walks every mode of any and root, and the recursion policy,
// over both transports, in-process.
func TestPolicy(t *testing.T) {
	udp := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5353}
	tcp := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5353}
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	type want struct {
		backend int    // queries that reached the backend (minimal ANY probes count)
		reply   string // "answer", "refused", "tc", "hinfo", "cname", "none"
		action  string // requests_total action, "" for none
	}
	tests := []struct {
		name   string
		modify func(*config)
		from   net.Addr
		qname  string
		qtype  uint16
		want   want
	}{
		{"any minimal, UDP", nil, udp, "example.org.", dns.TypeANY, want{1, "hinfo", "minimal"}},
		{"any minimal, CNAME owner", nil, udp, "alias.example.org.", dns.TypeANY, want{1, "cname", "minimal"}},
		{"any minimal, TCP untouched", nil, tcp, "example.org.", dns.TypeANY, want{1, "answer", ""}},
		{"any truncate, UDP", func(c *config) { c.anyMode = anyTruncate }, udp, "example.org.", dns.TypeANY, want{0, "tc", "truncated"}},
		{"any truncate, TCP untouched", func(c *config) { c.anyMode = anyTruncate }, tcp, "example.org.", dns.TypeANY, want{1, "answer", ""}},
		{"any refuse, UDP", func(c *config) { c.anyMode = anyRefuse }, udp, "example.org.", dns.TypeANY, want{0, "refused", "refused"}},
		{"any refuse, TCP", func(c *config) { c.anyMode = anyRefuse }, tcp, "example.org.", dns.TypeANY, want{0, "refused", "refused"}},
		{"any drop", func(c *config) { c.anyMode = anyDrop }, udp, "example.org.", dns.TypeANY, want{0, "none", "dropped"}},
		{"any allow", func(c *config) { c.anyMode = anyAllow }, udp, "example.org.", dns.TypeANY, want{1, "answer", ""}},
		{"any log-only", func(c *config) { c.logOnly = true }, udp, "example.org.", dns.TypeANY, want{1, "answer", "would_drop"}},
		{"root default without authoritative: allow", nil, udp, ".", dns.TypeNS, want{1, "answer", ""}},
		{"root refuse", func(c *config) { c.rootMode = rootRefuse }, udp, ".", dns.TypeNS, want{0, "refused", "refused"}},
		{"root drop", func(c *config) { c.rootMode = rootDrop }, tcp, ".", dns.TypeNS, want{0, "none", "dropped"}},
		{"root allow overrides authoritative", func(c *config) { authoritative(c); c.rootMode = rootAllow }, udp, ".", dns.TypeNS, want{1, "answer", ""}},
		{"root refuse, recursion client", func(c *config) { c.rootMode = rootRefuse }, loop, ".", dns.TypeNS, want{1, "answer", ""}},
		{"authoritative, in zone", authoritative, udp, "www.example.org.", dns.TypeA, want{1, "answer", ""}},
		{"authoritative, out of zone", authoritative, tcp, "www.example.net.", dns.TypeA, want{0, "refused", "refused"}},
		{"authoritative, out of zone, recursion client", authoritative, loop, "www.example.net.", dns.TypeA, want{1, "answer", ""}},
		{"authoritative, out of zone, exempt is not recursion", func(c *config) {
			authoritative(c)
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}, udp, "www.example.net.", dns.TypeA, want{0, "refused", "refused"}},
		{"authoritative, log-only", func(c *config) { authoritative(c); c.logOnly = true }, udp, "www.example.net.", dns.TypeA, want{1, "answer", "would_drop"}},
		{"no authoritative: cluster DNS forwards all", nil, udp, "www.example.net.", dns.TypeA, want{1, "answer", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.zones = []string{"."}
			if tt.modify != nil {
				tt.modify(&cfg)
			}
			f := newFloodguard(cfg, newState("policy", cfg, (&fakeClock{t: nano}).now))
			backend := &countingBackend{}
			f.Next = backend
			w := &recordingWriter{addr: tt.from}
			q := query(tt.qname, tt.qtype, 1)
			met := f.metrics.get("")
			before := requestCounts(t, met) // the counters are process-wide
			if rc, _ := f.ServeDNS(context.Background(), w, q); !clientWrote(rc) {
				t.Errorf("returned rcode %d: the server would write a second reply", rc)
			}
			if backend.calls != tt.want.backend {
				t.Errorf("backend saw %d queries, want %d", backend.calls, tt.want.backend)
			}
			if got := replyKind(w.replies); got != tt.want.reply {
				t.Errorf("reply %s, want %s: %v", got, tt.want.reply, w.replies)
			}
			after := requestCounts(t, met)
			for a := queryAction(0); a < numQueryActions; a++ {
				want := 0.0
				if a.String() == tt.want.action {
					want = 1
				}
				if n := after[a] - before[a]; n != want {
					t.Errorf("requests_total{action=%s} rose by %v, want %v", a, n, want)
				}
			}
		})
	}
}

func authoritative(c *config) { c.authoritative = []string{"example.org."}; c.rootMode = rootRefuse }

func clientWrote(rcode int) bool {
	return rcode != dns.RcodeServerFailure && rcode != dns.RcodeRefused && rcode != dns.RcodeFormatError && rcode != dns.RcodeNotImplemented
}

func replyKind(replies []*dns.Msg) string {
	if len(replies) == 0 {
		return "none"
	}
	if len(replies) > 1 {
		return "several"
	}
	r := replies[0]
	switch {
	case r.Truncated:
		return "tc"
	case r.Rcode == dns.RcodeRefused:
		return "refused"
	case len(r.Answer) == 1 && r.Answer[0].Header().Rrtype == dns.TypeHINFO && r.Answer[0].(*dns.HINFO).Cpu == "RFC8482":
		return "hinfo"
	case len(r.Answer) == 1 && r.Answer[0].Header().Rrtype == dns.TypeCNAME && r.Question[0].Qtype == dns.TypeANY:
		return "cname"
	}
	return "answer"
}

// requestCounts sums requests_total over reasons, by action.
func requestCounts(t *testing.T, met *serverMetrics) (n [numQueryActions]float64) {
	for a := range n {
		for r := reason(0); r < numReasons; r++ {
			n[a] += testutil.ToFloat64(met.requests[a][r])
		}
	}
	return n
}

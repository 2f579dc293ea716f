package floodguard

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// Benchmarks of the per-query decision and of the in-process chain. Run:
//   go test -run '^$' -bench . -benchmem -count 10 | benchstat -

func benchLimiter() limiter {
	l := bindLimits()
	l.perSecond[classResponse] = 1000
	l.perSecond[classAll] = 0
	l.slip = 0
	return limiter{limits: l, table: newTable(defaultMaxTableSize)}
}

// prefixes are 4096 distinct client /24s, so the benchmark touches many sets.
var prefixes = func() []netip.Prefix {
	ps := make([]netip.Prefix, 4096)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
	}
	return ps
}()

// BenchmarkDecideAllow: every response is within its limit.
func BenchmarkDecideAllow(b *testing.B) {
	l := benchLimiter()
	b.ReportAllocs()
	var now int64
	for i := 0; b.Loop(); i++ {
		now += 1e6 // 1 ms a response per prefix: far below 1000/s
		if l.decide(now, prefixes[i&4095], classResponse, "www.example.org.", dns.TypeA).verdict != verdictSend {
			b.Fatal("limited")
		}
	}
}

// BenchmarkDecideDrop: one client flooding one name, every response dropped.
func BenchmarkDecideDrop(b *testing.B) {
	l := benchLimiter()
	for range 2000 {
		l.decide(1, prefixes[0], classResponse, "www.example.org.", dns.TypeA)
	}
	b.ReportAllocs()
	for b.Loop() {
		if l.decide(1, prefixes[0], classResponse, "www.example.org.", dns.TypeA).verdict != verdictDrop {
			b.Fatal("not dropped")
		}
	}
}

// BenchmarkDecideAllowParallel: as BenchmarkDecideAllow from every core;
// compare ns/op with the single-goroutine figure for the speed-up.
func BenchmarkDecideAllowParallel(b *testing.B) {
	l := benchLimiter()
	var clock atomic.Int64
	var worker atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		base := int(worker.Add(1)) * 1024
		i := 0
		for pb.Next() {
			now := clock.Load() + int64(i)*1e6
			l.decide(now, prefixes[(base+i)&4095], classResponse, "www.example.org.", dns.TypeA)
			i++
		}
	})
}

// BenchmarkDecideAllowParallelDisjoint: as BenchmarkDecideAllowParallel,
// but each goroutine decides for its own 4096 client prefixes, as CoreDNS's
// cores do when they serve different clients. The shared-keys benchmark
// above measures the other case, both cores updating the same buckets (one
// prefix flooding one name), where every decision moves a cache line
// between cores.
func BenchmarkDecideAllowParallelDisjoint(b *testing.B) {
	l := benchLimiter()
	workers := runtime.GOMAXPROCS(0) // RunParallel's goroutine count at parallelism 1
	own := make([][]netip.Prefix, workers)
	for w := range own {
		own[w] = make([]netip.Prefix, 4096)
		for i := range own[w] {
			own[w][i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + w), byte(i >> 8), byte(i), 0}), 24)
		}
	}
	var clock atomic.Int64
	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := own[int(worker.Add(1)-1)%workers]
		i := 0
		for pb.Next() {
			now := clock.Load() + int64(i)*1e6
			l.decide(now, mine[i&4095], classResponse, "www.example.org.", dns.TypeA)
			i++
		}
	})
}

// answerBackend writes one prebuilt answer, as a cache hit would.
type answerBackend struct{ reply *dns.Msg }

func (a answerBackend) Name() string { return "answer" }
func (a answerBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
	w.WriteMsg(a.reply)
	return dns.RcodeSuccess, nil
}

// benchWriter is a UDP client writer whose addresses are made once, as a
// real socket's are, unlike test.ResponseWriter, which parses them on every
// call.
type benchWriter struct {
	test.ResponseWriter
	addr *net.UDPAddr
}

var benchLocal = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}

func (w *benchWriter) LocalAddr() net.Addr  { return benchLocal }
func (w *benchWriter) RemoteAddr() net.Addr { return w.addr }

func benchChain(b *testing.B, h plugin.Handler) {
	q := query("www.example.org", dns.TypeA, 1)
	w := &benchWriter{addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40212}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, q)
	}
}

func answerFor(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	rr, _ := dns.NewRR("www.example.org. 3600 IN A 192.0.2.10")
	m.Answer = []dns.RR{rr}
	return m
}

// BenchmarkChainBackendOnly is the baseline for BenchmarkChainFloodguard.
func BenchmarkChainBackendOnly(b *testing.B) {
	benchChain(b, answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))})
}

// BenchmarkChainFloodguard: floodguard in front of the backend, limits never
// reached (the client's credit is refilled by a clock that runs 1 ms a query).
func BenchmarkChainFloodguard(b *testing.B) {
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."} // as bench/Corefile.floodguard: a zone match per query
	cfg.limits.perSecond[classResponse] = 1000
	var now int64
	f := newFloodguard(cfg, newState("bench", cfg, func() int64 { now += 1e6; return now }))
	f.Next = answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))}
	benchChain(b, f)
}

// benchFloodguard is floodguard in front of the answering backend, on a
// frozen clock, with cfg changed by modify.
func benchFloodguard(modify func(*config)) *Floodguard {
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."} // as bench/Corefile.floodguard: a zone match per query
	modify(&cfg)
	f := newFloodguard(cfg, newState("bench", cfg, func() int64 { return nano }))
	f.Next = answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))}
	return f
}

// BenchmarkChainResponseDropped: a flooding client whose answers are
// dropped by the response limit (the chain still runs to produce them).
func BenchmarkChainResponseDropped(b *testing.B) {
	benchChain(b, benchFloodguard(func(c *config) { c.limits.slip = 0 }))
}

// BenchmarkChainQueryDropped: a flooding client dropped by queries-per-second
// before the chain runs.
func BenchmarkChainQueryDropped(b *testing.B) {
	benchChain(b, benchFloodguard(func(c *config) { c.qps, c.limits.slip = queryRate{1, 1}, 0 }))
}

// BenchmarkChainBanned: a client asking a name and type it has been banned
// from, dropped first of all.
func BenchmarkChainBanned(b *testing.B) {
	benchChain(b, benchFloodguard(func(c *config) {
		c.limits.perSecond[classResponse] = 1 // the name's second answer bans it
		c.ban = banConfig{limited: 1, within: 60 * nano, dur: 600 * nano}
	}))
}

// BenchmarkChainFloodguardCookie: as BenchmarkChainFloodguard, the client
// bringing back a valid server cookie (and the reply carrying it), so the
// difference is what cookies cost. A proven client is not response-limited,
// so the clock can stand still (a running one would age the cookie).
func BenchmarkChainFloodguardCookie(b *testing.B) {
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."}
	cfg.limits.perSecond[classResponse] = 1000
	f := newFloodguard(cfg, newState("bench", cfg, func() int64 { return nano }))
	f.Next = answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))}
	w := &benchWriter{addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40212}}
	// Learn a cookie as a client would: a client cookie alone first.
	first := &captureWriter{benchWriter: *w}
	f.ServeDNS(context.Background(), first, withCookieOption(query("www.example.org", dns.TypeA, 1), "0102030405060708"))
	ck := cookiesOf(first.msg)
	if len(ck) != 1 {
		b.Fatalf("no cookie learnt: %v", first.msg)
	}
	q := withCookieOption(query("www.example.org", dns.TypeA, 1), ck[0])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.ServeDNS(ctx, w, q)
	}
}

// captureWriter keeps the last message written.
type captureWriter struct {
	benchWriter
	msg *dns.Msg
}

func (w *captureWriter) WriteMsg(m *dns.Msg) error { w.msg = m; return nil }

// BenchmarkChainFloodguardAPI: as BenchmarkChainFloodguard, with the view
// API configured, so every query is counted in the top talkers.
func BenchmarkChainFloodguardAPI(b *testing.B) {
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."}
	cfg.limits.perSecond[classResponse] = 1000
	cfg.api = defaultAPIAddress // the summary is made; no listener is opened
	var now int64
	f := newFloodguard(cfg, newState("bench", cfg, func() int64 { now += 1e6; return now }))
	f.Next = answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))}
	benchChain(b, f)
}

// BenchmarkChainDenyListed: as BenchmarkChainFloodguard, with 4,096 API
// bans in force, none of them the client's: what a long ban list costs
// every other query.
func BenchmarkChainDenyListed(b *testing.B) {
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."}
	cfg.limits.perSecond[classResponse] = 1000
	var now int64
	f := newFloodguard(cfg, newState("bench", cfg, func() int64 { now += 1e6; return now }))
	f.Next = answerBackend{answerFor(query("www.example.org", dns.TypeA, 1))}
	wall := f.wallAt(0)
	for i := range maxManualBans {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		if _, _, err := f.ops.ban(p, wall, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	benchChain(b, f)
}

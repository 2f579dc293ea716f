package floodguard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/bufsize"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/metadata"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/proxyproto"
	_ "github.com/coredns/coredns/plugin/tls"
	_ "github.com/coredns/coredns/plugin/whoami"

	"github.com/miekg/dns"
)

// The end-to-end tests run a real CoreDNS in-process, with floodguard placed
// exactly as cmd/coredns places it, and query it over loopback sockets.

// testBackendName is a test-only plugin that answers like a failing backend:
// for names whose first label is servfail, refused, formerr or notimp it
// returns that rcode without writing, which is when CoreDNS's server writes
// the reply itself. For names whose first label is packed it has the rest
// of the chain answer, and writes that answer as uncompressed bytes
// (ResponseWriter.Write), as plugins that pack their own replies do.
const testBackendName = "fgtestbackend"

func TestMain(m *testing.M) {
	directives, err := InsertDirective(dnsserver.Directives)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The test backend sits just before file, after floodguard.
	for i, d := range directives {
		if d == "file" {
			directives = append(directives[:i:i], append([]string{testBackendName}, directives[i:]...)...)
			break
		}
	}
	dnsserver.Directives = directives
	plugin.Register(testBackendName, func(c *caddy.Controller) error {
		for c.Next() {
		}
		dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler { return testBackend{next} })
		return nil
	})
	caddy.Quiet = true
	dnsserver.Quiet = true
	os.Exit(m.Run())
}

type testBackend struct{ next plugin.Handler }

var backendRcodes = map[string]int{
	"servfail": dns.RcodeServerFailure,
	"refused":  dns.RcodeRefused,
	"formerr":  dns.RcodeFormatError,
	"notimp":   dns.RcodeNotImplemented,
}

func (b testBackend) Name() string { return testBackendName }

func (b testBackend) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	first, _, _ := strings.Cut(r.Question[0].Name, ".")
	if rc, ok := backendRcodes[first]; ok {
		return rc, nil
	}
	if first == "packed" {
		w = packingWriter{w}
	}
	return plugin.NextOrFailure(b.Name(), b.next, ctx, w, r)
}

// packingWriter writes every message as uncompressed bytes.
type packingWriter struct{ dns.ResponseWriter }

func (p packingWriter) WriteMsg(m *dns.Msg) error {
	c := *m
	c.Compress = false
	b, err := c.Pack()
	if err != nil {
		return err
	}
	_, err = p.Write(b)
	return err
}

// frozenClock is a clock shared with server goroutines; it moves only when a
// test moves it, so rate tests over real sockets are exact.
type frozenClock struct{ t atomic.Int64 }

func (c *frozenClock) now() int64              { return c.t.Load() }
func (c *frozenClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// useFrozenClock makes instances created by the test use a frozen clock.
func useFrozenClock(t *testing.T) *frozenClock {
	t.Helper()
	fc := &frozenClock{}
	fc.t.Store(int64(time.Hour))
	old := clock
	clock = fc.now
	t.Cleanup(func() { clock = old })
	return fc
}

var serverMu sync.Mutex

// server is a running CoreDNS.
type server struct {
	inst    *caddy.Instance
	udp     string // address of the UDP listener
	tcp     string
	metrics string // address of the prometheus endpoint, if the Corefile has one
	port    string // the DNS port, unique per test, so the server label tells servers apart
}

// startServer runs corefile, in which {port} and {metrics} stand for free
// loopback ports, and stops it when the test ends.
func startServer(t *testing.T, corefile string) *server {
	t.Helper()
	serverMu.Lock()
	defer serverMu.Unlock()
	s := &server{metrics: "127.0.0.1:" + freePort(t), port: freePort(t)}
	corefile = strings.ReplaceAll(corefile, "{metrics}", s.metrics)
	corefile = strings.ReplaceAll(corefile, "{port}", s.port)
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("starting CoreDNS: %v", err)
	}
	s.inst = inst
	t.Cleanup(func() { // s.inst: the latest, after reloads; nil if the test stopped it
		if s.inst != nil && !stopServer(s.inst) {
			t.Errorf("CoreDNS did not stop within 10s")
		}
	})
	// The first IPv4 plain DNS listener (a block may also bind ::1, and a
	// DoQ or DoH3 listener has no TCP address).
	for _, srv := range inst.Servers() {
		if a, ok := srv.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil && srv.Addr() != nil {
			s.udp, s.tcp = srv.LocalAddr().String(), srv.Addr().String()
			break
		}
	}
	return s
}

// reload restarts the server with in, then waits until the new instance
// answers over UDP and TCP. caddy starts servers asynchronously, and
// CoreDNS's Stop of a server that has not started yet is a silent no-op
// that leaves it serving for good (and caddy's shared WaitGroup waiting on
// it), so back-to-back reloads without this wait can leak a server;
// production reloads are seconds apart.
func (s *server) reload(t *testing.T, in caddy.Input) error {
	t.Helper()
	serverMu.Lock()
	next, err := s.inst.Restart(in)
	if err == nil {
		s.inst = next
	}
	serverMu.Unlock()
	if err == nil {
		waitServing(t, s)
	}
	return err
}

// stopServer stops inst and reports whether its servers (and, as caddy
// shares one WaitGroup across reloads, every earlier instance's) ended
// within 10 s, so that a server that failed to stop fails the test instead
// of hanging it.
func stopServer(inst *caddy.Instance) bool {
	errs := inst.ShutdownCallbacks()
	_ = inst.Stop()
	_ = errors.Join(errs...)
	done := make(chan struct{})
	go func() { inst.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// handedOut are the ports freePort has given in this test process. A port
// is never given twice: the metrics of a server are labelled by its port,
// and the counters of an earlier server on the same port would still be
// there for a test that reads them as its own.
var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

func freePort(t *testing.T) string {
	t.Helper()
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 100 {
		// The wildcard address, so the port is free for a server that binds
		// every address too: a port that only 127.0.0.1 has free can still be
		// held on 127.0.0.9 by a test client's connection in TIME_WAIT.
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(l.Addr().String())
		l.Close()
		if !handedOut[port] {
			handedOut[port] = true
			return port
		}
	}
	t.Fatal("no port the tests have not used already")
	return ""
}

// query builds a query with a fixed id, so replies can be matched.
func query(name string, qtype uint16, id uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.Id = id
	return m
}

// udpBurst sends msgs from the loopback address from (any 127.x.y.z is
// local) and collects the replies that arrive within wait after the last
// send, by query id. A nil entry is a query that got no reply.
func udpBurst(t *testing.T, from, to string, msgs []*dns.Msg, wait time.Duration) []*dns.Msg {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatalf("binding %s: %v", from, err)
	}
	defer conn.Close()
	for _, m := range msgs {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteToUDP(b, raddr); err != nil {
			t.Fatal(err)
		}
	}
	return readReplies(t, conn, msgs, wait)
}

// readReplies reads the replies to msgs from conn, matched by id, until
// each has one or wait has passed. A nil entry is a query that got no
// reply.
func readReplies(t *testing.T, conn *net.UDPConn, msgs []*dns.Msg, wait time.Duration) []*dns.Msg {
	t.Helper()
	index := map[uint16]int{}
	for i, m := range msgs {
		index[m.Id] = i
	}
	replies := make([]*dns.Msg, len(msgs))
	buf := make([]byte, 65535)
	conn.SetReadDeadline(time.Now().Add(wait))
	for got := 0; got < len(msgs); got++ {
		n, err := conn.Read(buf)
		if err != nil {
			break // deadline: whatever did not come is silence
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("unreadable reply: %v", err)
		}
		i, ok := index[r.Id]
		if !ok || replies[i] != nil {
			t.Fatalf("unexpected or duplicate reply id %d", r.Id)
		}
		replies[i] = r
	}
	return replies
}

// udpExchange asks m over UDP from the loopback address from and returns
// the reply, or nil if none came within wait.
func udpExchange(t *testing.T, from, to string, m *dns.Msg, wait time.Duration) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: wait, UDPSize: dns.MaxMsgSize,
		Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}, Timeout: wait}}
	r, _, err := c.Exchange(m, to)
	if err != nil {
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			return nil
		}
		t.Fatalf("UDP query from %s: %v", from, err)
	}
	return r
}

// udpSend sends m over UDP from the loopback address from, and does not
// wait for a reply.
func udpSend(t *testing.T, from, to string, m *dns.Msg) {
	t.Helper()
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, mustUDPAddr(t, to))
	if err != nil {
		t.Fatalf("UDP from %s: %v", from, err)
	}
	defer conn.Close()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatalf("UDP from %s: %v", from, err)
	}
}

func mustUDPAddr(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tally counts replies: full answers, truncated (TC=1) and silent.
type tally struct{ answered, truncated, silent int }

func count(replies []*dns.Msg) tally {
	var c tally
	for _, r := range replies {
		switch {
		case r == nil:
			c.silent++
		case r.Truncated:
			c.truncated++
		default:
			c.answered++
		}
	}
	return c
}

// tcpQuery asks over TCP from a given loopback address.
func tcpQuery(t *testing.T, from, to string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}}
	r, _, err := c.Exchange(m, to)
	if err != nil {
		t.Fatalf("TCP query from %s: %v", from, err)
	}
	return r
}

// scrape reads this server's floodguard series from its prometheus endpoint
// as "name{labels}" -> value, with the server label left out.
func (s *server) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	return s.scrapeFor(t, ":"+s.port+`"`)
}

// scrapeFor reads the floodguard series whose server label ends in marker.
func (s *server) scrapeFor(t *testing.T, marker string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "coredns_floodguard_") || !strings.Contains(line, marker) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[dropServerLabel(line[:i])] += v
	}
	return out
}

// dropServerLabel turns `x{server="dns://:1",action="sent"}` into `x{action="sent"}`.
func dropServerLabel(series string) string {
	open := strings.IndexByte(series, '{')
	if open < 0 {
		return series
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimSuffix(series[open+1:], "}"), ",") {
		if !strings.HasPrefix(l, "server=") {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return series[:open]
	}
	return series[:open] + "{" + strings.Join(kept, ",") + "}"
}

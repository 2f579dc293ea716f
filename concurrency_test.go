package floodguard

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const concurrentCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        responses-per-second 5
        slip 2
    }
    prometheus {metrics}
    metadata
    errors
    fgtestbackend
    file testdata/example.org.zone
}
`

// concurrentKinds are the queries the UDP clients send in turn, with the
// bucket each response counts against. A bucket depends on the client's /24
// only, so the verdicts per /24 follow from how many responses each bucket
// got, whatever the order of the clients.
var concurrentKinds = []struct {
	name   func(client, i int) string
	qtype  uint16
	bucket string
	slips  bool // errors never slip
}{
	{func(int, int) string { return "www.example.org" }, dns.TypeA, "response www A", true},
	{func(int, int) string { return "www.example.org" }, dns.TypeAAAA, "response www AAAA", true},
	{func(int, int) string { return "www.example.org" }, dns.TypeMX, "nodata www", true},
	{func(c, i int) string { return fmt.Sprintf("nx%d-%d.example.org", c, i) }, dns.TypeA, "nxdomain example.org", true},
	{func(c, i int) string { return fmt.Sprintf("r%d-%d.wild.example.org", c, i) }, dns.TypeA, "response *.wild A", true},
	{func(c, i int) string { return fmt.Sprintf("h%d-%d.sub.example.org", c, i) }, dns.TypeA, "referral sub", true},
	{func(int, int) string { return "servfail.example.org" }, dns.TypeA, "error", false},
	{func(int, int) string { return "mail.example.org" }, dns.TypeA, "response mail A", true},
}

// udpClient sends msgs from its own loopback address, paced, while it
// reads the replies, and reports each query's reply (nil: none) by index.
// A duplicate or unmatched reply is an error.
func udpClient(from, to string, msgs []*dns.Msg, pace, grace time.Duration) ([]*dns.Msg, error) {
	raddr, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		return nil, fmt.Errorf("binding %s: %w", from, err)
	}
	defer conn.Close()
	index := map[uint16]int{}
	for i, m := range msgs {
		index[m.Id] = i
	}
	replies := make([]*dns.Msg, len(msgs))
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				readErr <- nil // the deadline: what has not come is silence
				return
			}
			r := new(dns.Msg)
			if err := r.Unpack(buf[:n]); err != nil {
				readErr <- fmt.Errorf("%s: unreadable reply: %w", from, err)
				return
			}
			i, ok := index[r.Id]
			if !ok || replies[i] != nil {
				readErr <- fmt.Errorf("%s: unexpected or duplicate reply id %d", from, r.Id)
				return
			}
			if len(r.Question) != 1 || r.Question[0] != msgs[i].Question[0] {
				readErr <- fmt.Errorf("%s: reply %d answers %v, asked %v", from, r.Id, r.Question, msgs[i].Question)
				return
			}
			replies[i] = r
		}
	}()
	for _, m := range msgs {
		b, err := m.Pack()
		if err != nil {
			return nil, err
		}
		if _, err := conn.WriteToUDP(b, raddr); err != nil {
			return nil, err
		}
		time.Sleep(pace) // pacing only: the server's clock is frozen
	}
	conn.SetReadDeadline(time.Now().Add(grace))
	if err := <-readErr; err != nil {
		return nil, err
	}
	return replies, nil
}

// tcpClient asks msgs over one TCP connection from its own loopback address
// and checks each is answered in full.
func tcpClient(from, to string, msgs []*dns.Msg) error {
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}}
	conn, err := c.Dial(to)
	if err != nil {
		return fmt.Errorf("TCP from %s: %w", from, err)
	}
	defer conn.Close()
	for _, m := range msgs {
		r, _, err := c.ExchangeWithConn(m, conn)
		if err != nil {
			return fmt.Errorf("TCP from %s, query %d: %w", from, m.Id, err)
		}
		if r.Truncated || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return fmt.Errorf("TCP from %s, query %d: truncated=%v rcode=%s answers=%d, want a full answer",
				from, m.Id, r.Truncated, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
	return nil
}

// TestE2EConcurrentCounts hammers one real CoreDNS from 8 UDP clients in two
// /24s (four each, so clients share buckets and race on them) and 2 TCP
// clients at once, with the clock frozen, then checks that every UDP query
// got exactly one outcome, that the outcomes clients saw are what the
// metrics count, and that each /24 got exactly what the limiter allows.
func TestE2EConcurrentCounts(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, concurrentCorefile)
	const (
		rate       = 5 // responses-per-second; the clock is frozen, so each bucket sends exactly 5
		udpClients = 8
		perClient  = 200
		pace       = 12 * time.Millisecond // about 670 queries a second in all
		grace      = 750 * time.Millisecond
		tcpClients = 2
		perTCP     = 40
	)
	from := func(c int) string { return fmt.Sprintf("127.0.%d.%d", 40+c/4, 1+c%4) }
	prefix := func(c int) string { return fmt.Sprintf("127.0.%d.0/24", 40+c/4) }

	queries := make([][]*dns.Msg, udpClients)
	for c := range queries {
		for i := range perClient {
			k := concurrentKinds[(i+c)%len(concurrentKinds)]
			queries[c] = append(queries[c], query(k.name(c, i), k.qtype, uint16(i+1)))
		}
	}

	var wg sync.WaitGroup
	replies := make([][]*dns.Msg, udpClients)
	errs := make([]error, udpClients+tcpClients)
	for c := range udpClients {
		wg.Go(func() { replies[c], errs[c] = udpClient(from(c), srv.udp, queries[c], pace, grace) })
	}
	for c := range tcpClients {
		// From the UDP clients' /24s, whose buckets are long exhausted:
		// TCP is never limited.
		msgs := make([]*dns.Msg, perTCP)
		for i := range msgs {
			msgs[i] = query("www.example.org", dns.TypeA, uint16(i+1))
		}
		wg.Go(func() { errs[udpClients+c] = tcpClient(fmt.Sprintf("127.0.%d.100", 40+c), srv.tcp, msgs) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	// What the clients saw, per /24, and what the limiter allows: per
	// bucket, rate sent, then alternately slipped and dropped (slip 2),
	// errors dropped.
	type outcome struct{ answered, slipped, dropped int }
	seen := map[string]*outcome{}
	perBucket := map[string]int{}
	var total outcome
	for c := range udpClients {
		o := seen[prefix(c)]
		if o == nil {
			o = &outcome{}
			seen[prefix(c)] = o
		}
		for i, r := range replies[c] {
			k := concurrentKinds[(i+c)%len(concurrentKinds)]
			perBucket[prefix(c)+" "+k.bucket]++
			switch {
			case r == nil:
				o.dropped++
			case r.Truncated:
				if len(r.Answer)+len(r.Ns) > 0 {
					t.Errorf("%s query %d: truncated reply with records", from(c), i+1)
				}
				o.slipped++
			default:
				o.answered++
			}
		}
	}
	want := map[string]*outcome{}
	for c := range udpClients {
		if want[prefix(c)] == nil {
			want[prefix(c)] = &outcome{}
		}
	}
	for p, w := range want {
		for _, k := range concurrentKinds {
			n := perBucket[p+" "+k.bucket]
			sent := min(n, rate)
			over := n - sent
			w.answered += sent
			if k.slips {
				w.slipped += (over + 1) / 2
				w.dropped += over / 2
			} else {
				w.dropped += over
			}
		}
	}
	for p, w := range want {
		got := seen[p]
		if *got != *w {
			t.Errorf("%s: answered/slipped/dropped = %v, want %v", p, *got, *w)
		}
		if got.answered+got.slipped+got.dropped != udpClients/2*perClient {
			t.Errorf("%s: %d outcomes for %d queries", p, got.answered+got.slipped+got.dropped, udpClients/2*perClient)
		}
		total.answered += got.answered
		total.slipped += got.slipped
		total.dropped += got.dropped
	}

	// The metrics count exactly what the clients saw, and no TCP.
	m := srv.scrape(t)
	for action, n := range map[string]int{"sent": total.answered, "slipped": total.slipped, "dropped": total.dropped} {
		series := `coredns_floodguard_responses_total{action="` + action + `"}`
		if m[series] != float64(n) {
			t.Errorf("%s = %v, clients saw %d", series, m[series], n)
		}
	}
	t.Logf("UDP: %d answered, %d slipped, %d dropped; TCP: %d answered", total.answered, total.slipped, total.dropped, tcpClients*perTCP)
}

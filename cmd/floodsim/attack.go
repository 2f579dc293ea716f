package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// Placeholders in a query template, overwritten per query: a random label
// (8 hexadecimal digits) and a random client cookie (8 bytes).
const (
	labelMark  = "zzzzzzzz"
	cookieMark = "a5a5a5a5a5a5a5a5"
)

// template is a packed query and the parts of it each query makes anew.
type template struct {
	b      []byte
	label  int // offset of a random label, -1 for none
	cookie int // offset of a random client cookie, -1 for none
}

// buildQueries packs one query per -mix kind; sending only rewrites the
// ID, and the random label and client cookie where the query has them.
func buildQueries(c *config) ([]template, error) {
	var out []template
	for _, k := range c.kinds {
		m := new(dns.Msg)
		switch k {
		case "root":
			m.SetQuestion(".", dns.TypeNS)
		case "any":
			m.SetQuestion(dns.Fqdn(c.zone), dns.TypeANY)
		case "a":
			m.SetQuestion(dns.Fqdn(c.aName), dns.TypeA)
		case "txt":
			m.SetQuestion(dns.Fqdn(c.txt), dns.TypeTXT)
			m.SetEdns0(4096, false)
		case "wild":
			m.SetQuestion(labelMark+"."+dns.Fqdn(c.wild), dns.TypeA)
		case "nx":
			m.SetQuestion(labelMark+"."+dns.Fqdn(c.zone), dns.TypeA)
		default:
			return nil, fmt.Errorf("-mix: unknown kind %q (want root, any, txt, a, wild, nx)", k)
		}
		if c.cookies {
			if m.IsEdns0() == nil {
				m.SetEdns0(1232, false)
			}
			o := m.IsEdns0()
			o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cookieMark})
		}
		b, err := m.Pack()
		if err != nil {
			return nil, err
		}
		t := template{b: b, label: bytes.Index(b, []byte(labelMark)), cookie: -1}
		if c.cookies {
			t.cookie = bytes.Index(b, []byte{0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5})
		}
		out = append(out, t)
	}
	return out, nil
}

// fill writes query k of template t into buf: t's bytes with a fresh ID,
// random label and random client cookie.
func (t template) fill(buf []byte, id uint16, rng *rand.Rand) []byte {
	buf = append(buf[:0], t.b...)
	buf[0], buf[1] = byte(id>>8), byte(id)
	if t.label >= 0 {
		const digits = "0123456789abcdef"
		for i := range len(labelMark) {
			buf[t.label+i] = digits[rng.IntN(16)]
		}
	}
	if t.cookie >= 0 {
		for i := range 8 {
			buf[t.cookie+i] = byte(rng.Uint32())
		}
	}
	return buf
}

// attack owns the spoofing sockets: either one per source address, or a
// single wildcard socket (pc) that picks the source with IP_PKTINFO.
type attack struct {
	cfg     *config
	st      *stats
	queries []template
	conns   []*net.UDPConn   // per-source sockets in round-robin order, or the wildcard one
	pc      *ipv4.PacketConn // wraps the wildcard socket in pktinfo mode
	walker  *sourceWalker
}

func newAttack(cfg *config, st *stats) (*attack, error) {
	q, err := buildQueries(cfg)
	if err != nil {
		return nil, err
	}
	a := &attack{cfg: cfg, st: st, queries: q}
	if cfg.sourceBase.Is6() { // only ::1 exists, so a single socket
		c, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.sourceBase, 0)))
		if err != nil {
			return nil, err
		}
		a.conns = append(a.conns, c)
		return a, nil
	}
	w, err := newSourceWalker(cfg.sourceBase, cfg.sources, cfg.legit, cfg.server.Addr())
	if err != nil {
		return nil, err
	}
	if cfg.pktinfo {
		// Wildcard bind: replies come back to 127.a.b.c:port for every
		// spoofed a.b.c, and only a wildcard socket matches them all.
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
		if err != nil {
			return nil, err
		}
		// Replies need no control message, so the plain conn reads them.
		a.conns, a.pc, a.walker = []*net.UDPConn{c}, ipv4.NewPacketConn(c), w
		return a, nil
	}
	for range cfg.sources {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(w.next(), 0)))
		if err != nil {
			a.close()
			return nil, err
		}
		a.conns = append(a.conns, c)
	}
	return a, nil
}

func (a *attack) close() {
	for _, c := range a.conns {
		c.Close()
	}
}

// send paces queries open loop until ctx ends or max-queries is reached.
func (a *attack) send(ctx context.Context) {
	dst := net.UDPAddrFromAddrPort(a.cfg.server)
	salt := uint16(rand.Uint32())
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	buf := make([]byte, 0, 512)
	nk, ns := int64(len(a.queries)), int64(a.cfg.sources)
	pace(ctx, a.cfg.rate, a.cfg.maxQueries, func(k int64) {
		buf = a.queries[kindOf(k, ns, nk)].fill(buf, uint16(k)^salt, rng)
		var err error
		if a.pc != nil {
			src := a.walker.next().As4()
			_, err = a.pc.WriteTo(buf, &ipv4.ControlMessage{Src: net.IP(src[:])}, dst)
		} else {
			_, err = a.conns[k%int64(len(a.conns))].WriteTo(buf, dst)
		}
		a.st.attackSent(len(buf), err)
	})
}

// kindOf picks the query kind for query k, sent from source k%sources.
// Shifting by one every round over the sources keeps the mix even and
// stops a source from always getting the same kind.
func kindOf(k, sources, kinds int64) int64 { return (k%sources + k/sources) % kinds }

// pace calls fire(k) for k = 0, 1, ... so that by time t about rate*t calls
// have happened. Timers are coarser than 1/rate at high rates, so it wakes
// at most every millisecond and fires whatever is due.
func pace(ctx context.Context, rate int, limit int64, fire func(k int64)) {
	every := max(time.Second/time.Duration(rate), time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var k int64
	for k < limit {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due := min(int64(now.Sub(start).Seconds()*float64(rate)), limit)
			for ; k < due && ctx.Err() == nil; k++ {
				fire(k)
			}
		}
	}
}

// receive counts replies on all attack sockets until stopAt, or earlier if
// ctx is cancelled; read deadlines make every reader end.
func (a *attack) receive(ctx context.Context, stopAt time.Time) {
	var wg sync.WaitGroup
	for _, c := range a.conns { // deadlines first, so a cancel below wins
		c.SetReadDeadline(stopAt)
	}
	for _, c := range a.conns {
		wg.Go(func() { a.readLoop(c) })
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range a.conns {
			c.SetReadDeadline(time.Now())
		}
	})
	defer stop()
	wg.Wait()
}

func (a *attack) readLoop(c *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors surfacing on the socket
		}
		if netip.AddrPortFrom(from.Addr().Unmap(), from.Port()) == a.cfg.server {
			a.st.attackReply(buf[:n])
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"

	"github.com/floodguard/floodguard"
)

type linkType = layers.LinkType

// options are fgreplay's settings.
type options struct {
	conf      string
	capture   string
	legit     []netip.Prefix
	top       int
	tableSize int
	lookahead time.Duration // how far ahead the replay reads for captured responses, when a stub needs them
}

// replayer takes one capture through the servers a Corefile builds.
type replayer struct {
	opts    *options
	servers servers
	fg      *floodguard.Replay
	rec     *recorder
	dec     *decoder
	tcp     *streams

	start   time.Time
	clock   atomic.Int64 // ns since the first packet: floodguard's clock
	read    int64        // the time of the last packet read
	sweepAt int64        // the next sweep, on the clock
	table   floodguard.ReplayTable
	v4, v6  int

	pending      []pendingMsg // read ahead, not yet replayed (lookahead only)
	pendingBytes int
	lookaheadCut bool // the bounds cut the lookahead short (warned once)
	// replies and cur are what the stubs read; a plugin may call a stub
	// from a goroutine of its own (cache's prefetch), so under mu.
	mu       sync.Mutex
	replies  map[replyKey]*pendingMsg
	cur      *pendingMsg // the query being replayed
	first    *firstPacket
	setupLog *setupLines // what the plugins logged at setup

	w     writer
	rep   tallies
	heavy *heavy
	legit *collateral
	tl    *timeline
}

// tallies are the totals the report is made of.
type tallies struct {
	packets                           int
	queries, udpQueries, tcpQueries   int
	outcomes                          [numOutcomes]int
	bytesIn, bytesOut                 int64
	udpIn, udpOut                     int64
	capturedResponses                 int
	capturedUDPIn, capturedUDPOut     int64
	capturedQueries                   int
	notDNS, malformed, opcode, others int
	fragments, outOfOrder, cut        int
	upstream                          int
	skipped                           map[string]int // packets by why they carry no DNS
	warnings                          []string
}

// pendingMsg is a captured DNS message with what the replay needs of its
// packet.
type pendingMsg struct {
	t        int64 // capture time, ns since the first packet
	src, dst netip.AddrPort
	tcp      bool
	query    bool
	wire     []byte
	srv      *dnsserver.Server
}

// replyKey pairs a captured response with its query: the client's address
// and port, the transport and the message ID.
type replyKey struct {
	client netip.AddrPort
	tcp    bool
	id     uint16
}

func newReplayer(opts *options) *replayer {
	return &replayer{
		opts:    opts,
		rec:     &recorder{},
		dec:     newDecoder(),
		tcp:     newStreams(1 << 16),
		replies: map[replyKey]*pendingMsg{},
		heavy:   newHeavy(4096),
		legit:   newCollateral(opts.legit),
		tl:      newTimeline(),
		rep:     tallies{skipped: map[string]int{}},
	}
}

// run replays the capture: floodguard's replay mode is on for the
// Corefile's setup and until the last query.
func (r *replayer) run(c capture) error {
	// The first packet's time is the replay's wall clock at its start.
	if err := r.peekStart(c); err != nil {
		return err
	}
	fg, err := floodguard.StartReplay(floodguard.ReplayOptions{
		Now:       r.clock.Load,
		Start:     r.start,
		Recorder:  r.rec,
		TableSize: r.opts.tableSize,
	})
	if err != nil {
		return err
	}
	defer fg.Close()
	r.fg = fg
	ss, other, err := buildServers(r.opts.conf)
	if err != nil {
		return fmt.Errorf("%s: %v", r.opts.conf, err)
	}
	if other > 0 {
		r.warn("%d server(s) of other transports (DoT, DoH, gRPC, DoQ) not replayed: a capture holds their traffic encrypted", other)
	}
	for _, l := range r.setupLog.take() {
		r.warn("setting the Corefile up: %s", l)
	}
	r.servers = ss
	r.v4, r.v6 = fg.PrefixLengths()
	if !stubs.anyUpstream() {
		r.opts.lookahead = 0 // nobody asks for captured responses
	}
	setCapturedReply(r.capturedReply)
	defer setCapturedReply(nil)
	r.table = fg.Sweep()
	r.sweepAt = int64(time.Second)
	r.packet(r.first.data, r.first.ts, r.first.lt)
	r.first = nil
	for {
		data, ts, lt, err := c.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.warn("%v: replayed the %d packets before it", err, r.rep.packets)
			break
		}
		r.packet(data, ts, lt)
	}
	r.drain(true)
	r.advance(r.read)
	r.table = fg.Sweep()
	return nil
}

// firstPacket is the packet read to learn the capture's start.
type firstPacket struct {
	data []byte
	ts   time.Time
	lt   linkType
}

// peekStart reads the capture's first packet, to learn its time.
func (r *replayer) peekStart(c capture) error {
	data, ts, lt, err := c.next()
	if errors.Is(err, io.EOF) {
		return errors.New("the capture holds no packets")
	}
	if err != nil {
		return err
	}
	r.start = ts
	r.first = &firstPacket{data: append([]byte(nil), data...), ts: ts, lt: lt}
	return nil
}

func (r *replayer) warn(format string, args ...any) {
	r.rep.warnings = append(r.rep.warnings, fmt.Sprintf(format, args...))
}

// packet decodes one captured packet and takes its DNS messages on.
func (r *replayer) packet(data []byte, ts time.Time, lt linkType) {
	r.rep.packets++
	t := int64(ts.Sub(r.start))
	if t < r.read {
		r.rep.outOfOrder++ // replayed as if it came at the latest time read
		t = r.read
	}
	r.read = t
	var s segment
	if err := r.dec.decode(lt, data, &s); err != nil {
		if errors.Is(err, errLinkType) {
			if r.rep.skipped[err.Error()] == 0 {
				r.warn("packets of link type %d (%s) skipped: fgreplay reads Ethernet, Linux cooked (SLL, SLL2), BSD loopback and raw IP", int(lt), lt)
			}
		}
		r.rep.skipped[err.Error()]++
		return
	}
	if !s.tcp {
		r.message(t, &s, s.payload)
		return
	}
	if r.servers.serving(s.dst) == nil && r.servers.serving(s.src) == nil {
		r.rep.others++
		return
	}
	r.tcp.add(&s, func(msg []byte) { r.message(t, &s, msg) })
}

// message takes one DNS message: a query to a server the Corefile builds
// is replayed, a response from one is counted (and kept for the stubs).
func (r *replayer) message(t int64, s *segment, wire []byte) {
	if len(wire) < 3 { // not even the QR bit
		if r.servers.serving(s.dst) != nil {
			r.rep.notDNS++
		} else {
			r.rep.others++
		}
		return
	}
	isResponse := wire[2]&0x80 != 0
	if isResponse && stubs.isUpstream(s.src) || !isResponse && stubs.isUpstream(s.dst) {
		r.rep.upstream++ // the server asking its upstreams: not a client's
		return
	}
	if isResponse {
		r.response(t, s, wire)
		return
	}
	srv := r.servers.serving(s.dst)
	switch {
	case srv == nil:
		r.rep.others++
		return
	case s.fragment:
		r.rep.fragments++ // a query in fragments: CoreDNS would see it whole, the capture does not
		return
	case !s.tcp && s.size > len(wire):
		r.rep.cut++ // the capture's snap length cut it: nothing to replay
		return
	case len(wire) < 12:
		r.rep.notDNS++
		return
	}
	r.rep.capturedQueries++
	if !s.tcp {
		r.rep.capturedUDPIn += int64(len(wire))
	}
	q := pendingMsg{t: t, src: s.src, dst: s.dst, tcp: s.tcp, query: true, wire: wire, srv: srv}
	if r.opts.lookahead == 0 {
		r.replay(&q)
		return
	}
	q.wire = append([]byte(nil), wire...)
	r.queue(q)
}

// response counts a captured response of one of the Corefile's servers,
// and keeps it for the stubs when they need it.
func (r *replayer) response(t int64, s *segment, wire []byte) {
	if r.servers.serving(s.src) == nil {
		r.rep.others++
		return
	}
	r.rep.capturedResponses++
	if !s.tcp {
		r.rep.capturedUDPOut += int64(s.size) // whole even when fragmented or cut
		r.tl.at(t).capturedOut += uint64(s.size)
	}
	switch {
	case s.fragment:
		r.rep.fragments++
		return
	case !s.tcp && s.size > len(wire), len(wire) < 12, r.opts.lookahead == 0:
		return // only its size is whole, or nobody asks for it
	}
	m := &pendingMsg{t: t, src: s.src, dst: s.dst, tcp: s.tcp, wire: append([]byte(nil), wire...)}
	r.mu.Lock()
	r.replies[replyKey{s.dst, s.tcp, uint16(wire[0])<<8 | uint16(wire[1])}] = m
	r.mu.Unlock()
	r.queue(*m)
}

// queue reads m ahead and replays what the lookahead has passed.
func (r *replayer) queue(m pendingMsg) {
	r.pending = append(r.pending, m)
	r.pendingBytes += len(m.wire)
	r.drain(false)
}

// The messages read ahead are bounded: past either bound the oldest are
// replayed before the lookahead has passed them (and the report warns).
const (
	maxPending      = 1 << 18
	maxPendingBytes = 64 << 20
)

// drain replays the pending queries the lookahead has passed (all of them
// at the end), and forgets the captured responses no query claimed.
func (r *replayer) drain(all bool) {
	n := 0
	for n < len(r.pending) {
		m := &r.pending[n]
		if !all && r.read-m.t < int64(r.opts.lookahead) {
			if len(r.pending)-n < maxPending && r.pendingBytes < maxPendingBytes {
				break
			}
			if !r.lookaheadCut {
				r.lookaheadCut = true
				r.warn("more than %d messages or %d MiB in %v of capture: some queries were replayed before their responses were read, and their stubs may have answered SERVFAIL (a smaller -lookahead helps)",
					maxPending, maxPendingBytes>>20, r.opts.lookahead)
			}
		}
		r.pendingBytes -= len(m.wire)
		if m.query {
			r.replay(m)
		} else {
			k := replyKey{m.dst, m.tcp, uint16(m.wire[0])<<8 | uint16(m.wire[1])}
			r.mu.Lock()
			if p := r.replies[k]; p != nil && p.t == m.t {
				delete(r.replies, k)
			}
			r.mu.Unlock()
		}
		n++
	}
	if n > 0 {
		r.pending = r.pending[:copy(r.pending, r.pending[n:])]
	}
}

// advance moves the clock to t, sweeping floodguard's state once every
// capture second as its sweeper does every second live.
func (r *replayer) advance(t int64) {
	if t > r.clock.Load() {
		r.clock.Store(t)
	}
	if t >= r.sweepAt {
		r.table = r.fg.Sweep()
		r.sweepAt = (t/int64(time.Second) + 1) * int64(time.Second)
	}
}

// replay takes one captured query through its server's plugin chain.
func (r *replayer) replay(q *pendingMsg) {
	m := new(dns.Msg)
	if err := m.Unpack(q.wire); err != nil || len(m.Question) != 1 {
		r.rep.malformed++ // CoreDNS's listener answers these FORMERR, or nothing, before any plugin
		return
	}
	if m.Opcode != dns.OpcodeQuery {
		r.rep.opcode++
		return
	}
	r.advance(q.t)
	r.setCurrent(q)
	r.rec.reset()
	r.w.reset(q)
	q.srv.ServeDNS(context.Background(), &r.w, m)
	r.setCurrent(nil)
	o := r.rec.outcome(r.w.msgs > 0)

	in, out := len(q.wire), r.w.bytes
	r.rep.queries++
	r.rep.outcomes[o]++
	r.rep.bytesIn += int64(in)
	r.rep.bytesOut += int64(out)
	b := r.tl.at(q.t)
	b.queries++
	b.outcomes[o]++
	if q.tcp {
		r.rep.tcpQueries++
	} else {
		r.rep.udpQueries++
		r.rep.udpIn += int64(in)
		r.rep.udpOut += int64(out)
		b.udpIn += uint64(in)
		b.udpOut += uint64(out)
	}
	a := q.src.Addr()
	bits := r.v4
	if a.Is6() {
		bits = r.v6
	}
	p, _ := a.Prefix(bits)
	r.heavy.add(p, o, in, out)
	r.legit.add(a, o, in, out)
}

// capturedReply is the captured response to the query being replayed, for
// the stubs: same client, transport, ID and question.
func (r *replayer) capturedReply(req *dns.Msg) *dns.Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.cur
	if q == nil {
		return nil // not the query being replayed: a plugin's own
	}
	k := replyKey{q.src, q.tcp, req.Id}
	p := r.replies[k]
	if p == nil {
		return nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(p.wire); err != nil || len(m.Question) != 1 ||
		!strings.EqualFold(m.Question[0].Name, req.Question[0].Name) || m.Question[0].Qtype != req.Question[0].Qtype {
		return nil
	}
	delete(r.replies, k)
	m.Id = req.Id
	return m
}

func (r *replayer) setCurrent(q *pendingMsg) {
	r.mu.Lock()
	r.cur = q
	r.mu.Unlock()
}

// writer is the client's end of a replayed query: it packs what the server
// writes, to count it, and sends nothing.
type writer struct {
	local, remote net.Addr
	msgs          int
	bytes         int
}

func (w *writer) reset(q *pendingMsg) {
	w.msgs, w.bytes = 0, 0
	if q.tcp {
		w.local = &net.TCPAddr{IP: q.dst.Addr().AsSlice(), Port: int(q.dst.Port())}
		w.remote = &net.TCPAddr{IP: q.src.Addr().AsSlice(), Port: int(q.src.Port())}
		return
	}
	w.local = &net.UDPAddr{IP: q.dst.Addr().AsSlice(), Port: int(q.dst.Port())}
	w.remote = &net.UDPAddr{IP: q.src.Addr().AsSlice(), Port: int(q.src.Port())}
}

func (w *writer) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (w *writer) Write(b []byte) (int, error) {
	w.msgs++
	w.bytes += len(b)
	return len(b), nil
}

func (w *writer) LocalAddr() net.Addr  { return w.local }
func (w *writer) RemoteAddr() net.Addr { return w.remote }
func (w *writer) Close() error         { return nil }
func (w *writer) TsigStatus() error    { return nil }
func (w *writer) TsigTimersOnly(bool)  {}
func (w *writer) Hijack()              {}

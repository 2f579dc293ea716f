package floodguard

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/edns"
	"github.com/coredns/coredns/request"

	"github.com/floodguard/floodguard/internal/topk"

	"github.com/miekg/dns"
)

// action is what floodguard did with a response, as the metrics name it.
type action uint8

const (
	actionSent action = iota
	actionDropped
	actionSlipped
	actionWouldDrop
	actionWouldSlip
	actionTruncated // an answer too big for max-udp-size or the client's buffer, sent empty with TC=1
	numActions
)

var actionNames = [numActions]string{"sent", "dropped", "slipped", "would_drop", "would_slip", "truncated"}

func (a action) String() string { return actionNames[a] }

// shape is how a response that is not dropped goes out.
type shape uint8

const (
	asWritten  shape = iota
	compressed       // fits only compressed: sent compressed, whatever its plugin asked
	empty            // slipped, or too big even compressed: an empty TC=1 reply
)

// replyWriter carries the replies to one query out, as the query's
// circumstances say:
//   - for a limited client (UDP, not exempt, no valid cookie) it sends,
//     drops or slips each one, as the response limits decide;
//   - over UDP it holds them to max-udp-size and counts them;
//   - over a transport that proves the address it counts them;
//   - when the query has a COOKIE option, it gives each reply ours.
//
// A replyWriter is made for one query and never reused: a later plugin can
// keep the writer after ServeDNS has returned (the cache's background check
// of a stale entry does, and forward then asks it for the client's
// address), so it must stay whole for as long as anyone holds it.
type replyWriter struct {
	dns.ResponseWriter
	f       *Floodguard
	ctx     context.Context
	req     *dns.Msg
	met     *serverMetrics
	zone    string
	prefix  netip.Prefix
	now     int64        // the query's clock reading: one read per query
	limited bool         // the response limits apply
	capped  bool         // plain UDP, not exempt: max-udp-size applies, and the UDP counters count it
	proven  bool         // the transport proved the address: counted as a TCP response
	out     replyOutcome // what became of the replies; a kept writer may write late
	cookie  *replyCookie // the COOKIE every reply carries; nil for none
}

// replyOutcome is, in one word (so that the writer keeps to 128 bytes),
// whether a response was handled (sent, slipped or dropped), whether one
// was dropped or slipped, and the UDP bytes sent, for the top talkers.
type replyOutcome struct{ v atomic.Uint32 }

const (
	outWritten   = 1 << iota
	outDropped   // a reply was dropped
	outSlipped   // a reply was slipped
	outByteShift = iota
)

func (o *replyOutcome) markWritten()    { o.v.Or(outWritten) }
func (o *replyOutcome) written() bool   { return o.v.Load()&outWritten != 0 }
func (o *replyOutcome) add(bits uint32) { o.v.Or(bits) }

// sent counts n bytes sent (wrapping after 512 MiB, which no query's UDP
// replies come near).
func (o *replyOutcome) sent(n int) { o.v.Add(uint32(n) << outByteShift) }

// talker is what the top talkers count of the replies: the bytes sent, and
// slipped if any reply was, else dropped if any was.
func (o *replyOutcome) talker() (topk.Outcome, int) {
	v := o.v.Load()
	out := topk.Answered
	switch {
	case v&outSlipped != 0:
		out = topk.Slipped
	case v&outDropped != 0:
		out = topk.Dropped
	}
	return out, int(v >> outByteShift)
}

// replyCookie is the COOKIE option a query's replies carry, and room for
// the first of them, so that a query with a cookie allocates its writer
// and its reply at once (cookiedWriter).
type replyCookie struct {
	value string // hexadecimal
	spare cookieReply
	taken atomic.Bool
}

// cookiedWriter is a replyWriter and its cookie in one allocation.
type cookiedWriter struct {
	replyWriter
	ck replyCookie
}

// withCookie returns m carrying our cookie, in the room kept for the first
// reply if it is still free.
func (w *replyWriter) withCookie(m *dns.Msg) *dns.Msg {
	var spare *cookieReply
	if w.cookie.taken.CompareAndSwap(false, true) {
		spare = &w.cookie.spare
	}
	return withCookie(m, w.req, w.cookie.value, spare)
}

// cookieLen is the COOKIE option floodguard's replies carry: the client's
// cookie and a version-1 server cookie.
const cookieLen = 24

// WriteMsg implements dns.ResponseWriter.
func (w *replyWriter) WriteMsg(m *dns.Msg) error {
	w.out.markWritten()
	if w.cookie != nil {
		m = w.withCookie(m)
	}
	if !w.capped {
		if w.proven {
			w.met.tcpResponses.Inc()
		}
		return w.ResponseWriter.WriteMsg(m)
	}
	act, out, packed := w.judge(m, wireLen(m), fromMsg)
	switch {
	case act == actionDropped:
		return nil
	case out == empty:
		return w.ResponseWriter.WriteMsg(w.empty(m, act))
	case out == compressed:
		_, err := w.ResponseWriter.Write(packed)
		return err
	}
	return w.ResponseWriter.WriteMsg(m)
}

// Write implements dns.ResponseWriter for plugins that write packed
// responses: it judges the unpacked message and passes the bytes on as they
// are when they fit. A reply that must carry our cookie goes out as a
// message instead.
func (w *replyWriter) Write(b []byte) (int, error) {
	if !w.capped && w.cookie == nil {
		w.out.markWritten()
		if w.proven {
			w.met.tcpResponses.Inc()
		}
		return w.ResponseWriter.Write(b)
	}
	m := new(dns.Msg)
	from := fromBytes
	if m.Unpack(b) != nil {
		// Count it as an error response of this prefix; if it has to go
		// out empty, the reply answers the client's question.
		m = new(dns.Msg)
		m.SetRcode(w.req, dns.RcodeServerFailure)
		from = fromUnreadable
	}
	if w.cookie != nil {
		return len(b), w.WriteMsg(m)
	}
	w.out.markWritten()
	act, out, packed := w.judge(m, len(b), from)
	switch {
	case act == actionDropped:
		return len(b), nil
	case out == empty:
		return len(b), w.ResponseWriter.WriteMsg(w.empty(m, act))
	case out == compressed:
		_, err := w.ResponseWriter.Write(packed)
		return len(b), err
	}
	return w.ResponseWriter.Write(b)
}

// send writes m, one of floodguard's own slips that no response limit
// applies to again (the ban's truncated reply a second, a slip as
// BADCOOKIE), with our cookie if due, and counts it as a slip.
func (w *replyWriter) send(m *dns.Msg) {
	w.out.markWritten()
	if w.cookie != nil {
		m = w.withCookie(m)
	}
	if w.capped {
		n := wireLen(m) + addedOPTLen(w.req, m)
		w.met.responses[actionSlipped].Inc()
		w.met.bytes[actionSlipped].Add(float64(n))
		if w.f.top != nil {
			w.out.sent(n)
			w.out.add(outSlipped)
		}
	}
	w.ResponseWriter.WriteMsg(m)
}

// empty is the reply that goes out instead of m when m is slipped or too
// big: TC=1 with the question alone, or, if the query brought a cookie,
// a slip as BADCOOKIE with a fresh cookie, so the client asks again at once
// over UDP, proven.
func (w *replyWriter) empty(m *dns.Msg, act action) *dns.Msg {
	if act == actionSlipped && w.cookie != nil {
		return w.withCookie(badCookie(w.req))
	}
	return truncated(m)
}

// origin is how a response reached the writer.
type origin uint8

const (
	fromMsg        origin = iota // WriteMsg: CoreDNS's server sizes it (adding an OPT) on the way out
	fromBytes                    // Write: the bytes go out as they are
	fromUnreadable               // Write, of bytes that are no DNS message
)

// judge asks the limiter about m, of wire bytes as its plugin wrote it,
// counts the outcome and logs a prefix that has just started being
// limited; out says how m goes out if it is not dropped, and packed holds
// it compressed when it goes out so.
func (w *replyWriter) judge(m *dns.Msg, wire int, from origin) (act action, out shape, packed []byte) {
	act = actionSent
	if w.limited {
		f := w.f
		c, name, qtype := classify(w.ctx, m, w.zone)
		d := f.lim.decide(w.now, w.prefix, c, name, qtype)
		if d.evictions > 0 {
			w.met.evictions.Add(float64(d.evictions))
		}
		if d.verdict != verdictSend {
			w.met.limited[d.by].Inc()
			act = actionFor(d.verdict, f.cfg.logOnly)
			if d.started {
				f.logLimiting(d.clientKey, w.prefix, d.by, name, qtype, w.now)
			}
			if d.banKey != 0 {
				f.overLimit(w.now, w.prefix, banScope{c: d.by, name: name, qtype: qtype}, d.banKey, w.met)
			}
		}
	}
	size := wire
	switch act {
	case actionSlipped:
		out = empty
	case actionSent:
		out, size, packed = w.fit(m, wire, from)
		if out == empty {
			act = actionTruncated
		}
	}
	if out == empty {
		size = slippedLen(m) + addedOPTLen(w.req, m) // written as a message: the server sizes it
		if act == actionSlipped && w.cookie != nil {
			size = badCookieLen(w.req)
		}
	}
	w.met.responses[act].Inc()
	w.met.bytes[act].Add(float64(size))
	if w.f.top != nil {
		w.countTalker(act, size)
	}
	return act, out, packed
}

// countTalker keeps what became of the reply, for the top talkers.
func (w *replyWriter) countTalker(act action, size int) {
	switch act {
	case actionDropped:
		w.out.add(outDropped)
	case actionSlipped:
		w.out.add(outSlipped)
		w.out.sent(size)
	default:
		w.out.sent(size)
	}
}

// fit says how m, of wire bytes as written, can go out within max-udp-size
// and the client's UDP buffer, whichever is smaller, and how many bytes
// that takes on the wire.
//
// What counts is what reaches the wire. CoreDNS's server adds the query's
// OPT record to a reply that has none, and sends a message uncompressed
// whenever that fits the client's buffer, which the client (or a spoofer)
// chooses: so an answer that fits only compressed is packed compressed here
// and its bytes written. One that does not fit even compressed goes out
// empty with TC=1: CoreDNS would send as many records as fit, which the
// client discards before it retries over TCP, so those bytes only amplify;
// BIND, Knot and NSD send the empty reply too. In log-only mode only the
// client's buffer counts: the cap is a decision, and log-only changes none.
func (w *replyWriter) fit(m *dns.Msg, wire int, from origin) (shape, int, []byte) {
	state := request.Request{W: w.ResponseWriter, Req: w.req}
	if from == fromMsg {
		wire += addedOPTLen(w.req, m)
	}
	if wire <= dns.MinMsgSize {
		return asWritten, wire, nil // fits any client: no need to read its EDNS size
	}
	size := state.Size()
	if limit := w.f.cfg.maxUDPSize; limit < size && !w.f.cfg.logOnly {
		size = limit
	}
	if wire <= size {
		return asWritten, wire, nil // the common case: no compression map
	}
	if from == fromUnreadable || m.IsTsig() != nil {
		return empty, 0, nil // no message to pack, or a signature packing would break
	}
	c := m.Copy() // m belongs to another plugin
	if from == fromMsg {
		state.SizeAndDo(c)
	}
	c.Compress = true
	if c.Len() > size {
		return empty, 0, nil
	}
	packed, err := c.Pack()
	if err != nil || len(packed) > size {
		return empty, 0, nil
	}
	return compressed, len(packed), packed
}

// addedOPTLen is how much CoreDNS's server adds to reply on its way out:
// the query's OPT record (with the options CoreDNS copies), when the query
// has one and the reply does not.
func addedOPTLen(req, reply *dns.Msg) int {
	o := req.IsEdns0()
	if o == nil || reply.IsEdns0() != nil {
		return 0
	}
	n := optHeaderLen
	for _, opt := range o.Option {
		if edns.SupportedOption(opt.Option()) { // rare: no option is, unless a plugin such as nsid says so
			n += dns.Len(&dns.OPT{Hdr: dns.RR_Header{Name: "."}, Option: []dns.EDNS0{opt}}) - optHeaderLen
		}
	}
	return n
}

// optHeaderLen is the size of an OPT record without options.
const optHeaderLen = 11

func actionFor(v verdict, logOnly bool) action {
	switch {
	case v == verdictDrop && logOnly:
		return actionWouldDrop
	case v == verdictSlip && logOnly:
		return actionWouldSlip
	case v == verdictDrop:
		return actionDropped
	case v == verdictSlip:
		return actionSlipped
	}
	return actionSent
}

// writeError writes the error reply CoreDNS's server would have written for
// rcode, through the limiter.
func (w *replyWriter) writeError(rcode int) {
	m := new(dns.Msg)
	m.SetRcode(w.req, rcode)
	state := request.Request{W: w.ResponseWriter, Req: w.req}
	state.SizeAndDo(m)
	w.WriteMsg(m)
}

// ConnectionState implements dns.ConnectionStater (DoT's and DoQ's TLS
// state): wrapping a writer must not hide what it tells of its connection.
func (w *replyWriter) ConnectionState() *tls.ConnectionState {
	if cs, ok := w.ResponseWriter.(dns.ConnectionStater); ok {
		return cs.ConnectionState()
	}
	return nil
}

// SetPlugin and GetPlugin implement plugin.PluginTracker for the writer
// beneath, so plugin attribution of responses survives the wrapping.
func (w *replyWriter) SetPlugin(name string) {
	if t, ok := w.ResponseWriter.(plugin.PluginTracker); ok {
		t.SetPlugin(name)
	}
}

func (w *replyWriter) GetPlugin() string {
	if t, ok := w.ResponseWriter.(plugin.PluginTracker); ok {
		return t.GetPlugin()
	}
	return ""
}

// truncated builds the slipped reply to m: a new message with m's header
// (rcode included) and question, TC=1, no records but m's OPT, so the client
// retries over TCP. m belongs to another plugin and is left untouched.
func truncated(m *dns.Msg) *dns.Msg {
	tc := &dns.Msg{MsgHdr: m.MsgHdr, Compress: m.Compress}
	tc.Truncated = true
	tc.Question = append([]dns.Question(nil), m.Question...)
	if opt := m.IsEdns0(); opt != nil {
		tc.Extra = []dns.RR{dns.Copy(opt)}
	}
	return tc
}

// badCookieLen is the wire size of the BADCOOKIE reply to req, with our
// cookie.
func badCookieLen(req *dns.Msg) int {
	n := 12 + optHeaderLen + 4 + cookieLen
	for _, q := range req.Question {
		n += nameLen(q.Name) + 4
	}
	return n
}

// slippedLen is the wire size of truncated(m), without building it.
func slippedLen(m *dns.Msg) int {
	n := 12
	for _, q := range m.Question {
		n += nameLen(q.Name) + 4
	}
	if opt := m.IsEdns0(); opt != nil {
		n += dns.Len(opt)
	}
	return n
}

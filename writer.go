package floodguard

import (
	"context"
	"net/netip"
	"sync"

	"github.com/coredns/coredns/request"

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

// limitWriter intercepts the response of one UDP query on its way out and
// sends, drops or slips it. Writers are pooled: the per-query path
// allocates nothing of its own.
type limitWriter struct {
	dns.ResponseWriter
	f       *Floodguard
	ctx     context.Context
	req     *dns.Msg
	met     *serverMetrics
	zone    string
	prefix  netip.Prefix
	now     int64 // the query's clock reading: one read per query
	written bool  // a response was handled (sent, slipped or dropped)
}

var limitWriters = sync.Pool{New: func() any { return new(limitWriter) }}

func getLimitWriter() *limitWriter { return limitWriters.Get().(*limitWriter) }

func putLimitWriter(w *limitWriter) {
	*w = limitWriter{} // drop references to the query and its writer
	limitWriters.Put(w)
}

// WriteMsg implements dns.ResponseWriter.
func (w *limitWriter) WriteMsg(m *dns.Msg) error {
	act, empty := w.judge(m)
	switch {
	case act == actionDropped:
		return nil
	case empty:
		return w.ResponseWriter.WriteMsg(truncated(m))
	default:
		return w.ResponseWriter.WriteMsg(m)
	}
}

// Write implements dns.ResponseWriter for plugins that write packed
// responses: it judges the unpacked message and passes the bytes on as they are.
func (w *limitWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		// Unreadable: count it as an error response of this prefix.
		m = &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Rcode: dns.RcodeServerFailure}}
	}
	act, empty := w.judge(m)
	switch {
	case act == actionDropped:
		return len(b), nil
	case empty:
		return len(b), w.ResponseWriter.WriteMsg(truncated(m))
	default:
		return w.ResponseWriter.Write(b)
	}
}

// judge asks the limiter about m, counts the outcome and logs a prefix that
// has just started being limited. empty says to send an empty truncated
// reply instead of m: m was slipped, or m is an answer too large for the
// client's UDP buffer.
func (w *limitWriter) judge(m *dns.Msg) (act action, empty bool) {
	w.written = true
	f := w.f
	c, name, qtype := classify(w.ctx, m, w.zone)
	d := f.lim.decide(w.now, w.prefix, c, name, qtype)
	if d.evictions > 0 {
		w.met.evictions.Add(float64(d.evictions))
	}
	act = actionSent
	if d.verdict != verdictSend {
		w.met.limited[d.by].Inc()
		act = actionFor(d.verdict, f.cfg.logOnly)
		if d.started {
			f.logLimiting(d.clientKey, w.prefix, d.by, name, qtype, w.now)
		}
		f.overLimit(w.now, w.prefix, w.met)
	}
	size := wireLen(m)
	if act == actionSent && w.tooBig(m, size) {
		act = actionTruncated
	}
	empty = act == actionSlipped || act == actionTruncated
	if empty {
		size = slippedLen(m)
	}
	w.met.responses[act].Inc()
	w.met.bytes[act].Add(float64(size))
	return act, empty
}

// tooBig reports whether m, of uncompressed size wire, cannot fit in
// max-udp-size or the client's UDP buffer, whichever is smaller, even
// compressed. CoreDNS would send as many records as fit with TC=1; the
// client discards them and retries over TCP, so those bytes only amplify.
// floodguard sends the empty truncated reply instead, as BIND, Knot and NSD
// do. In log-only mode only the client's buffer counts: the cap is a
// decision, and log-only changes none.
func (w *limitWriter) tooBig(m *dns.Msg, wire int) bool {
	if wire <= dns.MinMsgSize {
		return false // fits any client: no need to read its EDNS size
	}
	state := request.Request{W: w.ResponseWriter, Req: w.req}
	size := state.Size()
	if limit := w.f.cfg.maxUDPSize; limit < size && !w.f.cfg.logOnly {
		size = limit
	}
	if wire <= size {
		return false // the common case: no compression map
	}
	c := *m // a shallow copy: Len reads the records and writes nothing
	c.Compress = true
	return c.Len() > size
}

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
func (w *limitWriter) writeError(rcode int) {
	m := new(dns.Msg)
	m.SetRcode(w.req, rcode)
	state := request.Request{W: w.ResponseWriter, Req: w.req}
	state.SizeAndDo(m)
	w.WriteMsg(m)
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

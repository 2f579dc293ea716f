package floodguard

import (
	"context"
	"crypto/tls"
	"net/netip"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
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

// limitWriter intercepts the responses to one UDP query from a limited
// client on their way out and sends, drops or slips them.
//
// A limitWriter is made for one query and never reused: a later plugin can
// keep the writer after ServeDNS has returned (the cache's background check
// of a stale entry does, and forward then asks it for the client's
// address), so it must stay whole for as long as anyone holds it.
type limitWriter struct {
	dns.ResponseWriter
	f       *Floodguard
	ctx     context.Context
	req     *dns.Msg
	met     *serverMetrics
	zone    string
	prefix  netip.Prefix
	now     int64       // the query's clock reading: one read per query
	written atomic.Bool // a response was handled (sent, slipped or dropped); a kept writer may write late
}

// WriteMsg implements dns.ResponseWriter.
func (w *limitWriter) WriteMsg(m *dns.Msg) error {
	act, out := w.judge(m, wireLen(m), true)
	switch {
	case act == actionDropped:
		return nil
	case out == empty:
		return w.ResponseWriter.WriteMsg(truncated(m))
	case out == compressed:
		return w.ResponseWriter.WriteMsg(compressedCopy(m))
	}
	return w.ResponseWriter.WriteMsg(m)
}

// Write implements dns.ResponseWriter for plugins that write packed
// responses: it judges the unpacked message and passes the bytes on as they
// are when they fit.
func (w *limitWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	readable := m.Unpack(b) == nil
	if !readable {
		// Count it as an error response of this prefix; if it has to go
		// out empty, the reply answers the client's question.
		m = new(dns.Msg)
		m.SetRcode(w.req, dns.RcodeServerFailure)
	}
	act, out := w.judge(m, len(b), readable)
	switch {
	case act == actionDropped:
		return len(b), nil
	case out == empty:
		return len(b), w.ResponseWriter.WriteMsg(truncated(m))
	case out == compressed:
		return len(b), w.ResponseWriter.WriteMsg(compressedCopy(m))
	}
	return w.ResponseWriter.Write(b)
}

// judge asks the limiter about m, of wire bytes as its plugin would send
// it, counts the outcome and logs a prefix that has just started being
// limited; out says how m goes out if it is not dropped. repackable says m
// is the response itself, not a stand-in for bytes that cannot be read, and
// so can be sent compressed.
func (w *limitWriter) judge(m *dns.Msg, wire int, repackable bool) (act action, out shape) {
	w.written.Store(true)
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
	size := wire
	switch act {
	case actionSlipped:
		out = empty
	case actionSent:
		out, size = w.fit(m, wire, repackable)
		if out == empty {
			act = actionTruncated
		}
	}
	if out == empty {
		size = slippedLen(m)
	}
	w.met.responses[act].Inc()
	w.met.bytes[act].Add(float64(size))
	return act, out
}

// fit says how m, of wire bytes as written, can go out within max-udp-size
// and the client's UDP buffer, whichever is smaller, and how many bytes
// that takes. CoreDNS sends a message uncompressed whenever that fits the
// client's buffer, which the client (or a spoofer) chooses, so an answer
// that fits max-udp-size only compressed is sent as a compressed copy. One
// that does not fit even compressed goes out empty with TC=1: CoreDNS
// would send as many records as fit, which the client discards before it
// retries over TCP, so those bytes only amplify; BIND, Knot and NSD send
// the empty reply too. In log-only mode only the client's buffer counts:
// the cap is a decision, and log-only changes none.
func (w *limitWriter) fit(m *dns.Msg, wire int, repackable bool) (shape, int) {
	if wire <= dns.MinMsgSize {
		return asWritten, wire // fits any client: no need to read its EDNS size
	}
	state := request.Request{W: w.ResponseWriter, Req: w.req}
	size := state.Size()
	if limit := w.f.cfg.maxUDPSize; limit < size && !w.f.cfg.logOnly {
		size = limit
	}
	if wire <= size {
		return asWritten, wire // the common case: no compression map
	}
	if !repackable {
		return empty, 0
	}
	if n := compressedCopy(m).Len(); n <= size {
		return compressed, n
	}
	return empty, 0
}

// compressedCopy is m to be sent compressed: a shallow copy, as m belongs
// to another plugin.
func compressedCopy(m *dns.Msg) *dns.Msg {
	c := *m
	c.Compress = true
	return &c
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

// ConnectionState implements dns.ConnectionStater: wrapping a writer must
// not hide what it tells of its connection.
func (w *limitWriter) ConnectionState() *tls.ConnectionState {
	return connectionState(w.ResponseWriter)
}

// SetPlugin and GetPlugin implement plugin.PluginTracker for the writer
// beneath, so plugin attribution of responses survives the wrapping.
func (w *limitWriter) SetPlugin(name string) { setPlugin(w.ResponseWriter, name) }
func (w *limitWriter) GetPlugin() string     { return getPlugin(w.ResponseWriter) }

// provenWriter counts the responses to a client whose transport proved
// its address (TCP, DoT, DoH, gRPC, DoQ, DoH3): never limited, counted so
// that an operator sees slipped clients come back.
type provenWriter struct {
	dns.ResponseWriter
	count   prometheus.Counter
	written atomic.Bool
}

// WriteMsg implements dns.ResponseWriter.
func (w *provenWriter) WriteMsg(m *dns.Msg) error {
	w.written.Store(true)
	w.count.Inc()
	return w.ResponseWriter.WriteMsg(m)
}

// Write implements dns.ResponseWriter.
func (w *provenWriter) Write(b []byte) (int, error) {
	w.written.Store(true)
	w.count.Inc()
	return w.ResponseWriter.Write(b)
}

// ConnectionState implements dns.ConnectionStater (DoT's and DoQ's TLS state).
func (w *provenWriter) ConnectionState() *tls.ConnectionState {
	return connectionState(w.ResponseWriter)
}

// SetPlugin and GetPlugin implement plugin.PluginTracker, as limitWriter's.
func (w *provenWriter) SetPlugin(name string) { setPlugin(w.ResponseWriter, name) }
func (w *provenWriter) GetPlugin() string     { return getPlugin(w.ResponseWriter) }

func connectionState(w dns.ResponseWriter) *tls.ConnectionState {
	if cs, ok := w.(dns.ConnectionStater); ok {
		return cs.ConnectionState()
	}
	return nil
}

func setPlugin(w dns.ResponseWriter, name string) {
	if t, ok := w.(plugin.PluginTracker); ok {
		t.SetPlugin(name)
	}
}

func getPlugin(w dns.ResponseWriter) string {
	if t, ok := w.(plugin.PluginTracker); ok {
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

package floodguard

import (
	"context"
	"net/netip"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// ServeDNS implements plugin.Handler. This is the whole decision path of a
// query, in order; the response decision itself is limitWriter.judge.
func (f *Floodguard) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	zone, ok := f.match(r)
	if !ok {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	f.hold()
	met := f.metrics.get(metrics.WithServer(ctx))
	client, internal := senderOf(w, met.provesAddress)
	if internal {
		// No sender: an internal query (cache prefetch).
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	if !client.udp {
		w = &provenWriter{ResponseWriter: w, count: met.tcpResponses}
	}
	q := inflight{ctx: ctx, w: w, r: r, met: met, zone: zone}
	// Only UDP can be spoofed, so only UDP is limited; TCP clients have
	// proved their address. Exempt clients are trusted with every limit.
	q.limited = client.udp && !f.exempt(client.addr)
	if !q.limited && !f.policyApplies() {
		return f.answer(&q)
	}
	qn := r.Question[0]
	if q.limited {
		q.now = f.now()
		q.prefix = prefixOf(client.addr, f.cfg.v4Bits, f.cfg.v6Bits)
		met.requestBytes.Add(float64(wireLen(r)))

		// 1. Banned prefixes: dropped before any other work, but for one
		// truncated reply a second, so a real resolver there moves to TCP.
		if f.lim.ban.limited > 0 {
			if ban := f.lim.checkBan(q.now, q.prefix); ban != notBanned {
				act := queryDropped
				if ban == bannedTruncate {
					act = queryTruncated
				}
				if f.act(&q, act, reasonBanned) {
					return dns.RcodeSuccess, nil
				}
			}
		}
		// 2. Queries per second per prefix.
		if f.lim.qpsRate > 0 {
			v, evicted := f.lim.allowQuery(q.now, q.prefix)
			countEvicted(met, evicted)
			if v != verdictSend {
				f.overLimit(q.now, q.prefix, met)
				act := queryDropped
				if v == verdictSlip {
					act = queryTruncated
				}
				if f.act(&q, act, reasonQueries) {
					return dns.RcodeSuccess, nil
				}
			}
		}
	}

	// 3. Policy: root queries and recursion (RFC 5358), for clients not
	// allowed recursion, over every transport.
	// `root allow` lets "." through even when it is outside authoritative.
	if f.recursionPolicy() && !f.recursionAllowed(client.addr) {
		if qn.Name == "." {
			if f.cfg.rootMode != rootAllow {
				act := queryRefused
				if f.cfg.rootMode == rootDrop {
					act = queryDropped
				}
				if f.act(&q, act, reasonRoot) {
					return dns.RcodeSuccess, nil
				}
			}
		} else if f.cfg.authoritative != nil && longestZone(f.cfg.authoritative, qn.Name) == "" {
			if f.act(&q, queryRefused, reasonRecursion) {
				return dns.RcodeSuccess, nil
			}
		}
	}

	// 4. ANY.
	if qn.Qtype == dns.TypeANY {
		if q.limited && f.lim.anyPerMinute > 0 {
			ok, evicted := f.lim.allowAny(q.now, q.prefix)
			countEvicted(met, evicted)
			if !ok {
				f.overLimit(q.now, q.prefix, met)
				if f.act(&q, queryDropped, reasonAny) {
					return dns.RcodeSuccess, nil
				}
			}
		}
		act, acts := anyAction(f.cfg.anyMode, client.udp)
		if acts && f.act(&q, act, reasonAny) {
			if act == queryMinimal {
				f.minimalAny(ctx, q.out(f), r)
			}
			return dns.RcodeSuccess, nil
		}
	}

	// 5. The answer, rate limited as it is written (limitWriter.judge).
	return f.answer(&q)
}

// inflight is one query on its way through ServeDNS.
type inflight struct {
	ctx     context.Context
	w       dns.ResponseWriter // the client's writer (counting, if its transport proved the address)
	r       *dns.Msg
	met     *serverMetrics
	zone    string
	limited bool // a UDP client that is not exempt: every limit applies
	now     int64
	prefix  netip.Prefix
	lw      *limitWriter // made on first need, so that queries dropped early allocate nothing
}

// out is where replies to q go: through the limiter for a limited client.
func (q *inflight) out(f *Floodguard) dns.ResponseWriter {
	if !q.limited {
		return q.w
	}
	if q.lw == nil {
		q.lw = &limitWriter{ResponseWriter: q.w, f: f, ctx: q.ctx, req: q.r, met: q.met, zone: q.zone, prefix: q.prefix, now: q.now}
	}
	return q.lw
}

// answer hands q to the next plugin. Errors the next plugin returns without
// writing are written by CoreDNS's server itself, outside any wrapper: for
// a limited client floodguard writes (or drops) them here instead, through
// the limiter, and tells the server the reply is taken care of.
func (f *Floodguard) answer(q *inflight) (int, error) {
	w := q.out(f)
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, q.ctx, w, q.r)
	if plugin.ClientWrite(rcode) {
		return rcode, err
	}
	switch w := w.(type) {
	case *limitWriter:
		if !w.written.Load() {
			w.writeError(rcode)
		}
		rcode = dns.RcodeSuccess
	case *provenWriter:
		if !w.written.Load() {
			w.count.Inc() // the server writes it
		}
	}
	return rcode, err
}

// act counts a decision taken on a query and carries out its reply, if it
// has one: REFUSED or a truncated (TC=1) reply (a minimal ANY answer is the
// caller's). Replies to limited clients are response-rate-limited like any
// other. In log-only mode it only counts, and reports false: the query goes
// on as if nothing were decided.
func (f *Floodguard) act(q *inflight, act queryAction, why reason) bool {
	if f.cfg.logOnly {
		q.met.requests[queryWouldDrop][why].Inc()
		return false
	}
	q.met.requests[act][why].Inc()
	switch act {
	case queryRefused:
		m := new(dns.Msg)
		m.SetRcode(q.r, dns.RcodeRefused)
		writeReply(q.out(f), q.r, m)
	case queryTruncated:
		m := new(dns.Msg)
		m.SetReply(q.r)
		m.Truncated = true
		w := q.out(f)
		if why == reasonBanned {
			w = q.w // the ban's own reply is not response-limited
		}
		writeReply(w, q.r, m)
	}
	return true
}

// anyAction is what any mode m does to an ANY query, and whether it acts.
// minimal and truncate act over UDP only: over TCP the client has proved
// its address and RFC 8482 allows the full answer.
func anyAction(m anyMode, udp bool) (queryAction, bool) {
	switch {
	case m == anyMinimal && udp:
		return queryMinimal, true
	case m == anyTruncate && udp:
		return queryTruncated, true
	case m == anyRefuse:
		return queryRefused, true
	case m == anyDrop:
		return queryDropped, true
	}
	return 0, false
}

// recursionAllowed reports whether addr may ask about any name.
func (f *Floodguard) recursionAllowed(addr netip.Addr) bool {
	for _, p := range f.cfg.recursion {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// recursionPolicy reports whether the root or recursion policy can refuse
// anything, so that without one no query pays for the recursion lookup.
func (f *Floodguard) recursionPolicy() bool {
	return f.cfg.authoritative != nil || f.cfg.rootMode != rootAllow
}

// policyApplies reports whether any query policy (root, recursion, ANY)
// can act, so unlimited clients (TCP, exempt) still go through it.
func (f *Floodguard) policyApplies() bool {
	return f.recursionPolicy() || f.cfg.anyMode != anyAllow
}

// writeReply sizes m for r's EDNS buffer (as CoreDNS's server does for the
// replies it writes itself) and writes it.
func writeReply(w dns.ResponseWriter, r, m *dns.Msg) {
	state := request.Request{W: w, Req: r}
	state.SizeAndDo(m)
	w.WriteMsg(m)
}

// unwrap returns the writer beneath floodguard's limitWriter.
func unwrap(w dns.ResponseWriter) dns.ResponseWriter {
	if lw, ok := w.(*limitWriter); ok {
		return lw.ResponseWriter
	}
	return w
}

// overLimit counts an over-limit decision towards a ban of prefix p.
func (f *Floodguard) overLimit(now int64, p netip.Prefix, met *serverMetrics) {
	if f.lim.ban.limited == 0 {
		return
	}
	banned, dur, n, evicted := f.lim.noteLimited(now, p)
	countEvicted(met, evicted)
	if banned {
		met.bans.Inc()
		f.logBan(p, dur, n, now)
	}
}

func countEvicted(met *serverMetrics, evicted bool) {
	if evicted {
		met.evictions.Inc()
	}
}

// match reports whether floodguard handles r, and the zone it matched.
func (f *Floodguard) match(r *dns.Msg) (zone string, ok bool) {
	if len(r.Question) == 0 {
		return "", false
	}
	if f.allZones {
		return ".", true
	}
	zone = longestZone(f.cfg.zones, r.Question[0].Name)
	return zone, zone != ""
}

package floodguard

import (
	"context"
	"net/netip"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"

	"github.com/floodguard/floodguard/internal/topk"

	"github.com/miekg/dns"
)

// ServeDNS implements plugin.Handler: who sent the query, then serve (the
// whole decision path of a query, in order; the response decision itself is
// replyWriter.judge), then the query counted in the top talkers.
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
	q := inflight{ctx: ctx, w: w, r: r, met: met, zone: zone, now: -1}
	rcode, err := f.serve(&q, &client)
	if f.top != nil && q.capped {
		f.countTalker(&q, client.addr)
	}
	return rcode, err
}

// serve takes q through floodguard's steps, in order, and on to the next
// plugin unless a step handled it.
func (f *Floodguard) serve(q *inflight, client *sender) (int, error) {
	r, met := q.r, q.met
	// Exempt: in exempt-clients or the allow-file (the common case, neither,
	// costs a length check and a load).
	exempt := client.udp && (len(f.cfg.exempt) > 0 && f.exemptClient(client.addr) ||
		f.ops.anyAllowed() && f.allowed(q, client.addr))
	if f.cfg.cookies != cookiesOff {
		if len(r.Extra) > 0 { // an OPT record may hold a COOKIE
			f.readCookie(q, client.addr)
		}
		met.cookies[q.cookie.kind].Inc()
	}
	// Only UDP can be spoofed, so only UDP is limited; TCP clients, and UDP
	// clients that bring back a valid server cookie, have proved their
	// address. Exempt clients are trusted with every limit.
	q.proven = !client.udp
	q.capped = client.udp && !exempt
	q.limited = q.capped && q.cookie.kind != cookieValid
	if !q.capped && !q.proven && !q.cookied() && !f.policyApplies() {
		return f.answer(q) // exempt: nothing to do
	}
	qn := r.Question[0]
	if q.capped {
		q.clock(f)
		q.reqBytes = wireLen(r)
		met.requestBytes.Add(float64(q.reqBytes))
	}
	if q.limited {
		q.prefix = prefixOf(client.addr, f.cfg.v4Bits, f.cfg.v6Bits)
	}

	// 0. Cookies (RFC 7873): a malformed option gets FORMERR; over UDP, a
	// server cookie that is stale or not ours gets BADCOOKIE and a fresh
	// one (limited as an error), and in require mode so does every query
	// without a valid one (TC=1 if it has no cookie at all).
	if q.cookie.kind == cookieMalformed && f.act(q, queryFormErr, reasonCookie) {
		return dns.RcodeSuccess, nil
	}
	if client.udp && q.cookie.kind == cookieBad && f.act(q, queryBadCookie, reasonCookie) {
		return dns.RcodeSuccess, nil
	}
	if f.cfg.cookies == cookiesRequire && q.capped && q.cookie.kind != cookieValid {
		act := queryTruncated
		if q.cookied() {
			act = queryBadCookie
		}
		if f.act(q, act, reasonCookie) {
			return dns.RcodeSuccess, nil
		}
	}

	if q.limited {
		// 1. Bans, dropped before any other work but for one truncated
		// reply a second. The operator's (through the API, or the
		// deny-file) cover the whole prefix; automatic ones a name and
		// type this prefix flooded, or its ANY queries, and every other
		// name is answered as before.
		if f.ops.anyDenied() && f.operatorBanned(q, client.addr) {
			return dns.RcodeSuccess, nil
		}
		if f.lim.ban.limited > 0 {
			if ban := f.lim.queryBan(q.now, q.prefix, qn.Name, qn.Qtype); ban != notBanned {
				act := queryDropped
				if ban == bannedTruncate {
					act = queryTruncated
				}
				if f.act(q, act, reasonBanned) {
					return dns.RcodeSuccess, nil
				}
			}
		}
	}
	// 2. Queries per second: per prefix for limited clients; per address,
	// at an allowance of their own, for clients proven by a cookie (else a
	// flooder that does not spoof would skip every limit with one).
	if q.capped && (f.lim.qps.rate > 0 || f.lim.cookieQPS.rate > 0) && f.queryLimited(q, client.addr) {
		return dns.RcodeSuccess, nil
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
				if f.act(q, act, reasonRoot) {
					return dns.RcodeSuccess, nil
				}
			}
		} else if f.cfg.authoritative != nil && longestZone(f.cfg.authoritative, qn.Name) == "" {
			if f.act(q, queryRefused, reasonRecursion) {
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
				f.overLimit(q.now, q.prefix, banScope{anyQueries: true}, 0, met)
				if f.act(q, queryDropped, reasonAny) {
					return dns.RcodeSuccess, nil
				}
			}
		}
		act, acts := anyAction(f.cfg.anyMode, client.udp)
		if acts && f.act(q, act, reasonAny) {
			if act == queryMinimal {
				f.minimalAny(q.ctx, q.out(f), r)
			}
			return dns.RcodeSuccess, nil
		}
	}

	// 5. The answer, rate limited as it is written (replyWriter.judge).
	return f.answer(q)
}

// queryLimited applies the queries-per-second limits to q and reports
// whether it handled the query (dropped or slipped it).
func (f *Floodguard) queryLimited(q *inflight, addr netip.Addr) bool {
	kind, rate, p := byte(queryKind), f.lim.qps, q.prefix
	if !q.limited { // proven by a cookie: the exact address
		kind, rate, p = cookieQueryKind, f.lim.cookieQPS, prefixOf(addr, 32, 128)
	}
	if rate.rate == 0 {
		return false
	}
	v, evicted := f.lim.allowQuery(q.now, p, kind, rate)
	countEvicted(q.met, evicted)
	if v == verdictSend {
		return false
	}
	// Over the query limit: name-blind, so no ban (a spoofed flood would ban
	// its victim's whole prefix). Its slips keep real clients going over TCP.
	act := queryDropped
	if v == verdictSlip {
		act = queryTruncated
	}
	return f.act(q, act, reasonQueries)
}

// inflight is one query on its way through ServeDNS.
type inflight struct {
	ctx     context.Context
	w       dns.ResponseWriter // the client's writer
	r       *dns.Msg
	met     *serverMetrics
	zone    string
	limited bool  // plain UDP, not exempt, no valid cookie: every limit applies
	capped  bool  // plain UDP, not exempt: max-udp-size applies, and the UDP counters count it
	proven  bool  // a transport that proves the address (TCP, DoT, DoQ, ...)
	now     int64 // the clock, read once (-1: not yet)
	prefix  netip.Prefix
	cookie  queryCookie
	rw      *replyWriter // made on first need, so that queries dropped early allocate nothing

	reqBytes int          // the query's size, for limited clients
	outcome  topk.Outcome // what a step did, for the top talkers (the writer's outcome otherwise)
}

// clock reads the clock for q, once.
func (q *inflight) clock(f *Floodguard) {
	if q.now < 0 {
		q.now = f.now()
	}
}

// cookied reports whether q's replies carry a cookie of ours.
func (q *inflight) cookied() bool {
	return q.cookie.kind == cookieClient || q.cookie.kind == cookieValid || q.cookie.kind == cookieBad
}

// readCookie reads q's COOKIE option and checks its server cookie for the
// client at addr. A client of an address type floodguard cannot read gets
// no cookie: there is no address to make it for.
func (f *Floodguard) readCookie(q *inflight, addr netip.Addr) {
	q.cookie.read(q.r)
	if q.cookie.kind == cookieClient {
		if !addr.IsValid() {
			q.cookie.kind = cookieNone
		} else {
			q.clock(f)
			f.judgeCookie(&q.cookie, addr, f.cookieTime(q.now))
		}
	}
}

// out is where replies to q go: through a replyWriter when floodguard has
// anything to do with them.
func (q *inflight) out(f *Floodguard) dns.ResponseWriter {
	if !q.capped && !q.proven && !q.cookied() {
		return q.w
	}
	if q.rw == nil {
		if q.cookied() {
			cw := new(cookiedWriter)
			cw.ck.value = q.cookie.reply
			cw.cookie = &cw.ck
			q.rw = &cw.replyWriter
		} else {
			q.rw = new(replyWriter)
		}
		w := q.rw
		w.ResponseWriter, w.f, w.ctx, w.req, w.met, w.zone, w.prefix, w.now = q.w, f, q.ctx, q.r, q.met, q.zone, q.prefix, q.now
		w.limited, w.capped, w.proven = q.limited, q.capped, q.proven
	}
	return q.rw
}

// answer hands q to the next plugin. Errors the next plugin returns without
// writing are written by CoreDNS's server itself, outside any wrapper: for
// a limited client, or one whose reply must carry our cookie, floodguard
// writes (or drops) them here instead, and tells the server the reply is
// taken care of.
func (f *Floodguard) answer(q *inflight) (int, error) {
	w := q.out(f)
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, q.ctx, w, q.r)
	if plugin.ClientWrite(rcode) {
		return rcode, err
	}
	rw, ok := w.(*replyWriter)
	switch {
	case !ok:
	case rw.limited || rw.cookie != nil:
		if !rw.out.written() {
			rw.writeError(rcode)
		}
		rcode = dns.RcodeSuccess // written here, or already: the server must not write another
	case rw.proven && !rw.out.written():
		rw.met.tcpResponses.Inc() // the server writes it
	}
	return rcode, err
}

// act counts a decision taken on a query and carries out its reply, if it
// has one: REFUSED, FORMERR, BADCOOKIE or a truncated (TC=1) reply (a
// minimal ANY answer is the caller's). A slip of a query that brought a
// client cookie is BADCOOKIE with a fresh cookie instead of TC=1: the
// client asks again at once over UDP, and is proven. Replies to limited
// clients are response-rate-limited like any other. In log-only mode it
// only counts, and reports false: the query goes on as if nothing were
// decided.
func (f *Floodguard) act(q *inflight, act queryAction, why reason) bool {
	if f.cfg.logOnly {
		q.met.requests[queryWouldDrop][why].Inc()
		return false
	}
	slip := act == queryTruncated && (why == reasonQueries || why == reasonBanned)
	if slip && q.cookie.kind == cookieClient {
		act = queryBadCookie
	}
	// The ban's reply, and a slip as BADCOOKIE, count once, as what they
	// are: no response limit applies to them again. (A BADCOOKIE that went
	// on to the errors' allowance would let a flood that exhausts it keep
	// a real resolver in its prefix from ever learning a cookie.)
	unlimited := why == reasonBanned || why == reasonDenied || (slip && act == queryBadCookie)
	q.met.requests[act][why].Inc()
	q.outcome = act.outcome()
	var m *dns.Msg
	switch act {
	case queryRefused:
		m = new(dns.Msg)
		m.SetRcode(q.r, dns.RcodeRefused)
	case queryFormErr:
		m = new(dns.Msg)
		m.SetRcode(q.r, dns.RcodeFormatError)
	case queryBadCookie:
		m = badCookie(q.r)
	case queryTruncated:
		m = new(dns.Msg)
		m.SetReply(q.r)
		m.Truncated = true
	default:
		return true
	}
	w := q.out(f)
	if unlimited {
		state := request.Request{W: q.w, Req: q.r}
		state.SizeAndDo(m)
		if rw, ok := w.(*replyWriter); ok {
			rw.send(m)
		} else {
			q.w.WriteMsg(m)
		}
		return true
	}
	writeReply(w, q.r, m)
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

// unwrap returns the writer beneath floodguard's replyWriter.
func unwrap(w dns.ResponseWriter) dns.ResponseWriter {
	if rw, ok := w.(*replyWriter); ok {
		return rw.ResponseWriter
	}
	return w
}

// overLimit counts an over-limit decision of prefix p's scope s towards a
// ban of it, whose key is key if the caller has it (else 0).
func (f *Floodguard) overLimit(now int64, p netip.Prefix, s banScope, key uint64, met *serverMetrics) {
	if f.lim.ban.limited == 0 {
		return
	}
	if key == 0 {
		key = f.lim.banKey(p, s)
	}
	banned, dur, n, evicted := f.lim.noteLimited(now, key)
	countEvicted(met, evicted)
	if banned {
		met.bans.Inc()
		f.logBan(key, p, s, dur, n, now)
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

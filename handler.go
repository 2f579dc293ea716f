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
	client := remoteOf(w.RemoteAddr())
	if !client.addr.IsValid() {
		// No readable sender: an internal query (cache prefetch).
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	q := r.Question[0]
	met := f.metrics.get(metrics.WithServer(ctx))
	// Only UDP can be spoofed, so only UDP is limited; TCP clients have
	// proved their address. Exempt clients are trusted with every limit.
	limited := client.udp && !f.exempt(client.addr)
	if !limited && !f.policyApplies() {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	var (
		now    int64
		prefix netip.Prefix
	)
	if limited {
		now = f.now()
		prefix = prefixOf(client.addr, f.cfg.v4Bits, f.cfg.v6Bits)
		met.requestBytes.Add(float64(wireLen(r)))
		lw := getLimitWriter()
		*lw = limitWriter{ResponseWriter: w, f: f, ctx: ctx, req: r, met: met, zone: zone, prefix: prefix, now: now}
		defer putLimitWriter(lw)
		w = lw

		// 1. Banned prefixes: dropped before any other work, but for one
		// truncated reply a second, so a real resolver there moves to TCP.
		if f.lim.ban.limited > 0 {
			if ban := f.lim.checkBan(now, prefix); ban != notBanned {
				act := queryDropped
				if ban == bannedTruncate {
					act = queryTruncated
				}
				if f.act(w, r, met, act, reasonBanned) {
					return dns.RcodeSuccess, nil
				}
			}
		}
		// 2. Queries per second per prefix.
		if f.lim.qpsRate > 0 {
			v, evicted := f.lim.allowQuery(now, prefix)
			countEvicted(met, evicted)
			if v != verdictSend {
				f.overLimit(now, prefix, met)
				act := queryDropped
				if v == verdictSlip {
					act = queryTruncated
				}
				if f.act(w, r, met, act, reasonQueries) {
					return dns.RcodeSuccess, nil
				}
			}
		}
	}

	// 3. Policy: root queries and recursion (RFC 5358), for clients not
	// allowed recursion, over both transports.
	// `root allow` lets "." through even when it is outside authoritative.
	if f.recursionPolicy() && !f.recursionAllowed(client.addr) {
		if q.Name == "." {
			if f.cfg.rootMode != rootAllow {
				act := queryRefused
				if f.cfg.rootMode == rootDrop {
					act = queryDropped
				}
				if f.act(w, r, met, act, reasonRoot) {
					return dns.RcodeSuccess, nil
				}
			}
		} else if f.cfg.authoritative != nil && longestZone(f.cfg.authoritative, q.Name) == "" {
			if f.act(w, r, met, queryRefused, reasonRecursion) {
				return dns.RcodeSuccess, nil
			}
		}
	}

	// 4. ANY.
	if q.Qtype == dns.TypeANY {
		if limited && f.lim.anyPerMinute > 0 {
			ok, evicted := f.lim.allowAny(now, prefix)
			countEvicted(met, evicted)
			if !ok {
				f.overLimit(now, prefix, met)
				if f.act(w, r, met, queryDropped, reasonAny) {
					return dns.RcodeSuccess, nil
				}
			}
		}
		act, acts := anyAction(f.cfg.anyMode, client.udp)
		if acts && f.act(w, r, met, act, reasonAny) {
			if act == queryMinimal {
				f.minimalAny(ctx, w, r)
			}
			return dns.RcodeSuccess, nil
		}
	}

	// 5. The answer, rate limited as it is written (limitWriter.judge).
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	if lw, ok := w.(*limitWriter); ok && !plugin.ClientWrite(rcode) {
		// The server would write this error reply itself, outside our
		// writer and so unlimited. Write (or drop) it here instead, and
		// return a code that tells the server the reply is taken care of.
		if !lw.written {
			lw.writeError(rcode)
		}
		rcode = dns.RcodeSuccess
	}
	return rcode, err
}

// act counts a decision taken on a query and carries out its reply, if it
// has one: REFUSED or a truncated (TC=1) reply (a minimal ANY answer is the
// caller's). Replies go through w, so over UDP they are response-rate-
// limited like any other. In log-only mode it only counts, and reports
// false: the query goes on as if nothing were decided.
func (f *Floodguard) act(w dns.ResponseWriter, r *dns.Msg, met *serverMetrics, act queryAction, why reason) bool {
	if f.cfg.logOnly {
		met.requests[queryWouldDrop][why].Inc()
		return false
	}
	met.requests[act][why].Inc()
	switch act {
	case queryRefused:
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		writeReply(w, r, m)
	case queryTruncated:
		m := new(dns.Msg)
		m.SetReply(r)
		m.Truncated = true
		if why == reasonBanned {
			w = unwrap(w) // the ban's own reply is not response-limited
		}
		writeReply(w, r, m)
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

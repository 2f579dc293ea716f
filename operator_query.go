package floodguard

import (
	"net/netip"

	"github.com/floodguard/floodguard/internal/topk"
)

// operatorBanned applies the operator's bans (through the API, or the
// deny-file) to q, a limited client's query from addr, and reports whether
// it handled the query. Each client prefix (ipv4-prefix-length,
// ipv6-prefix-length) in a banned one gets one truncated reply a second, as
// under an automatic ban, so a real resolver in it can still come over TCP,
// or learn a cookie, however wide the ban; clients proven by TCP or by a
// cookie never reach this.
func (f *Floodguard) operatorBanned(q *inflight, addr netip.Addr) bool {
	by := f.ops.denied(addr, f.wallAt(q.now))
	if by == notDenied {
		return false
	}
	why := reasonBanned
	if by == deniedByFile {
		why = reasonDenied
	}
	act := queryDropped
	reply, evicted := f.lim.operatorBanReply(q.now, q.prefix)
	countEvicted(q.met, evicted)
	if reply {
		act = queryTruncated
	}
	return f.act(q, act, why)
}

// operatorBanReply reports whether a query from client prefix p, in a
// prefix the operator banned, gets this second's one truncated reply.
func (l *limiter) operatorBanReply(now int64, p netip.Prefix) (reply, evicted bool) {
	s, st, fresh, evicted := l.table.acquire(l.key(operatorBanKind, p, 0, ""), now)
	defer st.mu.Unlock()
	s.expires = max(s.expires, now+nano)
	if fresh {
		return true, evicted
	}
	// A late reading (taken before the last reply's) never earns one.
	if now-s.last >= nano {
		s.last = now
		return true, evicted
	}
	return false, evicted
}

// countTalker counts q, a UDP query from addr, in the top talkers: its
// size, its reply's, and what floodguard did with it.
func (f *Floodguard) countTalker(q *inflight, addr netip.Addr) {
	p := q.prefix
	if !q.limited { // a cookie-proven client: its prefix was not needed yet
		p = prefixOf(addr, f.cfg.v4Bits, f.cfg.v6Bits)
	}
	q.clock(f)
	out, sent := q.outcome, 0
	if rw := q.rw; rw != nil {
		var o topk.Outcome
		if o, sent = rw.out.talker(); o != topk.Answered {
			out = o
		}
	}
	f.top.Add(q.now, p, q.reqBytes, sent, out)
}

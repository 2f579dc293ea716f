package floodguard

import (
	"math"
	"net/netip"

	"github.com/miekg/dns"
)

// A ban covers one prefix's responses of one bucket (class, name, type:
// the bucket a response rate limit counts), or its ANY queries, never the
// whole prefix: a spoofed flood can only ban what the flood itself asks
// for, and a real resolver in the spoofed prefix goes on being answered for
// every other name.
//
// A ban slot holds, while its bucket is not banned, a leaky bucket of the
// bucket's over-limit decisions (balance, as float64 bits): each adds one,
// and `limited` drain away every `within`, so `limited` of them in a burst,
// or a steady stream faster than `limited` per `within`, fill it. While
// banned: mark is the ban's end, last the time of the one truncated reply a
// second (flagBanReplyDue: the first is still to come), slips the number of
// bans so far (each doubles the next).

// banState is what checkBan found.
type banState uint8

const (
	notBanned banState = iota
	bannedDrop
	bannedTruncate // banned, but this second's one TC=1 reply is due
)

// banScope is what a ban covers: a prefix's responses of one bucket, or its
// ANY queries.
type banScope struct {
	c          class
	name       string
	qtype      uint16
	anyQueries bool // any-per-minute's: the prefix's ANY queries
}

// banKey is the table key of the ban of scope s for prefix p.
func (l *limiter) banKey(p netip.Prefix, s banScope) uint64 {
	if s.anyQueries {
		return l.key(anyBanKind, p, 0, "")
	}
	return l.key(banKind+byte(s.c), p, s.qtype, s.name)
}

// queryBan is the ban a query meets before the next plugin: that of the
// positive answers to its name and type (a name the flood repeats), or,
// for ANY, of the prefix's ANY queries.
func (l *limiter) queryBan(now int64, p netip.Prefix, name string, qtype uint16) banState {
	if l.bans.Load() == 0 {
		return notBanned
	}
	b := l.checkBan(now, l.banKey(p, banScope{c: classResponse, name: name, qtype: qtype}))
	if b == notBanned && qtype == dns.TypeANY {
		b = l.checkBan(now, l.banKey(p, banScope{anyQueries: true}))
	}
	return b
}

// checkBan looks up the ban of key without claiming a slot: most buckets
// never have one.
func (l *limiter) checkBan(now int64, key uint64) banState {
	s, st := l.table.find(key)
	if s == nil {
		return notBanned
	}
	defer st.mu.Unlock()
	if s.flags&flagBanned == 0 || now >= s.mark {
		return notBanned
	}
	if s.flags&flagBanReplyDue != 0 {
		s.flags &^= flagBanReplyDue
		s.advance(now)
		return bannedTruncate
	}
	// Only a reading a whole second after the last reply's earns the next
	// one; a late reading (taken before that reply's) never does.
	if now-s.last >= nano {
		s.last = now
		return bannedTruncate
	}
	return bannedDrop
}

// noteLimited counts one over-limit decision against the ban of key and
// reports a ban it started, with its length and number.
func (l *limiter) noteLimited(now int64, key uint64) (banned bool, dur int64, n uint32, evicted bool) {
	s, st, _, evicted := l.table.acquire(key, now)
	defer st.mu.Unlock()
	if s.flags&flagBanned != 0 && now < s.mark {
		return false, 0, 0, evicted // already banned
	}
	// The level was zeroed when a ban started and left alone during it.
	level := math.Float64frombits(uint64(s.balance))
	now, elapsed := s.advance(now)
	if elapsed > 0 {
		level = max(0, level-float64(elapsed)/float64(l.ban.within)*float64(l.ban.limited))
	}
	level++
	if level < float64(l.ban.limited) {
		s.balance = int64(math.Float64bits(level))
		s.expires = max(s.expires, now+l.ban.within)
		return false, 0, 0, evicted
	}
	dur = l.ban.dur
	for i := uint32(0); i < s.slips && dur < maxBan; i++ {
		dur *= 2
	}
	dur = min(dur, maxBan)
	s.slips++
	s.flags |= flagBanned | flagBanReplyDue | flagBanSlot // the next query may get its truncated reply at once
	s.mark = now + dur
	s.balance = 0
	// Remember the ban for as long again after it ends, so a repeat
	// offender's next ban doubles; until then the slot outlives others.
	s.expires = now + 2*dur
	l.bans.Add(1)
	return true, dur, s.slips, evicted
}

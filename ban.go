package floodguard

import (
	"math"
	"net/netip"
)

// A ban slot holds, while its prefix is not banned, a leaky bucket of the
// prefix's over-limit decisions (balance, as float64 bits): each adds one,
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

// checkBan looks up prefix p's ban without claiming a slot: most clients
// never have one.
func (l *limiter) checkBan(now int64, p netip.Prefix) banState {
	s, st := l.table.find(l.key(banKind, p, 0, ""))
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

// noteLimited counts one over-limit decision against prefix p and reports
// a ban it started, with its length and number.
func (l *limiter) noteLimited(now int64, p netip.Prefix) (banned bool, dur int64, n uint32, evicted bool) {
	s, st, _, evicted := l.table.acquire(l.key(banKind, p, 0, ""), now)
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
	s.flags |= flagBanned | flagBanReplyDue // the next query may get its truncated reply at once
	s.mark = now + dur
	s.balance = 0
	// Remember the ban for as long again after it ends, so a repeat
	// offender's next ban doubles; until then the slot outlives others.
	s.expires = now + 2*dur
	return true, dur, s.slips, evicted
}

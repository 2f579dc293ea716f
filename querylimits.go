package floodguard

import (
	"net/netip"
)

// allowQuery takes a token from the token bucket qr of kind (queryKind per
// prefix, cookieQueryKind per address) of p. An over-limit query is
// dropped, or slipped per `slip`.
func (l *limiter) allowQuery(now int64, p netip.Prefix, kind byte, qr queryRate) (v verdict, evicted bool) {
	s, st, fresh, evicted := l.table.acquire(l.key(kind, p, 0, ""), now)
	full := qr.burst * nano
	if fresh {
		s.balance = full
	}
	// Bounding elapsed keeps elapsed*rate from overflowing: by then the
	// bucket is full anyway.
	at, elapsed := s.advance(now)
	elapsed = min(elapsed, full/qr.rate+nano)
	s.balance = min(full, s.balance+elapsed*qr.rate)
	if s.balance >= nano {
		s.balance -= nano
		s.slips = 0
	} else {
		v = verdictDrop
		if slipNow(s, l.slip) {
			v = verdictSlip
		}
	}
	s.expires = at + (full-s.balance)/qr.rate + 1 // full again: as good as a fresh slot
	st.mu.Unlock()
	return v, evicted
}

// anyTimestamps is how many ANY queries one slot remembers, and so the
// largest any-per-minute: ten 16-bit times fit in a slot's balance, mark
// and slips; flags hold the count, above the bits other kinds use.
const (
	anyTimestamps = 10
	anyCountShift = 8
)

// anyTick is the resolution of the any-per-minute window: 10 ms, so 16-bit
// times span 655 s, more than the 120 s a stored time can ever be old.
const anyTick = int64(10e6)

// allowAny reports whether prefix p may have another ANY query: at most
// any-per-minute of them are allowed in any sliding 60 s. Dropped queries
// do not count, so a steady flood gets exactly its allowance through.
func (l *limiter) allowAny(now int64, p netip.Prefix) (ok, evicted bool) {
	s, st, _, evicted := l.table.acquire(l.key(anyKind, p, 0, ""), now)
	defer st.mu.Unlock()
	times := unpackTimes(s)
	n := int(s.flags >> anyCountShift)
	now, elapsed := s.advance(now)
	if elapsed >= anyWindow {
		n = 0 // everything stored is out of the window
	}
	tick := uint16(now / anyTick)
	kept := 0
	for _, t := range times[:n] {
		if int64(tick-t) < anyWindow/anyTick {
			times[kept] = t
			kept++
		}
	}
	ok = kept < l.anyPerMinute
	if ok {
		times[kept] = tick
		kept++
	}
	packTimes(s, &times)
	s.flags = uint32(kept) << anyCountShift
	s.expires = now + anyWindow
	return ok, evicted
}

func unpackTimes(s *slot) (t [anyTimestamps]uint16) {
	for i := range 4 {
		t[i] = uint16(uint64(s.balance) >> (16 * i))
		t[4+i] = uint16(uint64(s.mark) >> (16 * i))
	}
	t[8], t[9] = uint16(s.slips), uint16(s.slips>>16)
	return t
}

func packTimes(s *slot, t *[anyTimestamps]uint16) {
	var b, m uint64
	for i := range 4 {
		b |= uint64(t[i]) << (16 * i)
		m |= uint64(t[4+i]) << (16 * i)
	}
	s.balance, s.mark = int64(b), int64(m)
	s.slips = uint32(t[8]) | uint32(t[9])<<16
}

package floodguard

import (
	"math"
	"net/netip"
	"sync/atomic"
)

// nano is the credit one response costs: balances count nano-responses so
// that credit accrues exactly per nanosecond at integer rates.
const nano = int64(1e9)

// verdict is what the limiter decided for one response.
type verdict uint8

const (
	verdictSend verdict = iota
	verdictDrop
	verdictSlip // send a truncated (TC=1) copy so a real client retries over TCP
)

// limits are the response rate limits, in BIND's terms.
type limits struct {
	perSecond [numClasses]int64 // responses per second by class (classAll: all-per-second); 0 = unlimited
	window    int64             // seconds of debt a bucket can accumulate
	slip      uint32            // every slip-th over-limit response is slipped; 0 never
}

// Key kinds of the per-prefix slots, set apart from the response classes.
const (
	clientKind      = byte(numClasses) + iota // all-per-second and the limiting state
	queryKind                                 // queries-per-second token bucket
	cookieQueryKind                           // cookie-queries-per-second token bucket, per address
	anyKind                                   // any-per-minute window
	anyBanKind                                // ban of a prefix's ANY queries (any-per-minute)
	operatorBanKind                           // the one truncated reply a second of a prefix the operator banned
	banKind                                   // bans of response buckets: banKind + the bucket's class
)

// limiter applies response rate limiting, query limits and bans over one
// table.
type limiter struct {
	limits
	qps          queryRate // per prefix
	cookieQPS    queryRate // per address, for clients with a valid server cookie
	anyPerMinute int
	ban          banConfig
	table        *table
	// bans is about how many bans are in force: raised as one starts,
	// recounted by every sweep. While it is 0, as nearly always, no query
	// pays for a ban lookup.
	bans atomic.Int64
}

// decision is the limiter's answer for one response.
type decision struct {
	verdict   verdict
	by        class // the class whose limit was exceeded, when verdict != verdictSend
	evictions int   // live slots overwritten to make room
	started   bool  // the prefix has just started being limited
	clientKey uint64
	banKey    uint64 // the over-limit bucket's ban (0: none, as for all-per-second)
}

// decide debits the buckets a response from prefix p counts against and
// says whether to send, drop or slip it. It takes one or two set locks and
// does not allocate.
func (l *limiter) decide(now int64, p netip.Prefix, c class, name string, qtype uint16) decision {
	var d decision
	if rate := l.perSecond[c]; rate > 0 {
		s, st, fresh, evicted := l.table.acquire(l.key(byte(c), p, qtype, name), now)
		if fresh {
			s.balance = rate * nano
		}
		if evicted {
			d.evictions++
		}
		ok := debit(s, rate, l.window, now)
		if ok {
			s.slips = 0 // the next over-limit episode starts with a slip again
		}
		s.expires = max(s.expires, s.last+(l.window+1)*nano) // by then any debt is repaid
		slip := false
		if !ok {
			d.verdict, d.by = verdictDrop, c
			slip = c != classError && slipNow(s, l.slip)
		}
		st.mu.Unlock()
		if !ok && l.ban.limited > 0 {
			// A banned bucket slips no more: one truncated reply a second.
			d.banKey = l.banKey(p, banScope{c: c, name: name, qtype: qtype})
			if l.bans.Load() > 0 {
				switch l.checkBan(now, d.banKey) {
				case bannedDrop:
					slip = false
				case bannedTruncate:
					slip = true
				}
			}
		}
		if slip {
			d.verdict = verdictSlip
		}
	}
	allRate := l.perSecond[classAll]
	if allRate == 0 && d.verdict == verdictSend {
		return d
	}
	d.clientKey = l.key(clientKind, p, 0, "")
	s, st, fresh, evicted := l.table.acquire(d.clientKey, now)
	if fresh {
		s.balance = allRate * nano
	}
	if evicted {
		d.evictions++
	}
	if allRate > 0 {
		if !debit(s, allRate, l.window, now) {
			// all-per-second overrides the class verdict and never slips.
			// It is name-blind, so it bans nothing.
			d.verdict, d.by, d.banKey = verdictDrop, classAll, 0
		}
	} else {
		s.advance(now)
	}
	s.expires = max(s.expires, s.last+(l.window+1)*nano)
	if d.verdict != verdictSend {
		s.mark = max(s.mark, now)
		if s.flags&flagLimiting == 0 {
			s.flags |= flagLimiting
			s.slips = 0
			d.started = true
		}
		if s.slips < math.MaxUint32 {
			s.slips++ // a client slot's slips count its episode's limited responses
		}
	}
	st.mu.Unlock()
	return d
}

// debit charges one response to s at rate responses per second and reports
// whether it is within the limit. Credit is capped at one second's worth and
// debt at window seconds' worth, as in BIND.
func debit(s *slot, rate, window, now int64) bool {
	_, elapsed := s.advance(now)
	// Enough to repay any debt; also keeps elapsed*rate from overflowing
	// after a long idle spell.
	elapsed = min(elapsed, (window+1)*nano)
	s.balance += elapsed * rate
	if s.balance > rate*nano {
		s.balance = rate * nano
	}
	s.balance -= nano
	if floor := -window * rate * nano; s.balance < floor {
		s.balance = floor
	}
	return s.balance >= 0
}

// slipNow counts an over-limit response on s: the first one slips, then
// every slip-th.
func slipNow(s *slot, slip uint32) bool {
	if slip == 0 {
		return false
	}
	n := s.slips
	s.slips++
	if s.slips >= slip {
		s.slips = 0
	}
	return n == 0
}

// keyMax bounds the hashed key; longer names share their first 255 bytes'
// bucket, which can only limit more, never less.
const keyMax = 20 + 255

// key hashes a bucket key: kind, prefix, type and the lower-cased name.
// Keys without a name (client, ban, query and ANY slots) take a 20-byte
// buffer, so only response buckets pay for the name's room.
func (l *limiter) key(kind byte, p netip.Prefix, qtype uint16, name string) uint64 {
	if name == "" {
		var b [20]byte
		putKeyHeader(b[:], kind, p, qtype)
		return l.table.hash(b[:])
	}
	var b [keyMax]byte
	putKeyHeader(b[:], kind, p, qtype)
	n := 20 + copy(b[20:], name)
	for i := 20; i < n; i++ {
		if c := b[i]; c-'A' < 26 { // ASCII upper case only, as DNS compares names
			b[i] = c + ('a' - 'A')
		}
	}
	return l.table.hash(b[:n])
}

// putKeyHeader writes a key's fixed 20 bytes: kind, prefix length, the
// 16-byte address (IPv4 as mapped IPv6) and the type.
func putKeyHeader(b []byte, kind byte, p netip.Prefix, qtype uint16) {
	b[0] = kind
	b[1] = byte(p.Bits())
	a := p.Addr().As16()
	copy(b[2:18], a[:])
	b[18], b[19] = byte(qtype>>8), byte(qtype)
}

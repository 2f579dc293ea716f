package floodguard

import (
	"hash/maphash"
	"sync"
)

// setWays is the associativity of the table: a key can live in any of the
// ways of the one set its hash picks. Eight ways keep a heavy hitter (always
// the most recently used) resident while random keys churn through the rest.
const setWays = 8

// slot is one rate-limit bucket. The table stores only a 64-bit keyed hash
// of the bucket key, never the key itself, so every slot has the same size
// and the table's memory is fixed when it is made.
type slot struct {
	key     uint64 // keyed hash of the bucket key; 0 marks an empty slot
	last    int64  // clock reading (ns) of the last update
	expires int64  // clock reading from which the slot carries no state
	balance int64  // credit in nano-units; its meaning depends on the slot's kind
	mark    int64  // a second time, by kind: last over-limit response, ban end
	slips   uint32 // by kind: over-limit responses since the last slipped one; bans so far; a client's limited responses this episode
	flags   uint32
}

const (
	flagLimiting    uint32 = 1 << iota // client slot: its prefix is being limited (start was logged)
	flagBanned                         // ban slot: its prefix is banned (ban was logged)
	flagBanReplyDue                    // ban slot: the ban's first truncated reply is still to be sent
	flagBanSlot                        // ban slot that has banned: kept while it remembers the bans, for the bans roster
)

// set is a group of ways sharing one lock. Locks are per set, so two
// queries contend only when their keys hash to the same set.
type set struct {
	mu    sync.Mutex
	slots [setWays]slot
}

// table is a fixed-size, set-associative store of rate-limit buckets.
// A full set reuses the way closest to carrying no state: the table never
// grows and never refuses a key (refusing would mean not limiting it).
type table struct {
	sets []set
	seed maphash.Seed
}

// newTable makes a table of at most size slots (rounded down to whole sets).
func newTable(size int) *table {
	n := size / setWays
	if n < 1 {
		n = 1
	}
	t := &table{seed: maphash.MakeSeed()}
	t.sets = allocSets(t, n)
	return t
}

// capacity is the number of slots.
func (t *table) capacity() int { return len(t.sets) * setWays }

// hash is the keyed hash of a bucket key. The random seed keeps an attacker
// from choosing keys that pile into one set.
func (t *table) hash(key []byte) uint64 {
	h := maphash.Bytes(t.seed, key)
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	return h
}

// setFor maps a hash onto a set by multiplying its top 32 bits by the set
// count (a division-free range reduction, so any set count works).
func (t *table) setFor(h uint64) *set {
	return &t.sets[((h>>32)*uint64(len(t.sets)))>>32]
}

// acquire returns the slot for hash h with its set locked; the caller must
// unlock st.mu and keep the slot's expires up to date. A slot that was just
// (re)assigned to h comes back zeroed but for its key and times, with fresh
// set. evicted reports that a live slot of another key was overwritten.
//
// The way given up is an empty one, else the one that expires first: an
// idle one if any; never a client that keeps sending (each of its
// responses pushes its expiry out) nor an active ban (it expires when the
// ban and its memory do) while a way that expires sooner is there.
func (t *table) acquire(h uint64, now int64) (s *slot, st *set, fresh, evicted bool) {
	st = t.setFor(h)
	st.mu.Lock()
	victim := -1
	for i := range st.slots {
		sl := &st.slots[i]
		if sl.key == h {
			return sl, st, false, false
		}
		if sl.key == 0 {
			if victim < 0 || st.slots[victim].key != 0 {
				victim = i
			}
			continue
		}
		if victim < 0 || (st.slots[victim].key != 0 && sl.expires < st.slots[victim].expires) {
			victim = i
		}
	}
	s = &st.slots[victim]
	evicted = s.key != 0 && !idle(s, now)
	*s = slot{key: h, last: now, expires: now}
	return s, st, true, evicted
}

// advance moves s's clock to now and returns the time that elapsed since
// its last update. Every query reads the clock before it takes its set's
// lock, so on several cores a later reading can reach a slot before an
// earlier one: the late one counts at the slot's time (nothing elapsed),
// and a slot's time never goes back, so no interval is counted twice and
// no window restarts. at is the time the update counts at.
func (s *slot) advance(now int64) (at, elapsed int64) {
	if now <= s.last {
		return s.last, 0
	}
	elapsed, s.last = now-s.last, now
	return now, elapsed
}

// idle reports whether s carries no state any more.
func idle(s *slot, now int64) bool { return now >= s.expires }

// sweep visits every occupied slot under its set's lock, clearing the slots
// that have gone idle after visit has seen them, and returns how many stay live.
func (t *table) sweep(now int64, visit func(s *slot)) (live int) {
	for i := range t.sets {
		st := &t.sets[i]
		st.mu.Lock()
		for j := range st.slots {
			s := &st.slots[j]
			if s.key == 0 {
				continue
			}
			visit(s)
			if idle(s, now) {
				*s = slot{}
				continue
			}
			live++
		}
		st.mu.Unlock()
	}
	return live
}

// find returns the slot of hash h with its set locked, or nil (and nothing
// locked) when h has no slot. Checks that must not claim a slot for every
// client, such as the ban check on each query, use it.
func (t *table) find(h uint64) (*slot, *set) {
	st := t.setFor(h)
	st.mu.Lock()
	for i := range st.slots {
		if st.slots[i].key == h {
			return &st.slots[i], st
		}
	}
	st.mu.Unlock()
	return nil, nil
}

// flagged reports whether hash h has a slot with flag set.
func (t *table) flagged(h uint64, flag uint32) bool {
	s, st := t.find(h)
	if s == nil {
		return false
	}
	defer st.mu.Unlock()
	return s.flags&flag != 0
}

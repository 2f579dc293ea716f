package floodguard

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxRostered bounds each roster: the prefixes the view API can list as
// limited, and the bans it can list and lift.
const maxRostered = 4096

// roster remembers, for the view API, which prefix and scope each table
// slot of interest belongs to: the table itself keeps only hashed keys. An
// entry is added once per episode (a prefix starts being limited, a ban
// starts), never per query, and the sweep takes it out again, so the query
// path never touches the roster's lock but at those starts.
type roster struct {
	mu      sync.Mutex
	entries map[uint64]rosterEntry // slot key -> what the slot is about
	seen    []rosteredSlot         // prune's reusable copy of the entries
	full    atomic.Int64           // starts not listed because the roster was full
}

// rosterEntry is what a slot is about: a prefix, the scope (the class,
// name and type that tipped a limit, or what a ban covers) and since when.
type rosterEntry struct {
	prefix netip.Prefix
	scope  banScope
	since  int64 // the state's clock, ns
}

func newRoster() *roster { return &roster{entries: make(map[uint64]rosterEntry)} }

// add lists key's entry (again: a repeat ban restarts its since).
func (r *roster) add(key uint64, e rosterEntry) {
	r.mu.Lock()
	if _, ok := r.entries[key]; ok || len(r.entries) < maxRostered {
		r.entries[key] = e
	} else {
		r.full.Add(1)
	}
	r.mu.Unlock()
}

// remove forgets keys.
func (r *roster) remove(keys []uint64) {
	if len(keys) == 0 {
		return
	}
	r.mu.Lock()
	for _, k := range keys {
		delete(r.entries, k)
	}
	r.mu.Unlock()
}

// prune forgets the entries whose slot no longer carries what they list
// (keep reports whether it does). keep takes the slot's set lock, so it runs
// without the roster's; an entry listed again meanwhile (a new episode on
// the same slot) stays.
func (r *roster) prune(keep func(key uint64) bool) {
	r.mu.Lock()
	r.seen = r.seen[:0]
	for k, e := range r.entries {
		r.seen = append(r.seen, rosteredSlot{key: k, rosterEntry: e})
	}
	seen := r.seen
	r.mu.Unlock()
	gone := seen[:0]
	for _, e := range seen {
		if !keep(e.key) {
			gone = append(gone, e)
		}
	}
	r.mu.Lock()
	for _, e := range gone {
		if r.entries[e.key] == e.rosterEntry {
			delete(r.entries, e.key)
		}
	}
	r.mu.Unlock()
}

// rosteredSlot is a roster entry with its key.
type rosteredSlot struct {
	key uint64
	rosterEntry
}

// snapshot copies the roster, so listings read the table without holding
// the roster's lock.
func (r *roster) snapshot() []rosteredSlot {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rosteredSlot, 0, len(r.entries))
	for k, e := range r.entries {
		out = append(out, rosteredSlot{key: k, rosterEntry: e})
	}
	return out
}

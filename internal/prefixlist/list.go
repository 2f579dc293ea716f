package prefixlist

import (
	"net/netip"
	"slices"
	"time"
)

// Entry is one line of a list file.
type Entry struct {
	Prefix  netip.Prefix
	Expires time.Time // zero: never
	Comment string
	Line    int
}

// live reports whether e still applies at now: up to and including Expires.
func (e *Entry) live(now time.Time) bool {
	return e.Expires.IsZero() || !now.After(e.Expires)
}

// List is immutable after Parse; safe for concurrent lookups.
type List struct {
	entries []Entry // sorted by prefix
	v4, v6  index
}

// index finds entries of one address family by exact prefix.
type index struct {
	bits     []int                // prefix lengths present, longest first
	byPrefix map[netip.Prefix]int // into List.entries
}

// newList sorts the entries and indexes them by family and length.
func newList(m map[netip.Prefix]Entry) *List {
	l := &List{entries: make([]Entry, 0, len(m))}
	for _, e := range m {
		l.entries = append(l.entries, e)
	}
	slices.SortFunc(l.entries, func(a, b Entry) int { return comparePrefix(a.Prefix, b.Prefix) })
	for i, e := range l.entries {
		x := &l.v6
		if e.Prefix.Addr().Is4() {
			x = &l.v4
		}
		if x.byPrefix == nil {
			x.byPrefix = make(map[netip.Prefix]int)
		}
		x.byPrefix[e.Prefix] = i
		if !slices.Contains(x.bits, e.Prefix.Bits()) {
			x.bits = append(x.bits, e.Prefix.Bits())
		}
	}
	for _, x := range []*index{&l.v4, &l.v6} {
		slices.Sort(x.bits)
		slices.Reverse(x.bits)
	}
	return l
}

// comparePrefix orders by address (IPv4 first), then by length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// Lookup returns the most specific (longest) prefix that contains addr and
// is live at now. A nil List or an invalid address finds nothing. An
// IPv4-mapped IPv6 address is looked up as IPv4. Lookup does not allocate.
func (l *List) Lookup(addr netip.Addr, now time.Time) (Entry, bool) {
	if l == nil || !addr.IsValid() {
		return Entry{}, false
	}
	addr = addr.Unmap()
	x := &l.v6
	if addr.Is4() {
		x = &l.v4
	}
	for _, bits := range x.bits {
		p, _ := addr.Prefix(bits) // drops any zone
		i, ok := x.byPrefix[p]
		if !ok {
			continue
		}
		// An expired entry does not hide a shorter live one.
		if e := &l.entries[i]; e.live(now) {
			return *e, true
		}
	}
	return Entry{}, false
}

// Contains reports whether a live prefix of the list contains addr.
func (l *List) Contains(addr netip.Addr, now time.Time) bool {
	_, ok := l.Lookup(addr, now)
	return ok
}

// Len returns the number of entries, expired or not.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Entries returns a copy of the entries, sorted by prefix (address, then
// length), for listing.
func (l *List) Entries() []Entry {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

// Live returns the number of entries not expired at now.
func (l *List) Live(now time.Time) int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.entries {
		if l.entries[i].live(now) {
			n++
		}
	}
	return n
}

// New makes a list of entries that did not come from a file (bans an
// operator sets by other means), masking each prefix; a later entry of the
// same prefix wins.
func New(entries []Entry) *List {
	m := make(map[netip.Prefix]Entry, len(entries))
	for _, e := range entries {
		e.Prefix = e.Prefix.Masked()
		m[e.Prefix] = e
	}
	return newList(m)
}

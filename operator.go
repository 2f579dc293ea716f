package floodguard

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodguard/floodguard/internal/prefixlist"
)

// maxManualBans bounds the bans set through the API, per state.
const maxManualBans = 4096

// operatorLists are the prefixes an operator bans or trusts by hand: bans
// set through the API (per instance, gone at a restart) and the deny and
// allow files (the durable, fleet-wide way: a ConfigMap reaches every
// replica). Queries read immutable lists through atomic pointers, so the
// query path takes no lock; only a change builds a new list.
type operatorLists struct {
	mu     sync.Mutex // serialises changes to manual
	manual map[netip.Prefix]manualBan

	manualList atomic.Pointer[prefixlist.List] // nil while there are none
	denyList   atomic.Pointer[prefixlist.List]
	allowList  atomic.Pointer[prefixlist.List]

	denyFile, allowFile *prefixlist.File // nil unless configured
}

// manualBan is a ban set through the API.
type manualBan struct {
	since, until time.Time
	times        int // bans of this prefix through the API while it stayed listed
}

// operatorBan says which of the operator's lists bans a client.
type operatorBan uint8

const (
	notDenied operatorBan = iota
	deniedByAPI
	deniedByFile
)

// denied reports whether addr is banned by the operator at wall time now.
func (o *operatorLists) denied(addr netip.Addr, now time.Time) operatorBan {
	if l := o.manualList.Load(); l != nil && l.Contains(addr, now) {
		return deniedByAPI
	}
	if l := o.denyList.Load(); l != nil && l.Contains(addr, now) {
		return deniedByFile
	}
	return notDenied
}

// allowed reports whether addr is in the allow file at wall time now.
func (o *operatorLists) allowed(addr netip.Addr, now time.Time) bool {
	l := o.allowList.Load()
	return l != nil && l.Contains(addr, now)
}

// anyAllowed reports whether an allow list is loaded, so that without one
// no query reads the wall clock for it.
func (o *operatorLists) anyAllowed() bool { return o.allowList.Load() != nil }

// anyDenied reports whether any operator ban may apply.
func (o *operatorLists) anyDenied() bool {
	return o.manualList.Load() != nil || o.denyList.Load() != nil
}

// ban bans p through the API from now for d, replacing an earlier ban of
// p. It reports whether p was newly banned, or false and an error when the
// table of manual bans is full.
func (o *operatorLists) ban(p netip.Prefix, now time.Time, d time.Duration) (manualBan, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireManual(now)
	old, had := o.manual[p]
	if !had && len(o.manual) >= maxManualBans {
		return manualBan{}, false, errManualFull
	}
	b := manualBan{since: now, until: now.Add(d), times: old.times + 1}
	if o.manual == nil {
		o.manual = make(map[netip.Prefix]manualBan)
	}
	o.manual[p] = b
	o.publishManual()
	return b, !had, nil
}

// unban lifts the API bans of every prefix within p, and reports how many.
func (o *operatorLists) unban(p netip.Prefix, now time.Time) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireManual(now)
	n := 0
	for q := range o.manual {
		if within(q, p) {
			delete(o.manual, q)
			n++
		}
	}
	if n > 0 {
		o.publishManual()
	}
	return n
}

// manualBans lists the API bans in force at now, by prefix.
func (o *operatorLists) manualBans(now time.Time) []manualEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]manualEntry, 0, len(o.manual))
	for p, b := range o.manual {
		if now.Before(b.until) {
			out = append(out, manualEntry{p, b})
		}
	}
	slices.SortFunc(out, func(a, b manualEntry) int { return comparePrefixes(a.prefix, b.prefix) })
	return out
}

type manualEntry struct {
	prefix netip.Prefix
	manualBan
}

// expire forgets API bans that ended by now, so that queries stop looking
// them up; the sweeper calls it every second.
func (o *operatorLists) expire(now time.Time) {
	if o.manualList.Load() == nil {
		return
	}
	o.mu.Lock()
	o.expireManual(now)
	o.mu.Unlock()
}

// canBan reports whether p can be banned through the API: the table of
// manual bans has room, or p is in it already.
func (o *operatorLists) canBan(p netip.Prefix, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireManual(now)
	_, had := o.manual[p]
	return had || len(o.manual) < maxManualBans
}

// expireManual forgets API bans that ended; the caller holds mu.
func (o *operatorLists) expireManual(now time.Time) {
	n := len(o.manual)
	for p, b := range o.manual {
		if !now.Before(b.until) {
			delete(o.manual, p)
		}
	}
	if len(o.manual) != n {
		o.publishManual()
	}
}

// publishManual rebuilds the lookup list of the API bans; the caller holds mu.
func (o *operatorLists) publishManual() {
	if len(o.manual) == 0 {
		o.manualList.Store(nil)
		return
	}
	entries := make([]prefixlist.Entry, 0, len(o.manual))
	for p, b := range o.manual {
		entries = append(entries, prefixlist.Entry{Prefix: p, Expires: b.until})
	}
	o.manualList.Store(prefixlist.New(entries))
}

// within reports whether prefix q lies inside p.
func within(q, p netip.Prefix) bool {
	return q.Bits() >= p.Bits() && p.Contains(q.Addr())
}

// comparePrefixes orders prefixes by address, then length.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// listFile is one of the operator's list files and where its list goes.
type listFile struct {
	name string // "deny" or "allow", as metrics and logs name it
	file *prefixlist.File
	into *atomic.Pointer[prefixlist.List]
}

func (o *operatorLists) files() []listFile {
	var out []listFile
	if o.denyFile != nil {
		out = append(out, listFile{"deny", o.denyFile, &o.denyList})
	}
	if o.allowFile != nil {
		out = append(out, listFile{"allow", o.allowFile, &o.allowList})
	}
	return out
}

// openLists loads the list files cfg names. Setup has read them once
// already; should one have broken in between, its list starts empty and
// the sweeper logs it.
func (st *state) openLists(cfg config) {
	if cfg.denyFile != "" {
		st.ops.denyFile = prefixlist.NewFile(cfg.denyFile)
	}
	if cfg.allowFile != "" {
		st.ops.allowFile = prefixlist.NewFile(cfg.allowFile)
	}
	st.reloadLists()
}

// reloadLists re-reads the list files whose content changed. A broken file
// keeps the list in force; its error, with the line, is logged once, until
// the content changes again.
func (st *state) reloadLists() {
	for _, lf := range st.ops.files() {
		l, changed, err := lf.file.Reload()
		if err != nil {
			log.Errorf("%s-file: keeping the list in force (%d entries): %v", lf.name, listLen(lf.into.Load()), err)
			st.listMetrics.reloaded(lf.name, false, 0)
			continue
		}
		if !changed {
			continue
		}
		if l.Len() == 0 {
			l = nil // nothing to look up: queries skip it
		}
		lf.into.Store(l)
		log.Infof("%s-file: %d entries from %s", lf.name, listLen(l), lf.file.Path())
		st.listMetrics.reloaded(lf.name, true, listLen(l))
	}
}

func listLen(l *prefixlist.List) int {
	if l == nil {
		return 0
	}
	return l.Len()
}

// Package floodguard is a CoreDNS plugin that keeps a DNS server from being
// used as a reflector and limits floods of responses per client prefix.
package floodguard

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// Floodguard is the plugin handler, one per server block and reload. Its
// rate-limit state lives in a *state that an unchanged block's next
// instance adopts across a reload.
type Floodguard struct {
	Next plugin.Handler

	cfg      config
	allZones bool // "." is among the zones: every name is handled
	*state

	managed  bool        // made by setup: caddy starts and stops it, and it holds its state
	holding  atomic.Bool // the hold is taken (from the first query on), or none is wanted (not managed)
	shutdown bool        // OnShutdown ran; guarded by registryMu
	apiOn    bool        // shown on its API listener; guarded by apiMu
}

// hold takes the instance's hold on its state at its first query. Holding
// from the first query rather than from OnStartup is what keeps a failed
// reload from leaking: caddy runs OnStartup before it listens, and when a
// listener then fails it never calls that instance's OnShutdown; but such
// an instance never serves a query, so it never holds anything.
func (f *Floodguard) hold() {
	if !f.holding.Load() {
		f.takeHold()
	}
}

func (f *Floodguard) takeHold() {
	if !f.managed {
		// Made outside setup, as in tests: no registry, no sweeper.
		f.holding.Store(true)
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if f.holding.Load() || f.shutdown {
		return // a straggler after shutdown must not start a sweeper again
	}
	f.acquire()
	f.holding.Store(true)
}

// onShutdown lets go of the state, once, if the instance held it.
func (f *Floodguard) onShutdown() error {
	registryMu.Lock()
	held := !f.shutdown && f.holding.Load()
	f.shutdown = true
	registryMu.Unlock()
	if held {
		f.release()
	}
	return nil
}

func newFloodguard(cfg config, st *state) *Floodguard {
	f := &Floodguard{cfg: cfg, state: st}
	for _, z := range cfg.zones {
		if z == "." {
			f.allZones = true
		}
	}
	return f
}

// Name implements plugin.Handler.
func (f *Floodguard) Name() string { return pluginName }

// processStart anchors the monotonic clock.
var processStart = time.Now()

// monotonicNow is the production clock: nanoseconds on the monotonic clock,
// immune to wall-clock steps.
func monotonicNow() int64 { return int64(time.Since(processStart)) }

// exemptClient reports whether addr is in exempt-clients.
func (f *Floodguard) exemptClient(addr netip.Addr) bool {
	for _, p := range f.cfg.exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// allowed reports whether addr, q's client, is in the allow-file.
func (f *Floodguard) allowed(q *inflight, addr netip.Addr) bool {
	q.clock(f)
	return f.ops.allowed(addr, f.wallAt(q.now))
}

// logLimiting logs that prefix p started being limited, naming what tipped
// it, and lists it for the view API.
func (f *Floodguard) logLimiting(key uint64, p netip.Prefix, c class, name string, qtype uint16, now int64) {
	f.limiting.add(key, rosterEntry{prefix: p, scope: banScope{c: c, name: name, qtype: qtype}, since: now})
	verb := "limiting"
	if f.cfg.logOnly {
		verb = "would limit"
	}
	switch c {
	case classError, classAll:
		f.limits.started(key, p, now, "%s responses to %s (%s)", verb, prefixText(p), c)
	case classResponse:
		f.limits.started(key, p, now, "%s responses to %s (%s %s %s)", verb, prefixText(p), c, name, dns.Type(qtype))
	default:
		f.limits.started(key, p, now, "%s responses to %s (%s %s)", verb, prefixText(p), c, name)
	}
}

// logBan logs a ban of prefix p's scope s for dur, the n-th in a row, and
// lists it for the view API.
func (f *Floodguard) logBan(key uint64, p netip.Prefix, s banScope, dur int64, n uint32, now int64) {
	f.banning.add(key, rosterEntry{prefix: p, scope: s, since: now})
	verb := "banned"
	if f.cfg.logOnly {
		verb = "would ban"
	}
	what := "ANY queries"
	switch {
	case s.anyQueries:
	case s.c == classResponse:
		what = fmt.Sprintf("%s %s %s", s.c, s.name, dns.Type(s.qtype))
	case s.c == classError:
		what = "errors"
	default:
		what = fmt.Sprintf("%s %s", s.c, s.name)
	}
	f.bans.started(key, p, now, "%s %s (%s) for %s (ban %d)", verb, prefixText(p), what, time.Duration(dur), n)
	if rec := f.replay.recorder(); rec != nil {
		rec.Banned(p, what, now, now+dur)
	}
}

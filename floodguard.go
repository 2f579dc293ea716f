// Package floodguard is a CoreDNS plugin that keeps a DNS server from being
// used as a reflector and limits floods of responses per client prefix.
package floodguard

import (
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

	started, released atomic.Bool // each instance holds its state at most once
}

// onStartup takes a hold on the state (starting its sweeper if first).
func (f *Floodguard) onStartup() error {
	if f.started.CompareAndSwap(false, true) {
		return f.acquire()
	}
	return nil
}

// onShutdown lets go of the state, once, and only if it was held.
func (f *Floodguard) onShutdown() error {
	if f.started.Load() && f.released.CompareAndSwap(false, true) {
		return f.release()
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

// exempt reports whether addr is in exempt-clients.
func (f *Floodguard) exempt(addr netip.Addr) bool {
	for _, p := range f.cfg.exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// logLimiting logs that prefix p started being limited, naming what tipped it.
func (f *Floodguard) logLimiting(key uint64, p netip.Prefix, c class, name string, qtype uint16, now int64) {
	verb := "limiting"
	if f.cfg.logOnly {
		verb = "would limit"
	}
	switch c {
	case classError, classAll:
		f.limits.started(key, p, now, "%s responses to %s (%s)", verb, p, c)
	case classResponse:
		f.limits.started(key, p, now, "%s responses to %s (%s %s %s)", verb, p, c, name, dns.Type(qtype))
	default:
		f.limits.started(key, p, now, "%s responses to %s (%s %s)", verb, p, c, name)
	}
}

// logBan logs a ban of prefix p for dur, the n-th in a row.
func (f *Floodguard) logBan(p netip.Prefix, dur int64, n uint32, now int64) {
	verb := "banned"
	if f.cfg.logOnly {
		verb = "would ban"
	}
	f.bans.started(f.lim.key(banKind, p, 0, ""), p, now, "%s %s for %s (ban %d)", verb, p, time.Duration(dur), n)
}

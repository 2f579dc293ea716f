// Package floodguard is a CoreDNS plugin that keeps a DNS server from being
// used as a reflector and limits floods of responses per client prefix.
package floodguard

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
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

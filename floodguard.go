// Package floodguard is a CoreDNS plugin that keeps a DNS server from being
// used as a reflector and limits floods of responses per client prefix.
package floodguard

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
)

// Floodguard is the plugin handler. One is made per server block (and per
// reload); its table and counters are its own.
type Floodguard struct {
	Next plugin.Handler

	cfg      config
	allZones bool // "." is among the zones: every name is handled
	lim      limiter
	log      *limitLog
	metrics  metricsCache
	now      func() int64 // clock in ns; injectable so tests of rates are exact

	started  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	stopped  []uint64 // sweep's reusable list of prefixes that stopped being limited
}

func newFloodguard(cfg config, now func() int64) *Floodguard {
	f := &Floodguard{
		cfg:  cfg,
		lim:  limiter{limits: cfg.limits, table: newTable(cfg.maxTableSize, (cfg.limits.window+1)*nano)},
		log:  newLimitLog(cfg.logOnly),
		now:  now,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
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

// sweepInterval is how often the table is swept for stopped limits, idle
// slots and the entries gauge.
const sweepInterval = time.Second

func (f *Floodguard) start() error {
	if !f.started.CompareAndSwap(false, true) {
		return nil
	}
	go func() {
		defer close(f.done)
		t := time.NewTicker(sweepInterval)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				f.sweep(f.now())
			}
		}
	}()
	return nil
}

func (f *Floodguard) shutdown() error {
	f.stopOnce.Do(func() { close(f.stop) })
	if f.started.Load() {
		<-f.done
	}
	return nil
}

// sweep logs prefixes that stopped being limited, ages out idle slots and
// publishes the live entry count.
func (f *Floodguard) sweep(now int64) {
	quiet := f.lim.window * nano
	f.stopped = f.stopped[:0]
	live := f.lim.table.sweep(now, func(s *slot) {
		if s.flags&flagLimiting != 0 && now-s.mark >= quiet {
			s.flags &^= flagLimiting
			f.stopped = append(f.stopped, s.key)
		}
	})
	f.log.tick(f.stopped, now)
	for _, m := range f.metrics.all() {
		m.entries.Set(float64(live))
	}
}

// exempt reports whether addr is in exempt-clients.
func (f *Floodguard) exempt(addr netip.Addr) bool {
	for _, p := range f.cfg.exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

package floodguard

import (
	"errors"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Replay mode is how cmd/fgreplay takes a captured attack through the
// plugin chain a Corefile builds, on the capture's own time: the instances
// set up while it is on read the clock the capture's timestamps drive, run
// no sweeper goroutine (the replay sweeps once a capture second), and tell
// a recorder every decision, exactly as the metrics count them. It costs
// live traffic nothing: the recorder hooks into the counters the metrics
// resolve, so no query path checks for it.

// ReplayRecorder hears floodguard's decisions during a replay.
type ReplayRecorder interface {
	// Request is a decision on a query before the next plugin saw it,
	// as requests_total counts it (action and reason are its labels).
	Request(action, reason string)
	// Response is a decision on a UDP response, as responses_total
	// counts it.
	Response(action string)
	// Evicted is a live table entry overwritten (table_evictions_total).
	Evicted(n int)
	// Banned is a ban of prefix p from start to end, on the replay clock
	// (ns since the capture's first packet); what is what it covers.
	Banned(p netip.Prefix, what string, start, end int64)
}

// ReplayOptions configure a replay.
type ReplayOptions struct {
	// Now is the capture's time, in ns since its first packet. It must
	// never go back.
	Now func() int64
	// Start is the time of day of the capture's first packet: the wall
	// clock of cookie timestamps and list expiries.
	Start time.Time
	// Recorder hears every decision; nil for none.
	Recorder ReplayRecorder
	// TableSize, when above 0, replaces every block's max-table-size.
	TableSize int
}

// Replay is replay mode, on until Close.
type Replay struct {
	opts              ReplayOptions
	v4Bits, v6Bits    int      // the first block's client prefix lengths
	states            []*state // the blocks set up during the replay; never in the live registry
	peakLive, maxSize int
}

// replaying is the replay in progress, read by setup; guarded by
// registryMu.
var replaying *Replay

// StartReplay turns replay mode on for the instances set up from now on,
// until Close. Only a process that serves no live traffic may call it:
// a reload while it is on would set up replay instances. Live instances
// already running are not touched: replay states have clocks of their
// own and never enter the registry live ones share. One replay runs at
// a time.
func StartReplay(opts ReplayOptions) (*Replay, error) {
	if opts.Now == nil {
		return nil, errors.New("floodguard: a replay needs a clock")
	}
	if opts.TableSize != 0 && (opts.TableSize < minTableSize || opts.TableSize > maxTableSize) {
		return nil, errors.New("floodguard: the replay's table size is out of range")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if replaying != nil {
		return nil, errors.New("floodguard: a replay is already running")
	}
	r := &Replay{opts: opts}
	replaying = r
	return r, nil
}

// wallNow is the capture's time of day, in seconds.
func (r *Replay) wallNow() int64 { return (r.opts.Start.UnixNano() + r.opts.Now()) / nano }

// ReplayTable is the rate-limit tables' state at a sweep, over every
// floodguard block.
type ReplayTable struct {
	Live     int // live entries now
	Peak     int // the most live entries any one block had at a sweep
	Capacity int // the largest block's slots
}

// Sweep does what the sweeper goroutine does once a second in production
// (ends limits and bans, ages idle entries out, re-reads list files), at
// the replay clock's time, and reports the tables.
func (r *Replay) Sweep() ReplayTable {
	registryMu.Lock()
	states := append([]*state(nil), r.states...)
	registryMu.Unlock()
	var t ReplayTable
	for _, st := range states {
		live := st.sweep(st.now())
		t.Live += live
		r.peakLive = max(r.peakLive, live)
		r.maxSize = max(r.maxSize, st.lim.table.capacity())
	}
	t.Peak, t.Capacity = r.peakLive, r.maxSize
	return t
}

// PrefixLengths are the lengths of the client prefixes floodguard groups
// clients by (ipv4-prefix, ipv6-prefix) in the first block set up, or the
// defaults if none is.
func (r *Replay) PrefixLengths() (v4, v6 int) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if r.v4Bits == 0 {
		d := defaultConfig()
		return d.v4Bits, d.v6Bits
	}
	return r.v4Bits, r.v6Bits
}

// Close ends replay mode: instances set up from now on are live ones.
func (r *Replay) Close() {
	registryMu.Lock()
	defer registryMu.Unlock()
	if replaying == r {
		replaying, r.states = nil, nil
	}
}

// replayFor is the replay new instances join, if one is running, and the
// clock live ones read.
func replayFor() (*Replay, func() int64) {
	registryMu.Lock()
	defer registryMu.Unlock()
	return replaying, clock
}

// replayState is a new state for a block set up during replay r: never
// one a live instance holds, on r's clock, with r's table size.
func replayState(r *Replay, cfg config) *state {
	if r.opts.TableSize > 0 {
		cfg.maxTableSize = r.opts.TableSize
	}
	st := newReplayState(cfg.key, cfg, r.opts.Now, r)
	registryMu.Lock()
	if r.v4Bits == 0 {
		r.v4Bits, r.v6Bits = cfg.v4Bits, cfg.v6Bits
	}
	r.states = append(r.states, st)
	registryMu.Unlock()
	return st
}

// recorder is the replay's recorder, or nil.
func (r *Replay) recorder() ReplayRecorder {
	if r == nil {
		return nil
	}
	return r.opts.Recorder
}

// The counters a replay's metrics resolve: each tells the recorder too.
type (
	requestCounter struct {
		prometheus.Counter
		rec            ReplayRecorder
		action, reason string
	}
	responseCounter struct {
		prometheus.Counter
		rec    ReplayRecorder
		action string
	}
	evictionCounter struct {
		prometheus.Counter
		rec ReplayRecorder
	}
)

func (c requestCounter) Inc()          { c.Counter.Inc(); c.rec.Request(c.action, c.reason) }
func (c requestCounter) Add(v float64) { c.Counter.Add(v); c.rec.Request(c.action, c.reason) }

func (c responseCounter) Inc()          { c.Counter.Inc(); c.rec.Response(c.action) }
func (c responseCounter) Add(v float64) { c.Counter.Add(v); c.rec.Response(c.action) }

func (c evictionCounter) Inc()          { c.Counter.Inc(); c.rec.Evicted(1) }
func (c evictionCounter) Add(v float64) { c.Counter.Add(v); c.rec.Evicted(int(v)) }

// recordTo makes m's decision counters tell rec too.
func (m *serverMetrics) recordTo(rec ReplayRecorder) {
	for a := queryAction(0); a < numQueryActions; a++ {
		for r := reason(0); r < numReasons; r++ {
			m.requests[a][r] = requestCounter{m.requests[a][r], rec, a.String(), r.String()}
		}
	}
	for a := action(0); a < numActions; a++ {
		m.responses[a] = responseCounter{m.responses[a], rec, a.String()}
	}
	m.evictions = evictionCounter{m.evictions, rec}
}

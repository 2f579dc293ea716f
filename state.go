package floodguard

import (
	"github.com/floodguard/floodguard/internal/topk"
	"sync"
	"sync/atomic"
	"time"
)

// state is what floodguard knows about clients: the rate-limit table, the
// limiting log and the resolved counters, with the goroutine that sweeps
// them. A reload builds new instances; one whose block is unchanged adopts
// the running state, so nobody being limited is forgotten, while a changed
// block starts fresh.
type state struct {
	key    string // server block keys and the floodguard block's tokens
	lim    limiter
	limits *eventLog // prefixes starting and stopping being limited
	bans   *eventLog // bans and their expiry
	// limiting and banning list the same for the view API, unbounded by
	// the log's line budget: the prefixes being limited, and the ban slots
	// (while they remember a ban, so lifting one resets its escalation).
	limiting *roster
	banning  *roster

	ops         operatorLists // bans set through the API; the deny and allow files
	listMetrics listMetrics   // reloads of the list files
	top         *topk.Summary // the heaviest client prefixes, for the view API; nil without one
	name        string        // the server block, as the view API names it
	metrics     metricsCache
	now         func() int64 // clock in ns; injectable so tests of rates are exact
	replay      *Replay      // the replay this state is part of; nil when live

	cookies     cookieKeys
	cookieEpoch atomic.Int64 // wall-clock seconds at the clock's zero, for cookie timestamps

	refs     int // instances holding this state; guarded by registryMu
	stop     chan struct{}
	done     chan struct{}
	stopped  []uint64 // sweep's reusable lists of prefixes that stopped being limited ...
	unbanned []uint64 // ... and of bans that expired
}

var (
	registryMu sync.Mutex
	registry   = map[string]*state{} // states of started instances, by key
)

// stateFor returns the running state of an identical block, or a new one.
// Nothing is registered until an instance serves its first query (hold):
// setup also runs for reloads that then fail, and those must leave no
// trace.
func stateFor(key string, cfg config, now func() int64) *state {
	registryMu.Lock()
	defer registryMu.Unlock()
	if st, ok := registry[key]; ok {
		return st
	}
	return newState(key, cfg, now)
}

func newState(key string, cfg config, now func() int64) *state {
	return newReplayState(key, cfg, now, nil)
}

// newReplayState is newState for replay rp (nil: live).
func newReplayState(key string, cfg config, now func() int64, rp *Replay) *state {
	limiting, banning := "limiting", "banned"
	if cfg.logOnly {
		limiting, banning = "would limit", "would ban"
	}
	st := &state{
		key: key,
		lim: limiter{
			limits:       cfg.limits,
			qps:          cfg.qps,
			cookieQPS:    cfg.cookieQPS,
			anyPerMinute: cfg.anyPerMinute,
			ban:          cfg.ban,
			table:        newTable(cfg.maxTableSize),
		},
		limits:      newEventLog("stopped "+limiting+" responses to", limiting+" responses to %d more prefixes (not listed)"),
		bans:        newEventLog("ban ended ("+banning+") for", banning+" %d more prefixes (not listed)"),
		now:         now,
		limiting:    newRoster(),
		banning:     newRoster(),
		listMetrics: listMetrics{servers: cfg.servers},
		name:        cfg.name,
		replay:      rp,
	}
	st.metrics.rec = rp.recorder()
	if cfg.api != "" {
		st.top = topk.New(topCounters, topEpoch, topEpochs)
	}
	st.openLists(cfg)
	st.initCookies(cfg)
	st.syncCookieTime()
	return st
}

// sweepInterval is how often the table is swept for stopped limits, idle
// slots and the entries gauge.
const sweepInterval = time.Second

// acquire registers the state, as an instance's hold, and starts its
// sweeper if it is the first. The caller holds registryMu.
func (st *state) acquire() {
	st.refs++
	if st.refs > 1 || st.replay != nil {
		return // a replay's state is the replay's: it sweeps it on the capture's time
	}
	registry[st.key] = st
	st.stop, st.done = make(chan struct{}), make(chan struct{})
	go st.sweepLoop(st.stop, st.done)
}

// release lets go of an instance's hold: the last one stops the sweeper
// and forgets the state.
func (st *state) release() {
	registryMu.Lock()
	st.refs--
	if st.refs > 0 {
		registryMu.Unlock()
		return
	}
	if registry[st.key] == st {
		delete(registry, st.key)
	}
	stop, done := st.stop, st.done
	registryMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (st *state) sweepLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			st.sweep(st.now())
		}
	}
}

// sweep logs prefixes that stopped being limited and bans that ended, ages
// out idle slots and publishes the live entry and ban counts, which it
// returns.
func (st *state) sweep(now int64) (live int) {
	st.syncCookieTime()
	st.reloadSecretFile()
	st.reloadLists()
	st.ops.expire(st.wallAt(now))
	quiet := st.lim.window * nano
	// First the listed episodes whose slot is gone: the sweep below only
	// finds the ones whose slot is still there.
	t := st.lim.table
	st.stopped = st.limits.lost(st.stopped[:0], func(key uint64) bool { return t.flagged(key, flagLimiting) })
	st.unbanned = st.bans.lost(st.unbanned[:0], func(key uint64) bool { return t.flagged(key, flagBanned) })
	banned := 0
	live = st.lim.table.sweep(now, func(s *slot) {
		switch {
		case s.flags&flagLimiting != 0 && now-s.mark >= quiet:
			s.flags &^= flagLimiting
			st.stopped = append(st.stopped, s.key)
		case s.flags&flagBanned != 0 && now >= s.mark:
			s.flags &^= flagBanned
			st.unbanned = append(st.unbanned, s.key)
		case s.flags&flagBanned != 0:
			banned++
		}
	})
	st.lim.bans.Store(int64(banned))
	st.limiting.prune(func(key uint64) bool { return t.flagged(key, flagLimiting) })
	st.banning.prune(func(key uint64) bool { return t.flagged(key, flagBanSlot) })
	st.limits.tick(st.stopped, now)
	st.bans.tick(st.unbanned, now)
	for _, m := range st.metrics.all() {
		m.entries.Set(float64(live))
		m.banned.Set(float64(banned))
	}
	return live
}

// The top-talkers summary: 512 counters for each ranking, over the last 60
// to 70 s in 10 s steps.
const (
	topCounters = 512
	topEpoch    = 10 * nano
	topEpochs   = 7
)

// wallAt is the wall-clock time of the state's clock reading now, to the
// second: list expiries and the API's times are wall-clock times.
func (st *state) wallAt(now int64) time.Time {
	return time.Unix(st.cookieEpoch.Load(), now)
}

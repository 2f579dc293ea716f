package floodguard

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// linesPerTick bounds the start and the stop lines an eventLog writes per
// sweep tick; events past it are summarised in one line, so a flood from
// thousands of prefixes cannot flood the log.
const linesPerTick = 10

// maxListed bounds the prefixes remembered to log their stop.
const maxListed = 1000

// eventLog logs one line when something starts for a prefix (being limited,
// being banned) and one when it stops, never a line per query.
type eventLog struct {
	stopVerb     string // "stopped limiting responses to", "ban expired for"
	startSummary string // format with the count of starts not listed
	budget       atomic.Int64
	hidden       atomic.Int64

	mu     sync.Mutex
	listed map[uint64]listedPrefix // slot key -> prefix whose start was logged
	keys   []uint64                // lost's reusable copy of the listed keys
}

type listedPrefix struct {
	prefix netip.Prefix
	since  int64
}

func newEventLog(stopVerb, startSummary string) *eventLog {
	l := &eventLog{stopVerb: stopVerb, startSummary: startSummary, listed: make(map[uint64]listedPrefix)}
	l.budget.Store(linesPerTick)
	return l
}

// started logs format/args for prefix p, whose slot key is key, unless this
// tick's line budget is spent. It is called once per episode, never per query.
func (l *eventLog) started(key uint64, p netip.Prefix, now int64, format string, args ...any) {
	if l.budget.Add(-1) < 0 {
		l.hidden.Add(1)
		return
	}
	l.mu.Lock()
	if len(l.listed) < maxListed {
		l.listed[key] = listedPrefix{prefix: p, since: now}
	}
	l.mu.Unlock()
	log.Infof(format, args...)
}

// tick logs the stops a sweep found and summarises what the budget hid,
// then renews the budget.
func (l *eventLog) tick(stopped []uint64, now int64) {
	var lines, unlisted int
	l.mu.Lock()
	for _, key := range stopped {
		lp, ok := l.listed[key]
		delete(l.listed, key)
		if !ok || lines >= linesPerTick {
			unlisted++
			continue
		}
		lines++
		log.Infof("%s %s after %s", l.stopVerb, prefixText(lp.prefix), time.Duration(now-lp.since).Round(time.Second))
	}
	l.mu.Unlock()
	if n := l.hidden.Swap(0); n > 0 {
		log.Infof(l.startSummary, n)
	}
	if unlisted > 0 {
		log.Infof("%s %d more prefixes (not listed)", l.stopVerb, unlisted)
	}
	l.budget.Store(linesPerTick)
}

// lost appends to stopped the listed keys whose slot no longer carries the
// episode (flagged reports whether it does): the slot was evicted, or
// reused by another key, and with it went the episode, so it has stopped
// too. Without this, the entry would stay listed for good, and once
// maxListed of them had piled up no start would be listed again.
func (l *eventLog) lost(stopped []uint64, flagged func(key uint64) bool) []uint64 {
	l.mu.Lock()
	l.keys = l.keys[:0]
	for key := range l.listed {
		l.keys = append(l.keys, key)
	}
	l.mu.Unlock()
	for _, key := range l.keys {
		if !flagged(key) {
			stopped = append(stopped, key)
		}
	}
	return stopped
}

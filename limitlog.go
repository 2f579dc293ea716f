package floodguard

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// linesPerTick bounds the start and the stop lines logged per sweep tick;
// prefixes past it are summarised in one line, so a flood from thousands of
// prefixes cannot flood the log.
const linesPerTick = 10

// maxListed bounds the prefixes remembered to log their stop.
const maxListed = 1000

// limitLog logs one line when a prefix starts being limited and one when it
// stops, never a line per query.
type limitLog struct {
	logOnly bool
	budget  atomic.Int64 // start lines left this tick
	hidden  atomic.Int64 // starts not logged this tick

	mu     sync.Mutex
	listed map[uint64]listedPrefix // client slot key -> prefix whose start was logged
}

type listedPrefix struct {
	prefix netip.Prefix
	since  int64
}

func newLimitLog(logOnly bool) *limitLog {
	l := &limitLog{logOnly: logOnly, listed: make(map[uint64]listedPrefix)}
	l.budget.Store(linesPerTick)
	return l
}

// started is called once when a prefix goes over a limit after being within
// all of them.
func (l *limitLog) started(key uint64, p netip.Prefix, c class, name string, qtype uint16, now int64) {
	if l.budget.Add(-1) < 0 {
		l.hidden.Add(1)
		return
	}
	l.mu.Lock()
	if len(l.listed) < maxListed {
		l.listed[key] = listedPrefix{prefix: p, since: now}
	}
	l.mu.Unlock()
	verb := "limiting"
	if l.logOnly {
		verb = "would limit"
	}
	switch c {
	case classError, classAll:
		log.Infof("%s responses to %s (%s)", verb, p, c)
	case classResponse:
		log.Infof("%s responses to %s (%s %s %s)", verb, p, c, name, dns.Type(qtype).String())
	default:
		log.Infof("%s responses to %s (%s %s)", verb, p, c, name)
	}
}

// tick logs the stops a sweep found and the starts and stops past the line
// budget, then renews the budget.
func (l *limitLog) tick(stopped []uint64, now int64) {
	verb := "stopped limiting"
	if l.logOnly {
		verb = "no longer would limit"
	}
	var lines, unlisted int
	l.mu.Lock()
	for _, key := range stopped {
		lp, ok := l.listed[key]
		if !ok || lines >= linesPerTick {
			delete(l.listed, key)
			unlisted++
			continue
		}
		delete(l.listed, key)
		lines++
		log.Infof("%s responses to %s after %s", verb, lp.prefix, time.Duration(now-lp.since).Round(time.Second))
	}
	l.mu.Unlock()
	if n := l.hidden.Swap(0); n > 0 {
		if l.logOnly {
			log.Infof("would limit responses to %d more prefixes (not listed)", n)
		} else {
			log.Infof("limiting responses to %d more prefixes (not listed)", n)
		}
	}
	if unlisted > 0 {
		log.Infof("%s responses to %d more prefixes (not listed)", verb, unlisted)
	}
	l.budget.Store(linesPerTick)
}

package floodguard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const evictingCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        responses-per-second 1
        window 2
        max-table-size 64
    }
    file testdata/example.org.zone
}
`

// stateOf returns the running state of srv's floodguard block.
func stateOf(t *testing.T, srv *server) *state {
	t.Helper()
	registryMu.Lock()
	defer registryMu.Unlock()
	for key, st := range registry {
		if strings.Contains(key, ":"+srv.port) {
			return st
		}
	}
	t.Fatal("no running floodguard state for the server")
	return nil
}

// listed is how many prefixes l remembers, to log their stop.
func (l *eventLog) listedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.listed)
}

// TestE2ELimitLogForgetsEvictedSlots: more prefixes are limited than a
// 64-slot table holds, so the slots of listed prefixes are taken over by
// others while they are still limiting. Once every limit has ended, none
// may stay listed (the log's list is bounded, and a full list would hide
// every later start), and a new limit is still named in the log.
func TestE2ELimitLogForgetsEvictedSlots(t *testing.T) {
	logs := captureLogs(t)
	clk := useFrozenClock(t)
	srv := startServer(t, evictingCorefile)
	flood := func(first, n int) {
		for i := first; i < first+n; i++ {
			from := fmt.Sprintf("127.%d.%d.1", 100+i/250, i%250)
			for id := range 2 { // the second is over the limit: the prefix is limited
				udpSend(t, from, srv.udp, query("www.example.org", dns.TypeA, uint16(id)))
			}
		}
	}
	waitSweep := waitFor // the sweeper runs every second

	// Two rounds, a sweep apart: each names up to 10 starts in the log.
	for round := range 2 {
		flood(round*600, 600)
		waitSweep(t, "the summary of hidden starts", func() bool {
			return logs.lines("more prefixes (not listed)") > round
		})
	}
	st := stateOf(t, srv)
	named := st.limits.listedCount()
	if named == 0 {
		t.Fatalf("no prefix was listed:\n%s", logs.buf.String())
	}
	// Every limit ends: quiet for longer than the window.
	clk.advance(3 * time.Second)
	waitSweep(t, "the listed prefixes forgotten", func() bool { return st.limits.listedCount() == 0 })
	if stops := logs.lines("stopped limiting responses to 127."); stops == 0 {
		t.Errorf("no stop lines for %d listed prefixes:\n%s", named, logs.buf.String())
	}
	// A new limit is named, not summarised.
	flood(5000, 1)
	waitSweep(t, "the new start logged", func() bool { return logs.lines("limiting responses to 127.120.0.0/24") == 1 })
}

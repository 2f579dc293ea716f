package floodguard

import (
	"bytes"
	golog "log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// captureLog collects what clog writes (it writes through the standard logger).
type captureLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *captureLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *captureLog) lines(substr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Count(c.buf.String(), substr)
}

func captureLogs(t *testing.T) *captureLog {
	c := &captureLog{}
	golog.SetOutput(c)
	t.Cleanup(func() { golog.SetOutput(defaultLogOutput) })
	return c
}

var defaultLogOutput = golog.Writer()

// TestLimitingLogLines floods from many prefixes and checks the log stays
// bounded: one line per prefix start and stop up to the budget, a summary
// for the rest, never a line per response.
func TestLimitingLogLines(t *testing.T) {
	logs := captureLogs(t)
	cfg := defaultConfig()
	cfg.limits.perSecond = [numClasses]int64{2, 2, 2, 2, 2, 0}
	cfg.zones = []string{"."}
	clk := &fakeClock{t: int64(time.Hour)}
	st := newState("log", cfg, clk.now)
	f := newFloodguard(cfg, st)
	for i := range 25 { // 25 prefixes, 100 responses each
		for range 100 {
			d := st.lim.decide(clk.now(), prefixes[i], classResponse, "www.example.org.", 1)
			if d.started {
				f.logLimiting(d.clientKey, prefixes[i], d.by, "www.example.org.", 1, clk.now())
			}
		}
	}
	if n := logs.lines("limiting responses to 10."); n != linesPerTick {
		t.Errorf("%d start lines in one tick, want %d", n, linesPerTick)
	}
	st.sweep(clk.now())
	if n := logs.lines("limiting responses to 15 more prefixes (not listed)"); n != 1 {
		t.Errorf("missing or wrong summary of hidden starts:\n%s", logs.buf.String())
	}
	// Quiet for a window: every prefix stops; listed ones by name.
	clk.advance(time.Duration(cfg.limits.window) * time.Second)
	st.sweep(clk.now())
	if n := logs.lines("stopped limiting responses to 10."); n != linesPerTick {
		t.Errorf("%d stop lines, want %d:\n%s", n, linesPerTick, logs.buf.String())
	}
	if n := logs.lines("stopped limiting responses to 15 more prefixes"); n != 1 {
		t.Errorf("missing summary of unlisted stops:\n%s", logs.buf.String())
	}
}

// TestSweepBansAndGauges checks ban expiry logging and the gauges.
func TestSweepBansAndGauges(t *testing.T) {
	logs := captureLogs(t)
	cfg := defaultConfig()
	cfg.zones = []string{"."}
	cfg.ban = banConfig{limited: 1, within: int64(time.Minute), dur: int64(10 * time.Minute)}
	clk := &fakeClock{t: int64(time.Hour)}
	st := newState("bans", cfg, clk.now)
	f := newFloodguard(cfg, st)
	met := st.metrics.get("test")
	for i := range 3 {
		f.overLimit(clk.now(), prefixes[i], banScope{c: classResponse, name: "www.example.org.", qtype: 1}, 0, met)
	}
	if n := logs.lines("banned 10."); n != 3 {
		t.Errorf("%d ban lines, want 3:\n%s", n, logs.buf.String())
	}
	st.sweep(clk.now())
	if got := testutil.ToFloat64(met.banned); got != 3 {
		t.Errorf("banned gauge %v, want 3", got)
	}
	if got := testutil.ToFloat64(met.entries); got != 3 {
		t.Errorf("entries gauge %v, want 3", got)
	}
	clk.advance(10 * time.Minute)
	st.sweep(clk.now())
	if n := logs.lines("ban ended (banned) for 10."); n != 3 {
		t.Errorf("%d ban-end lines, want 3:\n%s", n, logs.buf.String())
	}
	if got := testutil.ToFloat64(met.banned); got != 0 {
		t.Errorf("banned gauge %v after expiry, want 0", got)
	}
	// The slots are remembered for as long again (for doubling), then age out.
	clk.advance(10*time.Minute + time.Second)
	st.sweep(clk.now())
	if got := testutil.ToFloat64(met.entries); got != 0 {
		t.Errorf("entries gauge %v, want 0 once everything aged out", got)
	}
}

package floodguard

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeClock is the injected clock: tests move it by hand and never sleep.
type fakeClock struct{ t int64 }

func (c *fakeClock) now() int64              { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t += int64(d) }

func newTestLimiter(l limits) limiter {
	return limiter{limits: l, table: newTable(1024)}
}

// bindLimits are the limits of BIND's RRL system test.
func bindLimits() limits {
	var l limits
	for c := classResponse; c <= classError; c++ {
		l.perSecond[c] = 2
	}
	l.perSecond[classAll] = 50
	l.window = 15
	l.slip = 3
	return l
}

var (
	clientA = netip.MustParsePrefix("192.0.2.0/24")
	clientB = netip.MustParsePrefix("198.51.100.0/24")
)

type response struct {
	c     class
	name  string
	qtype uint16
}

var wwwA = response{classResponse, "www.example.org.", 1}

// verdicts runs n responses through l at the clock's time and counts the verdicts.
func verdicts(l *limiter, clk *fakeClock, p netip.Prefix, r response, n int) (sent, slipped, dropped int) {
	for range n {
		switch l.decide(clk.now(), p, r.c, r.name, r.qtype).verdict {
		case verdictSend:
			sent++
		case verdictSlip:
			slipped++
		case verdictDrop:
			dropped++
		}
	}
	return
}

func TestLimiterBINDScenarios(t *testing.T) {
	tests := []struct {
		name                   string
		resp                   response
		n                      int
		sent, slipped, dropped int
		modify                 func(*limits)
	}{
		{"5 identical answers", wwwA, 5, 2, 1, 2, nil},
		{"10 identical SERVFAIL never slip", response{classError, "", 1}, 10, 2, 0, 8, nil},
		{"nxdomain keyed by zone", response{classNXDomain, "example.org.", 0}, 7, 2, 2, 3, nil},
		{"slip 0 never slips", wwwA, 6, 2, 0, 4, func(l *limits) { l.slip = 0 }},
		{"slip 1 always slips", wwwA, 6, 2, 4, 0, func(l *limits) { l.slip = 1 }},
		{"slip 2 alternates", wwwA, 7, 2, 3, 2, func(l *limits) { l.slip = 2 }},
		{"rate 0 is unlimited", wwwA, 100, 100, 0, 0, func(l *limits) { l.perSecond[classResponse] = 0; l.perSecond[classAll] = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := bindLimits()
			if tt.modify != nil {
				tt.modify(&lim)
			}
			l := newTestLimiter(lim)
			clk := &fakeClock{t: 1}
			sent, slipped, dropped := verdicts(&l, clk, clientA, tt.resp, tt.n)
			if sent != tt.sent || slipped != tt.slipped || dropped != tt.dropped {
				t.Errorf("sent/slipped/dropped = %d/%d/%d, want %d/%d/%d", sent, slipped, dropped, tt.sent, tt.slipped, tt.dropped)
			}
		})
	}
}

func TestLimiterSlipOrder(t *testing.T) {
	l := newTestLimiter(bindLimits())
	clk := &fakeClock{t: 1}
	want := []verdict{verdictSend, verdictSend, verdictSlip, verdictDrop, verdictDrop, verdictSlip, verdictDrop, verdictDrop, verdictSlip}
	for i, w := range want {
		if got := l.decide(clk.now(), clientA, classResponse, "www.example.org.", 1).verdict; got != w {
			t.Fatalf("response %d: verdict %d, want %d", i+1, got, w)
		}
	}
}

func TestLimiterCreditAndDebt(t *testing.T) {
	lim := bindLimits()
	lim.window = 2 // debt floor: -window x rate = -4 responses
	l := newTestLimiter(lim)
	clk := &fakeClock{t: 1}

	// 100 responses at once: 2 sent; the balance sinks to the floor (-4).
	if sent, _, _ := verdicts(&l, clk, clientA, wwwA, 100); sent != 2 {
		t.Fatalf("burst: sent %d, want 2", sent)
	}
	// Two seconds repay 4: balance 0 before the debit, -1 after: limited.
	clk.advance(2 * time.Second)
	if d := l.decide(clk.now(), clientA, wwwA.c, wwwA.name, wwwA.qtype); d.verdict == verdictSend {
		t.Fatalf("after 2s: sent, want still limited (debt of window x rate)")
	}
	// The debit above left -1; 1 s more (+2) brings it to +1: one is sent, the next is not.
	clk.advance(time.Second)
	if sent, _, _ := verdicts(&l, clk, clientA, wwwA, 3); sent != 1 {
		t.Fatalf("after 3s: sent %d, want 1", sent)
	}
	// A long pause restores at most one second's worth of credit.
	clk.advance(time.Hour)
	if sent, _, _ := verdicts(&l, clk, clientA, wwwA, 10); sent != 2 {
		t.Fatalf("after an hour: sent %d, want 2 (credit capped at rate)", sent)
	}
}

func TestLimiterKeys(t *testing.T) {
	l := newTestLimiter(bindLimits())
	clk := &fakeClock{t: 1}
	verdicts(&l, clk, clientA, wwwA, 10) // exhaust A's www/A bucket

	tests := []struct {
		name string
		p    netip.Prefix
		r    response
		sent int
	}{
		{"other prefix", clientB, wwwA, 2},
		{"same name, other type", clientA, response{classResponse, "www.example.org.", 28}, 2},
		{"name case is ignored", clientA, response{classResponse, "WWW.Example.ORG.", 1}, 0},
		{"nodata has its own bucket", clientA, response{classNodata, "www.example.org.", 0}, 2},
		{"errors have their own bucket", clientA, response{classError, "", 0}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sent, _, _ := verdicts(&l, clk, tt.p, tt.r, 4); sent != tt.sent {
				t.Errorf("sent %d of 4, want %d", sent, tt.sent)
			}
		})
	}
}

func TestLimiterAllPerSecond(t *testing.T) {
	lim := bindLimits()
	lim.perSecond[classAll] = 5
	l := newTestLimiter(lim)
	clk := &fakeClock{t: 1}
	names := []string{"a.", "b.", "c.", "d.", "e.", "f.", "g."}
	var sent int
	for _, n := range names {
		d := l.decide(clk.now(), clientA, classResponse, n, 1)
		switch d.verdict {
		case verdictSend:
			sent++
		case verdictSlip:
			t.Errorf("%s: slipped; all-per-second never slips", n)
		case verdictDrop:
			if d.by != classAll {
				t.Errorf("%s: dropped by %s, want all", n, d.by)
			}
		}
	}
	if sent != 5 {
		t.Errorf("sent %d distinct names, want 5 (all-per-second)", sent)
	}
}

// lateReadings is a clock trace as queries from one prefix reach its slot
// on several cores: mostly forward in steps of up to step, but every few
// queries one that read the clock before the previous one took the lock,
// up to back earlier. Deterministic, so a failure repeats.
func lateReadings(n int, step, back time.Duration) []int64 {
	rng := rand.New(rand.NewPCG(1, 2))
	times := make([]int64, n)
	t, latest := int64(time.Hour), int64(time.Hour)
	for i := range times {
		if i > 0 && rng.IntN(4) == 0 {
			t = latest - rng.Int64N(int64(back))
		} else {
			latest += rng.Int64N(int64(step))
			t = latest
		}
		times[i] = t
	}
	return times
}

// TestLimiterLateReadings: a clock reading that reaches a slot after a later
// one counts at the slot's time. Every limit gives the same verdicts on a
// trace with late readings as on the same trace with each late reading
// replaced by the latest time before it: nothing is counted twice, no window
// restarts, no reply is handed out again.
func TestLimiterLateReadings(t *testing.T) {
	kinds := []struct {
		name  string
		step  time.Duration
		setup func(l *limiter)
		ask   func(l *limiter, now int64) bool
	}{
		{"responses-per-second", 400 * time.Millisecond, func(l *limiter) {}, func(l *limiter, now int64) bool {
			return l.decide(now, clientA, classResponse, "www.example.org.", dns.TypeA).verdict == verdictSend
		}},
		{"all-per-second", 300 * time.Millisecond, func(l *limiter) {
			l.perSecond = [numClasses]int64{classAll: 3}
		}, func(l *limiter, now int64) bool {
			return l.decide(now, clientA, classResponse, "www.example.org.", dns.TypeA).verdict == verdictSend
		}},
		{"queries-per-second", 200 * time.Millisecond, func(l *limiter) {
			l.qps = queryRate{4, 6}
		}, func(l *limiter, now int64) bool {
			v, _ := l.allowQuery(now, clientA, queryKind, l.qps)
			return v == verdictSend
		}},
		{"any-per-minute", 10 * time.Second, func(l *limiter) {
			l.anyPerMinute = 4
		}, func(l *limiter, now int64) bool {
			ok, _ := l.allowAny(now, clientA)
			return ok
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			trace := lateReadings(3000, k.step, 2*k.step)
			late, ordered := newTestLimiter(bindLimits()), newTestLimiter(bindLimits())
			k.setup(&late)
			k.setup(&ordered)
			latest, allowed := int64(0), 0
			for i, now := range trace {
				latest = max(latest, now)
				got, want := k.ask(&late, now), k.ask(&ordered, latest)
				if got != want {
					t.Fatalf("query %d (%v late): allowed %v, in time order %v", i, time.Duration(latest-now), got, want)
				}
				if got {
					allowed++
				}
			}
			if allowed == 0 || allowed == len(trace) {
				t.Fatalf("%d of %d allowed: the trace never reaches the limit, or only", allowed, len(trace))
			}
		})
	}

	t.Run("ban", func(t *testing.T) {
		// A prefix over its limits all the time: banned, and while banned,
		// one truncated reply a second; never one for a late reading but
		// the first of a ban, which is due to whichever query comes next.
		l := newTestLimiter(bindLimits())
		l.ban = banConfig{limited: 5, within: int64(time.Second), dur: int64(20 * time.Second)}
		lastReply, latest, replies, bans := int64(0), int64(0), 0, 0
		firstDue := false
		key := l.banKey(clientA, banScope{c: classResponse, name: "www.example.org.", qtype: 1})
		for i, now := range lateReadings(20000, 20*time.Millisecond, 300*time.Millisecond) {
			latest = max(latest, now)
			if banned, _, _, _ := l.noteLimited(now, key); banned {
				bans++
				firstDue = true
			}
			if l.checkBan(now, key) != bannedTruncate {
				continue
			}
			replies++
			if !firstDue && now < latest {
				t.Fatalf("reading %d, %v late, got a truncated reply", i, time.Duration(latest-now))
			}
			if !firstDue && now-lastReply < int64(time.Second) {
				t.Fatalf("reading %d: a truncated reply %v after the last one", i, time.Duration(now-lastReply))
			}
			firstDue = false
			lastReply = max(lastReply, latest)
		}
		if bans < 2 || replies < 10 {
			t.Fatalf("%d bans and %d truncated replies in the whole trace, want several", bans, replies)
		}
	})

	t.Run("a century forward", func(t *testing.T) {
		// Far forward: credit stays capped, nothing overflows into unlimited.
		l := newTestLimiter(bindLimits())
		clk := &fakeClock{t: int64(time.Hour)}
		verdicts(&l, clk, clientA, wwwA, 100) // deep in debt
		clk.advance(100 * 365 * 24 * time.Hour)
		if sent, _, _ := verdicts(&l, clk, clientA, wwwA, 10); sent != 2 {
			t.Fatalf("after a jump of a century: sent %d, want 2", sent)
		}
	})
}

func TestLimiterStartedOncePerEpisode(t *testing.T) {
	l := newTestLimiter(bindLimits())
	clk := &fakeClock{t: 1}
	starts := 0
	for range 20 {
		if l.decide(clk.now(), clientA, wwwA.c, wwwA.name, wwwA.qtype).started {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("started reported %d times, want 1", starts)
	}
}

// TestKey: bucket keys ignore ASCII case only, tell every other field
// apart, and names longer than the buffer share their first 255 bytes'
// bucket.
func TestKey(t *testing.T) {
	l := limiter{table: newTable(64)}
	p := netip.MustParsePrefix("192.0.2.0/24")
	long := strings.Repeat("a", 300)
	base := l.key(byte(classResponse), p, dns.TypeA, "www.example.org.")
	tests := []struct {
		name string
		key  uint64
		same bool
	}{
		{"upper case", l.key(byte(classResponse), p, dns.TypeA, "WWW.Example.ORG."), true},
		{"other name", l.key(byte(classResponse), p, dns.TypeA, "www.example.net."), false},
		{"other type", l.key(byte(classResponse), p, dns.TypeAAAA, "www.example.org."), false},
		{"other class", l.key(byte(classNodata), p, dns.TypeA, "www.example.org."), false},
		{"other prefix", l.key(byte(classResponse), netip.MustParsePrefix("192.0.3.0/24"), dns.TypeA, "www.example.org."), false},
		{"other prefix length", l.key(byte(classResponse), netip.MustParsePrefix("192.0.2.0/25"), dns.TypeA, "www.example.org."), false},
		{"no name", l.key(clientKind, p, 0, ""), false},
	}
	for _, tt := range tests {
		if (tt.key == base) != tt.same {
			t.Errorf("%s: same key = %v, want %v", tt.name, tt.key == base, tt.same)
		}
	}
	if a, b := l.key(byte(classResponse), p, 1, long+"x."), l.key(byte(classResponse), p, 1, long+"y."); a != b {
		t.Errorf("names equal in their first %d bytes got different keys", keyMax-20)
	}
	if a, b := l.key(byte(classResponse), p, 1, "\xc3\x84."), l.key(byte(classResponse), p, 1, "\xc3\xa4."); a == b {
		t.Errorf("bytes outside ASCII were folded")
	}
	if a, b := l.key(clientKind, p, 0, ""), l.key(banKind, p, 0, ""); a == b {
		t.Errorf("client and ban keys of one prefix collide")
	}
}

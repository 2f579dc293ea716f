package floodguard

import (
	"testing"
	"time"
)

func TestAllowAnySlidingMinute(t *testing.T) {
	l := newTestLimiter(bindLimits())
	l.anyPerMinute = 4
	clk := &fakeClock{t: int64(time.Hour)}
	steps := []struct {
		after time.Duration // clock advance before the queries
		n     int
		ok    int
	}{
		{0, 6, 4},                        // 4 a minute, the 5th and 6th dropped
		{30 * time.Second, 3, 0},         // still within the minute of the first four
		{29 * time.Second, 1, 0},         // 59 s after them: still in the window
		{time.Second, 3, 3},              // 60 s: the first four left the window
		{59990 * time.Millisecond, 2, 1}, // three in the window: room for one
		{10 * time.Millisecond, 4, 3},    // the three left; the one of 10 ms ago is still in
	}
	for i, st := range steps {
		clk.advance(st.after)
		ok := 0
		for range st.n {
			if allowed, _ := l.allowAny(clk.now(), clientA); allowed {
				ok++
			}
		}
		if ok != st.ok {
			t.Fatalf("step %d: %d of %d ANY allowed, want %d", i, ok, st.n, st.ok)
		}
	}
	// Another prefix has its own window.
	if ok, _ := l.allowAny(clk.now(), clientB); !ok {
		t.Errorf("another prefix was refused")
	}
}

func TestAllowQueryTokenBucket(t *testing.T) {
	l := newTestLimiter(bindLimits())
	l.qps, l.slip = queryRate{5, 10}, 2
	clk := &fakeClock{t: 1}
	count := func(n int) (sent, slipped, dropped int) {
		for range n {
			v, _ := l.allowQuery(clk.now(), clientA, queryKind, l.qps)
			switch v {
			case verdictSend:
				sent++
			case verdictSlip:
				slipped++
			default:
				dropped++
			}
		}
		return
	}
	if s, sl, d := count(14); s != 10 || sl != 2 || d != 2 {
		t.Fatalf("burst: %d/%d/%d sent/slipped/dropped, want 10/2/2 (starts full at BURST)", s, sl, d)
	}
	clk.advance(time.Second) // 5 tokens back
	if s, _, _ := count(8); s != 5 {
		t.Fatalf("after 1 s: %d sent, want 5 (RATE)", s)
	}
	clk.advance(time.Hour) // refills to BURST, no more
	if s, _, _ := count(20); s != 10 {
		t.Fatalf("after an hour: %d sent, want 10 (BURST)", s)
	}
	clk.advance(-time.Minute) // backwards: nothing refills, nothing breaks
	if s, _, _ := count(3); s != 0 {
		t.Fatalf("after the clock went back: %d sent, want 0", s)
	}
}

func TestBans(t *testing.T) {
	l := newTestLimiter(bindLimits())
	l.ban = banConfig{limited: 3, within: int64(60 * time.Second), dur: int64(10 * time.Minute)}
	clk := &fakeClock{t: int64(time.Hour)}
	www := banScope{c: classResponse, name: "www.example.org.", qtype: 1}
	keyA, keyB := l.banKey(clientA, www), l.banKey(clientB, www)
	// The same prefix's other names and classes, and its ANY queries.
	others := []uint64{
		l.banKey(clientA, banScope{c: classResponse, name: "mail.example.org.", qtype: 1}),
		l.banKey(clientA, banScope{c: classResponse, name: "www.example.org.", qtype: 28}),
		l.banKey(clientA, banScope{c: classNXDomain, name: "example.org."}),
		l.banKey(clientA, banScope{anyQueries: true}),
	}

	if got := l.checkBan(clk.now(), keyA); got != notBanned {
		t.Fatalf("unknown prefix: %v, want notBanned", got)
	}
	// Two over-limit decisions, then a slow third: the bucket drains 3 a minute.
	for range 2 {
		if banned, _, _, _ := l.noteLimited(clk.now(), keyA); banned {
			t.Fatal("banned after fewer than 3")
		}
	}
	clk.advance(20 * time.Second) // drains 1: one left, and this one makes 2
	if banned, _, _, _ := l.noteLimited(clk.now(), keyA); banned {
		t.Fatal("banned although the bucket had drained")
	}
	if banned, dur, n, _ := l.noteLimited(clk.now(), keyA); !banned || dur != int64(10*time.Minute) || n != 1 {
		t.Fatalf("third within the window: banned=%v dur=%v n=%d, want a first ban of 10m", banned, time.Duration(dur), n)
	}
	// Banned: one truncated reply a second, the rest dropped.
	want := []banState{bannedTruncate, bannedDrop, bannedDrop}
	for i, w := range want {
		if got := l.checkBan(clk.now(), keyA); got != w {
			t.Fatalf("banned query %d: %v, want %v", i, got, w)
		}
	}
	clk.advance(time.Second)
	if got := l.checkBan(clk.now(), keyA); got != bannedTruncate {
		t.Fatalf("a second later: %v, want one truncated reply", got)
	}
	if got := l.checkBan(clk.now(), keyB); got != notBanned {
		t.Fatalf("another prefix: %v, want notBanned", got)
	}
	for i, k := range others {
		if got := l.checkBan(clk.now(), k); got != notBanned {
			t.Fatalf("the banned prefix's bucket %d, not the one banned: %v, want notBanned", i, got)
		}
	}
	// The ban ends on time; a repeat doubles it, up to 24 h.
	clk.advance(10 * time.Minute)
	if got := l.checkBan(clk.now(), keyA); got != notBanned {
		t.Fatalf("after 10m: %v, want the ban over", got)
	}
	wantDur := []time.Duration{20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 320 * time.Minute, 640 * time.Minute, 1280 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	for i, w := range wantDur {
		var banned bool
		var dur int64
		for range 3 {
			banned, dur, _, _ = l.noteLimited(clk.now(), keyA)
		}
		if !banned || time.Duration(dur) != w {
			t.Fatalf("repeat %d: banned=%v for %v, want %v", i+2, banned, time.Duration(dur), w)
		}
		clk.advance(time.Duration(dur))
	}
}

func TestBanSurvivesTablePressure(t *testing.T) {
	l := newTestLimiter(bindLimits())
	l.table = newTable(64)
	l.ban = banConfig{limited: 1, within: int64(time.Minute), dur: int64(time.Hour)}
	clk := &fakeClock{t: int64(time.Hour)}
	keyA := l.banKey(clientA, banScope{c: classResponse, name: "www.example.org.", qtype: 1})
	if banned, _, _, _ := l.noteLimited(clk.now(), keyA); !banned {
		t.Fatal("not banned")
	}
	// 100,000 new buckets pass through a 64-slot table.
	for i := range 100000 {
		clk.advance(time.Millisecond)
		l.decide(clk.now(), prefixes[i%4096], classResponse, "www.example.org.", 1)
	}
	if got := l.checkBan(clk.now(), keyA); got == notBanned {
		t.Fatal("the ban was evicted by new idle buckets")
	}
}

// TestBannedBucketSlipsNoMore: a banned bucket's over-limit responses are
// dropped but for one truncated reply a second; other buckets of the prefix
// slip as usual.
func TestBannedBucketSlipsNoMore(t *testing.T) {
	l := newTestLimiter(bindLimits()) // 2 a second, slip 3
	l.ban = banConfig{limited: 1, within: int64(time.Minute), dur: int64(10 * time.Minute)}
	clk := &fakeClock{t: int64(time.Hour)}
	verdicts(&l, clk, clientA, wwwA, 2) // the allowance
	l.noteLimited(clk.now(), l.banKey(clientA, banScope{c: classResponse, name: "www.example.org.", qtype: 1}))
	if sent, slipped, dropped := verdicts(&l, clk, clientA, wwwA, 9); sent != 0 || slipped != 1 || dropped != 8 {
		t.Errorf("banned bucket: sent/slipped/dropped = %d/%d/%d, want 0/1/8", sent, slipped, dropped)
	}
	mail := response{classResponse, "mail.example.org.", 1}
	verdicts(&l, clk, clientA, mail, 2)
	if sent, slipped, dropped := verdicts(&l, clk, clientA, mail, 9); sent != 0 || slipped != 3 || dropped != 6 {
		t.Errorf("another bucket: sent/slipped/dropped = %d/%d/%d, want 0/3/6 (slip 3)", sent, slipped, dropped)
	}
}

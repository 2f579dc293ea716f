package main

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestAmplification(t *testing.T) {
	tests := []struct {
		reply, sent int64
		want        float64
	}{
		{0, 0, 0},
		{100, 0, 0},
		{0, 100, 0},
		{3000, 60, 50},
		{45, 30, 1.5},
	}
	for _, tt := range tests {
		if got := amplification(tt.reply, tt.sent); got != tt.want {
			t.Errorf("amplification(%d, %d) = %v, want %v", tt.reply, tt.sent, got, tt.want)
		}
	}
}

func TestTotalsAddUp(t *testing.T) {
	st := &stats{}
	st.attackSent(40, nil)
	st.attackSent(40, context.Canceled)                              // a send error: not a sent query
	st.attackReply([]byte{0, 0, 0x82, 0x05, 0, 0, 0, 0, 0, 0, 0, 0}) // TC, REFUSED
	st.snapshot(0.5, 1000)
	st.attackSent(60, nil)
	st.attackReply(make([]byte, 300))
	st.legitResult(true, true, 3*time.Millisecond)
	st.legitResult(false, false, 0)
	st.snapshot(0.25, 2000)
	tt := st.totals()
	if tt.AttackSent != 2 || tt.AttackSentBytes != 100 || tt.AttackSendErrors != 1 {
		t.Errorf("sent %d/%dB/%d errs, want 2/100B/1", tt.AttackSent, tt.AttackSentBytes, tt.AttackSendErrors)
	}
	if tt.AttackReplies != 2 || tt.AttackReplyBytes != 312 || tt.AttackTC != 1 {
		t.Errorf("replies %d/%dB/TC %d, want 2/312B/1", tt.AttackReplies, tt.AttackReplyBytes, tt.AttackTC)
	}
	if tt.Amplification != 3.12 || tt.Rcodes["REFUSED"] != 1 || tt.Rcodes["NOERROR"] != 1 {
		t.Errorf("amplification %v rcodes %v", tt.Amplification, tt.Rcodes)
	}
	if tt.LegitQueries != 2 || tt.LegitFraction != 0.5 || tt.LegitTCPRetries != 1 || tt.LegitMaxMs != 3 {
		t.Errorf("legit %+v", tt)
	}
	if tt.ServerCPUSeconds != 0.75 || tt.ServerPeakRSSKB != 2000 {
		t.Errorf("server cpu %v rss %d", tt.ServerCPUSeconds, tt.ServerPeakRSSKB)
	}
	if !math.IsNaN(fraction(0, 0)) {
		t.Error("fraction of nothing should be NaN (a gap)")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0.5: 50, 0.99: 99, 1: 100, 0: 1} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
}

func TestPaceIsEvenAndCapped(t *testing.T) {
	var n int64
	start := time.Now()
	pace(context.Background(), 1000, 150, func(k int64) {
		if k != n {
			t.Fatalf("fire(%d), want %d", k, n)
		}
		n++
	})
	// 150 queries at 1000/s take ~150ms; the cap stops it.
	if el := time.Since(start); n != 150 || el < 120*time.Millisecond || el > 2*time.Second {
		t.Errorf("sent %d in %v, want 150 in ~150ms", n, el)
	}
}

func TestKindMixIsEven(t *testing.T) {
	for _, c := range []struct{ sources, kinds int64 }{{1, 2}, {1, 3}, {2, 2}, {3, 3}, {10, 3}, {7, 1}} {
		per := map[[2]int64]int{} // (source, kind) -> count
		for k := range c.sources * c.kinds * c.kinds {
			per[[2]int64{k % c.sources, kindOf(k, c.sources, c.kinds)}]++
		}
		if len(per) != int(c.sources*c.kinds) { // every source got every kind
			t.Errorf("%d sources, %d kinds: %d source/kind pairs, want %d", c.sources, c.kinds, len(per), c.sources*c.kinds)
		}
		for p, n := range per {
			if n != int(c.kinds) {
				t.Errorf("%d sources, %d kinds: pair %v sent %d times, want %d", c.sources, c.kinds, p, n, c.kinds)
			}
		}
	}
}

package floodguard

import (
	"fmt"
	"testing"
	"unsafe"
)

func TestTableFixedSize(t *testing.T) {
	tests := []struct{ size, want int }{
		{64, 64}, {100, 96}, {262144, 262144}, {7, setWays},
	}
	for _, tt := range tests {
		if got := newTable(tt.size, nano).capacity(); got != tt.want {
			t.Errorf("newTable(%d).capacity() = %d, want %d", tt.size, got, tt.want)
		}
	}
	if s := unsafe.Sizeof(slot{}); s != 40 {
		t.Errorf("slot is %d bytes, want 40 (README documents the table's memory from it)", s)
	}
}

func TestTableNeverGrowsAndKeepsHeavyHitter(t *testing.T) {
	tb := newTable(64, 16*nano)
	heavy := tb.hash([]byte("heavy"))
	var evictions int
	for i := range 100000 {
		now := int64(i)
		s, st, _, _ := tb.acquire(heavy, now)
		s.balance = 42
		st.mu.Unlock()
		_, st, _, ev := tb.acquire(tb.hash([]byte(fmt.Sprint("random", i))), now)
		st.mu.Unlock()
		if ev {
			evictions++
		}
	}
	s, st, fresh, _ := tb.acquire(heavy, 100000)
	balance := s.balance
	st.mu.Unlock()
	if fresh || balance != 42 {
		t.Errorf("heavy hitter lost its slot under churn (fresh=%v, balance=%d)", fresh, balance)
	}
	if evictions == 0 {
		t.Errorf("no evictions counted although 100000 keys went through 64 slots")
	}
	live := tb.sweep(100000, func(*slot) {})
	if live > tb.capacity() {
		t.Errorf("%d live slots in a table of %d", live, tb.capacity())
	}
}

func TestTableIdleSlotsAreReusedNotEvicted(t *testing.T) {
	tb := newTable(8, 16*nano) // one set
	for i := range setWays {
		_, st, _, _ := tb.acquire(uint64(i+1), 0)
		st.mu.Unlock()
	}
	// Before idleAfter: a new key evicts a live slot.
	_, st, _, ev := tb.acquire(100, 15*nano)
	st.mu.Unlock()
	if !ev {
		t.Errorf("replacing a live slot was not reported as an eviction")
	}
	// After idleAfter: reuse of idle slots is not an eviction.
	_, st, _, ev = tb.acquire(101, 40*nano)
	st.mu.Unlock()
	if ev {
		t.Errorf("reusing an idle slot was reported as an eviction")
	}
}

func TestTableSweepAgesOut(t *testing.T) {
	tb := newTable(1024, 16*nano)
	for i := range 10 {
		_, st, _, _ := tb.acquire(tb.hash([]byte(fmt.Sprint("key", i))), int64(i)*nano)
		st.mu.Unlock()
	}
	tests := []struct {
		now  int64
		live int
	}{
		{9 * nano, 10},
		{20 * nano, 5}, // slots touched at 0..4 s are idle by 20 s
		{100 * nano, 0},
	}
	for _, tt := range tests {
		if live := tb.sweep(tt.now, func(*slot) {}); live != tt.live {
			t.Errorf("sweep at %ds: %d live, want %d", tt.now/nano, live, tt.live)
		}
	}
}

func TestTableSeedsDiffer(t *testing.T) {
	a, b := newTable(1<<16, nano), newTable(1<<16, nano)
	same := 0
	for i := range 1000 {
		k := []byte(fmt.Sprint("key", i))
		ia := (a.hash(k) >> 32) * uint64(len(a.sets)) >> 32
		ib := (b.hash(k) >> 32) * uint64(len(b.sets)) >> 32
		if ia == ib {
			same++
		}
	}
	// With independent random seeds, about 1000/8192 keys share a set by chance.
	if same > 10 {
		t.Errorf("%d of 1000 keys landed in the same set in two tables: the hash is not keyed", same)
	}
}

package floodguard

import (
	"fmt"
	"testing"
	"unsafe"
)

// touch acquires h at now, keeps it live for life and returns what acquire said.
func touch(tb *table, h uint64, now, life int64) (fresh, evicted bool) {
	s, st, fresh, evicted := tb.acquire(h, now)
	s.expires = now + life
	st.mu.Unlock()
	return fresh, evicted
}

func TestTableFixedSize(t *testing.T) {
	tests := []struct{ size, want int }{
		{64, 64}, {100, 96}, {262144, 262144}, {7, setWays},
	}
	for _, tt := range tests {
		if got := newTable(tt.size).capacity(); got != tt.want {
			t.Errorf("newTable(%d).capacity() = %d, want %d", tt.size, got, tt.want)
		}
	}
	if s := unsafe.Sizeof(slot{}); s != 48 {
		t.Errorf("slot is %d bytes, want 48 (README documents the table's memory from it)", s)
	}
	if s := unsafe.Sizeof(set{}); s != 8+8*48 {
		t.Errorf("set is %d bytes, want %d (README documents the table's memory from it)", s, 8+8*48)
	}
}

func TestTableNeverGrowsAndKeepsHeavyHitter(t *testing.T) {
	tb := newTable(64)
	heavy := tb.hash([]byte("heavy"))
	var evictions int
	for i := range 100000 {
		now := int64(i)
		if fresh, _ := touch(tb, heavy, now, 16*nano); fresh && i > 0 {
			t.Fatalf("step %d: heavy hitter lost its slot under churn", i)
		}
		if _, ev := touch(tb, tb.hash([]byte(fmt.Sprint("random", i))), now, 16*nano); ev {
			evictions++
		}
	}
	if evictions == 0 {
		t.Errorf("no evictions counted although 100000 keys went through 64 slots")
	}
	if live := tb.sweep(100000, func(*slot) {}); live > tb.capacity() {
		t.Errorf("%d live slots in a table of %d", live, tb.capacity())
	}
}

func TestTableVictims(t *testing.T) {
	tb := newTable(8) // one set
	for i := range setWays {
		touch(tb, uint64(i+1), 0, int64(i+10)*nano) // way i expires at 10+i s
	}
	// A new key takes the way expiring first (key 1, at 10 s): an eviction.
	if _, ev := touch(tb, 100, nano, 16*nano); !ev {
		t.Errorf("replacing a live slot was not reported as an eviction")
	}
	// At 12 s, key 2 (expiring at 11 s) is idle: reusing it is no eviction.
	if _, ev := touch(tb, 101, 12*nano, 16*nano); ev {
		t.Errorf("reusing an idle slot was reported as an eviction")
	}
	// A long-lived way (a ban) outlasts every short-lived newcomer.
	touch(tb, 3, 12*nano, 3600*nano) // key 3 pinned for an hour
	for i := range 100 {
		touch(tb, uint64(1000+i), 12*nano, 16*nano)
	}
	if fresh, _ := touch(tb, 3, 13*nano, 3600*nano); fresh {
		t.Errorf("a long-lived slot was evicted by short-lived ones")
	}
}

func TestTableSweepAgesOut(t *testing.T) {
	tb := newTable(1024)
	for i := range 10 {
		touch(tb, tb.hash([]byte(fmt.Sprint("key", i))), int64(i)*nano, 16*nano)
	}
	tests := []struct {
		now  int64
		live int
	}{
		{9 * nano, 10},
		{20 * nano, 5}, // slots touched at 0..4 s expired by 20 s
		{100 * nano, 0},
	}
	for _, tt := range tests {
		if live := tb.sweep(tt.now, func(*slot) {}); live != tt.live {
			t.Errorf("sweep at %ds: %d live, want %d", tt.now/nano, live, tt.live)
		}
	}
}

func TestTableSeedsDiffer(t *testing.T) {
	a, b := newTable(1<<16), newTable(1<<16)
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

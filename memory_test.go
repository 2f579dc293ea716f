package floodguard

import (
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// attackerSlot reports whether key has a slot in tb, and its balance,
// without claiming one.
func attackerSlot(tb *table, key uint64) (present bool, balance int64) {
	st := tb.setFor(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range st.slots {
		if st.slots[i].key == key {
			return true, st.slots[i].balance
		}
	}
	return false, 0
}

// TestMillionSources feeds the limiter of a bare `floodguard` (but for /32
// client prefixes, so every source is a bucket of its own) one response to
// each of a million distinct sources, with a steady attacker (one prefix,
// one name) interleaved, three responses to every source's one, on an
// injected clock. 50 µs per source is 20,000 new buckets a second: within
// window+1 s that is more than the table's 262,144 slots, so the table is
// full and evicting for most of the run. It checks that memory is the
// table's and nothing else's, that no source pushes the attacker out, and
// that everything ages out.
func TestMillionSources(t *testing.T) {
	// Under the race detector, half: still enough to fill the table.
	sources := 1_000_000
	if raceEnabled {
		sources = 500_000
	}
	const (
		step          = 50 * time.Microsecond // clock per distinct source
		attackPerStep = 3                     // attacker responses per source response
		sampleEvery   = 10000                 // sources between checks of the attacker
		sweepEvery    = int(time.Second / step)
	)
	cfg, err := parse(caddy.NewTestController("dns", "floodguard {\n ipv4-prefix-length 32\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.maxTableSize != defaultMaxTableSize {
		t.Fatalf("max-table-size %d, want the default %d", cfg.maxTableSize, defaultMaxTableSize)
	}
	rate := cfg.limits.perSecond[classResponse]
	window := cfg.limits.window

	before := heapInUse()
	clk := &fakeClock{t: int64(time.Hour)}
	st := newState("million", cfg, clk.now)
	tb := st.lim.table
	tableBytes := uint64(len(tb.sets)) * uint64(unsafe.Sizeof(set{}))
	if got, want := uint64(tb.capacity())*uint64(unsafe.Sizeof(slot{})), tableBytes; got > want {
		t.Fatalf("slots alone take %d bytes, more than the sets (%d)", got, want)
	}
	afterAlloc := heapInUse()

	attacker := prefixOf(netip.MustParseAddr("192.0.2.66"), cfg.v4Bits, cfg.v6Bits)
	const attackName = "www.example.org."
	attackKey := st.lim.key(byte(classResponse), attacker, dns.TypeA, attackName)

	var (
		sent, slipped, dropped int // the attacker's verdicts
		evictions              int
		maxLive                int
		limitedSources         int
	)
	for i := range sources {
		clk.advance(step)
		now := clk.now()
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		d := st.lim.decide(now, prefixOf(addr, cfg.v4Bits, cfg.v6Bits), classResponse, attackName, dns.TypeA)
		evictions += d.evictions
		if d.verdict != verdictSend {
			limitedSources++
		}
		for range attackPerStep {
			d := st.lim.decide(now, attacker, classResponse, attackName, dns.TypeA)
			evictions += d.evictions
			switch d.verdict {
			case verdictSend:
				sent++
			case verdictSlip:
				slipped++
			case verdictDrop:
				dropped++
			}
		}
		if (i+1)%sweepEvery == 0 {
			live := tb.sweep(now, func(*slot) {})
			if live > tb.capacity() {
				t.Fatalf("after %d sources: %d live slots in a table of %d", i+1, live, tb.capacity())
			}
			maxLive = max(maxLive, live)
		}
		if (i+1)%sampleEvery == 0 {
			present, balance := attackerSlot(tb, attackKey)
			if !present || balance >= 0 {
				t.Fatalf("after %d sources: attacker's bucket present=%v balance=%d: it was evicted or is no longer limited", i+1, present, balance)
			}
		}
	}
	afterRun := heapInUse()

	// A source asking once is always answered.
	if limitedSources != 0 {
		t.Errorf("%d of %d single-response sources were limited", limitedSources, sources)
	}
	// The attacker got its first second's allowance and nothing after: a
	// bucket that had been evicted would have come back with fresh credit.
	over := sources*attackPerStep - int(rate)
	if sent != int(rate) || slipped != (over+1)/2 || dropped != over/2 {
		t.Errorf("attacker: sent/slipped/dropped = %d/%d/%d, want %d/%d/%d", sent, slipped, dropped, rate, (over+1)/2, over/2)
	}
	if evictions == 0 {
		t.Errorf("no evictions: the table never filled, so the test proves nothing about a full table")
	}
	if maxLive < tb.capacity()*9/10 {
		t.Errorf("at most %d of %d slots were live: the table never filled", maxLive, tb.capacity())
	}

	// Memory: the table, allocated once, and nothing per source.
	const margin = 256 << 10
	grewAlloc := int64(afterAlloc) - int64(before)
	grewRun := int64(afterRun) - int64(afterAlloc)
	t.Logf("%d sources, %d attacker responses: table %d slots, %d bytes (%.1f bytes a slot); heap +%d at allocation, %+d over the run; %d evictions, at most %d live",
		sources, sources*attackPerStep, tb.capacity(), tableBytes, float64(tableBytes)/float64(tb.capacity()), grewAlloc, grewRun, evictions, maxLive)
	if grewAlloc > int64(tableBytes)+margin {
		t.Errorf("making the state grew the heap by %d bytes, more than the table's %d + %d", grewAlloc, tableBytes, margin)
	}
	if grewRun > margin {
		t.Errorf("the heap grew by %d bytes over %d sources (%.2f bytes a source): state grows per source", grewRun, sources, float64(grewRun)/float64(sources))
	}

	// Everything ages out window+1 s after it was last touched.
	clk.advance(time.Duration(window+1) * time.Second)
	if live := tb.sweep(clk.now(), func(*slot) {}); live != 0 {
		t.Errorf("%d slots still live %d s after the last response, want 0", live, window+1)
	}
	runtime.KeepAlive(st)
}

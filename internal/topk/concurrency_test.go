package topk

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrent adds from several goroutines, with a shared clock that
// crosses epochs, while Top reads; under capacity the totals are exact.
func TestConcurrent(t *testing.T) {
	const (
		workers = 8
		perG    = 5000
		keys    = 20
	)
	s := New(512, sec, 7)
	var clock atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				s.Top(clock.Load(), 5, ByBytes)
			}
		}
	}()
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				// Reading the clock before the lock lets a late reading in.
				now := clock.Add(100_000)
				s.Add(now, net24(uint32((g+i)%keys)), 10, 100, Outcome(i%4))
			}
		}()
	}
	wg.Wait()
	close(done)
	now := clock.Load()
	if now/sec >= 7 {
		t.Fatalf("the test ran past the window: %d ns", now)
	}
	top := s.Top(now, 100, ByQueries)
	if len(top) != keys {
		t.Fatalf("%d entries, want %d", len(top), keys)
	}
	var q, req, resp, drop uint64
	for _, e := range top {
		if e.Error != 0 || e.Estimate != e.Queries || e.Estimate != workers*perG/keys {
			t.Errorf("%+v, want an exact estimate of %d", e, workers*perG/keys)
		}
		q += e.Queries
		req += e.RequestBytes
		resp += e.ResponseBytes
		drop += e.Dropped
	}
	if q != workers*perG || req != 10*q || resp != 100*q || drop != q/4 {
		t.Errorf("totals: %d queries, %d request bytes, %d response bytes, %d dropped", q, req, resp, drop)
	}
}

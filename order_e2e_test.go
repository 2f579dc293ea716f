package floodguard

import (
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Arrival order is not time order. CoreDNS serves each UDP query on its own
// goroutine, and a query reads the clock before it takes its slot's lock,
// so on several cores queries from one prefix reach a slot in a different
// order from the times they read. These tests flood a real CoreDNS, on the
// real clock, from one /24 over several sockets at once, and check every
// limit against what it allows in time order. A fake clock with one
// goroutine cannot show this.
//
// make test runs a few short floods of each; make stress runs 20 of 2 s each
// (FLOODGUARD_FLOOD_RUNS, FLOODGUARD_FLOOD_SECONDS).

const (
	floodRate    = 3000 // queries a second, over all the sockets of one flood
	floodSockets = 4
	// banRate is more than CoreDNS serves here (the kernel drops the rest),
	// so that many queries are in flight at once when the ban's second
	// comes round: that is when a query that read the clock early gets
	// the lock late.
	banRate = 20000
)

// floodSettings are the runs and length of each limit's floods.
func floodSettings(t *testing.T) (runs int, length time.Duration) {
	runs, length = 3, 1500*time.Millisecond
	if v := os.Getenv("FLOODGUARD_FLOOD_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FLOODGUARD_FLOOD_RUNS=%q: want a whole number of runs", v)
		}
		runs = n
	}
	if v := os.Getenv("FLOODGUARD_FLOOD_SECONDS"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s <= 0 || s > 60 {
			t.Fatalf("FLOODGUARD_FLOOD_SECONDS=%q: want seconds, up to 60", v)
		}
		length = time.Duration(s * float64(time.Second))
	}
	return runs, length
}

// floodOutcome is what the clients of one flood saw.
type floodOutcome struct {
	tally
	queries int
	// elapsed runs from the first query sent to the last full answer
	// received: every answer the server allowed, it allowed on a clock
	// reading within that span. (The last query sent would be a shorter
	// span, and a server slow to read it would make that one too short.)
	elapsed   time.Duration
	length    time.Duration   // from the first query sent to the last reply received
	truncates []time.Duration // when each TC=1 reply came, from the first query sent
}

// flood sends rate queries a second for length from floodSockets sockets
// on the loopback addresses of one /24 (base.1, base.2, ...), each query
// from ask, and tallies the replies that came within half a second of the
// last query.
func flood(t *testing.T, to, base string, ask func(i int) *dns.Msg, rate int, length time.Duration) floodOutcome {
	t.Helper()
	raddr := mustUDPAddr(t, to)
	var (
		first, last atomic.Int64 // first query sent, last full answer received
		sentLast    atomic.Int64
		answered    atomic.Int64
		sentTotal   atomic.Int64
		wg          sync.WaitGroup
		mu          sync.Mutex
		truncates   []time.Duration
		errs        = make([]error, floodSockets)
	)
	first.Store(math.MaxInt64)
	start := time.Now()
	perSocket := rate / floodSockets
	for s := range floodSockets {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(fmt.Sprintf("%s.%d", base, s+1))})
		if err != nil {
			t.Fatalf("binding %s.%d: %v", base, s+1, err)
		}
		defer conn.Close()
		reading := make(chan struct{})
		wg.Go(func() {
			defer close(reading)
			buf := make([]byte, 65535)
			for {
				n, err := conn.Read(buf)
				if err != nil {
					return // the deadline, after the last query
				}
				r := new(dns.Msg)
				if err := r.Unpack(buf[:n]); err != nil {
					errs[s] = fmt.Errorf("unreadable reply: %w", err)
					return
				}
				now := time.Since(start)
				if r.Truncated {
					mu.Lock()
					truncates = append(truncates, now)
					mu.Unlock()
				} else if len(r.Answer) > 0 {
					answered.Add(1)
					storeMax(&last, int64(now))
				}
			}
		})
		wg.Go(func() {
			// Paced by the clock: query k goes at k/perSocket seconds.
			for k := 0; ; k++ {
				at := time.Duration(k) * time.Second / time.Duration(perSocket)
				if at >= length {
					break
				}
				if d := time.Until(start.Add(at)); d > 0 {
					time.Sleep(d)
				}
				b, err := ask(s*perSocket*100 + k).Pack()
				if err != nil {
					errs[s] = err
					break
				}
				now := time.Since(start).Nanoseconds()
				if _, err := conn.WriteToUDP(b, raddr); err != nil {
					errs[s] = err
					break
				}
				sentTotal.Add(1)
				storeMax(&sentLast, now)
				storeMin(&first, now)
			}
			conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			<-reading
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	q := int(sentTotal.Load())
	o := floodOutcome{queries: q, elapsed: max(0, time.Duration(last.Load()-first.Load())), truncates: truncates}
	o.answered, o.truncated = int(answered.Load()), len(truncates)
	o.silent = q - o.answered - o.truncated
	slices.Sort(o.truncates)
	o.length = max(o.elapsed, time.Duration(sentLast.Load()-first.Load()))
	if n := len(o.truncates); n > 0 {
		o.length = max(o.length, o.truncates[n-1]-time.Duration(first.Load()))
	}
	return o
}

func storeMax(a *atomic.Int64, v int64) {
	for old := a.Load(); v > old && !a.CompareAndSwap(old, v); old = a.Load() {
	}
}

func storeMin(a *atomic.Int64, v int64) {
	for old := a.Load(); v < old && !a.CompareAndSwap(old, v); old = a.Load() {
	}
}

// atLeastTwoCores makes sure the server's goroutines run in parallel.
func atLeastTwoCores(t *testing.T) {
	if old := runtime.GOMAXPROCS(0); old < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// allowance is what a bucket of rate a second, starting with burst, lets
// through in elapsed, with one more for the edges of the measurement.
func allowance(burst, rate int, elapsed time.Duration) int {
	return burst + int(float64(rate)*elapsed.Seconds()) + 1
}

const orderCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        %s
    }
    prometheus {metrics}
    metadata
    file testdata/example.org.zone
}
`

func TestE2ELimitsUnderConcurrency(t *testing.T) {
	atLeastTwoCores(t)
	runs, length := floodSettings(t)
	same := func(name string, qtype uint16) func(int) *dns.Msg {
		return func(i int) *dns.Msg { return query(name, qtype, uint16(i)) }
	}
	// Distinct names, so that no response bucket is shared.
	distinct := func(i int) *dns.Msg {
		names := []string{"www", "mail", "ns1", "ns2", "alias"}
		return query(names[i%len(names)]+".example.org", dns.TypeA, uint16(i))
	}
	tests := []struct {
		name    string
		options string
		rate    int // queries a second; 0 for floodRate
		ask     func(i int) *dns.Msg
		// check judges one flood by what the clients saw and the metrics'
		// growth in it (series name without the server label -> delta).
		check func(t *testing.T, o floodOutcome, m map[string]float64)
	}{
		{
			"any-per-minute 4: exactly 4 full answers", "any-per-minute 4\n        responses-per-second 1000",
			0, same("example.org", dns.TypeANY),
			func(t *testing.T, o floodOutcome, m map[string]float64) {
				if o.answered != 4 || o.truncated != 0 {
					t.Errorf("%d full answers and %d truncated of %d ANY in %v, want 4 and 0", o.answered, o.truncated, o.queries, o.elapsed)
				}
			},
		},
		{
			"queries-per-second 100 200: BURST + RATE x elapsed", "queries-per-second 100 200\n        responses-per-second 0\n        slip 2",
			0, distinct,
			func(t *testing.T, o floodOutcome, m map[string]float64) {
				// Slips are not checked: every token the bucket earns back
				// ends an over-limit episode, and the next one slips first.
				if limit := allowance(200, 100, o.elapsed); o.answered > limit {
					t.Errorf("%d full answers of %d queries in %v, want at most %d", o.answered, o.queries, o.elapsed, limit)
				}
			},
		},
		{
			"responses-per-second 5: BIND's counts", "responses-per-second 5\n        slip 2",
			0, same("www.example.org", dns.TypeA),
			func(t *testing.T, o floodOutcome, m map[string]float64) {
				// Credit is capped at a second's worth, and a flood keeps the
				// bucket in debt: at most the first second's 5, and whatever
				// accrues while the debt has not reached its floor.
				if limit := allowance(5, 5, o.elapsed); o.answered > limit {
					t.Errorf("%d full answers of %d queries in %v, want at most %d", o.answered, o.queries, o.elapsed, limit)
				}
				checkSlips(t, m[`coredns_floodguard_responses_total{action="slipped"}`], m[`coredns_floodguard_responses_total{action="dropped"}`])
			},
		},
		{
			// slip 0: the only truncated replies are the ban's.
			"ban: at most one truncated reply a second", "responses-per-second 5\n        slip 0\n        ban 50 60s 10m",
			banRate, same("www.example.org", dns.TypeA),
			func(t *testing.T, o floodOutcome, m map[string]float64) {
				if m[`coredns_floodguard_bans_total`] != 1 {
					t.Fatalf("%v bans, want 1", m[`coredns_floodguard_bans_total`])
				}
				// The ban's first reply at once, then one a second: never two
				// close together, nor more than the seconds allow.
				if limit := 1 + int(o.length.Seconds()) + 1; o.truncated > limit {
					t.Errorf("%d truncated replies to a banned prefix in %v, want at most %d", o.truncated, o.length, limit)
				}
				for i := 1; i < len(o.truncates); i++ {
					if gap := o.truncates[i] - o.truncates[i-1]; gap < 500*time.Millisecond {
						t.Errorf("truncated replies %d and %d to a banned prefix came %v apart: %v", i-1, i, gap, o.truncates)
						break
					}
				}
			},
		},
		{
			"all-per-second 20: its allowance, never slipped", "all-per-second 20\n        responses-per-second 0\n        slip 2",
			0, distinct,
			func(t *testing.T, o floodOutcome, m map[string]float64) {
				if limit := allowance(20, 20, o.elapsed); o.answered > limit || o.truncated != 0 {
					t.Errorf("%d full answers and %d truncated of %d queries in %v, want at most %d and 0", o.answered, o.truncated, o.queries, o.elapsed, limit)
				}
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, fmt.Sprintf(orderCorefile, tt.options))
			before := srv.scrape(t)
			for run := range runs {
				// A fresh /24 each run: every limit starts from nothing.
				base := fmt.Sprintf("127.%d.%d", 150+i, run)
				rate := tt.rate
				if rate == 0 {
					rate = floodRate
				}
				o := flood(t, srv.udp, base, tt.ask, rate, length)
				after := srv.scrape(t)
				delta := map[string]float64{}
				for k, v := range after {
					delta[k] = v - before[k]
				}
				before = after
				t.Logf("run %d: %d queries in %v: %d answered (the last %v after the first query), %d truncated, %d silent",
					run, o.queries, o.length.Round(time.Millisecond), o.answered, o.elapsed.Round(time.Millisecond), o.truncated, o.silent)
				tt.check(t, o, delta)
			}
		})
	}
}

// checkSlips: with slip 2, a flood that stays over the limit gets every
// other over-limit reply slipped, the first one included, whatever order
// the queries took the lock in.
func checkSlips(t *testing.T, slipped, dropped float64) {
	t.Helper()
	if over := slipped + dropped; slipped != math.Ceil(over/2) {
		t.Errorf("%v slipped of %v over the limit, want %v (every other one, the first included)", slipped, over, math.Ceil(over/2))
	}
}

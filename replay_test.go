package floodguard

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// replayLog is a ReplayRecorder that writes down what it hears.
type replayLog struct {
	mu        sync.Mutex
	requests  []string
	responses []string
	evicted   int
	bans      []string
}

func (l *replayLog) Request(action, reason string) {
	l.mu.Lock()
	l.requests = append(l.requests, action+"/"+reason)
	l.mu.Unlock()
}
func (l *replayLog) Response(action string) {
	l.mu.Lock()
	l.responses = append(l.responses, action)
	l.mu.Unlock()
}
func (l *replayLog) Evicted(n int) { l.mu.Lock(); l.evicted += n; l.mu.Unlock() }
func (l *replayLog) Banned(p netip.Prefix, what string, start, end int64) {
	l.mu.Lock()
	l.bans = append(l.bans, p.String()+" "+what+" "+time.Duration(end-start).String())
	l.mu.Unlock()
}

// replayInstance sets up a floodguard block the way a Corefile's setup
// does, with a next plugin that answers every query.
func replayInstance(t *testing.T, block string) *Floodguard {
	t.Helper()
	c := newParseController(block)
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
	answer := plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 80)}}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	h := dnsserver.GetConfig(c).Plugin[0](answer)
	return h.(*Floodguard)
}

func TestReplayMode(t *testing.T) {
	var now int64
	log := &replayLog{}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r, err := StartReplay(ReplayOptions{Now: func() int64 { return now }, Start: start, Recorder: log, TableSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if _, err := StartReplay(ReplayOptions{Now: func() int64 { return 0 }}); err == nil {
		t.Error("a second replay started while one runs")
	}
	f := replayInstance(t, "floodguard {\n responses-per-second 2\n slip 2\n ban 4 10s 1m\n ipv4-prefix-length 16\n}")
	if f.replay != r || f.lim.table.capacity() != 1024 {
		t.Fatalf("instance not in the replay (table %d slots)", f.lim.table.capacity())
	}
	if v4, v6 := r.PrefixLengths(); v4 != 16 || v6 != 56 {
		t.Errorf("prefix lengths %d %d, want 16 56", v4, v6)
	}
	if got := f.wallAt(0); !got.Equal(start) {
		t.Errorf("the wall clock at the capture's start reads %v, want %v", got, start)
	}
	w := &addrWriter{local: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, remote: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000}}
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	// Ten queries in the capture's first 100 ms: 2 sent, then slipped and
	// dropped by turns, and the fourth limited response bans.
	for i := 0; i < 10; i++ {
		now = int64(i) * int64(10*time.Millisecond)
		f.ServeDNS(context.Background(), w, m)
	}
	want := []string{"sent", "sent", "slipped", "dropped", "slipped", "dropped"}
	if len(log.responses) < len(want) {
		t.Fatalf("responses %v", log.responses)
	}
	for i, a := range want {
		if log.responses[i] != a {
			t.Errorf("response %d: %s, want %s (all: %v)", i, log.responses[i], a, log.responses)
		}
	}
	if len(log.bans) != 1 || log.bans[0] != "192.0.0.0/16 response www.example.org. A 1m0s" {
		t.Errorf("bans %v, want 192.0.0.0/16's www.example.org. A for 1m", log.bans)
	}
	if len(log.requests) == 0 || log.requests[0] != "truncated/banned" {
		t.Errorf("requests %v, want the banned query's truncated reply first", log.requests)
	}
	// No sweeper goroutine: the replay sweeps, on its clock.
	if f.stop != nil {
		t.Error("a replay state started a sweeper")
	}
	tbl := r.Sweep()
	if tbl.Live == 0 || tbl.Peak != tbl.Live || tbl.Capacity != 1024 {
		t.Errorf("sweep %+v", tbl)
	}
	now = int64(10 * time.Minute)
	if tbl := r.Sweep(); tbl.Live != 0 || tbl.Peak == 0 {
		t.Errorf("after 10 idle minutes: %+v, want nothing live and the peak kept", tbl)
	}
	r.Close()
	registryMu.Lock()
	defer registryMu.Unlock()
	if replaying != nil || registry[f.key] == f.state {
		t.Error("Close left replay mode on, or the replay's state was registered with the live ones")
	}
	if clock() == now || wallClock() < time.Now().Unix()-5 {
		t.Error("the package's clocks are the replay's")
	}
}

func TestStartReplayRefuses(t *testing.T) {
	for _, o := range []ReplayOptions{
		{},
		{Now: func() int64 { return 0 }, TableSize: 10},
		{Now: func() int64 { return 0 }, TableSize: maxTableSize + 1},
	} {
		if r, err := StartReplay(o); err == nil {
			r.Close()
			t.Errorf("StartReplay(%+v) succeeded", o)
		}
	}
}

// TestReplayCountersCostLiveNothing: outside a replay the metrics'
// counters are the plain ones, and no recorder is in the path.
func TestReplayCountersCostLiveNothing(t *testing.T) {
	f := replayInstance(t, "floodguard")
	if f.replay != nil || f.metrics.rec != nil {
		t.Fatal("a live instance is in replay mode")
	}
	m := f.metrics.get("dns://:53")
	if _, wrapped := m.responses[actionSent].(responseCounter); wrapped {
		t.Error("a live instance's counters tell a recorder")
	}
}

// TestReplayLeavesLiveStatesAlone: a replay of the same block as a live
// instance gets a state of its own, on its own clocks, and leaves the live
// one registered and running.
func TestReplayLeavesLiveStatesAlone(t *testing.T) {
	block := "floodguard {\n responses-per-second 2\n}"
	live := replayInstance(t, block)
	w := &addrWriter{local: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, remote: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4000}}
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	live.ServeDNS(context.Background(), w, m) // takes the hold: registered, sweeping
	defer live.onShutdown()
	liveEpoch := live.cookieEpoch.Load()

	r, err := StartReplay(ReplayOptions{Now: func() int64 { return 0 }, Start: time.Unix(1e9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rf := replayInstance(t, block)
	rf.ServeDNS(context.Background(), w, m)
	if rf.state == live.state {
		t.Fatal("the replay took over the live state")
	}
	r.Sweep()
	live.sweep(live.now())
	registryMu.Lock()
	got := registry[live.key]
	registryMu.Unlock()
	if got != live.state {
		t.Error("the live state is no longer the registered one")
	}
	if rf.cookieEpoch.Load() != 1e9 || live.cookieEpoch.Load()-liveEpoch > 5 {
		t.Errorf("cookie epochs: replay %d (want 1e9), live moved from %d to %d", rf.cookieEpoch.Load(), liveEpoch, live.cookieEpoch.Load())
	}
}

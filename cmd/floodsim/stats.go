package main

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// counters hold the current second; the sampler swaps them to zero.
type counters struct {
	sent, sentBytes, sendErrs     atomic.Int64
	recv, recvBytes, tc           atomic.Int64
	legitDone, legitOK, legitRetr atomic.Int64
}

// second is one row of the per-second series.
type second struct {
	Sec                           int
	Sent, SentBytes, SendErrs     int64
	Recv, RecvBytes, TC           int64
	LegitDone, LegitOK, LegitRetr int64
	ServerCPU                     float64 // server CPU seconds used in this second
	ServerRSSKB                   int64
}

type stats struct {
	cur    counters
	rcodes [16]atomic.Int64 // attack replies by header rcode

	mu     sync.Mutex
	lat    []time.Duration // latencies of answered legit queries
	series []second
}

func (s *stats) attackSent(n int, err error) {
	if err != nil {
		s.cur.sendErrs.Add(1)
		return
	}
	s.cur.sent.Add(1)
	s.cur.sentBytes.Add(int64(n))
}

// attackReply reads TC and rcode straight from the header: parsing whole
// replies would cost more than sending the attack.
func (s *stats) attackReply(b []byte) {
	s.cur.recv.Add(1)
	s.cur.recvBytes.Add(int64(len(b)))
	if len(b) < 12 {
		return
	}
	if b[2]&0x02 != 0 {
		s.cur.tc.Add(1)
	}
	s.rcodes[b[3]&0x0f].Add(1)
}

func (s *stats) legitResult(answered, retried bool, lat time.Duration) {
	s.cur.legitDone.Add(1)
	if retried {
		s.cur.legitRetr.Add(1)
	}
	if answered {
		s.cur.legitOK.Add(1)
		s.mu.Lock()
		s.lat = append(s.lat, lat)
		s.mu.Unlock()
	}
}

// snapshot closes the current second and appends it to the series.
func (s *stats) snapshot(cpu float64, rssKB int64) {
	c := &s.cur
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series = append(s.series, second{Sec: len(s.series) + 1,
		Sent: c.sent.Swap(0), SentBytes: c.sentBytes.Swap(0), SendErrs: c.sendErrs.Swap(0),
		Recv: c.recv.Swap(0), RecvBytes: c.recvBytes.Swap(0), TC: c.tc.Swap(0),
		LegitDone: c.legitDone.Swap(0), LegitOK: c.legitOK.Swap(0), LegitRetr: c.legitRetr.Swap(0),
		ServerCPU: cpu, ServerRSSKB: rssKB})
}

// totals is the JSON summary of a run.
type totals struct {
	DurationS        float64          `json:"duration_s"`
	SourceMode       string           `json:"source_mode"`
	Sources          int              `json:"sources"`
	AttackSent       int64            `json:"attack_sent"`
	AttackSentBytes  int64            `json:"attack_sent_bytes"`
	AttackSendErrors int64            `json:"attack_send_errors"`
	AttackReplies    int64            `json:"attack_replies"`
	AttackReplyBytes int64            `json:"attack_reply_bytes"`
	AttackTC         int64            `json:"attack_tc"`
	Rcodes           map[string]int64 `json:"attack_rcodes"`
	Amplification    float64          `json:"amplification"`
	LegitQueries     int64            `json:"legit_queries"`
	LegitAnswered    int64            `json:"legit_answered"`
	LegitFraction    float64          `json:"legit_answered_fraction"`
	LegitTCPRetries  int64            `json:"legit_tcp_retries"`
	LegitP50Ms       float64          `json:"legit_p50_ms"`
	LegitP99Ms       float64          `json:"legit_p99_ms"`
	LegitMaxMs       float64          `json:"legit_max_ms"`
	ServerCPUSeconds float64          `json:"server_cpu_s,omitempty"`
	ServerPeakRSSKB  int64            `json:"server_peak_rss_kb,omitempty"`
	ServerVmHWMKB    int64            `json:"server_vmhwm_kb,omitempty"`
	ServerUDPDrops   *int64           `json:"server_udp_drops,omitempty"`
}

// amplification is bytes the victims got per byte the attacker sent.
func amplification(replyBytes, sentBytes int64) float64 {
	if sentBytes == 0 {
		return 0
	}
	return float64(replyBytes) / float64(sentBytes)
}

// fraction is ok/n, NaN when nothing was asked (a gap, not a zero).
func fraction(ok, n int64) float64 {
	if n == 0 {
		return math.NaN()
	}
	return float64(ok) / float64(n)
}

// percentile uses the nearest-rank method on sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func (s *stats) totals() totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t totals
	for _, r := range s.series {
		t.AttackSent += r.Sent
		t.AttackSentBytes += r.SentBytes
		t.AttackSendErrors += r.SendErrs
		t.AttackReplies += r.Recv
		t.AttackReplyBytes += r.RecvBytes
		t.AttackTC += r.TC
		t.LegitQueries += r.LegitDone
		t.LegitAnswered += r.LegitOK
		t.LegitTCPRetries += r.LegitRetr
		t.ServerCPUSeconds += r.ServerCPU
		t.ServerPeakRSSKB = max(t.ServerPeakRSSKB, r.ServerRSSKB)
	}
	t.Amplification = amplification(t.AttackReplyBytes, t.AttackSentBytes)
	if t.LegitQueries > 0 {
		t.LegitFraction = fraction(t.LegitAnswered, t.LegitQueries)
	}
	t.Rcodes = map[string]int64{}
	for i := range s.rcodes {
		if n := s.rcodes[i].Load(); n > 0 {
			name, ok := dns.RcodeToString[i]
			if !ok {
				name = "RCODE" + strconv.Itoa(i)
			}
			t.Rcodes[name] = n
		}
	}
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	t.LegitP50Ms, t.LegitP99Ms = ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		t.LegitMaxMs = ms(lat[len(lat)-1])
	}
	return t
}

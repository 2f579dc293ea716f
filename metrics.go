package floodguard

import (
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	transportof "github.com/coredns/coredns/plugin/pkg/parse"
	"github.com/coredns/coredns/plugin/pkg/transport"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const subsystem = "floodguard"

var (
	responsesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "responses_total",
		Help:      "UDP responses floodguard saw, by what it did with them.",
	}, []string{"server", "action"})

	limitedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "limited_total",
		Help:      "UDP responses over a rate limit, by the limit's response class.",
	}, []string{"server", "class"})

	tableEntries = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "table_entries",
		Help:      "Live entries in the rate-limit table (entries whose state has not yet fully recovered).",
	}, []string{"server"})

	tableEvictions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "table_evictions_total",
		Help:      "Live rate-limit entries overwritten because their table set was full.",
	}, []string{"server"})

	requestBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "request_bytes_total",
		Help:      "Uncompressed size of the UDP queries floodguard saw.",
	}, []string{"server"})

	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "requests_total",
		Help:      "Decisions floodguard took on queries before they reached the next plugin, by action and reason.",
	}, []string{"server", "action", "reason"})

	bansTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "bans_total",
		Help:      "Bans started, each of a client prefix's response bucket (a name and type, a wildcard, a zone's NXDOMAINs, its errors) or of its ANY queries.",
	}, []string{"server"})

	bannedGauge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "banned",
		Help:      "Bans in force now (updated every second).",
	}, []string{"server"})

	responseBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "response_bytes_total",
		Help:      "Size of the UDP responses floodguard saw, by what it did with them.",
	}, []string{"server", "action"})

	cookiesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "cookies_total",
		Help:      "Queries floodguard saw, by what their DNS COOKIE option was: missing, malformed, client_only, valid or bad.",
	}, []string{"server", "result"})

	listReloads = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "list_reloads_total",
		Help:      "Reads of a changed deny-file or allow-file, by list and result (success, or failure: the list in force stays).",
	}, []string{"server", "list", "result"})

	listEntries = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "list_entries",
		Help:      "Entries of the deny-file or allow-file in force.",
	}, []string{"server", "list"})

	// apiRequests' server is the API listener's address: one listener can
	// show several server blocks, and a request can concern them all.
	apiRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "api_requests_total",
		Help:      "Requests to the view and control API, by endpoint and HTTP status code; server is the API's address.",
	}, []string{"server", "endpoint", "code"})

	tcpResponses = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: subsystem,
		Name:      "tcp_responses_total",
		Help:      "Responses over TCP and the other transports that prove the client's address (DoT, DoH, gRPC, DoQ, DoH3), which floodguard never rate-limits.",
	}, []string{"server"})
)

// serverMetrics holds the resolved counters of one server label, so the
// per-query path never looks labels up or builds label slices, and what
// the label says of its listener.
type serverMetrics struct {
	// provesAddress: the listener's transport proves client addresses
	// (everything but plain DNS, whose UDP half can be spoofed).
	provesAddress bool

	tcpResponses prometheus.Counter
	cookies      [numCookieKinds]prometheus.Counter
	responses    [numActions]prometheus.Counter
	bytes        [numActions]prometheus.Counter
	limited      [numClasses]prometheus.Counter
	requests     [numQueryActions][numReasons]prometheus.Counter
	requestBytes prometheus.Counter
	evictions    prometheus.Counter
	entries      prometheus.Gauge
	bans         prometheus.Counter
	banned       prometheus.Gauge
}

func newServerMetrics(server string) *serverMetrics {
	tr, _ := transportof.Transport(server)
	m := &serverMetrics{
		provesAddress: server != "" && tr != transport.DNS,
		tcpResponses:  tcpResponses.WithLabelValues(server),
		requestBytes:  requestBytes.WithLabelValues(server),
		evictions:     tableEvictions.WithLabelValues(server),
		entries:       tableEntries.WithLabelValues(server),
		bans:          bansTotal.WithLabelValues(server),
		banned:        bannedGauge.WithLabelValues(server),
	}
	for a := queryAction(0); a < numQueryActions; a++ {
		for r := reason(0); r < numReasons; r++ {
			m.requests[a][r] = requestsTotal.WithLabelValues(server, a.String(), r.String())
		}
	}
	for k := cookieKind(0); k < numCookieKinds; k++ {
		m.cookies[k] = cookiesTotal.WithLabelValues(server, k.String())
	}
	for a := action(0); a < numActions; a++ {
		m.responses[a] = responsesTotal.WithLabelValues(server, a.String())
		m.bytes[a] = responseBytes.WithLabelValues(server, a.String())
	}
	for c := class(0); c < numClasses; c++ {
		m.limited[c] = limitedTotal.WithLabelValues(server, c.String())
	}
	return m
}

// metricsCache maps a server label to its resolved counters. Reads are a
// lock-free map lookup; a new server label copies the map under a mutex,
// which happens once per listener an instance serves.
type metricsCache struct {
	byServer atomic.Pointer[map[string]*serverMetrics]
	first    atomic.Pointer[serverEntry] // the first label resolved: nearly every instance has one
	mu       sync.Mutex
	rec      ReplayRecorder // in a replay, hears what the counters count
}

type serverEntry struct {
	server string
	m      *serverMetrics
}

func (c *metricsCache) get(server string) *serverMetrics {
	// The label is the listener's address string, the same string every
	// query, so this compare is usually a pointer match: no map hashing.
	if e := c.first.Load(); e != nil && e.server == server {
		return e.m
	}
	if p := c.byServer.Load(); p != nil {
		if m, ok := (*p)[server]; ok {
			return m
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byServer.Load()
	if old != nil {
		if m, ok := (*old)[server]; ok {
			return m
		}
	}
	next := make(map[string]*serverMetrics, 1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	m := newServerMetrics(server)
	if c.rec != nil {
		m.recordTo(c.rec)
	}
	next[server] = m
	c.byServer.Store(&next)
	c.first.CompareAndSwap(nil, &serverEntry{server: server, m: m})
	return m
}

// all returns every server's counters resolved so far.
func (c *metricsCache) all() map[string]*serverMetrics {
	if p := c.byServer.Load(); p != nil {
		return *p
	}
	return nil
}

// listMetrics counts the list reloads of one state, under the server labels
// of its block's listeners (known at setup, before any query).
type listMetrics struct{ servers []string }

func (m listMetrics) reloaded(list string, ok bool, entries int) {
	result := "success"
	if !ok {
		result = "failure"
	}
	for _, s := range m.servers {
		listReloads.WithLabelValues(s, list, result).Inc()
		if ok {
			listEntries.WithLabelValues(s, list).Set(float64(entries))
		}
	}
}

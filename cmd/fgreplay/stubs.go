package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// A replay never sends a packet. The plugins that would, to answer a query
// (forward, grpc, etcd, the cloud DNS backends, kubernetes, secondary's
// transfers), are replaced by a stub that answers with the response the
// capture holds for the query, or SERVFAIL when it holds none. Those that
// only send telemetry (dnstap, trace) are replaced by nothing.
var (
	upstreamPlugins  = []string{"forward", "grpc", "etcd", "kubernetes", "k8s_external", "route53", "azure", "clouddns", "secondary", "nomad"}
	telemetryPlugins = []string{"dnstap", "trace"}
)

// stubbed lists the plugins a Corefile used that a stub replaced, with
// what the stubs did.
type stubbed struct {
	mu   sync.Mutex
	used map[string]bool
	// upstreams are the servers forward and grpc would ask: a capture
	// on the server holds its own queries to them, which are not
	// clients' queries.
	upstreams map[netip.AddrPort]bool
	captured  int // answered with the capture's response
	servfail  int // no response in the capture: SERVFAIL
}

var stubs = &stubbed{used: map[string]bool{}, upstreams: map[netip.AddrPort]bool{}}

// capturedReply gives the stubs the captured response to the query being
// replayed (nil for none); the replay sets it (setCapturedReply).
var capturedReply func(r *dns.Msg) *dns.Msg // guarded by stubs.mu

func setCapturedReply(f func(r *dns.Msg) *dns.Msg) {
	stubs.mu.Lock()
	capturedReply = f
	stubs.mu.Unlock()
}

// counts is what the stubs did: answered from the capture, and SERVFAIL.
func (s *stubbed) counts() (captured, servfail int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.captured, s.servfail
}

func init() {
	for _, name := range upstreamPlugins {
		plugin.Register(name, upstreamSetup(name))
	}
	for _, name := range telemetryPlugins {
		plugin.Register(name, func(c *caddy.Controller) error {
			for c.Next() { // its arguments and block: nothing to keep
			}
			stubs.use(c.Val())
			return nil
		})
	}
}

// reset forgets what an earlier Corefile used.
func (s *stubbed) reset() {
	s.mu.Lock()
	s.used, s.upstreams, s.captured, s.servfail = map[string]bool{}, map[netip.AddrPort]bool{}, 0, 0
	s.mu.Unlock()
}

// names lists the plugins replaced, in the order the Corefile runs them.
func (s *stubbed) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range dnsserver.Directives {
		if s.used[d] {
			out = append(out, d)
		}
	}
	return out
}

func (s *stubbed) use(name string) {
	s.mu.Lock()
	s.used[name] = true
	s.mu.Unlock()
}

func upstreamSetup(name string) caddy.SetupFunc {
	return func(c *caddy.Controller) error {
		st := &upstreamStub{name: name}
		for c.Next() {
			args := c.RemainingArgs()
			if (name == "forward" || name == "grpc") && len(args) > 0 {
				for _, to := range args[1:] {
					stubs.upstream(to, name == "grpc")
				}
				args = args[:1] // FROM; the rest are upstreams
			}
			if name == "route53" || name == "azure" || name == "clouddns" {
				args = nil // ZONE:ID pairs; the server block's zones serve
			}
			st.zones = append(st.zones, plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys)...)
			for c.NextBlock() {
				if c.Val() == "except" && name == "forward" {
					for _, e := range c.RemainingArgs() {
						st.except = append(st.except, plugin.Host(e).NormalizeExact()...)
					}
					continue
				}
				c.RemainingArgs()
			}
		}
		stubs.use(name)
		dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
			st.next = next
			return st
		})
		return nil
	}
}

// upstreamStub stands in for a plugin that would ask another server.
type upstreamStub struct {
	name   string
	zones  plugin.Zones
	except plugin.Zones
	next   plugin.Handler
}

func (st *upstreamStub) Name() string { return st.name }

func (st *upstreamStub) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	qname := r.Question[0].Name
	if st.zones.Matches(qname) == "" || st.except.Matches(qname) != "" {
		return plugin.NextOrFailure(st.name, st.next, ctx, w, r)
	}
	stubs.mu.Lock()
	reply := capturedReply
	stubs.mu.Unlock()
	var m *dns.Msg
	if reply != nil {
		m = reply(r)
	}
	stubs.mu.Lock()
	if m == nil {
		stubs.servfail++
	} else {
		stubs.captured++
	}
	stubs.mu.Unlock()
	if m == nil {
		return dns.RcodeServerFailure, nil // the server writes it
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// upstream notes an upstream of forward or grpc: IP[:PORT], with an
// optional scheme, or a resolv.conf file's nameservers. One it cannot read
// is left out: its traffic then shows as other traffic, or, on a port the
// Corefile serves, as queries.
func (s *stubbed) upstream(to string, grpc bool) {
	port := uint16(53)
	switch {
	case grpc:
		port = 443
	case strings.HasPrefix(to, "tls://"):
		port = 853
	}
	if i := strings.Index(to, "://"); i >= 0 {
		to = to[i+3:]
	}
	if strings.HasPrefix(to, "/") || strings.HasPrefix(to, ".") {
		if cfg, err := dns.ClientConfigFromFile(to); err == nil {
			for _, ns := range cfg.Servers {
				s.upstream(net.JoinHostPort(ns, cfg.Port), false)
			}
		}
		return
	}
	if ap, err := netip.ParseAddrPort(to); err == nil {
		s.addUpstream(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		return
	}
	if a, err := netip.ParseAddr(strings.Trim(to, "[]")); err == nil {
		s.addUpstream(netip.AddrPortFrom(a.Unmap(), port))
	}
}

func (s *stubbed) addUpstream(ap netip.AddrPort) {
	s.mu.Lock()
	s.upstreams[ap] = true
	s.mu.Unlock()
}

// isUpstream reports whether ap is an upstream of the Corefile's.
func (s *stubbed) isUpstream(ap netip.AddrPort) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.upstreams) > 0 && s.upstreams[ap]
}

// anyUpstream reports whether the Corefile used a plugin a stub answers
// for.
func (s *stubbed) anyUpstream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range upstreamPlugins {
		if s.used[name] {
			return true
		}
	}
	return false
}

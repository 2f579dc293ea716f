package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

// A server the Corefile builds, and the address it would listen on.
type server struct {
	addr netip.Addr // unspecified: every address (no bind)
	port uint16
	name string // as CoreDNS names it: dns://HOST:PORT
	srv  *dnsserver.Server
}

// servers finds the server a captured packet to or from addr belongs to.
type servers []server

// serving returns the server listening on ap: one bound to its address,
// else one on every address of its port.
func (ss servers) serving(ap netip.AddrPort) *dnsserver.Server {
	var wild *dnsserver.Server
	for i := range ss {
		s := &ss[i]
		if s.port != ap.Port() {
			continue
		}
		if s.addr == ap.Addr() {
			return s.srv
		}
		if !s.addr.IsValid() && wild == nil {
			wild = s.srv
		}
	}
	return wild
}

// errBuilt stops caddy once the Corefile's servers are set up: the replay
// uses them without ever listening.
var errBuilt = errors.New("fgreplay: servers built")

var (
	buildMu  sync.Mutex
	building atomic.Bool // the callback stops caddy only for buildServers
	builtCtx caddy.Context
	hookOnce sync.Once
)

// buildServers sets the Corefile up as CoreDNS would, with every plugin's
// setup, and returns its plain DNS servers without starting them: nothing
// listens, and no plugin's startup hook (listeners, health checks,
// upstream connections, zone reloads) runs. other counts the servers of
// other transports (DoT, DoH, gRPC, DoQ), which a capture cannot replay.
func buildServers(path string) (ss servers, other int, err error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	hookOnce.Do(func() {
		last := dnsserver.Directives[len(dnsserver.Directives)-1]
		caddy.RegisterParsingCallback("dns", last, func(c caddy.Context) error {
			if !building.Load() {
				return nil // a server started for real (tests do)
			}
			builtCtx = c
			return errBuilt
		})
	})
	builtCtx = nil
	stubs.reset()
	building.Store(true)
	_, err = caddy.Start(caddy.CaddyfileInput{Contents: body, Filepath: path, ServerTypeName: "dns"})
	building.Store(false)
	if !errors.Is(err, errBuilt) || builtCtx == nil {
		if err == nil {
			err = errors.New("the Corefile set up no servers")
		}
		return nil, 0, err
	}
	list, err := builtCtx.MakeServers()
	if err != nil {
		return nil, 0, err
	}
	seen := map[string]bool{}
	for _, l := range list {
		s, ok := l.(*dnsserver.Server)
		if !ok {
			other++
			continue
		}
		if seen[s.Addr] { // multisocket: one server per socket, all alike
			continue
		}
		seen[s.Addr] = true
		sv, err := parseServerAddr(s.Addr)
		if err != nil {
			return nil, 0, err
		}
		sv.srv = s
		ss = append(ss, sv)
	}
	if len(ss) == 0 {
		return nil, other, errors.New("the Corefile has no plain DNS server block (dns:// or no scheme) to replay through")
	}
	return ss, other, nil
}

func parseServerAddr(a string) (server, error) {
	sv := server{name: a}
	host, port, err := net.SplitHostPort(strings.TrimPrefix(a, "dns://"))
	if err != nil {
		return sv, fmt.Errorf("server address %q: %v", a, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return sv, fmt.Errorf("server address %q: bad port", a)
	}
	sv.port = uint16(p)
	if host != "" {
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return sv, fmt.Errorf("server address %q: %v", a, err)
		}
		if !ip.IsUnspecified() {
			sv.addr = ip.Unmap()
		}
	}
	return sv, nil
}

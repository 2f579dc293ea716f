package floodguard

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/floodguard/floodguard/internal/cookie"
	"github.com/floodguard/floodguard/internal/prefixlist"

	"github.com/miekg/dns"
)

const pluginName = "floodguard"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

// clock is the time source of new instances; tests swap in a fake.
var clock = monotonicNow

func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	cfg.servers = serverLabels(dnsserver.GetConfig(c))
	var st *state
	if rp, now := replayFor(); rp != nil {
		st = replayState(rp, cfg)
	} else {
		st = stateFor(cfg.key, cfg, now)
	}
	f := newFloodguard(cfg, st)
	f.managed = true
	c.OnShutdown(f.onShutdown)
	// The view and control API. As CoreDNS's health plugin does, a listener
	// closes as a reload starts, and opens again with the new instances, or
	// with the old ones if the reload fails. Every block takes part, with
	// or without api, so that a reload that adds one is followed too.
	c.OnStartup(f.apiStart)
	c.OnRestart(f.apiReloadStarts)
	c.OnRestartFailed(f.apiReloadFailed)
	c.OnShutdown(func() error { apiReloadSucceeded(); return nil })
	c.OnFinalShutdown(f.apiStop)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		f.Next = next
		return f
	})
	return nil
}

// rateOptions maps each per-second option to the class it limits.
var rateOptions = map[string]class{
	"responses-per-second": classResponse,
	"nodata-per-second":    classNodata,
	"nxdomains-per-second": classNXDomain,
	"referrals-per-second": classReferral,
	"errors-per-second":    classError,
	"all-per-second":       classAll,
}

func parse(c *caddy.Controller) (config, error) {
	cfg := defaultConfig()
	var rates [numClasses]int64
	var rateSet [numClasses]bool
	blocks := 0
	seen := map[string]bool{}
	for c.Next() {
		if blocks > 0 {
			return cfg, plugin.ErrOnce
		}
		blocks++
		args := c.RemainingArgs()
		for _, z := range args {
			if _, ok := normalizeZone(z); !ok {
				return cfg, c.Errf("floodguard: %q is not a valid zone", z)
			}
		}
		cfg.zones = plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys)
		key := strings.Join(c.ServerBlockKeys, " ") + "\x00" + strings.Join(args, " ")

		for c.NextBlock() {
			opt := c.Val()
			vals := c.RemainingArgs()
			key += "\x00" + opt + " " + strings.Join(vals, " ")
			if seen[opt] {
				return cfg, c.Errf("%s: given more than once", opt)
			}
			seen[opt] = true
			if cl, ok := rateOptions[opt]; ok {
				n, err := oneInt(c, opt, vals, 0, maxRate)
				if err != nil {
					return cfg, err
				}
				rates[cl], rateSet[cl] = int64(n), true
				continue
			}
			switch opt {
			case "window":
				n, err := oneInt(c, opt, vals, 1, maxWindow)
				if err != nil {
					return cfg, err
				}
				cfg.limits.window = int64(n)
			case "slip":
				n, err := oneInt(c, opt, vals, 0, maxSlip)
				if err != nil {
					return cfg, err
				}
				cfg.limits.slip = uint32(n)
			case "ipv4-prefix-length":
				n, err := oneInt(c, opt, vals, 0, 32)
				if err != nil {
					return cfg, err
				}
				cfg.v4Bits = n
			case "ipv6-prefix-length":
				n, err := oneInt(c, opt, vals, 0, 128)
				if err != nil {
					return cfg, err
				}
				cfg.v6Bits = n
			case "max-table-size":
				n, err := oneInt(c, opt, vals, minTableSize, maxTableSize)
				if err != nil {
					return cfg, err
				}
				cfg.maxTableSize = n
			case "max-udp-size":
				n, err := oneInt(c, opt, vals, minUDPSize, maxUDPSize)
				if err != nil {
					return cfg, err
				}
				cfg.maxUDPSize = n
			case "exempt-clients":
				if len(vals) == 0 {
					return cfg, c.Errf("exempt-clients: needs at least one address or CIDR")
				}
				for _, v := range vals {
					p, err := parseCIDR(v)
					if err != nil {
						return cfg, c.Errf("exempt-clients: %q is not an address or CIDR", v)
					}
					cfg.exempt = append(cfg.exempt, p)
				}
			case "any":
				m, err := oneOf(c, opt, vals, anyModes, "minimal, truncate, refuse, drop, allow")
				if err != nil {
					return cfg, err
				}
				cfg.anyMode = m
			case "any-per-minute":
				n, err := oneInt(c, opt, vals, 1, maxAnyPerMinute)
				if err != nil {
					return cfg, err
				}
				cfg.anyPerMinute = n
			case "root":
				m, err := oneOf(c, opt, vals, rootModes, "refuse, drop, allow")
				if err != nil {
					return cfg, err
				}
				cfg.rootMode = m
			case "authoritative":
				if len(vals) == 0 {
					return cfg, c.Errf("authoritative: needs at least one zone")
				}
				for _, z := range vals {
					n, ok := normalizeZone(z)
					if !ok {
						return cfg, c.Errf("authoritative: %q is not a valid zone", z)
					}
					cfg.authoritative = append(cfg.authoritative, n...)
				}
			case "recursion":
				if len(vals) == 0 {
					return cfg, c.Errf("recursion: needs at least one address or CIDR, or none")
				}
				cfg.recursion = nil
				if len(vals) == 1 && vals[0] == "none" {
					continue
				}
				for _, v := range vals {
					p, err := parseCIDR(v)
					if err != nil {
						return cfg, c.Errf("recursion: %q is not an address or CIDR", v)
					}
					cfg.recursion = append(cfg.recursion, p)
				}
			case "queries-per-second":
				qr, err := rateAndBurst(c, opt, vals)
				if err != nil {
					return cfg, err
				}
				cfg.qps = qr
			case "cookie-queries-per-second":
				qr, err := rateAndBurst(c, opt, vals)
				if err != nil {
					return cfg, err
				}
				cfg.cookieQPS, cfg.cookieQPSSet = qr, true
			case "cookies":
				m, err := oneOf(c, opt, vals, cookieModes, "on, off, require")
				if err != nil {
					return cfg, err
				}
				cfg.cookies = m
			case "cookie-secret":
				if len(vals) == 0 {
					return cfg, c.Errf("cookie-secret: needs at least one secret of 32 hexadecimal digits")
				}
				for i, v := range vals {
					sec, err := cookie.ParseSecret(v)
					if err != nil {
						// The value is a secret: never repeat it.
						return cfg, c.Errf("cookie-secret: secret %d is not 32 hexadecimal digits", i+1)
					}
					cfg.cookieSecrets = append(cfg.cookieSecrets, sec)
				}
			case "cookie-secret-file":
				if len(vals) != 1 {
					return cfg, c.Errf("cookie-secret-file: needs one PATH, got %d values", len(vals))
				}
				if _, err := readSecretFile(vals[0]); err != nil {
					return cfg, c.Errf("cookie-secret-file: %v", err)
				}
				cfg.cookieFile = vals[0]
			case "ban":
				if len(vals) != 3 {
					return cfg, c.Errf("ban: needs LIMITED WITHIN FOR (e.g. ban 100 60s 10m), got %d values", len(vals))
				}
				n, err := oneInt(c, opt, vals[:1], 1, maxBanCount)
				if err != nil {
					return cfg, err
				}
				within, err := banDuration(c, "WITHIN", vals[1])
				if err != nil {
					return cfg, err
				}
				dur, err := banDuration(c, "FOR", vals[2])
				if err != nil {
					return cfg, err
				}
				cfg.ban = banConfig{limited: int64(n), within: within, dur: dur}
			case "api":
				addr, err := apiAddress(c, vals)
				if err != nil {
					return cfg, err
				}
				cfg.api = addr
			case "api-token-file":
				if len(vals) != 1 {
					return cfg, c.Errf("api-token-file: needs one PATH, got %d values", len(vals))
				}
				if _, err := readToken(vals[0]); err != nil {
					return cfg, c.Errf("api-token-file: %v", err)
				}
				cfg.apiTokenFile = vals[0]
			case "deny-file", "allow-file":
				if len(vals) != 1 {
					return cfg, c.Errf("%s: needs one PATH, got %d values", opt, len(vals))
				}
				if _, err := prefixlist.Load(vals[0]); err != nil {
					return cfg, c.Errf("%s: %v", opt, err)
				}
				if opt == "deny-file" {
					cfg.denyFile = vals[0]
				} else {
					cfg.allowFile = vals[0]
				}
			case "log-only":
				if len(vals) != 0 {
					return cfg, c.Errf("log-only: takes no values, got %q", strings.Join(vals, " "))
				}
				cfg.logOnly = true
			default:
				return cfg, c.Errf("unknown option %q", opt)
			}
		}
		cfg.key = key
		cfg.name = strings.Join(c.ServerBlockKeys, " ")
	}
	// As in BIND, the per-class allowances default to responses-per-second.
	if !rateSet[classResponse] {
		rates[classResponse] = defaultResponsesPerSecond
	}
	for _, cl := range []class{classNodata, classNXDomain, classReferral, classError} {
		if !rateSet[cl] {
			rates[cl] = rates[classResponse]
		}
	}
	cfg.limits.perSecond = rates
	if err := validate(c, &cfg, seen); err != nil {
		return cfg, err
	}
	// Root queries are refused by default where the server says what it is
	// authoritative for and the root is not among it.
	if !seen["root"] && cfg.authoritative != nil && !slices.Contains(cfg.authoritative, ".") {
		cfg.rootMode = rootRefuse
	}
	return cfg, nil
}

// validate checks the rules that span options, and fills in defaults that
// depend on other options.
func validate(c *caddy.Controller, cfg *config, seen map[string]bool) error {
	if seen["cookie-secret"] && seen["cookie-secret-file"] {
		return c.Errf("cookie-secret and cookie-secret-file: give one or the other")
	}
	if cfg.cookies == cookiesOff {
		for _, opt := range []string{"cookie-secret", "cookie-secret-file", "cookie-queries-per-second"} {
			if seen[opt] {
				return c.Errf("%s: cookies are off", opt)
			}
		}
	}
	if seen["api-token-file"] && !seen["api"] {
		return c.Errf("api-token-file: there is no api to give a token to")
	}
	// A client with a valid cookie skips the response limits, but not the
	// query limits: by default it has the per-prefix allowance to itself.
	if !cfg.cookieQPSSet {
		cfg.cookieQPS = cfg.qps
	}
	return nil
}

// rateAndBurst reads RATE [BURST] (BURST defaults to RATE).
func rateAndBurst(c *caddy.Controller, opt string, vals []string) (queryRate, error) {
	if len(vals) != 1 && len(vals) != 2 {
		return queryRate{}, c.Errf("%s: needs RATE and an optional BURST, got %d values", opt, len(vals))
	}
	rate, err := oneInt(c, opt, vals[:1], 1, maxQPS)
	if err != nil {
		return queryRate{}, err
	}
	burst := rate
	if len(vals) == 2 {
		if burst, err = oneInt(c, opt, vals[1:], 1, maxQPS); err != nil {
			return queryRate{}, err
		}
	}
	return queryRate{int64(rate), int64(burst)}, nil
}

// banDuration reads a ban's WITHIN or FOR: a Go duration from 1s to 24h.
func banDuration(c *caddy.Controller, what, v string) (int64, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return 0, c.Errf("ban: %s %q is not a duration from 1s to 24h", what, v)
	}
	return int64(d), nil
}

// normalizeZone normalises a zone argument as CoreDNS does, and rejects
// what that lets through but no name could match: a result that is not
// fully qualified, such as a name ending in an escaped dot.
func normalizeZone(z string) ([]string, bool) {
	n := plugin.Host(z).NormalizeExact()
	if len(n) == 0 {
		return nil, false
	}
	for _, x := range n {
		if !dns.IsFqdn(x) {
			return nil, false
		}
	}
	return n, true
}

// oneOf reads the single value of opt: one of the keys of modes, which
// names lists for the error message.
func oneOf[T any](c *caddy.Controller, opt string, vals []string, modes map[string]T, names string) (T, error) {
	var zero T
	if len(vals) != 1 {
		return zero, c.Errf("%s: needs one of %s", opt, names)
	}
	m, ok := modes[vals[0]]
	if !ok {
		return zero, c.Errf("%s: %q is not one of %s", opt, vals[0], names)
	}
	return m, nil
}

// oneInt reads the single whole-number value of opt within [lo, hi].
func oneInt(c *caddy.Controller, opt string, vals []string, lo, hi int) (int, error) {
	if len(vals) != 1 {
		return 0, c.Errf("%s: needs exactly one value, got %d", opt, len(vals))
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < lo || n > hi {
		return 0, c.Errf("%s: %q is not a whole number from %d to %d", opt, vals[0], lo, hi)
	}
	return n, nil
}

// parseCIDR reads a CIDR or a bare address (a one-address prefix). IPv4-mapped
// IPv6 prefixes are unmapped, as client addresses are.
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// defaultAPIAddress is the API's address when `api` names none: loopback,
// so the API is never reachable from elsewhere unless the Corefile says so.
const defaultAPIAddress = "127.0.0.1:9154"

// apiAddress reads `api [ADDRESS]`: HOST:PORT, with a host, so that
// listening on every address is always written out (0.0.0.0:9154, [::]:9154).
func apiAddress(c *caddy.Controller, vals []string) (string, error) {
	switch len(vals) {
	case 0:
		return defaultAPIAddress, nil
	case 1:
	default:
		return "", c.Errf("api: needs at most one ADDRESS, got %d values", len(vals))
	}
	host, port, err := net.SplitHostPort(vals[0])
	if err != nil {
		return "", c.Errf("api: %q is not HOST:PORT (e.g. 127.0.0.1:9154)", vals[0])
	}
	if host == "" {
		return "", c.Errf("api: %q has no host: write 127.0.0.1%s for loopback, or 0.0.0.0%s to listen on every address", vals[0], vals[0], vals[0])
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", c.Errf("api: %q has no port from 1 to 65535", vals[0])
	}
	return vals[0], nil
}

// serverLabels are the server labels CoreDNS's metrics give the block's
// listeners, so that the metrics floodguard updates outside any query
// carry the same ones.
func serverLabels(conf *dnsserver.Config) []string {
	hosts := conf.ListenHosts
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		addr := net.JoinHostPort(h, conf.Port)
		if a, err := net.ResolveTCPAddr("tcp", addr); err == nil {
			addr = a.String()
		}
		out = append(out, conf.Transport+"://"+addr)
	}
	return out
}

package floodguard

import (
	"net/netip"

	"github.com/floodguard/floodguard/internal/cookie"
)

// Defaults. BIND leaves responses-per-second at 0 (off); floodguard must
// protect an internet-facing authoritative server out of the box, so a bare
// `floodguard` limits identical responses to 10 a second per client prefix,
// more than a caching resolver ever needs for one name and type, while
// cutting a spoofed reflection stream to a trickle.
const (
	defaultResponsesPerSecond = 10
	defaultWindow             = 15
	defaultSlip               = 2
	defaultIPv4PrefixLength   = 24
	defaultIPv6PrefixLength   = 56
	defaultMaxTableSize       = 1 << 18 // 262,144 slots, 12.3 MiB
	// defaultMaxUDPSize is the DNS Flag Day 2020 size and the default of
	// BIND 9.18's max-udp-size: no fragments, and no spoofed query can pull
	// a multi-kilobyte answer out of an allowance.
	defaultMaxUDPSize = 1232
)

// Ranges accepted by the parser (BIND's, where BIND has one).
const (
	maxRate         = 1000
	maxWindow       = 3600
	maxSlip         = 10
	minTableSize    = 64
	maxTableSize    = 1 << 24
	maxAnyPerMinute = anyTimestamps
	maxQPS          = 1000000
	maxBanCount     = 1000000
	minUDPSize      = 512
	maxUDPSize      = 65535
)

// anyMode is what floodguard does with qtype ANY queries.
type anyMode uint8

const (
	anyMinimal  anyMode = iota // RFC 8482 answer over UDP; TCP untouched
	anyTruncate                // TC=1 over UDP; TCP untouched
	anyRefuse                  // REFUSED
	anyDrop                    // no reply
	anyAllow                   // untouched
)

var anyModes = map[string]anyMode{"minimal": anyMinimal, "truncate": anyTruncate, "refuse": anyRefuse, "drop": anyDrop, "allow": anyAllow}

// rootMode is what floodguard does with queries for "." from clients
// outside recursion.
type rootMode uint8

const (
	rootAllow rootMode = iota
	rootRefuse
	rootDrop
)

var rootModes = map[string]rootMode{"allow": rootAllow, "refuse": rootRefuse, "drop": rootDrop}

// banConfig is `ban LIMITED WITHIN FOR`: 0 limited means no bans.
type banConfig struct {
	limited int64 // over-limit decisions that ban ...
	within  int64 // ... when they come within this many ns (a leaky bucket)
	dur     int64 // first ban's length in ns; doubles on repeat, up to maxBan
}

// maxBan caps a repeat offender's ban, as fail2ban's bantime.maxtime does.
const maxBan = int64(24 * 60 * 60 * nano)

// anyWindow is the sliding window of any-per-minute.
const anyWindow = 60 * nano

// config is a parsed floodguard block.
type config struct {
	key          string // identifies the block across reloads: unchanged key, same state
	zones        []string
	limits       limits
	v4Bits       int
	v6Bits       int
	exempt       []netip.Prefix
	logOnly      bool
	maxTableSize int
	maxUDPSize   int // largest UDP answer sent to a limited client; larger ones go empty with TC=1

	anyMode       anyMode
	anyPerMinute  int
	rootMode      rootMode
	authoritative []string // zones this server is authoritative for; nil: no recursion policy
	recursion     []netip.Prefix
	qps           queryRate // queries per second per prefix over UDP
	ban           banConfig

	cookies       cookieMode
	cookieSecrets []cookie.Secret // from cookie-secret: the first makes cookies, the others are accepted too
	cookieFile    string          // cookie-secret-file: secrets read (and re-read) from a file
	cookieQPS     queryRate       // queries per second per address with a valid server cookie
	cookieQPSSet  bool            // cookie-queries-per-second was given (else it follows queries-per-second)

	name         string   // the server block's keys, as the view API names it
	servers      []string // the block's listeners, as the metrics' server label names them
	api          string   // address of the view and control API; "" for none
	apiTokenFile string   // bearer token that allows the API's writes; "" for read-only
	denyFile     string   // deny-file: prefixes banned over UDP
	allowFile    string   // allow-file: prefixes trusted like exempt-clients
}

// queryRate is a queries-per-second token bucket: BURST tokens, refilled
// at RATE a second, full at first sight; a zero rate limits nothing.
type queryRate struct{ rate, burst int64 }

// cookieMode is the cookies option.
type cookieMode uint8

const (
	cookiesOn      cookieMode = iota // answer cookies; a valid server cookie proves the address
	cookiesOff                       // leave COOKIE options alone, as CoreDNS does
	cookiesRequire                   // over UDP, only queries with a valid server cookie are answered
)

var cookieModes = map[string]cookieMode{"on": cookiesOn, "off": cookiesOff, "require": cookiesRequire}

func defaultConfig() config {
	return config{
		limits: limits{
			window: defaultWindow,
			slip:   defaultSlip,
		},
		v4Bits:       defaultIPv4PrefixLength,
		v6Bits:       defaultIPv6PrefixLength,
		maxTableSize: defaultMaxTableSize,
		maxUDPSize:   defaultMaxUDPSize,
		recursion:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
}

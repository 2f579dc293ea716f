package floodguard

import (
	"net/netip"
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
	defaultMaxTableSize       = 1 << 18 // 262,144 slots, about 10.5 MB
)

// Ranges accepted by the parser (BIND's, where BIND has one).
const (
	maxRate      = 1000
	maxWindow    = 3600
	maxSlip      = 10
	minTableSize = 64
	maxTableSize = 1 << 24
)

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
}

func defaultConfig() config {
	return config{
		limits: limits{
			window: defaultWindow,
			slip:   defaultSlip,
		},
		v4Bits:       defaultIPv4PrefixLength,
		v6Bits:       defaultIPv6PrefixLength,
		maxTableSize: defaultMaxTableSize,
	}
}

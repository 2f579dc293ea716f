package floodguard

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

// testServerBlockKeys are the server block keys every parse test runs under.
var testServerBlockKeys = []string{"example.org:53"}

// wantDefaults is the config of a bare `floodguard` in the example.org:53
// server block, spelled out value by value rather than taken from
// defaultConfig so that a changed default fails the test.
func wantDefaults() config {
	return config{
		zones: []string{"example.org."},
		limits: limits{
			// response, nodata, nxdomain, referral, error, all
			perSecond: [numClasses]int64{10, 10, 10, 10, 10, 0},
			window:    15,
			slip:      2,
		},
		v4Bits:       24,
		v6Bits:       56,
		exempt:       nil,
		logOnly:      false,
		maxTableSize: 262144,
		maxUDPSize:   1232,
		anyMode:      anyMinimal,
		rootMode:     rootAllow,
		recursion:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
}

func newParseController(input string) *caddy.Controller {
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = append([]string(nil), testServerBlockKeys...)
	return c
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		input string
		keys  []string      // server block keys, testServerBlockKeys when nil
		want  func(*config) // changes to wantDefaults
	}{
		{"bare", `floodguard`, nil, func(*config) {}},
		{"empty block", "floodguard {\n}", nil, func(*config) {}},

		// Each option alone.
		{"responses-per-second", "floodguard {\n responses-per-second 5\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{5, 5, 5, 5, 5, 0}
		}},
		{"nodata-per-second", "floodguard {\n nodata-per-second 3\n}", nil, func(c *config) {
			c.limits.perSecond[classNodata] = 3
		}},
		{"nxdomains-per-second", "floodguard {\n nxdomains-per-second 4\n}", nil, func(c *config) {
			c.limits.perSecond[classNXDomain] = 4
		}},
		{"referrals-per-second", "floodguard {\n referrals-per-second 6\n}", nil, func(c *config) {
			c.limits.perSecond[classReferral] = 6
		}},
		{"errors-per-second", "floodguard {\n errors-per-second 7\n}", nil, func(c *config) {
			c.limits.perSecond[classError] = 7
		}},
		{"all-per-second", "floodguard {\n all-per-second 50\n}", nil, func(c *config) {
			c.limits.perSecond[classAll] = 50
		}},
		{"window", "floodguard {\n window 30\n}", nil, func(c *config) { c.limits.window = 30 }},
		{"slip", "floodguard {\n slip 3\n}", nil, func(c *config) { c.limits.slip = 3 }},
		{"ipv4-prefix-length", "floodguard {\n ipv4-prefix-length 16\n}", nil, func(c *config) { c.v4Bits = 16 }},
		{"ipv6-prefix-length", "floodguard {\n ipv6-prefix-length 48\n}", nil, func(c *config) { c.v6Bits = 48 }},
		{"max-table-size", "floodguard {\n max-table-size 1024\n}", nil, func(c *config) { c.maxTableSize = 1024 }},
		{"max-udp-size", "floodguard {\n max-udp-size 4096\n}", nil, func(c *config) { c.maxUDPSize = 4096 }},
		{"log-only", "floodguard {\n log-only\n}", nil, func(c *config) { c.logOnly = true }},

		// Per-class defaults follow responses-per-second.
		{"responses sets the others unless given", "floodguard {\n responses-per-second 5\n nxdomains-per-second 2\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{5, 5, 2, 5, 5, 0}
		}},
		{"others given before responses", "floodguard {\n referrals-per-second 8\n responses-per-second 5\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{5, 5, 5, 8, 5, 0}
		}},
		{"explicit errors 0 stays 0", "floodguard {\n errors-per-second 0\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{10, 10, 10, 10, 0, 0}
		}},
		{"responses 0 turns the defaults off", "floodguard {\n responses-per-second 0\n nodata-per-second 1\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{0, 1, 0, 0, 0, 0}
		}},
		{"all options", `floodguard example.net {
			responses-per-second 20
			nodata-per-second 11
			nxdomains-per-second 12
			referrals-per-second 13
			errors-per-second 14
			all-per-second 100
			window 60
			slip 0
			ipv4-prefix-length 32
			ipv6-prefix-length 64
			max-table-size 4096
			exempt-clients 10.0.0.0/8
			log-only
		}`, nil, func(c *config) {
			c.zones = []string{"example.net."}
			c.limits = limits{perSecond: [numClasses]int64{20, 11, 12, 13, 14, 100}, window: 60, slip: 0}
			c.v4Bits, c.v6Bits = 32, 64
			c.maxTableSize = 4096
			c.exempt = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
			c.logOnly = true
		}},

		// Zones.
		{"zones from args", `floodguard example.org example.net`, nil, func(c *config) {
			c.zones = []string{"example.org.", "example.net."}
		}},
		{"zones from args are normalised", `floodguard Example.ORG. example.net:53`, nil, func(c *config) {
			c.zones = []string{"example.org.", "example.net."}
		}},
		{"zones from args with a block", "floodguard example.com {\n slip 1\n}", nil, func(c *config) {
			c.zones = []string{"example.com."}
			c.limits.slip = 1
		}},
		{"zones from server block keys", `floodguard`, []string{"Example.NET:1053", "dns://example.com:53"}, func(c *config) {
			c.zones = []string{"example.net.", "example.com."}
		}},
		{"root server block", `floodguard`, []string{".:53"}, func(c *config) {
			c.zones = []string{"."}
		}},
		{"reverse zone from args", `floodguard 10.0.0.0/8`, nil, func(c *config) {
			c.zones = []string{"10.in-addr.arpa."}
		}},

		// exempt-clients.
		{"exempt IPv4 CIDR", "floodguard {\n exempt-clients 192.0.2.0/24\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}},
		{"exempt IPv4 CIDR is masked", "floodguard {\n exempt-clients 192.0.2.77/24\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}},
		{"exempt bare IPv4", "floodguard {\n exempt-clients 192.0.2.1\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
		}},
		{"exempt bare IPv6", "floodguard {\n exempt-clients 2001:db8::1\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("2001:db8::1/128")}
		}},
		{"exempt IPv6 CIDR", "floodguard {\n exempt-clients 2001:db8:1::/48\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/48")}
		}},
		{"exempt IPv4-mapped CIDR is unmapped", "floodguard {\n exempt-clients ::ffff:192.0.2.0/120\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		}},
		{"exempt bare IPv4-mapped is unmapped", "floodguard {\n exempt-clients ::ffff:192.0.2.9\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("192.0.2.9/32")}
		}},
		{"exempt bare IPv6 with zone drops the zone", "floodguard {\n exempt-clients fe80::1%eth0\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{netip.MustParsePrefix("fe80::1/128")}
		}},
		{"exempt several", "floodguard {\n exempt-clients 192.0.2.1 2001:db8::/32 198.51.100.0/24\n}", nil, func(c *config) {
			c.exempt = []netip.Prefix{
				netip.MustParsePrefix("192.0.2.1/32"),
				netip.MustParsePrefix("2001:db8::/32"),
				netip.MustParsePrefix("198.51.100.0/24"),
			}
		}},

		// Boundaries.
		{"rate 0", "floodguard {\n all-per-second 0\n}", nil, func(*config) {}},
		{"rate 1000", "floodguard {\n responses-per-second 1000\n all-per-second 1000\n}", nil, func(c *config) {
			c.limits.perSecond = [numClasses]int64{1000, 1000, 1000, 1000, 1000, 1000}
		}},
		{"window 1", "floodguard {\n window 1\n}", nil, func(c *config) { c.limits.window = 1 }},
		{"window 3600", "floodguard {\n window 3600\n}", nil, func(c *config) { c.limits.window = 3600 }},
		{"slip 0", "floodguard {\n slip 0\n}", nil, func(c *config) { c.limits.slip = 0 }},
		{"slip 10", "floodguard {\n slip 10\n}", nil, func(c *config) { c.limits.slip = 10 }},
		{"ipv4-prefix-length 0", "floodguard {\n ipv4-prefix-length 0\n}", nil, func(c *config) { c.v4Bits = 0 }},
		{"ipv4-prefix-length 32", "floodguard {\n ipv4-prefix-length 32\n}", nil, func(c *config) { c.v4Bits = 32 }},
		{"ipv6-prefix-length 0", "floodguard {\n ipv6-prefix-length 0\n}", nil, func(c *config) { c.v6Bits = 0 }},
		{"ipv6-prefix-length 128", "floodguard {\n ipv6-prefix-length 128\n}", nil, func(c *config) { c.v6Bits = 128 }},
		{"max-table-size 64", "floodguard {\n max-table-size 64\n}", nil, func(c *config) { c.maxTableSize = 64 }},
		{"max-table-size 16777216", "floodguard {\n max-table-size 16777216\n}", nil, func(c *config) { c.maxTableSize = 16777216 }},
		{"max-udp-size 512", "floodguard {\n max-udp-size 512\n}", nil, func(c *config) { c.maxUDPSize = 512 }},
		{"max-udp-size 65535", "floodguard {\n max-udp-size 65535\n}", nil, func(c *config) { c.maxUDPSize = 65535 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newParseController(tc.input)
			if tc.keys != nil {
				c.ServerBlockKeys = tc.keys
			}
			got, err := parse(c)
			if err != nil {
				t.Fatalf("parse(%q): unexpected error: %v", tc.input, err)
			}
			want := wantDefaults()
			tc.want(&want)
			got.key, got.name = "", "" // the reload identity has a test of its own; the name is the keys
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parse(%q)\n got %+v\nwant %+v", tc.input, got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	type errCase struct {
		name  string
		input string
		want  string // a substring of the error, naming the option
		line  int    // the line the error must point at
	}
	var tests []errCase

	// Each numeric option with a bad value, on line 2 of its block (line 3
	// when a valid option comes first, so the line cannot be guessed).
	numeric := []struct {
		opt       string
		aboveMax  string
		belowMin  string // "" when a negative is the only value below the minimum
		goodValue string
	}{
		{"responses-per-second", "1001", "", "1"},
		{"nodata-per-second", "1001", "", "1"},
		{"nxdomains-per-second", "1001", "", "1"},
		{"referrals-per-second", "1001", "", "1"},
		{"errors-per-second", "1001", "", "1"},
		{"all-per-second", "1001", "", "1"},
		{"window", "3601", "0", "1"},
		{"slip", "11", "", "1"},
		{"ipv4-prefix-length", "33", "", "1"},
		{"ipv6-prefix-length", "129", "", "1"},
		{"max-table-size", "16777217", "63", "64"},
		{"max-udp-size", "65536", "511", "512"},
	}
	for _, n := range numeric {
		bad := []struct{ what, value, want string }{
			{"not a number", "ten", `"ten" is not a whole number`},
			{"fraction", "1.5", `"1.5" is not a whole number`},
			{"negative", "-1", `"-1" is not a whole number`},
			{"above the maximum", n.aboveMax, fmt.Sprintf("%q is not a whole number", n.aboveMax)},
			{"no value", "", "needs exactly one value, got 0"},
			{"two values", n.goodValue + " " + n.goodValue, "needs exactly one value, got 2"},
		}
		if n.belowMin != "" {
			bad = append(bad, struct{ what, value, want string }{
				"below the minimum", n.belowMin, fmt.Sprintf("%q is not a whole number", n.belowMin)})
		}
		for i, b := range bad {
			line := strings.TrimSpace(n.opt + " " + b.value)
			input, at := "floodguard {\n\t"+line+"\n}", 2
			if i%2 == 1 {
				input, at = "floodguard {\n\tlog-only\n\t"+line+"\n}", 3
			}
			tests = append(tests, errCase{n.opt + " " + b.what, input, n.opt + ": " + b.want, at})
		}
	}

	tests = append(tests, []errCase{
		{"window range in message", "floodguard {\n window 0\n}", `window: "0" is not a whole number from 1 to 3600`, 2},
		{"slip range in message", "floodguard {\n slip 11\n}", `slip: "11" is not a whole number from 0 to 10`, 2},
		{"ipv4 range in message", "floodguard {\n ipv4-prefix-length 33\n}", `ipv4-prefix-length: "33" is not a whole number from 0 to 32`, 2},
		{"ipv6 range in message", "floodguard {\n ipv6-prefix-length 129\n}", `ipv6-prefix-length: "129" is not a whole number from 0 to 128`, 2},
		{"table size minimum in message", "floodguard {\n max-table-size 63\n}", `max-table-size: "63" is not a whole number from 64 to 16777216`, 2},
		{"table size maximum in message", "floodguard {\n max-table-size 16777217\n}", `max-table-size: "16777217" is not a whole number from 64 to 16777216`, 2},
		{"rate range in message", "floodguard {\n all-per-second 1001\n}", `all-per-second: "1001" is not a whole number from 0 to 1000`, 2},
		{"rate overflowing int", "floodguard {\n responses-per-second 99999999999999999999\n}", `responses-per-second: "99999999999999999999" is not a whole number`, 2},

		{"exempt-clients no value", "floodguard {\n exempt-clients\n}", "exempt-clients: needs at least one address or CIDR", 2},
		{"exempt-clients not an IP", "floodguard {\n slip 1\n exempt-clients not-an-ip\n}", `exempt-clients: "not-an-ip" is not an address or CIDR`, 3},
		{"exempt-clients bad IPv4 mask", "floodguard {\n exempt-clients 192.0.2.0/33\n}", `exempt-clients: "192.0.2.0/33" is not an address or CIDR`, 2},
		{"exempt-clients bad IPv6 mask", "floodguard {\n exempt-clients 2001:db8::/129\n}", `exempt-clients: "2001:db8::/129" is not an address or CIDR`, 2},
		{"exempt-clients one bad of two", "floodguard {\n exempt-clients 192.0.2.0/24 300.1.1.1\n}", `exempt-clients: "300.1.1.1" is not an address or CIDR`, 2},
		{"exempt-clients empty mask", "floodguard {\n exempt-clients 192.0.2.0/\n}", `exempt-clients: "192.0.2.0/" is not an address or CIDR`, 2},

		{"log-only with a value", "floodguard {\n log-only yes\n}", `log-only: takes no values, got "yes"`, 2},
		{"log-only with two values", "floodguard {\n window 5\n log-only yes please\n}", `log-only: takes no values, got "yes please"`, 3},

		{"unknown option", "floodguard {\n responses-per-second 5\n bogus-option 1\n}", `unknown option "bogus-option"`, 3},
		{"unknown option alone", "floodguard {\n rate-limit\n}", `unknown option "rate-limit"`, 2},

		{"option given twice", "floodguard {\n slip 1\n slip 2\n}", "slip: given more than once", 3},
		{"rate given twice", "floodguard {\n errors-per-second 1\n window 5\n errors-per-second 1\n}", "errors-per-second: given more than once", 4},
		{"log-only given twice", "floodguard {\n log-only\n log-only\n}", "log-only: given more than once", 3},

		{"invalid zone", "floodguard example..org", `floodguard: "example..org" is not a valid zone`, 1},
		{"invalid zone trailing colon", "floodguard example.org:", `floodguard: "example.org:" is not a valid zone`, 1},
		{"invalid second zone", "floodguard example.org bad..zone {\n slip 1\n}", `floodguard: "bad..zone" is not a valid zone`, 1},
	}...)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(newParseController(tc.input))
			if err == nil {
				t.Fatalf("parse(%q): no error, want one containing %q", tc.input, tc.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("parse(%q): error %q does not contain %q", tc.input, msg, tc.want)
			}
			// caddy's Dispenser.Err: "Testfile:<line> - Error during parsing: <msg>".
			if at := fmt.Sprintf("Testfile:%d - Error during parsing: ", tc.line); !strings.HasPrefix(msg, at) {
				t.Errorf("parse(%q): error %q does not start with %q", tc.input, msg, at)
			}
		})
	}

	if len(tests) < 30 {
		t.Fatalf("only %d error cases", len(tests))
	}
}

func TestParseTwoDirectives(t *testing.T) {
	for _, input := range []string{
		"floodguard\nfloodguard",
		"floodguard {\n slip 1\n}\nfloodguard example.org",
	} {
		if _, err := parse(newParseController(input)); err == nil {
			t.Errorf("parse(%q): no error for two floodguard directives", input)
		}
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.1/24", "192.0.2.0/24"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.0/120", "192.0.2.0/24"},
		{"::ffff:192.0.2.0/96", "0.0.0.0/0"},
		{"::ffff:192.0.2.0/128", "192.0.2.0/32"},
		{"::ffff:0:0/95", "::fffe:0:0/95"},
		{"fe80::1%eth0", "fe80::1/128"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::/0", "::/0"},
		{"", ""},
		{"not-an-ip", ""},
		{"192.0.2.0/33", ""},
		{"2001:db8::/129", ""},
		{"192.0.2.0/-1", ""},
		{"192.0.2.0/", ""},
		{"fe80::1%eth0/64", ""},
	}
	for _, tc := range tests {
		got, err := parseCIDR(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseCIDR(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCIDR(%q): unexpected error %v", tc.in, err)
			continue
		}
		if want := netip.MustParsePrefix(tc.want); got != want {
			t.Errorf("parseCIDR(%q) = %v, want %v", tc.in, got, want)
		}
	}
}

// TestParseKey checks the reload identity: equal blocks under equal server
// block keys share it, and any change of a token or a key changes it.
func TestParseKey(t *testing.T) {
	keyOf := func(input string, keys ...string) string {
		c := newParseController(input)
		if keys != nil {
			c.ServerBlockKeys = keys
		}
		cfg, err := parse(c)
		if err != nil {
			t.Fatalf("parse(%q): %v", input, err)
		}
		return cfg.key
	}
	base := keyOf("floodguard {\n slip 2\n window 15\n}")
	tests := []struct {
		name  string
		key   string
		equal bool
	}{
		{"same block", keyOf("floodguard {\n slip 2\n window 15\n}"), true},
		{"same block, other layout", keyOf("floodguard {\n  slip   2\n\n\twindow 15\n  }"), true},
		{"other value", keyOf("floodguard {\n slip 3\n window 15\n}"), false},
		{"option added", keyOf("floodguard {\n slip 2\n window 15\n log-only\n}"), false},
		{"zones added", keyOf("floodguard example.org {\n slip 2\n window 15\n}"), false},
		{"other server block", keyOf("floodguard {\n slip 2\n window 15\n}", "example.net:53"), false},
	}
	for _, tt := range tests {
		if (tt.key == base) != tt.equal {
			t.Errorf("%s: key equal = %v, want %v", tt.name, tt.key == base, tt.equal)
		}
	}
}

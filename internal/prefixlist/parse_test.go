package prefixlist

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// describe renders entries as one string each, for comparing in tests.
func describe(es []Entry) []string {
	var out []string
	for _, e := range es {
		exp := "never"
		if !e.Expires.IsZero() {
			exp = e.Expires.UTC().Format(time.RFC3339)
		}
		out = append(out, fmt.Sprintf("%s %s %q line %d", e.Prefix, exp, e.Comment, e.Line))
	}
	return out
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"blank and comments", "\n   \n# a comment\n\t# another\n", nil},
		{"cidr v4", "192.0.2.0/24\n", []string{`192.0.2.0/24 never "" line 1`}},
		{"cidr v6", "2001:db8::/48", []string{`2001:db8::/48 never "" line 1`}},
		{"bare v4", "192.0.2.7", []string{`192.0.2.7/32 never "" line 1`}},
		{"bare v6", "2001:db8::1", []string{`2001:db8::1/128 never "" line 1`}},
		{"mapped prefix", "::ffff:192.0.2.0/120", []string{`192.0.2.0/24 never "" line 1`}},
		{"mapped address", "::ffff:192.0.2.7", []string{`192.0.2.7/32 never "" line 1`}},
		{"mapped all", "::ffff:0.0.0.0/96", []string{`0.0.0.0/0 never "" line 1`}},
		{"everything", "0.0.0.0/0\n::/0", []string{`0.0.0.0/0 never "" line 1`, `::/0 never "" line 2`}},
		{"expiry", "192.0.2.0/24 2026-12-31T00:00:00Z",
			[]string{`192.0.2.0/24 2026-12-31T00:00:00Z "" line 1`}},
		{"expiry with offset", "192.0.2.0/24 2026-12-31T02:00:00+02:00",
			[]string{`192.0.2.0/24 2026-12-31T00:00:00Z "" line 1`}},
		{"comment kept", "192.0.2.0/24   #  scanner, ticket 42  ",
			[]string{`192.0.2.0/24 never "scanner, ticket 42" line 1`}},
		{"comment without space", "192.0.2.0/24#x",
			[]string{`192.0.2.0/24 never "x" line 1`}},
		{"comment with hash", "192.0.2.0/24 # a # b",
			[]string{`192.0.2.0/24 never "a # b" line 1`}},
		{"expiry and comment", "2001:db8::/32 2027-01-01T00:00:00Z # until new year",
			[]string{`2001:db8::/32 2027-01-01T00:00:00Z "until new year" line 1`}},
		{"crlf", "# head\r\n192.0.2.0/24 # c\r\n198.51.100.1\r\n",
			[]string{`192.0.2.0/24 never "c" line 2`, `198.51.100.1/32 never "" line 3`}},
		{"tabs", "\t192.0.2.0/24\t2026-12-31T00:00:00Z\t#\tt\t",
			[]string{`192.0.2.0/24 2026-12-31T00:00:00Z "t" line 1`}},
		{"duplicate, later wins", "192.0.2.0/24 # first\n192.0.2.0/24 # second",
			[]string{`192.0.2.0/24 never "second" line 2`}},
		{"duplicate through mapping", "192.0.2.7 # v4\n::ffff:192.0.2.7 # mapped",
			[]string{`192.0.2.7/32 never "mapped" line 2`}},
		{"sorted", "2001:db8::/32\n10.0.0.0/8\n10.0.0.0/16\n9.0.0.0/8",
			[]string{`9.0.0.0/8 never "" line 4`, `10.0.0.0/8 never "" line 2`,
				`10.0.0.0/16 never "" line 3`, `2001:db8::/32 never "" line 1`}},
		{"no final newline", "192.0.2.0/24\n198.51.100.0/24",
			[]string{`192.0.2.0/24 never "" line 1`, `198.51.100.0/24 never "" line 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse("deny.txt", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := describe(l.Entries())
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			if l.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", l.Len(), len(tt.want))
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"bad octet", "# ok\n192.0.2.0/24\n192.0.2.300/24", 3, `"192.0.2.300/24" is not an address or CIDR`},
		{"bad address", "banana", 1, `"banana" is not an address or CIDR`},
		{"bits too long", "192.0.2.0/33", 1, "is not an address or CIDR"},
		{"no bits", "192.0.2.0/", 1, "is not an address or CIDR"},
		{"host bits", "\n192.0.2.1/24", 2, `"192.0.2.1/24": host bits set; did you mean 192.0.2.0/24?`},
		{"host bits v6", "2001:db8::1/48", 1, "did you mean 2001:db8::/48?"},
		{"host bits mapped", "::ffff:192.0.2.1/120", 1, "did you mean ::ffff:192.0.2.0/120?"},
		{"bad expiry", "192.0.2.0/24 2026-13-01T00:00:00Z", 1, `"2026-13-01T00:00:00Z" is not an RFC 3339 expiry time`},
		{"date only", "192.0.2.0/24 2026-12-31", 1, "is not an RFC 3339 expiry time"},
		{"comment without hash", "192.0.2.0/24 spammer", 1, "comments start with #"},
		{"extra field", "192.0.2.0/24 2026-12-31T00:00:00Z extra", 1, `unexpected field "extra"`},
		{"zone", "fe80::1%eth0", 1, `"fe80::1%eth0" has a zone`},
		{"zone in cidr", "fe80::%eth0/64", 1, "has a zone"},
		{"first error wins", "x\ny", 1, `"x"`},
		{"long field cut", strings.Repeat("a", 1000), 1, `"` + strings.Repeat("a", maxQuoted) + `"...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse("/etc/coredns/deny.txt", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; list has %d entries", l.Len())
			}
			if l != nil {
				t.Error("a list was returned with the error")
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if pe.Line != tt.line {
				t.Errorf("line %d, want %d", pe.Line, tt.line)
			}
			prefix := fmt.Sprintf("/etc/coredns/deny.txt:%d: ", tt.line)
			if s := err.Error(); !strings.HasPrefix(s, prefix) || !strings.Contains(s, tt.msg) {
				t.Errorf("error %q, want %q...%q", s, prefix, tt.msg)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes is too long", len(err.Error()))
			}
		})
	}
}

// manyLines returns n distinct /32 entries, one a line.
func manyLines(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	return []byte(b.String())
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		line int    // of the error; -1: no error
		msg  string // in the error
	}{
		{"MaxEntries", manyLines(MaxEntries), -1, ""},
		{"too many entries", manyLines(MaxEntries + 1), MaxEntries + 1, "more than 100000 entries"},
		{"too many duplicates", []byte(strings.Repeat("192.0.2.0/24\n", MaxEntries+1)), MaxEntries + 1, "MaxEntries"},
		{"MaxBytes", []byte("#" + strings.Repeat(" ", MaxBytes-1)), -1, ""},
		{"too big", []byte("#" + strings.Repeat(" ", MaxBytes)), 0, "larger than 16777216 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("deny.txt", tt.data)
			if tt.line < 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Line != tt.line || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v, want line %d and %q", err, tt.line, tt.msg)
			}
		})
	}
}

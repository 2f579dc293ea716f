package main

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSourceWalker(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		base string
		n    int
		skip []string
		want []string // successive next() results
	}{
		{"counts up, then round-robin", "127.0.1.1", 3, nil,
			[]string{"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.1"}},
		{"crosses octets", "127.0.0.255", 2, nil, []string{"127.0.0.255", "127.0.1.0", "127.0.0.255"}},
		{"wraps skipping broadcast and network", "127.255.255.253", 3, nil,
			[]string{"127.255.255.253", "127.255.255.254", "127.0.0.1", "127.255.255.253"}},
		{"skips legit", "127.0.0.1", 3, []string{"127.0.0.2"},
			[]string{"127.0.0.1", "127.0.0.3", "127.0.0.4", "127.0.0.1"}},
		{"base is skipped", "127.0.0.2", 2, []string{"127.0.0.2"}, []string{"127.0.0.3", "127.0.0.4", "127.0.0.3"}},
		{"base is the network address", "127.0.0.0", 1, nil, []string{"127.0.0.1", "127.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var skip []netip.Addr
			for _, s := range tt.skip {
				skip = append(skip, ip(s))
			}
			w, err := newSourceWalker(ip(tt.base), tt.n, skip...)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				if got := w.next(); got != ip(want) {
					t.Fatalf("next #%d = %v, want %s", i, got, want)
				}
			}
		})
	}
}

func TestSourceWalkerMillion(t *testing.T) {
	w, err := newSourceWalker(netip.MustParseAddr("127.1.0.0"), 1_000_000, netip.MustParseAddr("127.1.0.5"))
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, 1<<24) // indexed by the low 24 bits
	for range 1_000_000 {
		a := w.next()
		x := addrU32(a) & 0xffffff
		if !a.Is4() || !a.IsLoopback() || seen[x] || a == netip.MustParseAddr("127.1.0.5") {
			t.Fatalf("bad or repeated source %v", a)
		}
		seen[x] = true
	}
	if a := w.next(); a != netip.MustParseAddr("127.1.0.0") {
		t.Fatalf("after a full round got %v, want base again", a)
	}
}

func TestSourceWalkerLimits(t *testing.T) {
	if _, err := newSourceWalker(netip.MustParseAddr("127.0.0.1"), 1<<24); err == nil {
		t.Error("more sources than 127.0.0.0/8 holds: want error")
	}
	if _, err := newSourceWalker(netip.MustParseAddr("10.0.0.1"), 1); err == nil {
		t.Error("non-loopback base: want error")
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string // "" = accepted
	}{
		{[]string{"-server", "127.0.0.1:1053"}, ""},
		{[]string{"-server", "127.9.8.7:53"}, ""},
		{[]string{"-server", "[::1]:1053", "-source-base", "::1", "-legit", "::1"}, ""},
		{[]string{"-server", "[::ffff:127.0.0.1]:53"}, ""},
		{[]string{"-server", "192.168.1.1:53"}, "not a loopback"},
		{[]string{"-server", "8.8.8.8:53"}, "not a loopback"},
		{[]string{"-server", "[2001:db8::1]:53"}, "not a loopback"},
		{[]string{"-server", "localhost:53"}, "ip:port"},
		{[]string{"-source-base", "10.0.0.1"}, "not a loopback"},
		{[]string{"-legit", "192.0.2.1"}, "not a loopback"},
		{[]string{"-server", "[::1]:53", "-source-base", "::1", "-sources", "2", "-legit", ""}, "only ::1"},
		{[]string{"-mix", "root,axfr"}, "unknown kind"},
	}
	for _, tt := range tests {
		c, err := parseConfig(tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%v: error %v, want one containing %q", tt.args, err, tt.wantErr)
		case err == nil && c.maxQueries != 44000:
			t.Errorf("%v: default max-queries %d, want rate*duration*1.1 = 44000", tt.args, c.maxQueries)
		}
	}
}

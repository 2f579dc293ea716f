package main

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestBuildQueries: each -mix kind packs the question and EDNS it names.
func TestBuildQueries(t *testing.T) {
	cfg := &config{kinds: []string{"root", "any", "txt", "a"}, zone: "example.org.",
		txt: "big.example.org.", aName: "www.example.org"}
	qs, err := buildQueries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		qtype uint16
		edns  bool
	}{
		{".", dns.TypeNS, false},
		{"example.org.", dns.TypeANY, false},
		{"big.example.org.", dns.TypeTXT, true},
		{"www.example.org.", dns.TypeA, false},
	}
	if len(qs) != len(want) {
		t.Fatalf("%d queries, want %d", len(qs), len(want))
	}
	for i, w := range want {
		m := new(dns.Msg)
		if err := m.Unpack(qs[i].b); err != nil {
			t.Fatalf("%s: %v", cfg.kinds[i], err)
		}
		q := m.Question[0]
		if q.Name != w.name || q.Qtype != w.qtype || (m.IsEdns0() != nil) != w.edns {
			t.Errorf("%s: %s %s EDNS %v, want %s %s EDNS %v", cfg.kinds[i], q.Name, dns.TypeToString[q.Qtype],
				m.IsEdns0() != nil, w.name, dns.TypeToString[w.qtype], w.edns)
		}
	}
}

// TestRandomNamesAndCookies: kinds wild and nx ask a fresh random name each
// query, and -cookies gives each query a fresh random client cookie.
func TestRandomNamesAndCookies(t *testing.T) {
	cfg := &config{kinds: []string{"wild", "nx", "root"}, zone: "example.org.", wild: "wild.example.org.", cookies: true}
	qs, err := buildQueries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, suffix := range []string{".wild.example.org.", ".example.org.", ""} {
		seen := map[string]bool{}
		for k := range 50 {
			m := new(dns.Msg)
			if err := m.Unpack(qs[i].fill(nil, uint16(k), rng)); err != nil {
				t.Fatalf("%s: %v", cfg.kinds[i], err)
			}
			name := m.Question[0].Name
			if suffix != "" && (!strings.HasSuffix(name, suffix) || len(name) != 8+len(suffix)) {
				t.Fatalf("%s: name %q, want 8 random characters then %s", cfg.kinds[i], name, suffix)
			}
			var cookie string
			for _, o := range m.IsEdns0().Option {
				if c, ok := o.(*dns.EDNS0_COOKIE); ok {
					cookie = c.Cookie
				}
			}
			if len(cookie) != 16 {
				t.Fatalf("%s: cookie %q, want 8 bytes", cfg.kinds[i], cookie)
			}
			seen[name+cookie] = true
		}
		if len(seen) < 45 {
			t.Errorf("%s: %d distinct names and cookies in 50 queries", cfg.kinds[i], len(seen))
		}
	}
}

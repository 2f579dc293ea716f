package main

import (
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
		if err := m.Unpack(qs[i]); err != nil {
			t.Fatalf("%s: %v", cfg.kinds[i], err)
		}
		q := m.Question[0]
		if q.Name != w.name || q.Qtype != w.qtype || (m.IsEdns0() != nil) != w.edns {
			t.Errorf("%s: %s %s EDNS %v, want %s %s EDNS %v", cfg.kinds[i], q.Name, dns.TypeToString[q.Qtype],
				m.IsEdns0() != nil, w.name, dns.TypeToString[w.qtype], w.edns)
		}
	}
}

package floodguard

import (
	"context"
	"net"
	"testing"

	"github.com/miekg/dns"
)

// oddBackend answers every query with one A record and counts the queries.
type oddBackend struct{ calls int }

func (b *oddBackend) Name() string { return "oddbackend" }

func (b *oddBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	b.calls++
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 10)}}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

const oddRate = 3 // responses-per-second in these tests; the clock never moves

// oddFloodguard is floodguard for every name, at oddRate identical responses
// a second per prefix (default prefix lengths: /24 and /56), slip 2, on a
// frozen clock.
func oddFloodguard() (*Floodguard, *oddBackend) {
	cfg := defaultConfig()
	cfg.zones = []string{"."}
	for c := classResponse; c <= classError; c++ {
		cfg.limits.perSecond[c] = oddRate
	}
	cfg.limits.slip = 2
	cfg.maxTableSize = 1024
	clk := &fakeClock{t: 1}
	be := &oddBackend{}
	f := newFloodguard(cfg, newState("odd", cfg, clk.now))
	f.Next = be
	return f, be
}

// ask sends one www.example.org/A query from addr and returns what reached
// the client: nil for nothing.
func ask(t *testing.T, f *Floodguard, addr net.Addr, id uint16) *dns.Msg {
	t.Helper()
	_, tcp := addr.(*net.TCPAddr)
	w := &fuzzWriter{remote: addr, tcp: tcp}
	if _, err := f.ServeDNS(context.Background(), w, query("www.example.org", dns.TypeA, id)); err != nil {
		t.Fatalf("ServeDNS: %v", err)
	}
	switch len(w.writes) {
	case 0:
		return nil
	case 1:
		if w.writes[0].isRaw {
			t.Fatalf("reply written as bytes")
		}
		return w.writes[0].msg
	}
	t.Fatalf("%d replies to one query", len(w.writes))
	return nil
}

func full(m *dns.Msg) bool { return m != nil && !m.Truncated && len(m.Answer) > 0 }

func udp(ip string, zone string) *net.UDPAddr {
	return &net.UDPAddr{IP: net.ParseIP(ip), Port: 40212, Zone: zone}
}

// TestOddAddressesPassThrough: queries without a readable client address
// (the cache plugin's prefetch uses an empty TCPAddr) reach the backend and
// are answered in full, every time, and leave nothing in the table.
func TestOddAddressesPassThrough(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
	}{
		{"nil", nil},
		{"empty TCPAddr (cache prefetch)", &net.TCPAddr{}},
		{"typed nil TCPAddr", (*net.TCPAddr)(nil)},
		{"typed nil UDPAddr", (*net.UDPAddr)(nil)},
		{"empty UDPAddr", &net.UDPAddr{}},
		{"unspecified IPv4 over UDP", udp("0.0.0.0", "")},
		{"unspecified IPv6 over UDP", udp("::", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, be := oddFloodguard()
			const n = 4 * oddRate
			for i := range n {
				w := &fuzzWriter{remote: tt.addr}
				rcode, err := f.ServeDNS(context.Background(), w, query("www.example.org", dns.TypeA, uint16(i)))
				if err != nil || rcode != dns.RcodeSuccess {
					t.Fatalf("query %d: rcode %d, error %v", i, rcode, err)
				}
				if len(w.writes) != 1 || w.writes[0].isRaw || !full(w.writes[0].msg) {
					t.Fatalf("query %d: %d replies, want the backend's answer in full", i, len(w.writes))
				}
			}
			if be.calls != n {
				t.Errorf("backend saw %d of %d queries", be.calls, n)
			}
			if live := f.lim.table.sweep(f.now(), func(*slot) {}); live != 0 {
				t.Errorf("%d table slots live after queries that are not limited, want 0", live)
			}
		})
	}
}

// TestOddAddressesShareBuckets: two spellings of one client (or of clients
// in one prefix) share its buckets: once the first has used up the
// allowance, the second is limited. Pairs in different prefixes do not,
// which shows that the test can tell.
func TestOddAddressesShareBuckets(t *testing.T) {
	tests := []struct {
		name  string
		a, b  net.Addr
		share bool
	}{
		{"IPv4 then IPv4-mapped", udp("192.0.2.1", ""), udp("::ffff:192.0.2.1", ""), true},
		{"IPv4-mapped then IPv4", udp("::ffff:192.0.2.1", ""), udp("192.0.2.1", ""), true},
		{"IPv4 in 4 bytes then IPv4-mapped", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1).To4(), Port: 53}, udp("::ffff:192.0.2.1", ""), true},
		{"IPv4-mapped, other host in the /24", udp("::ffff:192.0.2.1", ""), udp("::ffff:192.0.2.200", ""), true},
		{"link-local, zones eth0 and eth1", udp("fe80::1", "eth0"), udp("fe80::1", "eth1"), true},
		{"link-local, zone and none", udp("fe80::1", "eth0"), udp("fe80::1", ""), true},
		{"IPv6 in one /56", udp("2001:db8:0:1::1", ""), udp("2001:db8:0:ff::2", ""), true},

		{"control: IPv4-mapped of another /24", udp("192.0.2.1", ""), udp("::ffff:198.51.100.1", ""), false},
		{"control: IPv6 in another /56", udp("2001:db8:0:1::1", ""), udp("2001:db8:0:100::1", ""), false},
		{"control: mapped IPv4 is not the IPv6 ::c000:201", udp("::ffff:192.0.2.1", ""), udp("::c000:201", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := oddFloodguard()
			for i := range oddRate {
				if r := ask(t, f, tt.a, uint16(i)); !full(r) {
					t.Fatalf("first client, query %d: %v, want a full answer", i, r)
				}
			}
			r := ask(t, f, tt.b, 100)
			if tt.share && full(r) {
				t.Errorf("second client answered in full: it does not share the first one's bucket")
			}
			if tt.share && (r == nil || !r.Truncated) {
				t.Errorf("second client: %v, want the slipped (TC=1) reply that starts an over-limit episode", r)
			}
			if !tt.share && !full(r) {
				t.Errorf("second client: %v, want a full answer (another prefix)", r)
			}
		})
	}
}

// TestOddAddressesNoDodging: a client alternating between the spellings of
// its address gets the allowance of one client, not of each spelling.
func TestOddAddressesNoDodging(t *testing.T) {
	tests := []struct {
		name  string
		forms []net.Addr
	}{
		{"mapped and unmapped", []net.Addr{udp("192.0.2.1", ""), udp("::ffff:192.0.2.1", "")}},
		{"4 bytes, 16 bytes, mapped, other ports", []net.Addr{
			&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1).To4(), Port: 1},
			&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 2},
			&net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 3},
		}},
		{"link-local zones", []net.Addr{udp("fe80::1", "eth0"), udp("fe80::1", "eth1"), udp("fe80::1", "lo"), udp("fe80::1", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := oddFloodguard()
			const n = 30
			answered := 0
			for i := range n {
				if full(ask(t, f, tt.forms[i%len(tt.forms)], uint16(i))) {
					answered++
				}
			}
			if answered != oddRate {
				t.Errorf("%d of %d queries answered in full, want %d (one client's allowance)", answered, n, oddRate)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"image/png"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testServer answers on 127.0.0.1 over UDP and TCP on one port: a ~2 kB TXT
// for big.example.org, REFUSED for ANY, and TC=1 over UDP for NS and www.
type testServer struct {
	addr netip.AddrPort
	mu   sync.Mutex
	from map[netip.Addr]bool // distinct client addresses seen
}

func startServer(t *testing.T) *testServer {
	ts := &testServer{from: map[netip.Addr]bool{}}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		ra, _ := netip.ParseAddrPort(w.RemoteAddr().String())
		ts.mu.Lock()
		ts.from[ra.Addr()] = true
		ts.mu.Unlock()
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		udp := w.RemoteAddr().Network() == "udp"
		switch {
		case q.Qtype == dns.TypeTXT:
			for range 8 {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT,
					Class: dns.ClassINET, Ttl: 60}, Txt: []string{strings.Repeat("x", 250)}})
			}
		case q.Qtype == dns.TypeNS && udp:
			m.Truncated = true // as a server with a tiny UDP limit would
		case q.Qtype == dns.TypeANY:
			m.Rcode = dns.RcodeRefused
		case q.Qtype == dns.TypeA && q.Name == "www.example.org." && udp:
			m.Truncated = true
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA,
				Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		}
		w.WriteMsg(m)
	})
	var pc net.PacketConn
	var ln net.Listener
	for range 10 { // the TCP port may be taken; try another UDP port then
		var err error
		if pc, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no free UDP+TCP port pair")
	}
	ts.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return ts
}

func TestEndToEnd(t *testing.T) {
	for _, mode := range []struct {
		name    string
		pktinfo bool
		base    string
	}{{"socket-per-source", false, "127.0.1.1"}, {"pktinfo", true, "127.0.2.1"}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t)
			cfg, err := parseConfig([]string{"-server", ts.addr.String(), "-duration", "1500ms",
				"-rate", "200", "-sources", "10", "-source-base", mode.base, "-legit", "127.0.0.2",
				"-legit-rate", "20"})
			if err != nil {
				t.Fatal(err)
			}
			cfg.pktinfo, cfg.drain = mode.pktinfo, 300*time.Millisecond
			start := time.Now()
			res, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("run took %v, want about duration+drain", el)
			}
			tt := res.totals
			if tt.AttackSent < 200 || tt.AttackSent > 330 || tt.AttackSendErrors != 0 {
				t.Errorf("sent %d (errors %d), want ~300 at 200/s for 1.5s", tt.AttackSent, tt.AttackSendErrors)
			}
			if tt.AttackReplies != tt.AttackSent {
				t.Errorf("replies %d, want one per query (%d)", tt.AttackReplies, tt.AttackSent)
			}
			if tt.AttackReplyBytes <= tt.AttackSentBytes || tt.Amplification != float64(tt.AttackReplyBytes)/float64(tt.AttackSentBytes) {
				t.Errorf("amplification %v from %d/%d bytes", tt.Amplification, tt.AttackReplyBytes, tt.AttackSentBytes)
			}
			if tt.AttackTC < tt.AttackSent/4 || tt.AttackTC > tt.AttackSent/2 {
				t.Errorf("TC replies %d, want about a third of %d (the root NS queries)", tt.AttackTC, tt.AttackSent)
			}
			if tt.Rcodes["REFUSED"] == 0 || tt.Rcodes["NOERROR"] == 0 {
				t.Errorf("rcodes %v, want REFUSED (ANY) and NOERROR", tt.Rcodes)
			}
			if tt.LegitQueries < 15 || tt.LegitFraction != 1 || tt.LegitTCPRetries == 0 {
				t.Errorf("legit %d queries, answered %v, %d TCP retries", tt.LegitQueries, tt.LegitFraction, tt.LegitTCPRetries)
			}
			// Ten spoofed sources plus the legit client reached the server.
			ts.mu.Lock()
			if len(ts.from) != 11 || !ts.from[netip.MustParseAddr("127.0.0.2")] {
				t.Errorf("server saw %d client addresses %v, want 11", len(ts.from), ts.from)
			}
			ts.mu.Unlock()
			var sent int64
			for _, s := range res.series {
				sent += s.Sent
			}
			if sent != tt.AttackSent || len(res.series) < 2 {
				t.Errorf("series (%d rows) sums to %d sent, totals say %d", len(res.series), sent, tt.AttackSent)
			}
			var out, csv, img bytes.Buffer
			res.writeTable(&out)
			if err := res.writeCSV(&csv); err != nil || strings.Count(csv.String(), "\n") != len(res.series)+1 {
				t.Errorf("csv: %v\n%s", err, csv.String())
			}
			if err := plotSeries(&img, res.series); err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(&img); err != nil {
				t.Errorf("plot is not a PNG: %v", err)
			}
			t.Log("\n" + out.String())
		})
	}
}

package floodguard

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/floodguard/floodguard/internal/cookie"

	"github.com/miekg/dns"
)

func TestReadCookie(t *testing.T) {
	tests := []struct {
		name   string
		option string // hex; "" for no COOKIE option, "-" for no OPT at all
		want   cookieKind
	}{
		{"no OPT", "-", cookieNone},
		{"no COOKIE", "", cookieNone},
		{"client cookie alone", "0102030405060708", cookieClient},
		{"with a version-1 server cookie", "0102030405060708" + strings.Repeat("ab", 16), cookieClient},
		{"with the shortest server cookie", "0102030405060708" + strings.Repeat("ab", 8), cookieClient},
		{"with the longest server cookie", "0102030405060708" + strings.Repeat("ab", 32), cookieClient},
		{"too short for a client cookie", "01020304", cookieMalformed},
		{"server cookie too short", "0102030405060708" + "0102", cookieMalformed},
		{"server cookie too long", "0102030405060708" + strings.Repeat("ab", 33), cookieMalformed},
		{"odd number of digits", "010203040506070", cookieMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := query("www.example.org", dns.TypeA, 1)
			switch tt.option {
			case "-":
			case "":
				m.SetEdns0(1232, false)
			default:
				withCookieOption(m, tt.option)
			}
			var got queryCookie
			got.read(m)
			if got.kind != tt.want {
				t.Errorf("kind %v, want %v", got.kind, tt.want)
			}
			if tt.want == cookieClient && got.text != tt.option {
				t.Errorf("text %q, want %q", got.text, tt.option)
			}
		})
	}
}

// TestJudgeCookie: the cookie a reply carries is the query's own when it is
// valid and young, a fresh one otherwise, and always for this client.
func TestJudgeCookie(t *testing.T) {
	cfg := defaultConfig()
	sec, _ := cookie.ParseSecret("e5e973e5a6b2a43f48e7dc849e37bfcf")
	cfg.cookieSecrets = []cookie.Secret{sec}
	st := newState("judge", cfg, func() int64 { return 0 })
	addr := netip.MustParseAddr("192.0.2.1")
	cc := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	const now = 1700000000
	young := cookie.Server(&sec, &cc, addr, now-60)
	old := cookie.Server(&sec, &cc, addr, now-1900)
	stale := cookie.Server(&sec, &cc, addr, now-4000)
	other := cookie.Server(&sec, &cc, netip.MustParseAddr("192.0.2.2"), now)
	fresh := cookie.Server(&sec, &cc, addr, now)
	tests := []struct {
		name   string
		server []byte
		want   cookieKind
		reply  [16]byte
	}{
		{"client cookie alone", nil, cookieClient, fresh},
		{"valid and young: echoed", young[:], cookieValid, young},
		{"valid, half an hour old: renewed", old[:], cookieValid, fresh},
		{"stale", stale[:], cookieBad, fresh},
		{"another address's", other[:], cookieBad, fresh},
		{"another server's, 8 bytes", []byte{1, 2, 3, 4, 5, 6, 7, 8}, cookieBad, fresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := queryCookie{kind: cookieClient, text: hex.EncodeToString(cc[:]) + hex.EncodeToString(tt.server)}
			st.judgeCookie(&c, addr, now)
			if c.kind != tt.want {
				t.Errorf("kind %v, want %v", c.kind, tt.want)
			}
			if want := hex.EncodeToString(cc[:]) + hex.EncodeToString(tt.reply[:]); c.reply != want {
				t.Errorf("reply cookie %s, want %s", c.reply, want)
			}
		})
	}
}

// TestWithCookie: the reply carries exactly one COOKIE option, ours, in an
// OPT record of its own (the query's size and DO bit when the reply had
// none), TSIG stays last, and the plugin's message is left alone.
func TestWithCookie(t *testing.T) {
	value := "303132333435363738396162636465666768696a6b6c6d6e"
	req := query("www.example.org", dns.TypeA, 1)
	req.SetEdns0(4000, true)
	tests := []struct {
		name  string
		reply func() *dns.Msg
		size  uint16
		do    bool
	}{
		{"no OPT: the query's size and DO", func() *dns.Msg { m := new(dns.Msg); m.SetReply(req); return m }, 4000, true},
		{"an OPT with another server's cookie and NSID", func() *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.SetEdns0(1232, false)
			o := m.IsEdns0()
			o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "11111111111111112222222222222222"},
				&dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: "6e73"}, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "3333333333333333"})
			return m
		}, 1232, false},
		{"TSIG stays last", func() *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: "ns.example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET}},
				&dns.TSIG{Hdr: dns.RR_Header{Name: "key.", Rrtype: dns.TypeTSIG, Class: dns.ClassANY}, Algorithm: dns.HmacSHA256})
			return m
		}, 4000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.reply()
			before := orig.String()
			got := withCookie(orig, req, value, nil)
			if orig.String() != before {
				t.Errorf("the plugin's message was changed")
			}
			ck := cookiesOf(got)
			if len(ck) != 1 || ck[0] != "303132333435363738396162636465666768696a6b6c6d6e" {
				t.Errorf("cookies %v, want exactly ours", ck)
			}
			opt := got.IsEdns0()
			if opt == nil || opt.UDPSize() != tt.size || opt.Do() != tt.do {
				t.Errorf("OPT %v, want size %d DO %v", opt, tt.size, tt.do)
			}
			if last := got.Extra[len(got.Extra)-1]; orig.IsTsig() != nil && last.Header().Rrtype != dns.TypeTSIG {
				t.Errorf("last additional record %v, want the TSIG", last)
			}
			if _, err := got.Pack(); err != nil {
				t.Errorf("does not pack: %v", err)
			}
		})
	}
}

// TestMalformedCookieIsFormErr: floodguard answers a malformed COOKIE with
// FORMERR itself, whether or not CoreDNS would have before it.
func TestMalformedCookieIsFormErr(t *testing.T) {
	f, be := oddFloodguard()
	m := withCookieOption(query("www.example.org", dns.TypeA, 1), "0102")
	w := &recordingWriter{addr: udp("192.0.2.1", "")}
	f.ServeDNS(t.Context(), w, m)
	if be.calls != 0 || len(w.replies) != 1 || w.replies[0].Rcode != dns.RcodeFormatError {
		t.Fatalf("backend called %d times, replies %v; want one FORMERR and no backend", be.calls, w.replies)
	}
}

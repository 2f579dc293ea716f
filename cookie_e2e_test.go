package floodguard

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/floodguard/floodguard/internal/cookie"

	"github.com/miekg/dns"
)

// needTool returns the path of a real DNS client the test runs, or skips
// the test when the machine has none. CI installs them and sets
// FLOODGUARD_REQUIRE_TOOLS, so that there a missing tool fails instead.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FLOODGUARD_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not installed (Debian: bind9-dnsutils for dig, knot-dnsutils for kdig)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

// run runs a command for at most 10 s and returns what it printed.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// withCookie gives m an OPT record with a COOKIE option of value (hex).
func withCookieOption(m *dns.Msg, value string) *dns.Msg {
	m.SetEdns0(1232, false)
	opt := m.IsEdns0()
	opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: value})
	return m
}

// cookiesOf returns the COOKIE options of m, as hex.
func cookiesOf(m *dns.Msg) []string {
	var out []string
	if opt := m.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if c, ok := o.(*dns.EDNS0_COOKIE); ok {
				out = append(out, strings.ToLower(c.Cookie))
			}
		}
	}
	return out
}

const cookieCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        responses-per-second 2
        slip 2
        %s
    }
    prometheus {metrics}
    metadata
    errors
    fgtestbackend
    file testdata/example.org.zone
}
`

var digCookie = regexp.MustCompile(`(?m)^; COOKIE: ([0-9a-f]+) \(good\)$`)

// TestE2ECookiesWithDig: a client that proves its address with a server
// cookie, learnt by a real dig, is never response-limited; one that does
// not is; a forged server cookie gets BADCOOKIE with a fresh one, and dig
// and kdig succeed on their retry.
func TestE2ECookiesWithDig(t *testing.T) {
	dig := needTool(t, "dig")
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(cookieCorefile, ""))
	host, port, _ := net.SplitHostPort(srv.udp)
	digAt := func(from string, args ...string) string {
		return run(t, dig, append([]string{"@" + host, "-p", port, "-b", from, "+tries=1", "+time=2"}, args...)...)
	}

	// dig learns a server cookie (and says it checked it: "good").
	out := digAt("127.0.110.1", "www.example.org", "+cookie")
	m := digCookie.FindStringSubmatch(out)
	if m == nil || len(m[1]) != 2*cookieLen {
		t.Fatalf("dig +cookie: no good 24-byte cookie in its output:\n%s", out)
	}
	learnt := m[1]

	burst30 := func(from string, cookie string) tally {
		msgs := burst(30, same("www.example.org"), dns.TypeA)
		if cookie != "" {
			for _, q := range msgs {
				withCookieOption(q, cookie)
			}
		}
		return count(udpBurst(t, from, srv.udp, msgs, 400*time.Millisecond))
	}
	t.Run("30 at once with the cookie: all answered", func(t *testing.T) {
		if got := burst30("127.0.110.1", learnt); got != (tally{30, 0, 0}) {
			t.Fatalf("%v, want {30 0 0}", got)
		}
	})
	t.Run("30 at once without it: the allowance and slips", func(t *testing.T) {
		if got := burst30("127.0.111.1", ""); got != (tally{2, 14, 14}) {
			t.Fatalf("%v, want {2 14 14}", got)
		}
	})
	t.Run("the cookie from another address is not valid", func(t *testing.T) {
		// 127.0.113.1: another /24, so nothing is spent yet; the cookie
		// was made for 127.0.110.1, so it is bad here: BADCOOKIE, limited
		// as errors (2 a second, never slipped).
		replies := udpBurst(t, "127.0.113.1", srv.udp, func() []*dns.Msg {
			msgs := burst(10, same("www.example.org"), dns.TypeA)
			for _, q := range msgs {
				withCookieOption(q, learnt)
			}
			return msgs
		}(), 400*time.Millisecond)
		got := 0
		for _, r := range replies {
			if r != nil {
				got++
				if r.Rcode != dns.RcodeBadCookie || len(r.Answer) != 0 {
					t.Errorf("rcode %s with %d records, want BADCOOKIE and none", dns.RcodeToString[r.Rcode], len(r.Answer))
				}
			}
		}
		if got != 2 {
			t.Errorf("%d BADCOOKIE replies of 10, want 2 (the errors allowance)", got)
		}
	})
	t.Run("a client cookie alone: slips are BADCOOKIE with a fresh cookie", func(t *testing.T) {
		client := "0123456789abcdef"
		msgs := burst(10, same("www.example.org"), dns.TypeA)
		for _, q := range msgs {
			withCookieOption(q, client)
		}
		replies := udpBurst(t, "127.0.112.1", srv.udp, msgs, 400*time.Millisecond)
		var answered, badcookie, silent int
		for _, r := range replies {
			switch {
			case r == nil:
				silent++
				continue
			case r.Rcode == dns.RcodeBadCookie && !r.Truncated && len(r.Answer) == 0:
				badcookie++
			case r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0:
				answered++
			default:
				t.Errorf("unexpected reply: %v", r)
			}
			ck := cookiesOf(r)
			if len(ck) != 1 || !strings.HasPrefix(ck[0], client) || len(ck[0]) != 2*cookieLen {
				t.Errorf("reply cookies %v, want one: the client cookie and a server cookie", ck)
			}
		}
		if answered != 2 || badcookie != 4 || silent != 4 {
			t.Errorf("answered/BADCOOKIE/silent = %d/%d/%d, want 2/4/4", answered, badcookie, silent)
		}
	})
	t.Run("dig with a forged server cookie retries and succeeds", func(t *testing.T) {
		forged := learnt[:2*cookie.ClientLen] + "0100000000000000" + "0000000000000000"
		out := digAt("127.0.114.1", "www.example.org", "+cookie="+forged)
		if !strings.Contains(out, "BADCOOKIE, retrying") || !strings.Contains(out, "status: NOERROR") || !digCookie.MatchString(out) {
			t.Errorf("dig: want a BADCOOKIE, a retry, then NOERROR with a good cookie:\n%s", out)
		}
	})
	t.Run("kdig agrees", func(t *testing.T) {
		kdig := needTool(t, "kdig")
		out := run(t, kdig, "@"+host, "-p", port, "-b", "127.0.115.1", "+cookie", "+retry=0", "+timeout=2", "www.example.org")
		if !strings.Contains(out, "status: NOERROR") || !regexp.MustCompile(`;; COOKIE: [0-9A-F]{48}`).MatchString(out) {
			t.Errorf("kdig +cookie: want NOERROR and a 24-byte cookie:\n%s", out)
		}
		forged := learnt[:2*cookie.ClientLen] + strings.Repeat("0", 2*cookie.ServerLen)
		out = run(t, kdig, "@"+host, "-p", port, "-b", "127.0.115.1", "+cookie="+forged, "+retry=0", "+timeout=2", "www.example.org")
		if !strings.Contains(out, "status: BADCOOKIE") || !strings.Contains(out, "retrying with the received one") || !strings.Contains(out, "status: NOERROR") {
			t.Errorf("kdig with a forged cookie: want BADCOOKIE, a retry, NOERROR:\n%s", out)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		got := srv.scrape(t)
		for _, result := range []string{"valid", "missing", "client_only", "bad"} {
			if got[`coredns_floodguard_cookies_total{result="`+result+`"}`] == 0 {
				t.Errorf("cookies_total{result=%q} = 0", result)
			}
		}
		if got[`coredns_floodguard_requests_total{action="badcookie",reason="cookie"}`] == 0 {
			t.Errorf("requests_total{badcookie,cookie} = 0")
		}
	})
}

// TestE2ECookieOnEveryReply: every reply to a query with a COOKIE option
// carries exactly one, ours, whoever wrote the reply: an upstream behind
// forward that sends its own cookie, CoreDNS's server for an error the
// backend returned, floodguard's own REFUSED; over UDP and TCP.
func TestE2ECookieOnEveryReply(t *testing.T) {
	useFrozenClock(t)
	up := startUpstream(t)
	up.cookie.Store(true)
	srv := startServer(t, fmt.Sprintf(`.:{port} {
    bind 127.0.0.1
    floodguard {
        authoritative example.org
        recursion 127.0.120.0/24
        responses-per-second 100
    }
    fgtestbackend
    file testdata/example.org.zone example.org
    forward . %s
}
`, up.addr))
	const client = "fedcba9876543210"
	tests := []struct {
		name  string
		from  string
		qname string
		rcode int
	}{
		{"forwarded, the upstream's cookie replaced", "127.0.120.1", "www.example.net", dns.RcodeSuccess},
		{"from the zone", "127.0.121.1", "www.example.org", dns.RcodeSuccess},
		{"an error the server would write", "127.0.121.1", "servfail.example.org", dns.RcodeServerFailure},
		{"floodguard's REFUSED", "127.0.121.1", "www.example.net", dns.RcodeRefused},
	}
	for _, tt := range tests {
		for _, proto := range []string{"udp", "tcp"} {
			t.Run(tt.name+" over "+proto, func(t *testing.T) {
				q := withCookieOption(query(tt.qname, dns.TypeA, 7), client)
				var r *dns.Msg
				if proto == "tcp" {
					r = tcpQuery(t, tt.from, srv.tcp, q)
				} else if r = udpExchange(t, tt.from, srv.udp, q, 2*time.Second); r == nil {
					t.Fatal("no reply")
				}
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				ck := cookiesOf(r)
				if len(ck) != 1 {
					t.Fatalf("%d COOKIE options %v, want exactly one", len(ck), ck)
				}
				sc, _ := hex.DecodeString(ck[0][2*cookie.ClientLen:])
				cc := [cookie.ClientLen]byte{0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
				st := stateOf(t, srv)
				if v := cookie.Check(st.cookieSecrets(), &cc, sc, netip.MustParseAddr(tt.from), st.cookieTime(st.now())); v != cookie.Valid {
					t.Errorf("the reply's cookie %s is %v, want one of ours for this client", ck[0], v)
				}
			})
		}
	}
}

// TestE2ECookieSecrets: servers that share a secret accept each other's
// cookies (replicas behind one address); a secret file is re-read when it
// changes, the old secret still accepted while it is listed second.
func TestE2ECookieSecrets(t *testing.T) {
	useFrozenClock(t)
	const (
		oldSecret = "e5e973e5a6b2a43f48e7dc849e37bfcf"
		newSecret = "dd3bdf9344b678b185a6f5cb60fca715"
	)
	file := filepath.Join(t.TempDir(), "cookie-secret")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# made with the first\n" + oldSecret + "\n")
	a := startServer(t, fmt.Sprintf(cookieCorefile, "cookie-secret "+oldSecret))
	b := startServer(t, fmt.Sprintf(cookieCorefile, "cookie-secret-file "+file))

	learn := func(srv *server, from string) string {
		t.Helper()
		r := udpExchange(t, from, srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 1), "a1a2a3a4a5a6a7a8"), 2*time.Second)
		if r == nil || len(cookiesOf(r)) != 1 {
			t.Fatalf("no cookie learnt: %v", r)
		}
		return cookiesOf(r)[0]
	}
	ask := func(srv *server, from, ck string) *dns.Msg {
		t.Helper()
		r := udpExchange(t, from, srv.udp, withCookieOption(query("mail.example.org", dns.TypeA, 2), ck), 2*time.Second)
		if r == nil {
			t.Fatal("no reply")
		}
		return r
	}
	ck := learn(a, "127.0.130.1")
	if r := ask(b, "127.0.130.1", ck); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("replica B on A's cookie: %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}

	// Roll over: the new secret makes cookies, the old is still accepted.
	write(newSecret + "\n" + oldSecret + "\n# rolled over\n")
	waitFor(t, "the secret file re-read", func() bool { return len(stateOf(t, b).cookieSecrets()) == 2 })
	if r := ask(b, "127.0.130.1", ck); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("old cookie during the rollover: %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	// The old secret gone: the old cookie is bad.
	write(newSecret + "\n")
	waitFor(t, "the secret file re-read", func() bool { return len(stateOf(t, b).cookieSecrets()) == 1 })
	if r := ask(b, "127.0.130.1", ck); r.Rcode != dns.RcodeBadCookie {
		t.Fatalf("old cookie after the rollover: %s, want BADCOOKIE", dns.RcodeToString[r.Rcode])
	}
	// A file that cannot be read keeps the secrets in use.
	write("not a secret\n")
	time.Sleep(1500 * time.Millisecond) // a sweep or more; nothing to wait for but its absence
	if got := stateOf(t, b).cookieSecrets(); len(got) != 1 || got[0] != mustSecretOf(t, newSecret) {
		t.Errorf("after a bad file: %d secrets, want the one in use", len(got))
	}
}

func mustSecretOf(t *testing.T, s string) cookie.Secret {
	t.Helper()
	sec, err := cookie.ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// waitFor polls done for up to 5 s.
func waitFor(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EProvenByCookieStillLimited: a valid cookie lifts the response
// limits, not the rest: max-udp-size, minimal ANY, the per-address query
// limit, and require mode for clients without one.
func TestE2EProvenByCookieStillLimited(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(cookieCorefile, "cookie-queries-per-second 5 5"))
	learn := func(from string) string {
		r := udpExchange(t, from, srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 1), "b1b2b3b4b5b6b7b8"), 2*time.Second)
		if r == nil || len(cookiesOf(r)) != 1 {
			t.Fatalf("no cookie learnt: %v", r)
		}
		return cookiesOf(r)[0]
	}
	t.Run("max-udp-size", func(t *testing.T) {
		ck := learn("127.0.140.1")
		q := withCookieOption(query("big.example.org", dns.TypeTXT, 2), ck)
		q.IsEdns0().SetUDPSize(4096)
		n, r := rawUDPExchange(t, "127.0.140.1", srv.udp, q)
		if !r.Truncated || len(r.Answer) != 0 || n > defaultMaxUDPSize {
			t.Errorf("big TXT with a valid cookie: truncated=%v, %d records, %d bytes; want an empty TC=1 reply", r.Truncated, len(r.Answer), n)
		}
		if len(cookiesOf(r)) != 1 {
			t.Errorf("the TC=1 reply has %d cookies, want ours", len(cookiesOf(r)))
		}
	})
	t.Run("minimal ANY", func(t *testing.T) {
		ck := learn("127.0.141.1")
		r := udpExchange(t, "127.0.141.1", srv.udp, withCookieOption(query("example.org", dns.TypeANY, 3), ck), 2*time.Second)
		if _, ok := firstHINFO(r); !ok || len(r.Answer) != 1 {
			t.Errorf("ANY with a valid cookie: %v, want the RFC 8482 HINFO", r)
		}
	})
	t.Run("cookie-queries-per-second, per address", func(t *testing.T) {
		ck := learn("127.0.142.1")
		msgs := burst(12, same("www.example.org"), dns.TypeA)
		for _, q := range msgs {
			withCookieOption(q, ck)
		}
		// 5 tokens, then slips (TC=1: the cookie is good, so BADCOOKIE would
		// only send the client round again) and drops.
		if got := count(udpBurst(t, "127.0.142.1", srv.udp, msgs, 400*time.Millisecond)); got != (tally{5, 4, 3}) {
			t.Errorf("12 with a valid cookie at 5 a second: %v, want {5 4 3}", got)
		}
		// Another address of the same /24 has an allowance of its own.
		ck2 := learn("127.0.142.2")
		one := withCookieOption(query("www.example.org", dns.TypeA, 99), ck2)
		if r := udpExchange(t, "127.0.142.2", srv.udp, one, 2*time.Second); r == nil || r.Truncated || len(r.Answer) == 0 {
			t.Errorf("the next address: %v, want an answer", r)
		}
	})
}

// TestE2ECookiesRequired: in require mode, UDP queries without a valid
// server cookie get only BADCOOKIE (with a client cookie) or TC=1.
func TestE2ECookiesRequired(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(cookieCorefile, "cookies require"))
	plain := udpExchange(t, "127.0.150.1", srv.udp, query("www.example.org", dns.TypeA, 1), 2*time.Second)
	if plain == nil || !plain.Truncated || len(plain.Answer) != 0 {
		t.Fatalf("no cookie: %v, want TC=1", plain)
	}
	first := udpExchange(t, "127.0.150.1", srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 2), "c1c2c3c4c5c6c7c8"), 2*time.Second)
	if first == nil || first.Rcode != dns.RcodeBadCookie || len(cookiesOf(first)) != 1 {
		t.Fatalf("client cookie alone: %v, want BADCOOKIE with a cookie", first)
	}
	again := udpExchange(t, "127.0.150.1", srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 3), cookiesOf(first)[0]), 2*time.Second)
	if again == nil || again.Rcode != dns.RcodeSuccess || len(again.Answer) == 0 {
		t.Fatalf("with the cookie: %v, want the answer", again)
	}
	if r := tcpQuery(t, "127.0.150.1", srv.tcp, query("www.example.org", dns.TypeA, 4)); len(r.Answer) == 0 {
		t.Errorf("TCP without a cookie: %v, want the answer", r)
	}
}

// TestE2EMalformedCookie: a COOKIE option of a length RFC 7873 does not
// allow gets FORMERR, from CoreDNS or floodguard (RFC 7873 §5.2.2).
func TestE2EMalformedCookie(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(cookieCorefile, ""))
	for i, value := range []string{"0102030405", "0102030405060708090a", strings.Repeat("ab", 41)} {
		r := udpExchange(t, fmt.Sprintf("127.0.%d.1", 160+i), srv.udp, withCookieOption(query("www.example.org", dns.TypeA, uint16(i)), value), 2*time.Second)
		if r == nil || r.Rcode != dns.RcodeFormatError {
			t.Errorf("COOKIE of %d bytes: %v, want FORMERR", len(value)/2, r)
		}
	}
}

// TestE2ECookieLearntUnderAFlood: a spoofed flood from a /24 spends its
// query allowance and its errors' allowance. A real resolver in that /24
// must still learn a server cookie: the slips of its queries are BADCOOKIE
// with a fresh cookie, counted once, as slips, not again as errors; with
// the cookie it is answered.
func TestE2ECookieLearntUnderAFlood(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(`.:{port} {
    bind 127.0.0.1
    floodguard {
        authoritative example.org
        responses-per-second 2
        queries-per-second 5 5
        slip 2
    }
    prometheus {metrics}
    file testdata/example.org.zone example.org
}
`))
	// The flood: names outside the zone, REFUSED, from the victim.
	udpBurst(t, "127.0.170.1", srv.udp, burst(50, random("n%d.example.net"), dns.TypeA), 400*time.Millisecond)

	// The resolver, in the same /24, with a client cookie.
	msgs := burst(6, same("www.example.org"), dns.TypeA)
	for _, q := range msgs {
		withCookieOption(q, "d1d2d3d4d5d6d7d8")
	}
	var learnt string
	for _, r := range udpBurst(t, "127.0.170.53", srv.udp, msgs, 400*time.Millisecond) {
		if r != nil && r.Rcode == dns.RcodeBadCookie && len(cookiesOf(r)) == 1 {
			learnt = cookiesOf(r)[0]
		}
	}
	if learnt == "" {
		t.Fatal("no BADCOOKIE with a cookie among the slips: the resolver cannot learn one")
	}
	r := udpExchange(t, "127.0.170.53", srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 9), learnt), 2*time.Second)
	if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("with the cookie it learnt: %v, want the answer", r)
	}
}

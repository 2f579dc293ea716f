package floodguard

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestE2ERealResolversInASpoofedPrefix: a spoofed flood from a /24 must not
// cut that /24's real resolvers off. BIND's named (which sends DNS
// cookies) and Unbound (which does not) query the server from inside the
// flooded /24, starting once the flood is on; both must get their lookups
// of names the flood does not use answered, and named also the very name
// the flood asks, through the cookie it learns under the flood.
//
// Resolvers try to reach the root servers when asked anything they are not
// configured for, so the test runs in a network namespace of its own
// (unshare -rn), where only loopback exists: it runs itself again there.
// bench/collateral.sh measures the same at length, against BIND too.
func TestE2ERealResolversInASpoofedPrefix(t *testing.T) {
	if os.Getenv("FLOODGUARD_NETNS") == "" {
		named, unbound := needTool(t, "named"), needTool(t, "unbound")
		_, _ = named, unbound
		if err := exec.Command("unshare", "-rn", "true").Run(); err != nil {
			t.Skipf("no network namespace to be had here (unshare -rn: %v)", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "unshare", "-rn", os.Args[0], "-test.run=^TestE2ERealResolversInASpoofedPrefix$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "FLOODGUARD_NETNS=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a network namespace of its own:\n%s", out)
		if err != nil {
			t.Fatalf("the test in its namespace failed: %v", err)
		}
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing up loopback in the namespace: %v: %s", err, out)
	}
	srv := startServer(t, `.:{port} {
    bind 127.0.0.1
    floodguard {
        authoritative example.org
        responses-per-second 10
        any-per-minute 4
        ban 100 1s 10m
    }
    prometheus {metrics}
    metadata
    file testdata/example.org.zone example.org
}
`)
	// The flood: the classic mix from 127.0.1.1-4, the victim's /24.
	mix := []func(int) *dns.Msg{
		func(i int) *dns.Msg { return query(".", dns.TypeNS, uint16(i)) },
		func(i int) *dns.Msg { return query("example.org", dns.TypeANY, uint16(i)) },
		func(i int) *dns.Msg {
			m := query("big.example.org", dns.TypeTXT, uint16(i))
			m.SetEdns0(4096, false)
			return m
		},
	}
	var flooded floodOutcome
	floodDone := make(chan struct{})
	go func() {
		defer close(floodDone)
		flooded = flood(t, srv.udp, "127.0.1", func(i int) *dns.Msg { return mix[i%len(mix)](i) }, 2000, 7*time.Second)
	}()
	time.Sleep(time.Second) // bans in force

	dir := t.TempDir()
	namedAt, unboundAt := startResolvers(t, dir, srv.udp)

	var wg sync.WaitGroup
	var viaNamed, viaUnbound lookupTally
	wg.Go(func() { viaNamed = lookups(t, namedAt, "big.example.org", 4*time.Second) })
	wg.Go(func() { viaUnbound = lookups(t, unboundAt, "", 4*time.Second) })
	wg.Wait()
	<-floodDone
	t.Logf("flood: %d queries, %d answered, %d truncated; named: %+v; unbound: %+v", flooded.queries, flooded.answered, flooded.truncated, viaNamed, viaUnbound)

	if viaNamed.answered < viaNamed.asked*99/100 || viaNamed.flooded == 0 || viaNamed.floodedAnswered != viaNamed.flooded {
		t.Errorf("named in the flooded /24: %+v, want 99 %% answered, the flooded name every time", viaNamed)
	}
	if viaUnbound.answered < viaUnbound.asked*99/100 {
		t.Errorf("Unbound in the flooded /24: %+v, want 99 %% answered", viaUnbound)
	}
	m := srv.scrape(t)
	if m[`coredns_floodguard_cookies_total{result="valid"}`] == 0 || m[`coredns_floodguard_bans_total`] == 0 {
		t.Errorf("cookies_total{valid} = %v, bans_total = %v: want named's cookie used, and the flood banned",
			m[`coredns_floodguard_cookies_total{result="valid"}`], m[`coredns_floodguard_bans_total`])
	}
	if flooded.answered > 100 {
		t.Errorf("the flood got %d full answers, want the few before its bans", flooded.answered)
	}
}

// startResolvers starts named (at 127.0.1.53) and Unbound (at 127.0.1.54)
// forwarding example.org to server and everything else nowhere, caching
// nothing, and returns where they listen.
func startResolvers(t *testing.T, dir, server string) (namedAt, unboundAt string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(server)
	namedAt, unboundAt = "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	_, np, _ := net.SplitHostPort(namedAt)
	_, up, _ := net.SplitHostPort(unboundAt)
	nowhere := freePort(t)
	conf := filepath.Join(dir, "named.conf")
	must(t, os.WriteFile(conf, fmt.Appendf(nil, `options {
    directory "%[1]s";
    pid-file "%[1]s/named.pid";
    session-keyfile "%[1]s/session.key";
    managed-keys-directory "%[1]s";
    listen-on port %[2]s { 127.0.0.1; };
    listen-on-v6 { none; };
    query-source address 127.0.1.53;
    recursion yes;
    allow-query { 127.0.0.0/8; };
    dnssec-validation no;
    notify no;
    max-cache-ttl 0;
    max-ncache-ttl 0;
    forward only;
    forwarders { 127.0.0.1 port %[5]s; };
};
controls { };
zone "example.org" { type forward; forward only; forwarders { %[3]s port %[4]s; }; };
`, dir, np, host, port, nowhere), 0o644))
	uconf := filepath.Join(dir, "unbound.conf")
	must(t, os.WriteFile(uconf, fmt.Appendf(nil, `server:
    interface: 127.0.0.1@%[2]s
    port: %[2]s
    do-ip6: no
    outgoing-interface: 127.0.1.54
    do-not-query-localhost: no
    module-config: "iterator"
    username: ""
    chroot: ""
    directory: "%[1]s"
    pidfile: "%[1]s/unbound.pid"
    use-syslog: no
    access-control: 127.0.0.0/8 allow
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    qname-minimisation: no
forward-zone:
    name: "example.org"
    forward-addr: %[3]s@%[4]s
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@%[5]s
`, dir, up, host, port, nowhere), 0o644))
	for _, c := range [][]string{{"named", "-g", "-n", "2", "-c", conf}, {"unbound", "-d", "-c", uconf}} {
		path, _ := exec.LookPath(c[0])
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, path, c[1:]...)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("starting %s: %v", c[0], err)
		}
		t.Cleanup(func() { cancel(); cmd.Wait() })
	}
	for _, at := range []string{namedAt, unboundAt} {
		waitFor(t, "a resolver answering at "+at, func() bool {
			c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
			r, _, err := c.Exchange(query(fmt.Sprintf("w%d.wild2.example.org", rand.Uint32()), dns.TypeA, 1), at)
			return err == nil && len(r.Answer) > 0
		})
	}
	return namedAt, unboundAt
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type lookupTally struct{ asked, answered, flooded, floodedAnswered int }

// lookups asks the resolver at 10 lookups a second for d: random names
// under wild2.example.org, and every fifth the name also (type TXT) if
// given. A lookup is answered when it gets an answer within 3 s.
func lookups(t *testing.T, resolver, also string, d time.Duration) lookupTally {
	var mu sync.Mutex
	var tally lookupTally
	var wg sync.WaitGroup
	for k := 0; k < int(d/(100*time.Millisecond)); k++ {
		q := query(fmt.Sprintf("p%08x.wild2.example.org", rand.Uint32()), dns.TypeA, uint16(k))
		isAlso := also != "" && k%5 == 4
		if isAlso {
			q = query(also, dns.TypeTXT, uint16(k))
		}
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
			r, _, err := c.Exchange(q, resolver)
			ok := err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
			mu.Lock()
			defer mu.Unlock()
			tally.asked++
			if ok {
				tally.answered++
			}
			if isAlso {
				tally.flooded++
				if ok {
					tally.floodedAnswered++
				}
			}
		})
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	return tally
}

package floodguard

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// staleVerifyCorefile is the Corefile of the crash report: a cache that
// verifies stale entries in the background, keeping floodguard's writer
// after floodguard's ServeDNS has returned, in front of an upstream.
const staleVerifyCorefile = `.:{port} {
    bind 127.0.0.1
    floodguard
    cache 1 {
        serve_stale 1h verify 500ms
    }
    forward . %s
}
`

// TestE2EWriterKeptByALaterPlugin: the cache's background verification of
// a stale entry holds floodguard's writer while the upstream is silent and
// forward retries, long after the query was answered stale. CoreDNS must
// survive it (a nil-pointer panic in that goroutine kills the process), and
// the writer must not be handed to other queries meanwhile (under -race, a
// data race).
func TestE2EWriterKeptByALaterPlugin(t *testing.T) {
	up := startUpstream(t)
	srv := startServer(t, fmt.Sprintf(staleVerifyCorefile, up.addr))
	ask := func(from, name string, id uint16) *dns.Msg {
		return udpExchange(t, from, srv.udp, query(name, dns.TypeA, id), 2*time.Second)
	}

	if r := ask("127.0.90.1", "stale.example.net", 1); r == nil || len(r.Answer) == 0 {
		t.Fatalf("first query: %v, want the upstream's answer", r)
	}
	up.silent.Store(true)

	// Wait (the cache's own clock) until the entry is stale: it is then
	// served stale, with the upstream check left running in the background.
	deadline := time.Now().Add(10 * time.Second)
	for up.queries.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the cache never went back to the upstream")
		}
		time.Sleep(250 * time.Millisecond)
		if r := ask("127.0.90.1", "stale.example.net", 2); r == nil || len(r.Answer) == 0 {
			t.Fatalf("stale query: %v, want the stale answer", r)
		}
	}
	// Other queries meanwhile, each needing a writer of its own (a pooled
	// writer would be handed on to them while the verification holds it).
	// The upstream answers none of them: no need to wait.
	for i := range 20 {
		udpSend(t, fmt.Sprintf("127.0.91.%d", i+1), srv.udp, query(fmt.Sprintf("other%d.example.net", i), dns.TypeA, uint16(10+i)))
	}
	// forward retries the silent upstream after its read timeout, asking
	// the kept writer for the client's address.
	deadline = time.Now().Add(15 * time.Second)
	for before := up.queries.Load(); up.queries.Load() < before+2; {
		if time.Now().After(deadline) {
			t.Fatal("forward never retried the silent upstream")
		}
		time.Sleep(100 * time.Millisecond)
	}
	up.silent.Store(false)
	if r := ask("127.0.90.2", "alive.example.net", 3); r == nil || len(r.Answer) == 0 {
		t.Fatalf("after the retries: %v, want an answer", r)
	}
}

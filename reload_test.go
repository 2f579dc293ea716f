package floodguard

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

// sweepers counts the running sweeper goroutines.
func sweepers() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "floodguard.(*state).sweepLoop")
}

// TestE2EReload reloads a real CoreDNS the way the reload plugin and SIGUSR1
// do (caddy's graceful restart) and checks what floodguard remembers.
func TestE2EReload(t *testing.T) {
	useFrozenClock(t)
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))
	port := srv.port
	corefile := func(extra string) caddy.Input {
		text := strings.ReplaceAll(strings.ReplaceAll(fmt.Sprintf(rrlCorefile, extra), "{port}", port), "{metrics}", srv.metrics)
		return caddy.CaddyfileInput{Contents: []byte(text), Filepath: "Corefile", ServerTypeName: "dns"}
	}
	restart := func(t *testing.T, in caddy.Input) error { t.Helper(); return srv.reload(t, in) }
	flood := func(t *testing.T, n int) tally {
		t.Helper()
		return count(udpBurst(t, "127.0.30.1", srv.udp, burst(n, same("www.example.org"), dns.TypeA), 400*time.Millisecond))
	}

	if got := flood(t, 5); got != (tally{2, 1, 2}) {
		t.Fatalf("before any reload: %v, want {2 1 2}", got)
	}
	steps := []struct {
		name    string
		input   caddy.Input
		wantErr bool
		want    tally
	}{
		// Unchanged block: the limited client is still limited (slip order goes on).
		{"unchanged", corefile(""), false, tally{0, 1, 2}},
		// Invalid Corefile: the restart fails and the running instance keeps protecting.
		{"invalid", corefile("slip eleven"), true, tally{0, 1, 2}},
		// Changed block: fresh state.
		{"changed", corefile("log-only"), false, tally{3, 0, 0}},
		// And back: a change again, so fresh again, and enforcing.
		{"changed back", corefile(""), false, tally{2, 1, 0}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := restart(t, st.input)
			if (err != nil) != st.wantErr {
				t.Fatalf("restart error = %v, want error %v", err, st.wantErr)
			}
			if got := flood(t, 3); got != st.want {
				t.Fatalf("after reload: %v, want %v", got, st.want)
			}
			if n := sweepers(); n != 1 {
				t.Errorf("%d sweepers running, want 1", n)
			}
		})
	}

	t.Run("20 reloads leak nothing", func(t *testing.T) {
		before := runtime.NumGoroutine()
		for i := range 20 {
			extra := ""
			if i%2 == 1 {
				extra = "log-only" // alternate: half the reloads start fresh state
			}
			if err := restart(t, corefile(extra)); err != nil {
				t.Fatalf("reload %d: %v", i, err)
			}
		}
		if n := sweepers(); n != 1 {
			t.Errorf("%d sweepers after 20 reloads, want 1", n)
		}
		registryMu.Lock()
		states := len(registry)
		registryMu.Unlock()
		if states != 1 {
			t.Errorf("%d registered states after 20 reloads, want 1", states)
		}
		// Give finished goroutines of the old servers a moment to exit.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if after := runtime.NumGoroutine(); after > before+5 {
			t.Errorf("goroutines grew from %d to %d over 20 reloads", before, after)
		}
	})
}

// waitServing polls srv from the exempt client 127.0.0.9 until both its UDP
// and its TCP listener answer (5 s at most).
func waitServing(t *testing.T, srv *server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for udp, tcp := false, false; !udp || !tcp; {
		if time.Now().After(deadline) {
			t.Fatalf("reloaded server not serving after 5s (udp %v, tcp %v)", udp, tcp)
		}
		m := query("www.example.org", dns.TypeA, 7)
		if !udp {
			c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9)}}}
			_, _, err := c.Exchange(m, srv.udp)
			udp = err == nil
		}
		if !tcp {
			c := &dns.Client{Net: "tcp", Timeout: 200 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9)}}}
			_, _, err := c.Exchange(m, srv.tcp)
			tcp = err == nil
		}
	}
}

// TestE2EFailedReloadLeaksNothing: a reload whose new Corefile cannot
// listen (a port already taken) fails after caddy has run the new
// instance's startup, and caddy never shuts that instance down. Its
// floodguard must leave nothing running or registered, and the running
// instance must go on protecting as before.
func TestE2EFailedReloadLeaksNothing(t *testing.T) {
	useFrozenClock(t)
	before := sweepers()
	srv := startServer(t, fmt.Sprintf(rrlCorefile, ""))
	flood := func(t *testing.T, from string) tally {
		t.Helper()
		return count(udpBurst(t, from, srv.udp, burst(3, same("www.example.org"), dns.TypeA), 400*time.Millisecond))
	}
	if got := flood(t, "127.0.31.1"); got != (tally{2, 1, 0}) {
		t.Fatalf("before the reload: %v, want {2 1 0}", got)
	}

	// A port held by someone else, over UDP and TCP.
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.LocalAddr().(*net.UDPAddr).Port
	takenTCP, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer takenTCP.Close()

	// The floodguard block changed (a new state), and a second block on the
	// taken port.
	text := strings.NewReplacer("{port}", srv.port, "{metrics}", srv.metrics).Replace(fmt.Sprintf(rrlCorefile, "log-only")) +
		fmt.Sprintf("example.net:%d {\n    bind 127.0.0.1\n    floodguard\n    whoami\n}\n", port)
	serverMu.Lock()
	_, err = srv.inst.Restart(caddy.CaddyfileInput{Contents: []byte(text), Filepath: "Corefile", ServerTypeName: "dns"})
	serverMu.Unlock()
	if err == nil {
		t.Fatal("the reload onto a taken port succeeded")
	}
	t.Logf("reload failed as it should: %v", err)

	if got := flood(t, "127.0.31.2"); got != (tally{0, 1, 2}) {
		t.Errorf("after the failed reload: %v, want {0 1 2}: the running block still limits, with its state", got)
	}
	if n := sweepers() - before; n != 1 {
		t.Errorf("%d sweepers running for this server, want 1", n)
	}
	registryMu.Lock()
	states := 0
	for key := range registry {
		if strings.Contains(key, ":"+srv.port) || strings.Contains(key, fmt.Sprintf(":%d", port)) {
			states++
		}
	}
	registryMu.Unlock()
	if states != 1 {
		t.Errorf("%d registered states for this server, want 1", states)
	}

	// Stopped for good: nothing is left.
	serverMu.Lock()
	stopped := stopServer(srv.inst)
	srv.inst = nil // stopped: a second stop would wait for good on the file plugin's reloader
	serverMu.Unlock()
	if !stopped {
		t.Fatal("CoreDNS did not stop")
	}
	if n := sweepers() - before; n != 0 {
		t.Errorf("%d sweepers left after the final shutdown, want 0", n)
	}
}

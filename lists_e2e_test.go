package floodguard

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// writeListFile replaces path's content as configuration management or a
// ConfigMap does: a new file renamed over the old one.
func writeListFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// deny-file bans its prefixes over UDP like a manual ban, allow-file trusts
// its own like exempt-clients, and a changed deny-file takes effect within
// 2 s without a reload; a broken one keeps the list in force and logs the
// line.
func TestE2EDenyAndAllowFiles(t *testing.T) {
	logs := captureLogs(t)
	dir := t.TempDir()
	deny, allow := filepath.Join(dir, "deny.txt"), filepath.Join(dir, "allow.txt")
	writeListFile(t, deny, "# flooders\n127.91.0.0/24  # seen 2026-12-01\n127.94.0.0/24 2000-01-01T00:00:00Z # expired long ago\n")
	writeListFile(t, allow, "127.92.0.0/24 # our resolvers\n")
	srv := startServer(t, fmt.Sprintf(`example.org:{port} {
    bind 127.0.0.1
    floodguard {
        responses-per-second 1
        slip 0
        deny-file %s
        allow-file %s
    }
    prometheus {metrics}
    file testdata/example.org.zone
}
`, deny, allow))
	answered := func(from string, id uint16) bool {
		m := udpExchange(t, from, srv.udp, query("mail.example.org", dns.TypeA, id), 300*time.Millisecond)
		return m != nil && len(m.Answer) > 0 && !m.Truncated
	}
	// Denied: this second's TC=1, then nothing.
	if m := udpExchange(t, "127.91.0.1", srv.udp, query("www.example.org", dns.TypeA, 1), time.Second); m == nil || !m.Truncated {
		t.Errorf("first query of a denied prefix got %v, want TC=1", m)
	}
	if answered("127.91.0.2", 2) {
		t.Error("a denied prefix was answered")
	}
	if !answered("127.94.0.1", 3) {
		t.Error("an expired deny entry still denies")
	}
	// Allowed: no limit, where another prefix gets 1 a second.
	n := 0
	for i := range 20 {
		if answered("127.92.0.1", uint16(100+i)) {
			n++
		}
	}
	if n != 20 {
		t.Errorf("an allowed prefix had %d of 20 answered", n)
	}
	if got := srv.scrape(t)[`coredns_floodguard_list_entries{list="deny"}`]; got != 2 {
		t.Errorf("list_entries{list=deny} = %v, want 2", got)
	}

	// A changed file, within 2 s, without a reload.
	changed := time.Now()
	writeListFile(t, deny, "127.93.0.0/24\n")
	waitFor(t, "the changed deny-file in force", func() bool { return answered("127.91.0.3", 4) })
	if d := time.Since(changed); d > 2*time.Second {
		t.Errorf("the changed deny-file took %v, want at most 2s", d)
	} else {
		t.Logf("the changed deny-file took effect in %v", d.Round(time.Millisecond))
	}
	if answered("127.93.0.1", 5) {
		t.Error("the new deny entry does not deny")
	}

	// A broken file: the list in force stays, and the line is logged.
	writeListFile(t, deny, "127.95.0.0/24\n127.96.0.0/24\n127.97.0.300/24\n")
	waitFor(t, "the broken deny-file logged", func() bool { return logs.lines(deny+":3:") == 1 })
	if answered("127.93.0.2", 6) || !answered("127.95.0.1", 7) {
		t.Error("a broken deny-file changed the list in force")
	}
	time.Sleep(1500 * time.Millisecond)
	if n := logs.lines(deny + ":3:"); n != 1 {
		t.Errorf("the broken file was logged %d times, want once", n)
	}
	m := srv.scrape(t)
	if m[`coredns_floodguard_list_reloads_total{list="deny",result="failure"}`] != 1 ||
		m[`coredns_floodguard_list_reloads_total{list="deny",result="success"}`] != 2 {
		t.Errorf("list_reloads_total: %v", m)
	}
	if m[`coredns_floodguard_requests_total{action="dropped",reason="denied"}`] == 0 {
		t.Error("no requests_total{reason=denied}")
	}
}

package floodguard

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

// TestReadme starts a real CoreDNS on every corefile block of README.md and
// asks it one question, so that no documented example can rot.
func TestReadme(t *testing.T) {
	blocks, sections := readmeCorefiles(t, "README.md")
	want := []string{"## Name", "## Description", "## Syntax", "## Examples", "## Metrics", "## See Also"}
	if strings.Join(sections, ",") != strings.Join(want, ",") {
		t.Errorf("README sections %v, want %v in this order", sections, want)
	}
	if len(blocks) < 3 {
		t.Fatalf("found %d corefile blocks in README.md, want at least 3", len(blocks))
	}
	oldPort := dnsserver.Port
	t.Cleanup(func() { dnsserver.Port = oldPort })
	for i, corefile := range blocks {
		serverMu.Lock()
		port := freePort(t)
		dnsserver.Port = port
		corefile = strings.ReplaceAll(corefile, "127.0.0.1:9153", "127.0.0.1:"+freePort(t))
		corefile = strings.ReplaceAll(corefile, "127.0.0.1:9154", "127.0.0.1:"+freePort(t))
		inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
		serverMu.Unlock()
		if err != nil {
			if inst != nil { // started plugins (floodguard's sweeper) are still running
				inst.ShutdownCallbacks()
			}
			t.Errorf("README corefile block %d does not start: %v\n%s", i+1, err, corefile)
			continue
		}
		c := &dns.Client{Timeout: 2 * time.Second}
		r, _, err := c.Exchange(query("www.example.org", dns.TypeA, 1), "127.0.0.1:"+port)
		if !stopServer(inst) {
			t.Errorf("README corefile block %d: CoreDNS did not stop within 10s", i+1)
		}
		if err != nil {
			t.Errorf("README corefile block %d: no answer: %v", i+1, err)
			continue
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("README corefile block %d: %s with %d answers, want an answer", i+1, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
	}
}

// readmeCorefiles returns the contents of the corefile-fenced blocks and the
// level-two headings of a README.
func readmeCorefiles(t *testing.T, path string) (blocks, sections []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur strings.Builder
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case line == "``` corefile" || line == "~~~ corefile":
			in = true
		case in && (line == "```" || line == "~~~"):
			blocks = append(blocks, cur.String())
			cur.Reset()
			in = false
		case in:
			cur.WriteString(line + "\n")
		case strings.HasPrefix(line, "## "):
			sections = append(sections, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks, sections
}

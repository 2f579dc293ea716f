package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

// needTool skips a test that needs a program this machine lacks, or fails
// it where FLOODGUARD_REQUIRE_TOOLS is set (CI installs them all).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FLOODGUARD_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required here: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// freePort returns a loopback port free for both UDP and TCP now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

const plainCorefile = `.:PORT {
    bind 127.0.0.1
    file ZONEFILE example.org
}
`

// withPort is a Corefile of body for the servers on port.
func withPort(body string, port int) string {
	return strings.ReplaceAll(body, "PORT", fmt.Sprint(port))
}

// floodsimResult is what the test reads of floodsim's -json.
type floodsimResult struct {
	AttackSent    int     `json:"attack_sent"`
	Amplification float64 `json:"amplification"`
	LegitQueries  int     `json:"legit_queries"`
	LegitAnswered int     `json:"legit_answered"`
}

// TestAgreementWithLiveTraffic is the target: floodsim's
// single-victim attack, with a real client in another prefix, captured
// with tcpdump on loopback against plain CoreDNS and replayed through
// floodguard's Corefile, must agree with a live floodguard run of the same
// Corefile under the same attack, measured from its own capture:
// amplification within 5 %, the same top prefix, and no collateral for
// the real client in either.
func TestAgreementWithLiveTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("a live attack of 2 x 4 s")
	}
	tcpdump := needTool(t, "tcpdump")
	if os.Geteuid() != 0 {
		if os.Getenv("FLOODGUARD_REQUIRE_TOOLS") != "" {
			t.Fatal("capturing on loopback needs root")
		}
		t.Skip("capturing on loopback needs root")
	}
	setDirectives()
	dir := t.TempDir()
	floodsim := filepath.Join(dir, "floodsim")
	build := exec.Command("go", "build", "-o", floodsim, "./cmd/floodsim")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building floodsim: %v\n%s", err, out)
	}

	// live serves body on port under the attack while tcpdump captures it.
	live := func(name, body string, port int) (string, floodsimResult) {
		conf := writeCorefile(t, withPort(body, port))
		corefile, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := caddy.Start(caddy.CaddyfileInput{Contents: corefile, Filepath: conf, ServerTypeName: "dns"})
		if err != nil {
			t.Fatalf("%s: starting CoreDNS: %v", name, err)
		}
		defer func() {
			inst.Stop()
			inst.ShutdownCallbacks() // floodguard's sweeper stops with them
		}()
		pcap := filepath.Join(dir, name+".pcap")
		td := exec.Command(tcpdump, "-i", "lo", "-n", "-U", "-w", pcap, fmt.Sprintf("host 127.0.0.1 and port %d", port))
		stderr, _ := td.StderrPipe()
		if err := td.Start(); err != nil {
			t.Fatal(err)
		}
		defer td.Process.Kill()
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "listening on") {
					ready <- true
				}
			}
			close(ready)
		}()
		select {
		case ok := <-ready:
			if !ok {
				t.Fatalf("tcpdump ended before it listened (needs CAP_NET_RAW)")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("tcpdump did not start listening")
		}
		jsonPath := filepath.Join(dir, name+".json")
		sim := exec.Command(floodsim, "-server", fmt.Sprintf("127.0.0.1:%d", port), "-rate", "2000", "-duration", "4s",
			"-sources", "1", "-source-base", "127.66.0.1", "-legit", "127.77.0.2", "-legit-rate", "10", "-json", jsonPath)
		if out, err := sim.CombinedOutput(); err != nil {
			t.Fatalf("floodsim: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond) // the last packets into the file
		td.Process.Signal(syscall.SIGTERM)
		td.Wait()
		var res floodsimResult
		b, err := os.ReadFile(jsonPath)
		if err == nil {
			err = json.Unmarshal(b, &res)
		}
		if err != nil {
			t.Fatal(err)
		}
		return pcap, res
	}

	agreement, err := os.ReadFile("testdata/agreement.Corefile")
	if err != nil {
		t.Fatal(err)
	}
	agreementCorefile := string(agreement)
	plainPort, fgPort := freePort(t), freePort(t)
	plainPcap, plainSim := live("plain", plainCorefile, plainPort)
	fgPcap, fgSim := live("floodguard", agreementCorefile, fgPort)

	replayed := replayJSON(t, "-conf", writeCorefile(t, withPort(agreementCorefile, plainPort)), "-legit", "127.77.0.0/24", plainPcap)
	measured := replayJSON(t, "-conf", writeCorefile(t, withPort(agreementCorefile, fgPort)), "-legit", "127.77.0.0/24", fgPcap)
	if measured.CapturedAmplification == nil || replayed.CapturedAmplification == nil {
		t.Fatal("a capture holds no responses")
	}
	liveAmp := *measured.CapturedAmplification
	t.Logf("plain CoreDNS: amplification %.2f in its capture (floodsim %.2f, %d attack queries)", *replayed.CapturedAmplification, plainSim.Amplification, plainSim.AttackSent)
	t.Logf("replayed through floodguard: %.3f; live floodguard, from its capture: %.3f (floodsim %.3f)", replayed.Amplification, liveAmp, fgSim.Amplification)
	t.Logf("replay: %+v", replayed.Responses)
	if *replayed.CapturedAmplification < 10 {
		t.Errorf("plain CoreDNS amplified %.2f: the attack is not the reflection it should be", *replayed.CapturedAmplification)
	}
	if d := math.Abs(replayed.Amplification-liveAmp) / liveAmp; d > 0.05 {
		t.Errorf("replayed amplification %.3f vs live %.3f: %.1f%% apart, want within 5%%", replayed.Amplification, liveAmp, 100*d)
	}
	if replayed.Top[0].Prefix != "127.66.0.0/24" || measured.Top[0].Prefix != replayed.Top[0].Prefix {
		t.Errorf("top prefix: replayed %s, live %s, want both 127.66.0.0/24", replayed.Top[0].Prefix, measured.Top[0].Prefix)
	}
	c := replayed.Collateral[0]
	if c.Queries == 0 || c.Dropped+c.Slipped+c.Banned+c.Truncated+c.Refused != 0 {
		t.Errorf("replayed collateral for the real client: %+v, want its queries all sent", c)
	}
	if fgSim.LegitQueries == 0 || fgSim.LegitAnswered != fgSim.LegitQueries {
		t.Errorf("live: the real client had %d of %d answered", fgSim.LegitAnswered, fgSim.LegitQueries)
	}
}

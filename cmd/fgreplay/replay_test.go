package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"
)

const rrlCorefile = `.:5300 {
    floodguard {
        responses-per-second 5
        slip 2
        %s
    }
    file ZONEFILE example.org
}
`

// flood is a victim's steady flood of one name and type (a reflection
// attack's spoofed queries), with a real client in another prefix.
func flood(t testing.TB, perSecond int, d time.Duration) []pkt {
	var ps []pkt
	server := ap("127.0.0.1:5300")
	step := time.Second / time.Duration(perSecond)
	for i := 0; time.Duration(i)*step < d; i++ {
		ps = append(ps, pkt{at: time.Duration(i) * step, src: ap("127.66.0.1:40000"), dst: server,
			payload: query(t, uint16(i), "www.example.org.", dns.TypeA, false)})
		if i%(perSecond/2) == 0 { // two a second
			ps = append(ps, pkt{at: time.Duration(i)*step + time.Millisecond, src: ap("127.77.0.2:53000"), dst: server,
				payload: query(t, uint16(i), "example.org.", dns.TypeSOA, true)})
		}
	}
	return ps
}

func TestReplayRateLimitsOnCaptureTime(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	capture := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 10*time.Second))
	began := time.Now()
	rep := replayJSON(t, "-conf", conf, "-legit", "127.77.0.0/24", capture)
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("10 s of capture took %v to replay: not on the capture's clock?", took)
	}
	if rep.Queries != 1020 || rep.UDPQueries != 1020 {
		t.Fatalf("replayed %d queries (%d UDP), want 1020", rep.Queries, rep.UDPQueries)
	}
	r := rep.Responses
	// The victim's 1,000 queries at 100/s against 5/s: as in BIND, a
	// flood that never slows below the rate keeps its account at the
	// bottom, so only the first 5 are answered; the rest are alternately
	// slipped and dropped (slip 2).
	victim := rep.Top[0]
	if victim.Prefix != "127.66.0.0/24" || victim.Queries != 1000 {
		t.Fatalf("top prefix %+v, want 127.66.0.0/24 with 1000 queries", victim)
	}
	if victim.Sent != 5 {
		t.Errorf("victim sent %d, want 5", victim.Sent)
	}
	if d := int(victim.Slipped) - int(victim.Dropped); d < -1 || d > 1 || victim.Sent+victim.Slipped+victim.Dropped != 1000 {
		t.Errorf("victim: sent %d slipped %d dropped %d: want the limited half slipped, half dropped", victim.Sent, victim.Slipped, victim.Dropped)
	}
	if r.Sent != int(victim.Sent)+20 {
		t.Errorf("sent %d, want the victim's %d and the legit client's 20", r.Sent, victim.Sent)
	}
	if len(rep.Collateral) != 1 || rep.Collateral[0].Queries != 20 || rep.Collateral[0].Sent != 20 {
		t.Errorf("collateral %+v, want 20 queries all sent", rep.Collateral)
	}
	if rep.CapturedAmplification != nil {
		t.Errorf("captured amplification %v from a capture with no responses", *rep.CapturedAmplification)
	}
	if rep.Amplification <= 0 || rep.Amplification >= 1 {
		t.Errorf("amplification %.2f, want between 0 and 1 under the limit", rep.Amplification)
	}
	if rep.Table.PeakEntries < 2 || rep.Table.Evictions != 0 || rep.Table.RecommendedSize != 1024 || rep.Table.Size != 262144 {
		t.Errorf("table %+v", rep.Table)
	}
	if rep.Seconds < 9.9 || rep.Seconds > 10 {
		t.Errorf("capture seconds %.3f, want about 10", rep.Seconds)
	}
	// The clock is the capture's: a second replay decides the same.
	again := replayJSON(t, "-conf", conf, "-legit", "127.77.0.0/24", capture)
	if again.Responses != rep.Responses {
		t.Errorf("replays differ: %+v then %+v", rep.Responses, again.Responses)
	}
}

func TestReplayBans(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, "ban 50 10s 1m"))
	capture := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 20*time.Second))
	rep := replayJSON(t, "-conf", conf, "-legit", "127.77.0.0/24", capture)
	if rep.BansTotal != 1 || len(rep.Bans) != 1 {
		t.Fatalf("bans %d %+v, want one", rep.BansTotal, rep.Bans)
	}
	b := rep.Bans[0]
	if b.Prefix != "127.66.0.0/24" || b.End.Sub(b.Start) != time.Minute || !strings.Contains(b.What, "www.example.org.") {
		t.Errorf("ban %+v, want 127.66.0.0/24's www.example.org. for 1m", b)
	}
	if b.Start.Before(epoch) || b.Start.After(epoch.Add(3*time.Second)) {
		t.Errorf("ban started at %v, want within the flood's first seconds (capture start %v)", b.Start, epoch)
	}
	if rep.Responses.Banned < 1500 {
		t.Errorf("banned %d, want most of the flood after the ban", rep.Responses.Banned)
	}
	if c := rep.Collateral[0]; c.Sent != c.Queries || c.Banned != 0 {
		t.Errorf("legit collateral %+v: a ban of the victim's name must not touch another prefix", c)
	}
}

// TestReplayStubsNeverSend: forward is a stub that answers from the
// capture's responses, SERVFAIL otherwise, and sends nothing to its
// upstream (a socket the test listens on).
func TestReplayStubsNeverSend(t *testing.T) {
	upstream, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	conf := writeCorefile(t, ".:5300 {\n    floodguard\n    forward . "+upstream.LocalAddr().String()+"\n}\n")
	client, server := ap("127.88.0.1:41000"), ap("127.0.0.1:5300")
	q1 := query(t, 1, "one.example.net.", dns.TypeA, false)
	q2 := query(t, 2, "two.example.net.", dns.TypeA, false)
	capture := writePcap(t, layers.LinkTypeEthernet, []pkt{
		{at: 0, src: client, dst: server, payload: q1},
		{at: 3 * time.Millisecond, src: server, dst: client, payload: answer(t, q1, "192.0.2.1")},
		{at: 10 * time.Millisecond, src: client, dst: server, payload: q2}, // no response captured
	})
	rep := replayJSON(t, "-conf", conf, capture)
	if rep.Stubs == nil || strings.Join(rep.Stubs.Plugins, ",") != "forward" || rep.Stubs.Captured != 1 || rep.Stubs.ServFail != 1 {
		t.Fatalf("stubs %+v, want forward: 1 answered from the capture, 1 SERVFAIL", rep.Stubs)
	}
	if rep.Responses.Sent != 2 || rep.Captured.Responses != 1 || rep.CapturedAmplification == nil {
		t.Errorf("responses %+v, captured %+v", rep.Responses, rep.Captured)
	}
	upstream.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, from, err := upstream.ReadFrom(make([]byte, 512)); err == nil {
		t.Fatalf("the upstream got %d bytes from %v: a replay sent a packet", n, from)
	}
}

// TestReplayTCP: a query over TCP, its length and message split across
// segments, is replayed over TCP (never limited).
func TestReplayTCP(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	client, server := ap("127.66.0.1:45000"), ap("127.0.0.1:5300")
	var ps []pkt
	seq := uint32(1000)
	ps = append(ps, pkt{src: client, dst: server, tcp: true, syn: true, seq: seq})
	seq++
	for i := 0; i < 20; i++ {
		q := query(t, uint16(i), "www.example.org.", dns.TypeA, false)
		framed := append([]byte{byte(len(q) >> 8), byte(len(q))}, q...)
		at := time.Duration(i) * time.Millisecond
		ps = append(ps, pkt{at: at, src: client, dst: server, tcp: true, seq: seq, payload: framed[:1]},
			pkt{at: at, src: client, dst: server, tcp: true, seq: seq + 1, payload: framed[1:]})
		seq += uint32(len(framed))
	}
	ps = append(ps, pkt{at: 30 * time.Millisecond, src: client, dst: server, tcp: true, fin: true, seq: seq})
	rep := replayJSON(t, "-conf", conf, writePcap(t, layers.LinkTypeEthernet, ps))
	if rep.TCPQueries != 20 || rep.Responses.Sent != 20 || rep.Skipped.TCPLost != 0 {
		t.Errorf("TCP: %d queries, %+v, lost %d: want 20 sent, none limited", rep.TCPQueries, rep.Responses, rep.Skipped.TCPLost)
	}
	if rep.Amplification != 0 || rep.BytesOut == 0 {
		t.Errorf("amplification %.2f (UDP only), bytes out %d", rep.Amplification, rep.BytesOut)
	}
}

func TestReplayLinkTypesAndFormats(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	v4 := []pkt{{src: ap("127.66.0.1:40000"), dst: ap("127.0.0.1:5300"), payload: query(t, 7, "www.example.org.", dns.TypeA, false)}}
	v6 := []pkt{{src: ap("[::1]:40000"), dst: ap("[::1]:5300"), payload: query(t, 7, "www.example.org.", dns.TypeAAAA, false)}}
	for _, tc := range []struct {
		name    string
		capture string
		prefix  string
	}{
		{"pcap Ethernet", writePcap(t, layers.LinkTypeEthernet, v4), "127.66.0.0/24"},
		{"pcap Linux cooked", writePcap(t, layers.LinkTypeLinuxSLL, v4), "127.66.0.0/24"},
		{"pcap BSD loopback", writePcap(t, layers.LinkTypeNull, v4), "127.66.0.0/24"},
		{"pcap raw IPv6", writePcap(t, layers.LinkTypeRaw, v6), "::/56"},
		{"pcapng Ethernet IPv6", writePcapng(t, v6), "::/56"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := replayJSON(t, "-conf", conf, tc.capture)
			if rep.Queries != 1 || rep.Responses.Sent != 1 || len(rep.Top) != 1 || rep.Top[0].Prefix != tc.prefix {
				t.Errorf("queries %d, %+v, top %+v", rep.Queries, rep.Responses, rep.Top)
			}
		})
	}
}

func TestReplayBadInput(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 100*time.Millisecond))
	whole, _ := os.ReadFile(good)
	badConf := writeCorefile(t, ".:5300 {\n    floodguard {\n        slip 99\n    }\n}\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a capture", []string{"-conf", conf, file("text.pcap", []byte("this is not a capture at all\n"))}, "not a capture"},
		{"empty file", []string{"-conf", conf, file("empty.pcap", nil)}, "not a capture"},
		{"header only", []string{"-conf", conf, file("header.pcap", whole[:24])}, "no packets"},
		{"cut inside the header", []string{"-conf", conf, file("cut.pcap", whole[:10])}, "pcap"},
		{"no such capture", []string{"-conf", conf, filepath.Join(dir, "missing.pcap")}, "no such file"},
		{"no such Corefile", []string{"-conf", filepath.Join(dir, "Corefile"), good}, "no such file"},
		{"bad Corefile", []string{"-conf", badConf, good}, "slip"},
		{"no -conf", []string{good}, "-conf is required"},
		{"two captures", []string{"-conf", conf, good, good}, "one capture"},
		{"bad -legit", []string{"-conf", conf, "-legit", "300.1.2.3/24", good}, "300.1.2.3/24"},
		{"-legit with host bits", []string{"-conf", conf, "-legit", "192.0.2.1/24", good}, "did you mean 192.0.2.0/24"},
		{"bad -legit-file", []string{"-conf", conf, "-legit-file", file("legit.txt", []byte("192.0.2.0/24\nnonsense\n")), good}, "legit.txt:2"},
		{"bad -table-size", []string{"-conf", conf, "-table-size", "10", good}, "-table-size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tc.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}

	t.Run("truncated capture", func(t *testing.T) {
		cut := file("truncated.pcap", whole[:len(whole)-10])
		var out, errb bytes.Buffer
		if err := run([]string{"-json", "-conf", conf, cut}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errb.String(), "truncated file") {
			t.Errorf("stderr %q, want a warning that the file is truncated", errb.String())
		}
		if !strings.Contains(out.String(), `"queries": 10,`) { // the flood's 10 and a legit one, less the cut one
			t.Errorf("report: want the 10 queries before the cut\n%s", out.String())
		}
	})

	t.Run("odd packets", func(t *testing.T) {
		server := ap("127.0.0.1:5300")
		src := ap("127.66.0.1:40000")
		capture := writePcap(t, layers.LinkTypeEthernet, []pkt{
			{src: src, dst: server, payload: []byte("hello")},                                                 // too short for DNS
			{src: src, dst: server, payload: bytes.Repeat([]byte{0x12, 0x34, 0x01, 0x00, 0xff}, 8)},           // a query header, then garbage
			{src: src, dst: ap("127.0.0.1:9999"), payload: query(t, 1, "www.example.org.", dns.TypeA, false)}, // another port
			{src: src, dst: server, payload: query(t, 2, "www.example.org.", dns.TypeA, false)},
		})
		rep := replayJSON(t, "-conf", conf, capture)
		if rep.Queries != 1 || rep.Skipped.NotDNS != 1 || rep.Skipped.Malformed != 1 || rep.Skipped.Other != 1 {
			t.Errorf("queries %d, skipped %+v", rep.Queries, rep.Skipped)
		}
	})

	t.Run("unknown link type", func(t *testing.T) {
		path := filepath.Join(dir, "usb.pcap")
		raw := append([]byte(nil), whole...)
		raw[20] = 189 // the header's link type: USB Linux
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if err := run([]string{"-conf", conf, path}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(errb.String(), "link type 189") {
			t.Errorf("stderr %q, want a warning naming link type 189", errb.String())
		}
	})
}

func TestReplayTableFull(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	var ps []pkt
	for i := 0; i < 2000; i++ { // 2,000 /24s in one second
		src := ap(fmt.Sprintf("127.%d.%d.1:40000", 1+i/250, i%250))
		ps = append(ps, pkt{at: time.Duration(i) * 500 * time.Microsecond, src: src, dst: ap("127.0.0.1:5300"),
			payload: query(t, uint16(i), "www.example.org.", dns.TypeA, false)})
	}
	capture := writePcap(t, layers.LinkTypeEthernet, ps)
	rep := replayJSON(t, "-conf", conf, "-table-size", "64", capture)
	if rep.Table.Size != 64 || rep.Table.Evictions == 0 || !rep.Table.Full || rep.Table.RecommendedSize != 1024 {
		t.Errorf("table %+v, want a full 64-slot table with evictions", rep.Table)
	}
	rep = replayJSON(t, "-conf", conf, capture)
	if rep.Table.Evictions != 0 || rep.Table.PeakEntries < 2000 || rep.Table.RecommendedSize != 4096 {
		t.Errorf("table %+v, want 2,000 or more live entries and no evictions", rep.Table)
	}
}

func TestReplayTextAndPlot(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	capture := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 5*time.Second))
	pngPath := filepath.Join(t.TempDir(), "replay.png")
	var out, errb bytes.Buffer
	if err := run([]string{"-conf", conf, "-legit", "127.77.0.2", "-plot", pngPath, capture}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	for _, want := range []string{"replayed  510 queries", "amplification (UDP out / UDP in)", "127.66.0.0/24", "127.77.0.2/32", "recommended max-table-size 1024"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 800 || img.Bounds().Dy() != 400 {
		t.Errorf("plot: %v, %v", err, img)
	}
}

// TestReplayTcpdumpAny replays a real tcpdump capture on "any" (Linux
// cooked v2) of dig asking plain CoreDNS over UDP, UDP on IPv6 and TCP:
// through the same Corefile, the replay's bytes are the capture's.
func TestReplayTcpdumpAny(t *testing.T) {
	conf := writeCorefile(t, ".:5353 {\n    file ZONEFILE example.org\n}\n")
	rep := replayJSON(t, "-conf", conf, "testdata/dig-sll2.pcap")
	if rep.Queries != 3 || rep.UDPQueries != 2 || rep.TCPQueries != 1 || rep.Responses.Sent != 3 || rep.Captured.Responses != 3 {
		t.Errorf("queries %d (%d UDP, %d TCP), %+v, captured %+v", rep.Queries, rep.UDPQueries, rep.TCPQueries, rep.Responses, rep.Captured)
	}
	if rep.CapturedAmplification == nil || *rep.CapturedAmplification != rep.Amplification {
		t.Errorf("amplification %.3f, captured %v: the same Corefile must give the capture's bytes", rep.Amplification, rep.CapturedAmplification)
	}
}

// TestReplayEverydayPlugins: a Corefile as operators write them (errors,
// log, cache, prometheus, health, ready) replays, opens no listener, and
// prints no per-query log line; -legit-file adds prefixes.
func TestReplayEverydayPlugins(t *testing.T) {
	ports := []int{freePort(t), freePort(t), freePort(t)}
	conf := writeCorefile(t, fmt.Sprintf(`.:5300 {
    errors
    log
    prometheus 127.0.0.1:%d
    health 127.0.0.1:%d
    ready 127.0.0.1:%d
    cache 30
    floodguard {
        responses-per-second 5
        slip 2
    }
    file ZONEFILE example.org
}
`, ports[0], ports[1], ports[2]))
	legitFile := filepath.Join(t.TempDir(), "legit.txt")
	if err := os.WriteFile(legitFile, []byte("# real clients\n127.77.0.0/24  # a resolver\n\n192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	capture := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 3*time.Second))
	var out, errb bytes.Buffer
	if err := run([]string{"-json", "-conf", conf, "-legit-file", legitFile, capture}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("stderr has %d bytes, want none without -v:\n%.500s", errb.Len(), errb.String())
	}
	rep := new(report)
	if err := json.Unmarshal(out.Bytes(), rep); err != nil {
		t.Fatal(err)
	}
	if rep.Queries != 306 || len(rep.Collateral) != 2 || rep.Collateral[0].Prefix != "127.77.0.0/24" || rep.Collateral[0].Sent != 6 || rep.Collateral[1].Prefix != "192.0.2.1/32" {
		t.Errorf("queries %d, collateral %+v", rep.Queries, rep.Collateral)
	}
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("port %d is taken after the replay: a plugin's listener started (%v)", p, err)
			continue
		}
		l.Close()
	}
}

// TestReplayServerUpstreams: a capture on a resolver holds its own queries
// to forward's upstream, on port 53 like its clients'. They are not
// replayed as clients' queries; the client's query is answered from the
// captured answer.
func TestReplayServerUpstreams(t *testing.T) {
	conf := writeCorefile(t, ".:53 {\n    floodguard\n    forward . 192.0.2.53 tls://192.0.2.54\n}\n")
	client, server, own, upstream := ap("198.51.100.7:40000"), ap("203.0.113.1:53"), ap("203.0.113.1:33333"), ap("192.0.2.53:53")
	q := query(t, 1, "www.example.net.", dns.TypeA, false)
	up := query(t, 999, "www.example.net.", dns.TypeA, false)
	capture := writePcap(t, layers.LinkTypeLinuxSLL, []pkt{
		{at: 0, src: client, dst: server, payload: q},
		{at: time.Millisecond, src: own, dst: upstream, payload: up},
		{at: 9 * time.Millisecond, src: upstream, dst: own, payload: answer(t, up, "192.0.2.80")},
		{at: 10 * time.Millisecond, src: server, dst: client, payload: answer(t, q, "192.0.2.80")},
	})
	rep := replayJSON(t, "-conf", conf, capture)
	if rep.Queries != 1 || rep.Skipped.Upstream != 2 || rep.Captured.Responses != 1 || rep.Stubs == nil || rep.Stubs.Captured != 1 {
		t.Errorf("queries %d, skipped %+v, captured %+v, stubs %+v", rep.Queries, rep.Skipped, rep.Captured, rep.Stubs)
	}
}

// TestReplayGzipAndStdin: a gzipped capture, and one on standard input
// (tcpdump -w - | fgreplay ... -), replay as the file does.
func TestReplayGzipAndStdin(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	capture := writePcap(t, layers.LinkTypeEthernet, flood(t, 100, 2*time.Second))
	want := replayJSON(t, "-conf", conf, capture)
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	gzPath := capture + ".gz"
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := replayJSON(t, "-conf", conf, gzPath); got.Responses != want.Responses || got.Queries != want.Queries {
		t.Errorf("gzipped: %+v, want %+v", got.Responses, want.Responses)
	}
	f, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = stdin }()
	if got := replayJSON(t, "-conf", conf, "-"); got.Responses != want.Responses || got.Queries != want.Queries {
		t.Errorf("stdin: %+v, want %+v", got.Responses, want.Responses)
	}
}

// TestReplayLimitedRefusals: floodguard's own replies are limited like any
// other: a REFUSED the errors' limit dropped is a drop to the client, and
// the report says so.
func TestReplayLimitedRefusals(t *testing.T) {
	conf := writeCorefile(t, ".:5300 {\n    floodguard {\n        authoritative example.org\n        recursion 127.0.0.1/32\n        responses-per-second 5\n        slip 2\n    }\n    file ZONEFILE example.org\n}\n")
	var ps []pkt
	for i := 0; i < 1000; i++ {
		ps = append(ps, pkt{at: time.Duration(i) * 10 * time.Millisecond, src: ap("192.0.2.1:4000"), dst: ap("127.0.0.1:5300"),
			payload: query(t, uint16(i), "www.example.net.", dns.TypeA, false)})
	}
	rep := replayJSON(t, "-conf", conf, writePcap(t, layers.LinkTypeEthernet, ps))
	r := rep.Responses
	// Errors never slip (a TC=1 in place of an error helps no one).
	if r.Refused != 5 || r.Dropped != 995 {
		t.Errorf("%+v: want 5 REFUSED sent, the other 995 dropped by the errors' limit", r)
	}
}

// TestReplayFragments: a big response in IP fragments counts its whole
// size in the captured amplification; a query in fragments is counted,
// not replayed.
func TestReplayFragments(t *testing.T) {
	conf := writeCorefile(t, fmt.Sprintf(rrlCorefile, ""))
	client, server := ap("127.66.0.1:40000"), ap("127.0.0.1:5300")
	q := query(t, 1, "big.example.org.", dns.TypeTXT, true)
	big := append(answer(t, q, "192.0.2.1"), make([]byte, 3000)...) // 3 KB of answer
	frag := func(p pkt) []byte {
		b := frame(t, layers.LinkTypeRaw, p)[:1500]
		b[2], b[3] = 1500>>8, 1500&0xff
		b[6] |= 0x20 // more fragments
		return b
	}
	path := filepath.Join(t.TempDir(), "frag.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	w.WriteFileHeader(65536, layers.LinkTypeRaw)
	for i, b := range [][]byte{
		frame(t, layers.LinkTypeRaw, pkt{src: client, dst: server, payload: q}),
		frag(pkt{src: server, dst: client, payload: big}),
		frag(pkt{src: client, dst: server, payload: append(append([]byte(nil), q...), make([]byte, 3000)...)}),
	} {
		w.WritePacket(gopacket.CaptureInfo{Timestamp: epoch.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}, b)
	}
	f.Close()
	rep := replayJSON(t, "-conf", conf, path)
	if rep.Queries != 1 || rep.Skipped.Fragments != 2 || rep.Captured.Responses != 1 || rep.Captured.UDPBytesOut != int64(len(big)) {
		t.Errorf("queries %d, skipped %+v, captured %+v: want the response's %d bytes", rep.Queries, rep.Skipped, rep.Captured, len(big))
	}
}

// TestReplayWarnsOfSetupProblems: a zone file that is not there would
// make every answer SERVFAIL; the plugin's warning reaches the report.
func TestReplayWarnsOfSetupProblems(t *testing.T) {
	conf := writeCorefile(t, ".:5300 {\n    floodguard\n    file /nonexistent/example.org.zone example.org\n}\n")
	rep := replayJSON(t, "-conf", conf, writePcap(t, layers.LinkTypeEthernet, flood(t, 10, time.Second)))
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "/nonexistent/example.org.zone") {
		t.Errorf("warnings %q, want the file plugin's", rep.Warnings)
	}
}

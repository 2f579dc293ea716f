// Command floodsim plays a DNS reflection attack against a DNS server on
// loopback and measures what the server sends back to the "victims", while a
// legitimate client asks ordinary questions. It is a load-test tool for the
// floodguard plugin and refuses any target or source outside 127.0.0.0/8 and
// ::1.
//
// Attack queries are sent open loop at -rate per second, paced evenly, each
// from the next of -sources consecutive addresses counting up from
// -source-base (round-robin, wrapping inside 127.0.0.0/8, skipping the
// network and broadcast addresses, the legitimate client and the server).
// Every 127.0.0.0/8 address is local on Linux, so replies really arrive:
//
//   - up to 256 sources: one UDP socket bound to each source address (port 0),
//     each with its own receiver;
//   - more sources: a single socket bound to 0.0.0.0:port, choosing the source
//     address per packet with IP_PKTINFO; the server's replies go to
//     127.a.b.c:port, which that wildcard socket receives.
//
// Attack sending stops after -duration or -max-queries, whichever comes
// first; the run then ends by itself within about a second (a 0.5 s drain
// for late replies, and the last legitimate query's 1 s timeout).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"time"
)

// perSocketMax is the largest source count that gets a socket per address.
const perSocketMax = 256

type config struct {
	server     netip.AddrPort
	duration   time.Duration
	drain      time.Duration // extra time receivers wait for late replies
	rate       int
	maxQueries int64
	sources    int
	sourceBase netip.Addr
	pktinfo    bool // one wildcard socket + IP_PKTINFO instead of a socket per source
	kinds      []string
	zone, txt  string
	aName      string
	wild       string     // parent of the random names of kind wild
	cookies    bool       // a random client cookie in every attack query
	legit      netip.Addr // zero value: no legitimate client
	legitRate  int
	legitNames []string
	pid        int
	csv, png   string
	json       string
}

func parseConfig(args []string) (*config, error) {
	fs := flag.NewFlagSet("floodsim", flag.ContinueOnError)
	server := fs.String("server", "127.0.0.1:1053", "target DNS server, loopback only (ip:port)")
	duration := fs.Duration("duration", 20*time.Second, "how long to attack (hard bound)")
	rate := fs.Int("rate", 2000, "attack queries per second, over all sources")
	maxQ := fs.Int64("max-queries", 0, "cap on attack queries (default rate*duration*1.1)")
	sources := fs.Int("sources", 1, "number of distinct attack source (victim) addresses")
	base := fs.String("source-base", "127.0.1.1", "first attack source address")
	mix := fs.String("mix", "root,any,txt", "even mix of query kinds: root, any, txt, a (an ordinary A query without EDNS), wild (a random name under -wild), nx (a random name under -zone)")
	wild := fs.String("wild", "wild.example.org.", "parent of the random names of kind wild (a wildcard's)")
	cookies := fs.Bool("cookies", false, "give every attack query a random DNS client cookie (EDNS COOKIE option)")
	zone := fs.String("zone", "example.org.", "zone asked for with qtype ANY")
	txt := fs.String("txt-name", "big.example.org.", "name asked for with qtype TXT (EDNS0 4096)")
	aName := fs.String("a-name", "www.example.org.", "name asked for with qtype A (kind a)")
	legit := fs.String("legit", "127.0.0.2", "legitimate client address; empty disables it")
	legitRate := fs.Int("legit-rate", 20, "legitimate queries per second (closed loop, 1s timeout)")
	names := fs.String("legit-names", "www.example.org.,example.org.", "names the legitimate client asks (qtype A)")
	fs.Bool("legit-prefix-mates", false, "ignored (accepted for script compatibility)")
	pid := fs.Int("pid", 0, "DNS server PID: sample its CPU, RSS and UDP drops from /proc")
	csvF := fs.String("csv", "", "write the per-second series as CSV to this file")
	pngF := fs.String("png", "", "write a plot of the per-second series to this PNG file")
	jsonF := fs.String("json", "", "write the totals as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &config{duration: *duration, drain: 500 * time.Millisecond, rate: *rate,
		maxQueries: *maxQ, sources: *sources, zone: *zone, txt: *txt, aName: *aName, wild: *wild, cookies: *cookies,
		legitRate: *legitRate, pid: *pid, csv: *csvF, png: *pngF, json: *jsonF}
	var err error
	if c.server, err = netip.ParseAddrPort(*server); err != nil {
		return nil, fmt.Errorf("-server: want ip:port: %v", err)
	}
	c.server = netip.AddrPortFrom(c.server.Addr().Unmap(), c.server.Port())
	if err := checkLoopback("server", c.server.Addr()); err != nil {
		return nil, err
	}
	if c.sourceBase, err = netip.ParseAddr(*base); err != nil {
		return nil, fmt.Errorf("-source-base: %v", err)
	}
	c.sourceBase = c.sourceBase.Unmap()
	if err := checkLoopback("source base", c.sourceBase); err != nil {
		return nil, err
	}
	if *legit != "" {
		if c.legit, err = netip.ParseAddr(*legit); err != nil {
			return nil, fmt.Errorf("-legit: %v", err)
		}
		c.legit = c.legit.Unmap()
		if err := checkLoopback("legit client", c.legit); err != nil {
			return nil, err
		}
	}
	c.kinds = splitList(*mix)
	c.legitNames = splitList(*names)
	return c, c.validate()
}

// validate checks what the flags cannot express on their own.
func (c *config) validate() error {
	switch {
	case c.duration <= 0 || c.duration > time.Hour:
		return errors.New("-duration must be in (0, 1h]")
	case c.rate < 1 || c.rate > 1_000_000:
		return errors.New("-rate must be 1..1000000")
	case c.sources < 1:
		return errors.New("-sources must be >= 1")
	case c.sourceBase.Is4() != c.server.Addr().Is4():
		return errors.New("-source-base and -server must be the same IP family")
	case c.sourceBase.Is6() && c.sources != 1:
		return errors.New("IPv6 has only ::1 on loopback: use -sources 1")
	case c.legit.IsValid() && c.legit.Is4() != c.server.Addr().Is4():
		return errors.New("-legit and -server must be the same IP family")
	case c.legit.IsValid() && (c.legitRate < 1 || len(c.legitNames) == 0):
		return errors.New("legit client needs -legit-rate >= 1 and -legit-names")
	case len(c.kinds) == 0:
		return errors.New("-mix is empty")
	}
	if c.maxQueries <= 0 {
		c.maxQueries = int64(float64(c.rate) * c.duration.Seconds() * 1.1)
	}
	c.pktinfo = c.sources > perSocketMax
	_, err := buildQueries(c)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func main() {
	cfg, err := parseConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floodsim:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floodsim:", err)
		os.Exit(1)
	}
	res.writeTable(os.Stdout)
	if err := res.writeFiles(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "floodsim:", err)
		os.Exit(1)
	}
}

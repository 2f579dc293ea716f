// Command fgreplay shows what a Corefile with floodguard would have done to
// a captured attack, and to the real clients in it, before it is turned
// on. It reads a pcap or pcapng capture of DNS traffic and takes every
// query to one of the Corefile's servers through the real CoreDNS plugin
// chain that the Corefile builds, with floodguard's clock driven by the
// capture's timestamps, as fast as the machine goes. It never sends a
// packet: plugins that would ask another server answer from the capture.
//
//	tcpdump -i eth0 -w attack.pcap 'port 53'
//	fgreplay -conf Corefile -legit 192.0.2.0/24 attack.pcap
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	stdlog "log"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coredns/coredns/core/dnsserver"

	"github.com/floodguard/floodguard"
	"github.com/floodguard/floodguard/internal/prefixlist"
)

type plotColor = color.RGBA

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fgreplay:", err)
		os.Exit(1)
	}
}

// prefixesFlag collects -legit: repeatable, each a comma-separated list
// of prefixes or addresses, read as the allow-file's lines are.
type prefixesFlag []netip.Prefix

func (p *prefixesFlag) String() string { return fmt.Sprint(*p) }

func (p *prefixesFlag) Set(v string) error {
	l, err := prefixlist.Parse("-legit", []byte(strings.ReplaceAll(v, ",", "\n")))
	if err != nil {
		return err
	}
	for _, e := range l.Entries() {
		*p = append(*p, e.Prefix)
	}
	return nil
}

// readLegitFile reads prefixes in the allow-file's format (one a line,
// # comments; an expiry is ignored): an allow-file can be given as is.
func readLegitFile(path string) ([]netip.Prefix, error) {
	l, err := prefixlist.Load(path)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, e := range l.Entries() {
		out = append(out, e.Prefix)
	}
	return out, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fgreplay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: fgreplay -conf Corefile [flags] CAPTURE (pcap or pcapng, gzipped or not; - for stdin)")
		fs.PrintDefaults()
	}
	conf := fs.String("conf", "", "the Corefile to replay through (required)")
	var legit prefixesFlag
	fs.Var(&legit, "legit", "a prefix of real clients whose collateral to report (CIDR or address; repeat, or separate with commas)")
	legitFile := fs.String("legit-file", "", "a file of legitimate prefixes, one per line (# comments)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	plotFile := fs.String("plot", "", "draw the per-second in/out bytes and outcomes to this PNG file")
	top := fs.Int("top", 10, "how many client prefixes to list")
	tableSize := fs.Int("table-size", 0, "replay with this max-table-size in every floodguard block instead of the Corefile's")
	lookahead := fs.Duration("lookahead", 2*time.Second, "how far ahead to look for the captured response to a query a stub (forward, ...) answers")
	verbose := fs.Bool("v", false, "show CoreDNS's and the plugins' log lines (floodguard's limiting and ban lines)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *conf == "":
		fs.Usage()
		return errors.New("-conf is required")
	case fs.NArg() != 1:
		fs.Usage()
		return errors.New("give one capture file")
	case *top < 0 || *top > 10000:
		return errors.New("-top must be 0..10000")
	case *tableSize != 0 && (*tableSize < 64 || *tableSize > 1<<24):
		return errors.New("-table-size must be 64..16777216")
	case *lookahead < 0 || *lookahead > time.Minute:
		return errors.New("-lookahead must be 0..1m")
	}
	if *legitFile != "" {
		more, err := readLegitFile(*legitFile)
		if err != nil {
			return fmt.Errorf("-legit-file: %v", err)
		}
		legit = append(legit, more...)
	}
	opts := &options{conf: *conf, capture: fs.Arg(0), legit: legit, top: *top, tableSize: *tableSize, lookahead: *lookahead}

	in := io.Reader(os.Stdin) // "-": tcpdump -w - | fgreplay ... -
	if opts.capture != "-" {
		f, err := os.Open(opts.capture)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	c, err := openCapture(in)
	if err != nil {
		return fmt.Errorf("%s: %v", opts.capture, err)
	}
	// CoreDNS's and the plugins' log lines: at setup, warnings and errors
	// (a zone file that is not there) become the report's warnings; then
	// nothing, since a Corefile's log plugin would print every query.
	setupLog := &setupLines{}
	if !*verbose {
		stdlog.SetOutput(setupLog)
		defer stdlog.SetOutput(os.Stderr)
	}
	setDirectives()
	began := time.Now()
	r := newReplayer(opts)
	r.setupLog = setupLog
	if err := r.run(c); err != nil {
		return fmt.Errorf("%s: %v", opts.capture, err)
	}
	rep := r.makeReport(time.Since(began))
	for _, w := range rep.Warnings {
		fmt.Fprintln(stderr, "fgreplay: warning:", w)
	}
	if *plotFile != "" {
		pf, err := os.Create(*plotFile)
		if err != nil {
			return err
		}
		if err := r.writePlot(pf); err != nil {
			pf.Close()
			return fmt.Errorf("-plot: %v", err)
		}
		if err := pf.Close(); err != nil {
			return err
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText(stdout)
}

// setDirectives puts floodguard in CoreDNS's plugin order, as cmd/coredns
// does, once.
func setDirectives() {
	for _, d := range dnsserver.Directives {
		if d == "floodguard" {
			return
		}
	}
	directives, err := floodguard.InsertDirective(dnsserver.Directives)
	if err != nil {
		panic(err) // it only fails when floodguard is in the list already
	}
	dnsserver.Directives = directives
}

// setupLines keeps the warnings and errors CoreDNS and the plugins log
// while the Corefile is set up, and drops every line once the replay
// starts (done).
type setupLines struct {
	mu    sync.Mutex
	lines []string
	done  bool
}

func (s *setupLines) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	line := strings.TrimSpace(string(b))
	if !s.done && len(s.lines) < 20 && (strings.Contains(line, "[ERROR]") || strings.Contains(line, "[WARNING]")) {
		if i := strings.Index(line, "["); i > 0 {
			line = line[i:] // without the time stamp
		}
		s.lines = append(s.lines, line)
	}
	return len(b), nil
}

// take returns the lines kept and drops every later one.
func (s *setupLines) take() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	return s.lines
}

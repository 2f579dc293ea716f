// Command resolverprobe asks a recursive resolver for names at a steady rate
// and reports how many it answered, and how fast. The load harness uses it
// to measure collateral: a real resolver whose queries leave from inside a
// prefix an attacker spoofs, asking names the attack never touches.
//
// Each lookup is a fresh random name under -suffix (so the resolver's cache
// never answers it), or, every -every-th lookup, the name -also: the very
// name an attack floods. Lookups go out open loop, each with -timeout; a
// lookup is answered when the reply is NOERROR with an answer. It talks to
// loopback (127.0.0.0/8, ::1) only and stops after -duration.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

type config struct {
	resolver netip.AddrPort
	from     netip.Addr
	suffix   string
	also     string
	alsoType uint16
	every    int
	rate     int
	duration time.Duration
	timeout  time.Duration
	json     string
}

// result is what a run measured; its JSON field names are stable.
type result struct {
	Lookups    int     `json:"lookups"`
	Answered   int     `json:"answered"`
	Failed     int     `json:"failed"`   // a reply, but no answer (SERVFAIL, ...)
	TimedOut   int     `json:"timedout"` // no reply within the timeout
	Share      float64 `json:"answered_share"`
	MedianMs   float64 `json:"latency_p50_ms"`
	P90Ms      float64 `json:"latency_p90_ms"`
	MaxMs      float64 `json:"latency_max_ms"`
	AlsoAsked  int     `json:"also_lookups"`
	AlsoAnswer int     `json:"also_answered"`
}

func main() {
	cfg, err := parse(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "resolverprobe:", err)
		os.Exit(2)
	}
	r := run(context.Background(), cfg)
	fmt.Printf("%d lookups: %d answered (%.1f %%), %d failed, %d timed out; latency p50 %.1f ms, p90 %.1f ms, max %.1f ms; -also %d/%d\n",
		r.Lookups, r.Answered, 100*r.Share, r.Failed, r.TimedOut, r.MedianMs, r.P90Ms, r.MaxMs, r.AlsoAnswer, r.AlsoAsked)
	if cfg.json != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(cfg.json, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "resolverprobe:", err)
			os.Exit(1)
		}
	}
}

func parse(args []string) (*config, error) {
	fs := flag.NewFlagSet("resolverprobe", flag.ContinueOnError)
	resolver := fs.String("resolver", "127.0.0.1:5401", "the resolver, loopback only (ip:port)")
	from := fs.String("from", "127.0.0.3", "the address lookups are sent from, loopback only")
	suffix := fs.String("suffix", "wild2.example.org.", "random names are asked under this name (a wildcard's parent)")
	also := fs.String("also", "", "also ask this name, as NAME/TYPE (e.g. big.example.org/TXT), every -every-th lookup")
	every := fs.Int("every", 5, "how often -also is asked")
	rate := fs.Int("rate", 10, "lookups a second")
	duration := fs.Duration("duration", 20*time.Second, "how long to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long a lookup may take to count as answered")
	jsonF := fs.String("json", "", "write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &config{suffix: dns.Fqdn(*suffix), every: *every, rate: *rate, duration: *duration, timeout: *timeout, json: *jsonF}
	var err error
	if c.resolver, err = netip.ParseAddrPort(*resolver); err != nil {
		return nil, fmt.Errorf("-resolver: %v", err)
	}
	if c.from, err = netip.ParseAddr(*from); err != nil {
		return nil, fmt.Errorf("-from: %v", err)
	}
	for _, a := range []netip.Addr{c.resolver.Addr(), c.from} {
		if !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("%s is not a loopback address: this tool talks to loopback only", a)
		}
	}
	if *also != "" {
		name, typ, ok := strings.Cut(*also, "/")
		t, known := dns.StringToType[strings.ToUpper(typ)]
		if !ok || !known {
			return nil, errors.New("-also: want NAME/TYPE, e.g. big.example.org/TXT")
		}
		c.also, c.alsoType = dns.Fqdn(name), t
	}
	switch {
	case c.rate < 1 || c.rate > 10000:
		return nil, errors.New("-rate must be 1..10000")
	case c.duration <= 0 || c.duration > time.Hour:
		return nil, errors.New("-duration must be in (0, 1h]")
	case c.timeout <= 0 || c.timeout > time.Minute:
		return nil, errors.New("-timeout must be in (0, 1m]")
	case c.every < 1:
		return nil, errors.New("-every must be 1 or more")
	}
	return c, nil
}

// run asks cfg.rate lookups a second for cfg.duration and waits for the
// last to be answered or to time out.
func run(ctx context.Context, cfg *config) result {
	client := &dns.Client{Net: "udp", Timeout: cfg.timeout,
		Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: cfg.from.AsSlice()}, Timeout: cfg.timeout}}
	var (
		mu        sync.Mutex
		res       result
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / time.Duration(cfg.rate))
	defer tick.Stop()
	end := time.After(cfg.duration)
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
		case <-end:
		case <-tick.C:
			m := new(dns.Msg)
			also := cfg.also != "" && k%cfg.every == cfg.every-1
			if also {
				m.SetQuestion(cfg.also, cfg.alsoType)
			} else {
				m.SetQuestion(fmt.Sprintf("p%08x.%s", rand.Uint32(), cfg.suffix), dns.TypeA)
			}
			wg.Go(func() {
				start := time.Now()
				r, _, err := client.ExchangeContext(ctx, m, cfg.resolver.String())
				took := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				res.Lookups++
				if also {
					res.AlsoAsked++
				}
				switch {
				case err != nil:
					res.TimedOut++
				case r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0:
					res.Failed++
				default:
					res.Answered++
					latencies = append(latencies, took)
					if also {
						res.AlsoAnswer++
					}
				}
			})
			continue
		}
		break
	}
	wg.Wait()
	if res.Lookups > 0 {
		res.Share = float64(res.Answered) / float64(res.Lookups)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))]) / 1e6
	}
	res.MedianMs, res.P90Ms, res.MaxMs = pct(0.5), pct(0.9), pct(1)
	return res
}

package main

import (
	"context"
	"net"
	"time"

	"github.com/miekg/dns"
)

// legitTimeout bounds one legitimate query, TCP retry included.
const legitTimeout = time.Second

// runLegit asks -legit-names in turn, closed loop: one query at a time, at
// most legitRate per second, no new query after stopAt. A reply with TC=1 is
// retried over TCP from the same address, as a stub resolver would.
func runLegit(ctx context.Context, cfg *config, st *stats, stopAt time.Time) {
	ip := net.IP(cfg.legit.AsSlice())
	udp := &dns.Client{Net: "udp", Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: ip}}}
	tcp := &dns.Client{Net: "tcp", Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}}
	server := cfg.server.String()
	every := time.Second / time.Duration(cfg.legitRate)
	next := time.Now()
	for i := 0; ; i++ {
		// Wait for the next slot; a slow answer delays, never bunches, the rest.
		next = next.Add(every)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		if !next.Before(stopAt) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(cfg.legitNames[i%len(cfg.legitNames)]), dns.TypeA)
		qctx, cancel := context.WithTimeout(ctx, legitTimeout)
		start := time.Now()
		r, _, err := udp.ExchangeContext(qctx, m, server)
		retried := err == nil && r.Truncated
		if retried {
			r, _, err = tcp.ExchangeContext(qctx, m, server)
		}
		cancel()
		if ctx.Err() != nil {
			return // interrupted: neither answered nor lost
		}
		st.legitResult(err == nil && r != nil, retried, time.Since(start))
	}
}

package floodguard

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
)

// ServeDNS implements plugin.Handler. This is the whole decision path of a
// query; the response decision itself happens in limitWriter.WriteMsg.
func (f *Floodguard) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	zone, ok := f.match(r)
	if !ok {
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	client := remoteOf(w.RemoteAddr())
	if !client.udp || !client.addr.IsValid() || f.exempt(client.addr) {
		// TCP cannot be spoofed, so it cannot reflect; queries without a
		// readable address are internal (cache prefetch); exempt clients
		// are trusted.
		return plugin.NextOrFailure(f.Name(), f.Next, ctx, w, r)
	}
	met := f.metrics.get(metrics.WithServer(ctx))
	met.requestBytes.Add(float64(wireLen(r)))

	lw := getLimitWriter()
	*lw = limitWriter{ResponseWriter: w, f: f, ctx: ctx, req: r, met: met, zone: zone,
		prefix: prefixOf(client.addr, f.cfg.v4Bits, f.cfg.v6Bits)}
	rcode, err := plugin.NextOrFailure(f.Name(), f.Next, ctx, lw, r)
	if !plugin.ClientWrite(rcode) {
		// The server would write this error reply itself, outside our
		// writer and so unlimited. Write (or drop) it here instead, and
		// return a code that tells the server the reply is taken care of.
		if !lw.written {
			lw.writeError(rcode)
		}
		rcode = dns.RcodeSuccess
	}
	putLimitWriter(lw)
	return rcode, err
}

// match reports whether floodguard handles r, and the zone it matched.
func (f *Floodguard) match(r *dns.Msg) (zone string, ok bool) {
	if len(r.Question) == 0 {
		return "", false
	}
	if f.allZones {
		return ".", true
	}
	zone = plugin.Zones(f.cfg.zones).Matches(r.Question[0].Name)
	return zone, zone != ""
}

package floodguard

import (
	"context"
	"strings"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// hinfoTTL is the TTL of the synthesised RFC 8482 HINFO: long, so
// resolvers cache it rather than ask again.
const hinfoTTL = 3600

// minimalAny answers ANY per RFC 8482: the owner's CNAME if it has one,
// else one synthesised HINFO ("RFC8482", ""). What the owner holds comes from
// asking the rest of the chain for its CNAME internally, without writing
// to the client; a name that does not exist keeps its NXDOMAIN, and a
// failure stays a failure: only an answer the chain gave can be minimised.
func (f *Floodguard) minimalAny(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	probe := r.Copy()
	probe.Question[0].Qtype = dns.TypeCNAME
	pw := &probeWriter{ResponseWriter: unwrap(w)}
	rcode := dns.RcodeServerFailure
	if f.Next != nil {
		rcode, _ = f.Next.ServeDNS(ctx, pw, probe)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	if pw.msg == nil {
		// Nothing written. An error code (forward timing out or at
		// max_concurrent, file with nothing after it) is the answer, as
		// CoreDNS's server would write it for any other type; a HINFO
		// with a TTL of an hour would turn it into a cached NOERROR.
		// Success without a reply is a plugin dropping the query: so do we.
		if !plugin.ClientWrite(rcode) {
			m.SetRcode(r, rcode)
			writeReply(w, r, m)
		}
		return
	}
	p := pw.msg
	m.Authoritative = p.Authoritative
	if p.Rcode != dns.RcodeSuccess {
		m.Rcode = p.Rcode
		m.Ns = copyRRs(p.Ns)
		writeReply(w, r, m)
		return
	}
	for _, rr := range p.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, q.Name) {
			m.Answer = []dns.RR{dns.Copy(c)}
			writeReply(w, r, m)
			return
		}
	}
	m.Answer = []dns.RR{&dns.HINFO{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET, Ttl: hinfoTTL},
		Cpu: "RFC8482",
	}}
	writeReply(w, r, m)
}

func copyRRs(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
	}
	return out
}

// probeWriter captures the reply to an internal query and never writes to
// the client, whichever way the plugin writes it.
type probeWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

func (p *probeWriter) WriteMsg(m *dns.Msg) error {
	p.msg = m
	return nil
}

func (p *probeWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err == nil {
		p.msg = m
	}
	return len(b), nil
}

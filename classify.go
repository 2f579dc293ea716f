package floodguard

import (
	"context"

	"github.com/coredns/coredns/plugin/metadata"

	"github.com/miekg/dns"
)

// class is the kind of response a rate-limit bucket counts, after BIND's RRL.
type class uint8

const (
	classResponse class = iota // positive answer: keyed by name and type
	classNodata                // NOERROR without answer: keyed by name
	classNXDomain              // NXDOMAIN: keyed by the zone
	classReferral              // delegation: keyed by the delegated name
	classError                 // any other rcode: one bucket per prefix
	classAll                   // all responses: one bucket per prefix
	numClasses
)

var classNames = [numClasses]string{"response", "nodata", "nxdomain", "referral", "error", "all"}

func (c class) String() string { return classNames[c] }

// wildcardLabel is the metadata the file plugin sets when a wildcard
// synthesised the answer.
const wildcardLabel = "zone/wildcard"

// classify decides the response class of m and the name (and, for positive
// answers, the type) its bucket is keyed by. zone is the floodguard zone the
// query matched, the fallback NXDOMAIN key when the response carries no SOA.
func classify(ctx context.Context, m *dns.Msg, zone string) (c class, name string, qtype uint16) {
	var q dns.Question
	if len(m.Question) > 0 {
		q = m.Question[0]
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
		if len(m.Answer) > 0 {
			return classResponse, wildcardOr(ctx, q.Name), q.Qtype
		}
		if owner, ok := delegation(m); ok {
			return classReferral, owner, 0
		}
		return classNodata, wildcardOr(ctx, q.Name), 0
	case dns.RcodeNameError:
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				return classNXDomain, soa.Hdr.Name, 0
			}
		}
		return classNXDomain, zone, 0
	default:
		return classError, "", 0
	}
}

// wildcardOr returns the wildcard that synthesised the answer (so random
// names under one wildcard share a bucket), or qname when none did.
func wildcardOr(ctx context.Context, qname string) string {
	if f := metadata.ValueFunc(ctx, wildcardLabel); f != nil {
		if w := f(); w != "" {
			return w
		}
	}
	return qname
}

// delegation reports whether m is a referral, and the delegated name: no
// answer, not authoritative, NS records and no SOA in the authority section.
func delegation(m *dns.Msg) (owner string, ok bool) {
	if m.Authoritative {
		return "", false
	}
	for _, rr := range m.Ns {
		switch rr := rr.(type) {
		case *dns.SOA:
			return "", false
		case *dns.NS:
			if owner == "" {
				owner = rr.Hdr.Name
			}
		}
	}
	return owner, owner != ""
}

// wireLen is the uncompressed wire size of m, computed without allocating
// (dns.Msg.Len builds a compression map). For compressed responses it is an
// upper bound of the bytes sent.
func wireLen(m *dns.Msg) int {
	n := 12
	for _, q := range m.Question {
		n += nameLen(q.Name) + 4
	}
	for _, sec := range [...][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			switch rr := rr.(type) {
			case nil:
			case *dns.OPT:
				n += optLen(rr)
			default:
				n += dns.Len(rr)
			}
		}
	}
	return n
}

// optLen is the wire size of an OPT record. miekg/dns sizes an option by
// packing it (the COOKIE option, kept as hexadecimal text, by decoding it
// into a new slice); the common options are sized here from their fields.
func optLen(o *dns.OPT) int {
	n := optHeaderLen
	for _, e := range o.Option {
		n += 4
		switch e := e.(type) {
		case *dns.EDNS0_COOKIE:
			n += len(e.Cookie) / 2
		case *dns.EDNS0_NSID:
			n += len(e.Nsid) / 2
		case *dns.EDNS0_PADDING:
			n += len(e.Padding)
		case *dns.EDNS0_SUBNET:
			n += 4 + (int(e.SourceNetmask)+7)/8
		default:
			n += dns.Len(&dns.OPT{Hdr: dns.RR_Header{Name: "."}, Option: []dns.EDNS0{e}}) - optHeaderLen - 4
		}
	}
	return n
}

// nameLen is the wire length of a presentation-format name without escapes.
func nameLen(s string) int {
	if s == "" || s == "." {
		return 1
	}
	if s[len(s)-1] == '.' {
		return len(s) + 1
	}
	return len(s) + 2
}

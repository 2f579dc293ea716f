package floodguard

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"

	"github.com/miekg/dns"
)

func mustRR(t *testing.T, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("dns.NewRR(%q): %v", s, err)
	}
	return rr
}

// reply builds a response to qname/qtype with rcode and the given records.
func reply(t *testing.T, qname string, qtype uint16, rcode int, aa bool, answer, ns, extra []string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response = true
	m.Rcode = rcode
	m.Authoritative = aa
	for _, s := range answer {
		m.Answer = append(m.Answer, mustRR(t, s))
	}
	for _, s := range ns {
		m.Ns = append(m.Ns, mustRR(t, s))
	}
	for _, s := range extra {
		m.Extra = append(m.Extra, mustRR(t, s))
	}
	return m
}

const (
	soaExample = "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"
	soaSub     = "sub.example.org. 3600 IN SOA ns1.sub.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"
	wildcard   = "*.wild.example.org."
)

func wildcardContext() context.Context {
	ctx := metadata.ContextWithMetadata(context.Background())
	metadata.SetValueFunc(ctx, wildcardLabel, func() string { return wildcard })
	return ctx
}

func TestClassify(t *testing.T) {
	plain := context.Background()
	wild := wildcardContext()
	emptyWild := metadata.ContextWithMetadata(context.Background())
	metadata.SetValueFunc(emptyWild, wildcardLabel, func() string { return "" })
	otherMeta := metadata.ContextWithMetadata(context.Background())
	metadata.SetValueFunc(otherMeta, "zone/other", func() string { return "x.example.org." })

	tests := []struct {
		name      string
		ctx       context.Context
		msg       *dns.Msg
		zone      string
		wantClass class
		wantName  string
		wantQtype uint16
	}{
		{
			name:      "positive answer",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeSuccess, true, []string{"www.example.org. 300 IN A 192.0.2.1"}, []string{"example.org. 300 IN NS ns1.example.org."}, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: "www.example.org.", wantQtype: dns.TypeA,
		},
		{
			name:      "positive answer keyed by qtype",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeAAAA, dns.RcodeSuccess, true, []string{"www.example.org. 300 IN AAAA 2001:db8::1"}, nil, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: "www.example.org.", wantQtype: dns.TypeAAAA,
		},
		{
			name:      "positive answer via CNAME keyed by qname",
			ctx:       plain,
			msg:       reply(t, "alias.example.org.", dns.TypeTXT, dns.RcodeSuccess, true, []string{"alias.example.org. 300 IN CNAME target.example.org.", `target.example.org. 300 IN TXT "x"`}, nil, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: "alias.example.org.", wantQtype: dns.TypeTXT,
		},
		{
			name:      "non-authoritative positive answer with NS is still a response",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeSuccess, false, []string{"www.example.org. 300 IN A 192.0.2.1"}, []string{"example.org. 300 IN NS ns1.example.org."}, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: "www.example.org.", wantQtype: dns.TypeA,
		},
		{
			name:      "nodata with SOA",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeMX, dns.RcodeSuccess, true, nil, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.example.org.",
		},
		{
			name:      "nodata with SOA, not authoritative",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeMX, dns.RcodeSuccess, false, nil, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.example.org.",
		},
		{
			name:      "nodata with NS and SOA, not authoritative",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeMX, dns.RcodeSuccess, false, nil, []string{"example.org. 300 IN NS ns1.example.org.", soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.example.org.",
		},
		{
			name:      "nodata with an empty authority section",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeMX, dns.RcodeSuccess, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.example.org.",
		},
		{
			name:      "referral keyed by the NS owner",
			ctx:       plain,
			msg:       reply(t, "www.sub.example.org.", dns.TypeA, dns.RcodeSuccess, false, nil, []string{"sub.example.org. 300 IN NS ns1.sub.example.org.", "sub.example.org. 300 IN NS ns2.sub.example.org."}, []string{"ns1.sub.example.org. 300 IN A 192.0.2.53"}),
			zone:      "example.org.",
			wantClass: classReferral, wantName: "sub.example.org.",
		},
		{
			name:      "referral keyed by the first NS owner after a DS",
			ctx:       plain,
			msg:       reply(t, "a.b.sub.example.org.", dns.TypeA, dns.RcodeSuccess, false, nil, []string{"sub.example.org. 300 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", "sub.example.org. 300 IN NS ns1.sub.example.org."}, nil),
			zone:      "example.org.",
			wantClass: classReferral, wantName: "sub.example.org.",
		},
		{
			name:      "authoritative with NS only is nodata",
			ctx:       plain,
			msg:       reply(t, "www.sub.example.org.", dns.TypeA, dns.RcodeSuccess, true, nil, []string{"sub.example.org. 300 IN NS ns1.sub.example.org."}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.sub.example.org.",
		},
		{
			name:      "nxdomain keyed by the SOA owner",
			ctx:       plain,
			msg:       reply(t, "nope.sub.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soaSub}, nil),
			zone:      "example.org.",
			wantClass: classNXDomain, wantName: "sub.example.org.",
		},
		{
			name:      "nxdomain keyed by the SOA owner after NSEC",
			ctx:       plain,
			msg:       reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, []string{"a.example.org. 300 IN NSEC z.example.org. A RRSIG NSEC", soaExample}, nil),
			zone:      "org.",
			wantClass: classNXDomain, wantName: "example.org.",
		},
		{
			name:      "nxdomain without SOA keyed by the zone",
			ctx:       plain,
			msg:       reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classNXDomain, wantName: "example.org.",
		},
		{
			name:      "nxdomain with NS only keyed by the zone",
			ctx:       plain,
			msg:       reply(t, "nope.example.net.", dns.TypeA, dns.RcodeNameError, false, nil, []string{"example.net. 300 IN NS ns1.example.net."}, nil),
			zone:      "example.net.",
			wantClass: classNXDomain, wantName: "example.net.",
		},
		{
			name:      "nxdomain with a CNAME answer is still nxdomain",
			ctx:       plain,
			msg:       reply(t, "alias.example.org.", dns.TypeA, dns.RcodeNameError, true, []string{"alias.example.org. 300 IN CNAME gone.example.org."}, []string{soaExample}, nil),
			zone:      "org.",
			wantClass: classNXDomain, wantName: "example.org.",
		},
		{
			name:      "servfail",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeServerFailure, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "refused",
			ctx:       plain,
			msg:       reply(t, "www.example.com.", dns.TypeA, dns.RcodeRefused, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "formerr",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeFormatError, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "notimp",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeNotImplemented, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "servfail with answer and SOA is still an error",
			ctx:       plain,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeServerFailure, true, []string{"www.example.org. 300 IN A 192.0.2.1"}, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "error ignores the wildcard",
			ctx:       wild,
			msg:       reply(t, "x.wild.example.org.", dns.TypeA, dns.RcodeServerFailure, false, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classError, wantName: "",
		},
		{
			name:      "wildcard positive answer keyed by the wildcard",
			ctx:       wild,
			msg:       reply(t, "random1.wild.example.org.", dns.TypeA, dns.RcodeSuccess, true, []string{"random1.wild.example.org. 300 IN A 192.0.2.1"}, nil, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: wildcard, wantQtype: dns.TypeA,
		},
		{
			name:      "wildcard nodata keyed by the wildcard",
			ctx:       wild,
			msg:       reply(t, "random2.wild.example.org.", dns.TypeMX, dns.RcodeSuccess, true, nil, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: wildcard,
		},
		{
			name:      "wildcard leaves nxdomain alone",
			ctx:       wild,
			msg:       reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNXDomain, wantName: "example.org.",
		},
		{
			name:      "wildcard leaves nxdomain without SOA alone",
			ctx:       wild,
			msg:       reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, nil, nil),
			zone:      "example.org.",
			wantClass: classNXDomain, wantName: "example.org.",
		},
		{
			name:      "wildcard leaves referrals alone",
			ctx:       wild,
			msg:       reply(t, "www.sub.example.org.", dns.TypeA, dns.RcodeSuccess, false, nil, []string{"sub.example.org. 300 IN NS ns1.sub.example.org."}, nil),
			zone:      "example.org.",
			wantClass: classReferral, wantName: "sub.example.org.",
		},
		{
			name:      "empty wildcard metadata falls back to the qname",
			ctx:       emptyWild,
			msg:       reply(t, "www.example.org.", dns.TypeA, dns.RcodeSuccess, true, []string{"www.example.org. 300 IN A 192.0.2.1"}, nil, nil),
			zone:      "example.org.",
			wantClass: classResponse, wantName: "www.example.org.", wantQtype: dns.TypeA,
		},
		{
			name:      "other metadata does not count as a wildcard",
			ctx:       otherMeta,
			msg:       reply(t, "www.example.org.", dns.TypeMX, dns.RcodeSuccess, true, nil, []string{soaExample}, nil),
			zone:      "example.org.",
			wantClass: classNodata, wantName: "www.example.org.",
		},
		{
			name:      "no question",
			ctx:       plain,
			msg:       &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Rcode: dns.RcodeSuccess}},
			zone:      "example.org.",
			wantClass: classNodata, wantName: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.msg.String()
			c, name, qtype := classify(tc.ctx, tc.msg, tc.zone)
			if c != tc.wantClass || name != tc.wantName || qtype != tc.wantQtype {
				t.Errorf("classify = (%v, %q, %d), want (%v, %q, %d)", c, name, qtype, tc.wantClass, tc.wantName, tc.wantQtype)
			}
			if after := tc.msg.String(); after != before {
				t.Errorf("classify modified the message:\n%s\nbecame\n%s", before, after)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	want := []string{"response", "nodata", "nxdomain", "referral", "error", "all"}
	for c := class(0); c < numClasses; c++ {
		if got := c.String(); got != want[c] {
			t.Errorf("class(%d).String() = %q, want %q", c, got, want[c])
		}
	}
}

// packedLen is the length of m packed without name compression, from a copy.
func packedLen(t *testing.T, m *dns.Msg) int {
	t.Helper()
	c := m.Copy()
	c.Compress = false
	b, err := c.Pack()
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return len(b)
}

// bigAnswer is a signed-looking response with records in every section and
// an OPT with the DO bit.
func bigAnswer(t *testing.T) *dns.Msg {
	m := reply(t, "www.example.org.", dns.TypeA, dns.RcodeSuccess, true,
		[]string{
			"www.example.org. 300 IN A 192.0.2.1",
			"www.example.org. 300 IN A 192.0.2.2",
			"www.example.org. 300 IN AAAA 2001:db8::1",
			`www.example.org. 300 IN TXT "v=spf1 -all" "a second string with spaces"`,
			"www.example.org. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.org. dGVzdHNpZ25hdHVyZWRhdGF0ZXN0c2lnbmF0dXJlZGF0YTEy",
		},
		[]string{
			"example.org. 300 IN NS ns1.example.org.",
			"example.org. 300 IN NS ns2.example.org.",
		},
		[]string{
			"ns1.example.org. 300 IN A 192.0.2.53",
			"ns2.example.org. 300 IN AAAA 2001:db8::53",
		})
	m.Id = 0xbeef
	m.RecursionDesired = true
	m.SetEdns0(1232, true)
	return m
}

func TestWireLen(t *testing.T) {
	longTXT := `long.example.org. 60 IN TXT "` + strings.Repeat("a", 255) + `" "` + strings.Repeat("b", 100) + `"`
	tests := []struct {
		name  string
		msg   func(t *testing.T) *dns.Msg
		slack int // bytes wireLen may count over the packed length
	}{
		{"header only", func(*testing.T) *dns.Msg { return new(dns.Msg) }, 0},
		{"header only with OPT", func(*testing.T) *dns.Msg {
			m := new(dns.Msg)
			m.SetEdns0(4096, false)
			return m
		}, 0},
		{"query", func(*testing.T) *dns.Msg { return new(dns.Msg).SetQuestion("www.example.org.", dns.TypeA) }, 0},
		{"query for the root", func(*testing.T) *dns.Msg { return new(dns.Msg).SetQuestion(".", dns.TypeNS) }, 0},
		{"query with EDNS0", func(*testing.T) *dns.Msg {
			m := new(dns.Msg).SetQuestion("www.example.org.", dns.TypeAAAA)
			m.SetEdns0(1232, true)
			return m
		}, 0},
		{"query with EDNS0 options", func(*testing.T) *dns.Msg {
			m := new(dns.Msg).SetQuestion("www.example.org.", dns.TypeA)
			m.SetEdns0(1232, true)
			opt := m.IsEdns0()
			opt.Option = append(opt.Option,
				&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"},
				&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{192, 0, 2, 0}})
			return m
		}, 0},
		{"answer with A, AAAA, TXT and NS", func(t *testing.T) *dns.Msg {
			return reply(t, "www.example.org.", dns.TypeANY, dns.RcodeSuccess, true,
				[]string{
					"www.example.org. 300 IN A 192.0.2.1",
					"www.example.org. 300 IN AAAA 2001:db8::1",
					`www.example.org. 300 IN TXT "hello" "world"`,
					"www.example.org. 300 IN NS ns1.example.org.",
				}, nil, nil)
		}, 0},
		{"answer in every section with EDNS0", bigAnswer, 0},
		{"root answer", func(t *testing.T) *dns.Msg {
			return reply(t, ".", dns.TypeNS, dns.RcodeSuccess, true,
				[]string{". 518400 IN NS a.root-servers.net.", ". 518400 IN NS b.root-servers.net."},
				nil, []string{"a.root-servers.net. 518400 IN A 198.41.0.4"})
		}, 0},
		{"root SOA", func(t *testing.T) *dns.Msg {
			return reply(t, ".", dns.TypeSOA, dns.RcodeSuccess, true,
				[]string{". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 2024010100 1800 900 604800 86400"}, nil, nil)
		}, 0},
		{"nxdomain with SOA", func(t *testing.T) *dns.Msg {
			return reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soaExample}, nil)
		}, 0},
		{"long TXT", func(t *testing.T) *dns.Msg {
			return reply(t, "long.example.org.", dns.TypeTXT, dns.RcodeSuccess, true, []string{longTXT}, nil, nil)
		}, 0},
		{"several questions", func(*testing.T) *dns.Msg {
			m := new(dns.Msg).SetQuestion("a.example.org.", dns.TypeA)
			m.Question = append(m.Question, dns.Question{Name: "bb.example.org.", Qtype: dns.TypeAAAA, Qclass: dns.ClassINET})
			return m
		}, 0},
		{"RRSIG with a padded base64 signature", func(t *testing.T) *dns.Msg {
			// A 34-byte signature: 48 base64 characters ending in "==", as
			// every ECDSA P-256 (64 bytes) and RSA-2048 (256 bytes) one does.
			return reply(t, "www.example.org.", dns.TypeA, dns.RcodeSuccess, true, []string{
				"www.example.org. 300 IN A 192.0.2.1",
				"www.example.org. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.org. dGVzdHNpZ25hdHVyZWRhdGF0ZXN0c2lnbmF0dXJlZGF0YQ==",
			}, nil, nil)
		}, 2}, // dns.Len counts the two '=' of base64 padding as bytes: an upper bound still
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg(t)
			want := packedLen(t, m)
			if got := wireLen(m); got < want || got > want+tc.slack {
				t.Errorf("wireLen = %d, want %d (uncompressed packed length) + at most %d", got, want, tc.slack)
			}
			// With compression on, wireLen is an upper bound of the packed size.
			m.Compress = true
			if b, err := m.Copy().Pack(); err != nil {
				t.Fatalf("Pack: %v", err)
			} else if len(b) > wireLen(m) {
				t.Errorf("compressed length %d exceeds wireLen %d", len(b), wireLen(m))
			}
		})
	}
}

func TestWireLenNilRR(t *testing.T) {
	m := new(dns.Msg).SetQuestion("www.example.org.", dns.TypeA)
	m.Answer = []dns.RR{nil}
	if got, want := wireLen(m), 12+len("www.example.org.")+1+4; got != want {
		t.Errorf("wireLen with a nil RR = %d, want %d", got, want)
	}
}

func TestNameLen(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"", 1},
		{".", 1},
		{"org.", 5},
		{"example.org.", 13},
		{"example.org", 13},
		{"www.example.org.", 17},
	}
	for _, tc := range tests {
		if got := nameLen(tc.name); got != tc.want {
			t.Errorf("nameLen(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestTruncated(t *testing.T) {
	tests := []struct {
		name string
		msg  func(t *testing.T) *dns.Msg
	}{
		{"big answer with EDNS0", bigAnswer},
		{"big answer without EDNS0", func(t *testing.T) *dns.Msg {
			m := bigAnswer(t)
			m.Extra = m.Extra[:len(m.Extra)-1] // the OPT is last
			if m.IsEdns0() != nil {
				t.Fatal("OPT not removed")
			}
			return m
		}},
		{"nxdomain with EDNS0, OPT not last", func(t *testing.T) *dns.Msg {
			m := reply(t, "nope.example.org.", dns.TypeA, dns.RcodeNameError, true, nil, []string{soaExample}, nil)
			m.Id = 7
			m.SetEdns0(4096, false)
			m.Extra = append(m.Extra, mustRR(t, "ns1.example.org. 300 IN A 192.0.2.53"))
			return m
		}},
		{"servfail with EDNS0 options", func(t *testing.T) *dns.Msg {
			m := reply(t, "www.example.org.", dns.TypeA, dns.RcodeServerFailure, false, nil, nil, nil)
			m.Id = 0xffff
			m.SetEdns0(1232, true)
			opt := m.IsEdns0()
			opt.Option = append(opt.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
			return m
		}},
		{"root question", func(t *testing.T) *dns.Msg {
			return reply(t, ".", dns.TypeNS, dns.RcodeSuccess, true,
				[]string{". 518400 IN NS a.root-servers.net."}, nil, []string{"a.root-servers.net. 518400 IN A 198.41.0.4"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg(t)
			before := m.String()
			origOpt := m.IsEdns0()

			tr := truncated(m)

			if after := m.String(); after != before {
				t.Fatalf("truncated modified the original:\n%s\nbecame\n%s", before, after)
			}
			if !tr.Truncated {
				t.Error("TC not set")
			}
			if tr.Id != m.Id {
				t.Errorf("Id = %d, want %d", tr.Id, m.Id)
			}
			if tr.Rcode != m.Rcode {
				t.Errorf("Rcode = %d, want %d", tr.Rcode, m.Rcode)
			}
			if tr.Response != m.Response || tr.Authoritative != m.Authoritative ||
				tr.RecursionDesired != m.RecursionDesired || tr.Opcode != m.Opcode {
				t.Errorf("header %+v, want the original's %+v with TC", tr.MsgHdr, m.MsgHdr)
			}
			if len(tr.Question) != len(m.Question) || (len(m.Question) > 0 && tr.Question[0] != m.Question[0]) {
				t.Errorf("Question = %v, want %v", tr.Question, m.Question)
			}
			if len(tr.Answer) != 0 || len(tr.Ns) != 0 {
				t.Errorf("records left: answer %v, ns %v", tr.Answer, tr.Ns)
			}
			if origOpt == nil {
				if len(tr.Extra) != 0 {
					t.Errorf("Extra = %v, want nothing", tr.Extra)
				}
			} else {
				if len(tr.Extra) != 1 {
					t.Fatalf("Extra = %v, want only the OPT", tr.Extra)
				}
				opt, ok := tr.Extra[0].(*dns.OPT)
				if !ok {
					t.Fatalf("Extra[0] = %v, want an OPT", tr.Extra[0])
				}
				if opt == origOpt {
					t.Error("the OPT is shared with the original, want a copy")
				}
				if opt.UDPSize() != origOpt.UDPSize() || opt.Do() != origOpt.Do() {
					t.Errorf("OPT size %d DO %v, want %d %v", opt.UDPSize(), opt.Do(), origOpt.UDPSize(), origOpt.Do())
				}
				if opt.String() != origOpt.String() {
					t.Errorf("OPT %v, want %v", opt, origOpt)
				}
			}

			// The question slice is a copy: changing the slip leaves m alone.
			if len(tr.Question) > 0 {
				tr.Question[0].Name = "changed.example."
				if m.String() != before {
					t.Error("the question is shared with the original")
				}
			}

			if got, want := slippedLen(m), packedLen(t, truncated(m)); got != want {
				t.Errorf("slippedLen = %d, want %d (packed length of truncated)", got, want)
			}
		})
	}
}

// TestOptLen: the OPT record's size as floodguard computes it is the size
// miekg/dns packs.
func TestOptLen(t *testing.T) {
	opts := [][]dns.EDNS0{
		nil,
		{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"}},
		{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708" + "01000000aabbccdd1122334455667788"}},
		{&dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: "6e7331"}},
		{&dns.EDNS0_NSID{Code: dns.EDNS0NSID}},
		{&dns.EDNS0_PADDING{Padding: make([]byte, 37)}},
		{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 0)}},
		{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: 56, Address: net.ParseIP("2001:db8::")}},
		{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 0, Address: net.IPv4zero}},
		{&dns.EDNS0_EXPIRE{Code: dns.EDNS0EXPIRE, Expire: 60}, &dns.EDNS0_TCP_KEEPALIVE{Code: dns.EDNS0TCPKEEPALIVE, Timeout: 10}},
	}
	for i, o := range opts {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}, Option: o}
		if got, want := optLen(opt), dns.Len(opt); got != want {
			t.Errorf("options %d (%v): %d bytes, want %d", i, o, got, want)
		}
	}
}

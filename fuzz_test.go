package floodguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// Fuzz targets. Run one for a while with, for example:
//   go test -run '^$' -fuzz FuzzServeDNS -fuzztime 60s .
// Crashers land in testdata/fuzz/FuzzXxx/ and run as part of go test.

// fuzzRemote is a client address a fuzzed query comes from. limited says
// whether floodguard must judge its responses (UDP with a readable address);
// every other query must pass through untouched.
type fuzzRemote struct {
	name    string
	addr    func(tcp bool) net.Addr
	limited func(tcp bool) bool
}

func udpOrTCP(ip net.IP, zone string) func(bool) net.Addr {
	return func(tcp bool) net.Addr {
		if tcp {
			return &net.TCPAddr{IP: ip, Port: 40212, Zone: zone}
		}
		return &net.UDPAddr{IP: ip, Port: 40212, Zone: zone}
	}
}

func always(v bool) func(bool) bool { return func(bool) bool { return v } }
func overUDP(tcp bool) bool         { return !tcp }

var fuzzRemotes = []fuzzRemote{
	{"nil", func(bool) net.Addr { return nil }, always(false)},
	{"empty TCPAddr (cache prefetch)", func(bool) net.Addr { return &net.TCPAddr{} }, always(false)},
	{"typed nil UDPAddr", func(bool) net.Addr { return (*net.UDPAddr)(nil) }, always(false)},
	{"empty UDPAddr", func(bool) net.Addr { return &net.UDPAddr{} }, always(false)},
	{"IPv4", udpOrTCP(net.IPv4(192, 0, 2, 1).To4(), ""), overUDP},
	{"IPv4 in 16 bytes", udpOrTCP(net.IPv4(192, 0, 2, 1), ""), overUDP},
	{"IPv4-mapped", udpOrTCP(net.ParseIP("::ffff:192.0.2.1"), ""), overUDP},
	{"IPv6", udpOrTCP(net.ParseIP("2001:db8::1"), ""), overUDP},
	{"link-local with zone", udpOrTCP(net.ParseIP("fe80::1"), "eth0"), overUDP},
	{"unspecified", udpOrTCP(net.IPv4zero, ""), always(false)},
	{"IP of bad length", udpOrTCP(net.IP{1, 2, 3}, ""), overUDP},
	{"unix socket", func(bool) net.Addr { return &net.UnixAddr{Name: "/run/dns.sock", Net: "unix"} }, overUDP},
}

// fuzzWrite is one reply written: a message (WriteMsg) or bytes (Write).
// snap is the backend's message as text when it wrote it, to check that
// floodguard left it alone.
type fuzzWrite struct {
	isRaw bool
	msg   *dns.Msg
	raw   []byte
	snap  string
}

// fuzzWriter is the client end of the chain: it records what was written.
type fuzzWriter struct {
	remote net.Addr
	tcp    bool
	writes []fuzzWrite
}

func (w *fuzzWriter) LocalAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *fuzzWriter) RemoteAddr() net.Addr { return w.remote }
func (w *fuzzWriter) Network() string {
	if w.tcp {
		return "tcp"
	}
	return "udp"
}
func (w *fuzzWriter) WriteMsg(m *dns.Msg) error {
	w.writes = append(w.writes, fuzzWrite{msg: m})
	return nil
}
func (w *fuzzWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, fuzzWrite{isRaw: true, raw: b})
	return len(b), nil
}
func (w *fuzzWriter) Close() error        { return nil }
func (w *fuzzWriter) TsigStatus() error   { return nil }
func (w *fuzzWriter) TsigTimersOnly(bool) {}
func (w *fuzzWriter) Hijack()             {}

// Backend behaviours, chosen by a byte of the input.
const (
	modeAnswer       = iota // SetReply + an A record
	modeErrorRcode          // return SERVFAIL/REFUSED/FORMERR/NOTIMP without writing
	modeTwice               // write the answer twice
	modePacked              // Write the packed answer
	modeRaw                 // Write the input bytes as they are
	modeNXDomain            // NXDOMAIN with an SOA
	modeReferral            // delegation: NS in authority, not authoritative
	modeNodataEDNS          // NOERROR without answer, with an OPT if the query had one
	modeSilentOK            // return NOERROR without writing (a broken plugin)
	modeWriteThenErr        // write the answer, then return SERVFAIL anyway
	modeError               // return SERVFAIL and an error, without writing
	numModes
)

var fuzzErrorRcodes = [4]int{dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeFormatError, dns.RcodeNotImplemented}

// fuzzBackend answers as the mode says and records what it wrote.
type fuzzBackend struct {
	mode   int
	rcode  int // for modeErrorRcode
	raw    []byte
	query  *dns.Msg    // the client's query; others are floodguard's internal probes
	writes []fuzzWrite // what it wrote in answer to query
}

func (b *fuzzBackend) Name() string { return "fuzzbackend" }

func (b *fuzzBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	qname := "."
	if len(r.Question) > 0 {
		qname = r.Question[0].Name
	}
	answer := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 10)}}
		return m
	}
	record := func(fw fuzzWrite) {
		if r == b.query {
			b.writes = append(b.writes, fw)
		}
	}
	write := func(m *dns.Msg) {
		record(fuzzWrite{msg: m, snap: m.String()})
		w.WriteMsg(m)
	}
	switch b.mode {
	case modeAnswer:
		write(answer())
	case modeErrorRcode:
		return b.rcode, nil
	case modeTwice:
		write(answer())
		write(answer())
	case modePacked:
		buf, err := answer().Pack()
		if err != nil {
			return dns.RcodeServerFailure, err // cannot happen for a name that was unpacked
		}
		record(fuzzWrite{isRaw: true, raw: buf})
		w.Write(buf)
	case modeRaw:
		record(fuzzWrite{isRaw: true, raw: b.raw})
		w.Write(b.raw)
	case modeNXDomain:
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		m.Authoritative = true
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns: "ns1.example.org.", Mbox: "hostmaster.example.org.", Serial: 1, Refresh: 2, Retry: 3, Expire: 4, Minttl: 5}}
		write(m)
	case modeReferral:
		m := new(dns.Msg)
		m.SetReply(r)
		m.Ns = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "sub.example.org.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 60}, Ns: "ns.sub.example.org."}}
		write(m)
	case modeNodataEDNS:
		m := new(dns.Msg)
		m.SetReply(r)
		if opt := r.IsEdns0(); opt != nil {
			m.SetEdns0(opt.UDPSize(), opt.Do())
		}
		write(m)
	case modeSilentOK:
		return dns.RcodeSuccess, nil
	case modeWriteThenErr:
		write(answer())
		return dns.RcodeServerFailure, nil
	case modeError:
		return dns.RcodeServerFailure, errors.New("backend failed")
	}
	return dns.RcodeSuccess, nil
}

// fuzzQuery packs a query for the seed corpus.
func fuzzQuery(name string, qtype uint16, id uint16, edns bool) []byte {
	m := query(name, qtype, id)
	if edns {
		m.SetEdns0(4096, true)
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// The first two bytes of the input (a query's id) select how the query is
// handled, so mutating them explores configurations while the rest of the
// packet stays a valid query:
//
//	byte 0: bits 0-3 the client address (fuzzRemotes), bits 4-5 the any
//	        mode (minimal, truncate, allow, minimal with any-per-minute 1),
//	        bit 6 queries-per-second 2 (burst 3) and bans, bit 7 zones
//	        example.org and 2.0.192.in-addr.arpa instead of "."
//	byte 1: bits 0-3 the backend mode, bits 4-5 its error rcode, bit 6
//	        all-per-second 2, bit 7 slip 1 instead of 2
func fuzzID(sel0, sel1 int) uint16 { return uint16(sel0)<<8 | uint16(sel1) }

// fuzzRepeats is how often each input's query is asked: at 1 response a
// second (and 2 queries a second), enough to send, slip, drop and ban.
const fuzzRepeats = 6

func FuzzServeDNS(f *testing.F) {
	for i := range fuzzRemotes {
		for mode := range numModes {
			sel0 := i | (mode%4)<<4
			if mode%5 == 4 {
				sel0 |= 0x40
			}
			sel1 := mode | (i%4)<<4
			tcp := (i+mode)%3 == 0
			f.Add(fuzzQuery("www.example.org", dns.TypeA, fuzzID(sel0, sel1), false), tcp)
			f.Add(fuzzQuery("example.org", dns.TypeANY, fuzzID(sel0, sel1), false), tcp)
			f.Add(fuzzQuery(".", dns.TypeNS, fuzzID(sel0, sel1|0x40), true), tcp)
		}
	}
	empty := new(dns.Msg)
	empty.Id = fuzzID(4, modeAnswer)
	emptyBuf, err := empty.Pack()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(emptyBuf, false)
	// Restricted zones (bit 7 of byte 0).
	f.Add(fuzzQuery("www.example.org", dns.TypeA, fuzzID(0x84, modeTwice), false), false)
	f.Add(fuzzQuery("www.example.com", dns.TypeA, fuzzID(0x84, modeAnswer), false), false)
	f.Add(fuzzQuery("1.2.0.192.in-addr.arpa", dns.TypePTR, fuzzID(0xc6, modeErrorRcode|0x40), true), false)
	// ANY over UDP in every any mode, against an NXDOMAIN backend.
	for anyBits := range 4 {
		f.Add(fuzzQuery("nx.example.org", dns.TypeANY, fuzzID(4|anyBits<<4, modeNXDomain), true), false)
	}
	f.Add(fuzzQuery("www.example.org", dns.TypeA, fuzzID(4, modeRaw), true)[:7], false) // truncated
	f.Add([]byte{0x04, modeRaw, 0xff, 0xff, 0xff}, false)                               // garbage
	f.Add([]byte{}, false)
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61)
	f.Add(fuzzQuery(long, dns.TypeTXT, fuzzID(5, modeAnswer), true), false)
	f.Add(fuzzQuery(`W\046eird\000.Example.ORG`, dns.TypeA, fuzzID(8, modePacked), false), false)
	// COOKIE options: a client cookie alone, with a server cookie not ours,
	// malformed; over UDP and TCP, against several backends.
	for i, value := range []string{"0102030405060708", "0102030405060708" + "01000000aabbccdd1122334455667788", "010203"} {
		for _, mode := range []int{modeAnswer, modeErrorRcode, modePacked, modeTwice, modeSilentOK} {
			m := withCookieOption(query("www.example.org", dns.TypeA, fuzzID(4, mode)), value)
			b, err := m.Pack()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, i%2 == 1)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte, tcp bool) {
		var sel0, sel1 byte
		if len(data) >= 2 {
			sel0, sel1 = data[0], data[1]
		}
		remote := fuzzRemotes[int(sel0&0x0f)%len(fuzzRemotes)]
		be := &fuzzBackend{mode: int(sel1&0x0f) % numModes, rcode: fuzzErrorRcodes[(sel1>>4)&3], raw: data}

		r := new(dns.Msg)
		if err := r.Unpack(data); err != nil {
			// Unreadable as a query: ask a fixed question, and have the
			// backend write the bytes, through limitWriter.Write.
			r = query("fuzz.example.org", dns.TypeA, 1)
			be.mode = modeRaw
		}
		be.query = r
		if len(r.Question) > 1 {
			return // miekg/dns answers these FORMERR before CoreDNS sees them
		}

		cfg := fuzzConfig(sel0, sel1)
		clk := &fakeClock{t: 1}
		fg := newFloodguard(cfg, newState("fuzz", cfg, clk.now))
		fg.Next = be

		inZones := len(r.Question) > 0 && (sel0&0x80 == 0 || plugin.Zones(cfg.zones).Matches(r.Question[0].Name) != "")
		limited := remote.limited(tcp) && inZones
		var qc queryCookie
		qc.read(r)
		// A query with a COOKIE option, from a client with an address, gets
		// floodguard's cookie in every reply: checked on its own terms.
		cookied := qc.kind != cookieNone && inZones && remote.limited(false)

		orig := bytes.Clone(data)
		for range fuzzRepeats {
			be.writes = be.writes[:0]
			w := &fuzzWriter{remote: remote.addr(tcp), tcp: tcp}
			// A query of its own each time: sizing a reply (CoreDNS's
			// SizeAndDo) strips the query's OPT of the options it does not
			// copy, COOKIE among them, as the server does to every query.
			q := r.Copy()
			be.query = q
			rcode, _ := fg.ServeDNS(context.Background(), w, q)
			switch {
			case cookied:
				checkCookied(t, be, w, rcode, r, qc)
			case limited:
				checkLimited(t, be, w, rcode, r)
			default:
				checkTransparent(t, remote.name, be, w, rcode)
			}
			for i, bw := range be.writes {
				if !bw.isRaw && bw.msg.String() != bw.snap {
					t.Fatalf("backend write %d: floodguard modified the backend's message", i)
				}
			}
			if !bytes.Equal(data, orig) {
				t.Fatalf("floodguard modified the bytes the backend wrote")
			}
		}
	})
}

// fuzzConfig is the configuration the selector bytes choose: low limits,
// so that every limited path runs within a few queries. Only policies that
// act over UDP alone are chosen, so what is not limited must pass through
// untouched.
func fuzzConfig(sel0, sel1 byte) config {
	cfg := defaultConfig()
	cfg.zones = []string{"."}
	if sel0&0x80 != 0 {
		cfg.zones = []string{"example.org.", "2.0.192.in-addr.arpa."}
	}
	for c := classResponse; c <= classError; c++ {
		cfg.limits.perSecond[c] = 1
	}
	if sel1&0x40 != 0 {
		cfg.limits.perSecond[classAll] = 2
	}
	cfg.limits.slip = 2
	if sel1&0x80 != 0 {
		cfg.limits.slip = 1
	}
	cfg.maxTableSize = minTableSize
	switch (sel0 >> 4) & 3 {
	case 0:
		cfg.anyMode = anyMinimal
	case 1:
		cfg.anyMode = anyTruncate
	case 2:
		cfg.anyMode = anyAllow
	case 3:
		cfg.anyMode, cfg.anyPerMinute = anyMinimal, 1
	}
	if sel0&0x40 != 0 {
		cfg.qps = queryRate{2, 3}
		cfg.ban = banConfig{limited: 3, within: int64(time.Second), dur: int64(10 * time.Second)}
	}
	return cfg
}

// checkTransparent: a query floodguard does not limit reaches the client
// exactly as the backend wrote it, and the backend's rcode is returned.
func checkTransparent(t *testing.T, remote string, be *fuzzBackend, w *fuzzWriter, rcode int) {
	t.Helper()
	if len(w.writes) != len(be.writes) {
		t.Fatalf("%s (not limited): client got %d writes, backend wrote %d", remote, len(w.writes), len(be.writes))
	}
	for i := range w.writes {
		got, want := w.writes[i], be.writes[i]
		if got.isRaw != want.isRaw || got.msg != want.msg || !bytes.Equal(got.raw, want.raw) {
			t.Fatalf("%s (not limited): write %d was changed on its way to the client", remote, i)
		}
	}
	wantRcode := dns.RcodeSuccess
	switch be.mode {
	case modeErrorRcode:
		wantRcode = be.rcode
	case modeWriteThenErr, modeError:
		wantRcode = dns.RcodeServerFailure
	}
	if rcode != wantRcode {
		t.Fatalf("%s (not limited): returned rcode %d, backend returned %d", remote, rcode, wantRcode)
	}
}

// checkLimited: a limited query gets at most one reply (two if the backend
// wrote twice), counting the one CoreDNS's server would write for an error
// rcode floodguard returned. Each reply is the backend's own, or a TC=1 copy
// of it without records, or floodguard's own reply to the query (an error
// reply, REFUSED, TC=1, a minimal ANY answer), which is small.
func checkLimited(t *testing.T, be *fuzzBackend, w *fuzzWriter, rcode int, r *dns.Msg) {
	t.Helper()
	if !plugin.ClientWrite(rcode) {
		t.Fatalf("limited query: returned rcode %d, so the server would write another, unlimited reply", rcode)
	}
	maxReplies := max(1, len(be.writes))
	if len(w.writes) > maxReplies {
		t.Fatalf("limited query: %d replies written, want at most %d (backend wrote %d)", len(w.writes), maxReplies, len(be.writes))
	}
	// Replies come in the order the backend wrote them, some dropped.
	j := 0
	for i, got := range w.writes {
		k := j
		for ; k < len(be.writes); k++ {
			if sameOrSlipped(got, be.writes[k]) {
				break
			}
		}
		if k < len(be.writes) {
			j = k + 1
			continue
		}
		if err := ownReply(got, r); err != nil {
			t.Fatalf("limited query: reply %d is not the backend's message, nor a TC=1 copy of it, nor a small reply of floodguard's: %v\n%v", i, err, got.msg)
		}
	}
}

// checkCookied: a query with a COOKIE option gets at most one reply per
// backend write (one if none), never a second from CoreDNS's server; a
// malformed option gets FORMERR; every other reply carries exactly one
// COOKIE option, with the client's cookie, and is the backend's answer
// (bar its OPT record), a TC=1 copy of it, or a small reply of floodguard's.
func checkCookied(t *testing.T, be *fuzzBackend, w *fuzzWriter, rcode int, r *dns.Msg, qc queryCookie) {
	t.Helper()
	if !plugin.ClientWrite(rcode) {
		t.Fatalf("query with a cookie: returned rcode %d, so the server would write a reply without our cookie", rcode)
	}
	if n := max(1, len(be.writes)); len(w.writes) > n {
		t.Fatalf("query with a cookie: %d replies, want at most %d", len(w.writes), n)
	}
	for i, got := range w.writes {
		m := got.msg
		if got.isRaw {
			m = new(dns.Msg)
			if err := m.Unpack(got.raw); err != nil {
				t.Fatalf("reply %d: unreadable bytes", i)
			}
		}
		if qc.kind == cookieMalformed {
			if m.Rcode != dns.RcodeFormatError {
				t.Fatalf("malformed COOKIE: reply %d has rcode %s, want FORMERR", i, dns.RcodeToString[m.Rcode])
			}
			continue
		}
		ck := cookiesOf(m)
		if len(ck) != 1 || len(ck[0]) != 2*cookieLen || !strings.HasPrefix(ck[0], strings.ToLower(qc.text[:16])) {
			t.Fatalf("reply %d: cookies %v, want exactly one with the client cookie %s", i, ck, qc.text[:16])
		}
		if ownReply(fuzzWrite{msg: m}, r) == nil {
			continue
		}
		matched := false
		for _, bw := range be.writes {
			orig := bw.msg
			if bw.isRaw {
				if orig = new(dns.Msg); orig.Unpack(bw.raw) != nil {
					continue
				}
			}
			if sameContent(m, orig) || (m.Truncated && len(m.Answer)+len(m.Ns) == 0 && sameQuestion(m.Question, orig.Question)) {
				matched = true
				break
			}
		}
		if !matched {
			t.Fatalf("reply %d is not the backend's answer, a TC=1 copy of it, or a small reply of floodguard's:\n%v", i, m)
		}
	}
}

// sameContent reports whether a and b are the same answer, OPT records apart.
func sameContent(a, b *dns.Msg) bool {
	strip := func(m *dns.Msg) string {
		c := *m
		c.Extra = nil
		for _, rr := range m.Extra {
			if rr.Header().Rrtype != dns.TypeOPT {
				c.Extra = append(c.Extra, rr)
			}
		}
		c.Rcode &= 0xf
		return c.String()
	}
	return strip(a) == strip(b)
}

// ownReply checks a reply floodguard made itself: it answers r and carries
// at most one record, so it amplifies nothing.
func ownReply(got fuzzWrite, r *dns.Msg) error {
	m := got.msg
	switch {
	case got.isRaw:
		return errors.New("bytes that are not the backend's")
	case !m.Response || m.Id != r.Id:
		return fmt.Errorf("not a response to query %d", r.Id)
	case !sameQuestion(m.Question, r.Question):
		return fmt.Errorf("question %v, want %v", m.Question, r.Question)
	case len(m.Answer)+len(m.Ns) > 1:
		return fmt.Errorf("%d answer and %d authority records", len(m.Answer), len(m.Ns))
	case m.Truncated && len(m.Answer)+len(m.Ns) > 0:
		return errors.New("truncated, with records")
	}
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			return fmt.Errorf("additional record %v", rr)
		}
	}
	return nil
}

func sameQuestion(a, b []dns.Question) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameOrSlipped reports whether got is the backend's write want, a
// compressed copy of it (too big for max-udp-size otherwise), or the slipped
// (TC=1, no records but OPT) copy of it.
func sameOrSlipped(got, want fuzzWrite) bool {
	if !want.isRaw && !got.isRaw && got.msg == want.msg {
		return true
	}
	if want.isRaw && got.isRaw && bytes.Equal(got.raw, want.raw) {
		return true
	}
	if got.isRaw {
		return false
	}
	orig := want.msg
	if want.isRaw {
		orig = new(dns.Msg)
		if err := orig.Unpack(want.raw); err != nil {
			return false // unreadable bytes are errors, which never slip
		}
	}
	if got.msg.Compress && got.msg.String() == orig.String() {
		return true
	}
	tc := got.msg
	if !tc.Truncated || len(tc.Answer) > 0 || len(tc.Ns) > 0 {
		return false
	}
	for _, rr := range tc.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			return false
		}
	}
	return tc.Id == orig.Id && tc.Rcode == orig.Rcode && sameQuestion(tc.Question, orig.Question) &&
		(orig.IsEdns0() == nil) == (tc.IsEdns0() == nil)
}

// FuzzParse: no Corefile text makes the parser panic, and whatever it accepts
// is within the documented ranges.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"{\n}",
		"example.org {\n responses-per-second 5\n window 15\n slip 2\n}",
		"{\n responses-per-second 1000\n nodata-per-second 0\n nxdomains-per-second 3\n referrals-per-second 4\n errors-per-second 5\n all-per-second 100\n}",
		"{\n window 3600\n slip 10\n ipv4-prefix-length 32\n ipv6-prefix-length 128\n max-table-size 16777216\n}",
		"{\n window 1\n slip 0\n ipv4-prefix-length 0\n ipv6-prefix-length 0\n max-table-size 64\n}",
		"{\n exempt-clients 192.0.2.53 2001:db8::/64 ::ffff:192.0.2.0/120 fe80::1%eth0\n log-only\n}",
		"example.org 2.0.192.in-addr.arpa {\n ipv4-prefix-length 32\n}",
		"{\n responses-per-second 1001\n}",
		"{\n window 0\n}",
		"{\n slip -1\n}",
		"{\n max-table-size 63\n}",
		"{\n max-table-size 99999999999999999999\n}",
		"{\n slip 1\n slip 2\n}",
		"{\n bogus\n}",
		"example..org",
		"{\n exempt-clients 192.0.2.0/33\n}",
		"{\n log-only yes\n}",
		"{\n responses-per-second\n}",
		"{ responses-per-second 5 }",
		"\"quoted zone\" {\n}",
		"{\n{\n}\n}",
		"}",
		"{",
		"\nfloodguard",
		"dns://example.org:53 {\n}",
		"{\n ipv6-prefix-length +64\n}",
		"{\n window 0x10\n}",
		"{\n any minimal\n any-per-minute 10\n root refuse\n authoritative example.org\n recursion none\n}",
		"{\n any drop\n recursion 192.0.2.0/24 ::1\n queries-per-second 1000000 1000000\n ban 1000000 24h 1s\n}",
		"{\n any-per-minute 11\n}",
		"{\n queries-per-second 5 0\n}",
		"{\n ban 3 0.5s 10m\n}",
		"{\n ban 3 1s 25h\n}",
		"{\n authoritative\n}",
		"{\n max-udp-size 512\n}",
		"{\n max-udp-size 65536\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := parse(caddy.NewTestController("dns", "floodguard "+text))
		if err != nil {
			return
		}
		for c := class(0); c < numClasses; c++ {
			if r := cfg.limits.perSecond[c]; r < 0 || r > maxRate {
				t.Fatalf("%q: %s rate %d outside 0..%d", text, c, r, maxRate)
			}
		}
		if w := cfg.limits.window; w < 1 || w > maxWindow {
			t.Fatalf("%q: window %d outside 1..%d", text, w, maxWindow)
		}
		if s := cfg.limits.slip; s > maxSlip {
			t.Fatalf("%q: slip %d outside 0..%d", text, s, maxSlip)
		}
		if cfg.v4Bits < 0 || cfg.v4Bits > 32 {
			t.Fatalf("%q: ipv4-prefix-length %d outside 0..32", text, cfg.v4Bits)
		}
		if cfg.v6Bits < 0 || cfg.v6Bits > 128 {
			t.Fatalf("%q: ipv6-prefix-length %d outside 0..128", text, cfg.v6Bits)
		}
		if cfg.maxTableSize < minTableSize || cfg.maxTableSize > maxTableSize {
			t.Fatalf("%q: max-table-size %d outside %d..%d", text, cfg.maxTableSize, minTableSize, maxTableSize)
		}
		if cfg.maxUDPSize < minUDPSize || cfg.maxUDPSize > maxUDPSize {
			t.Fatalf("%q: max-udp-size %d outside %d..%d", text, cfg.maxUDPSize, minUDPSize, maxUDPSize)
		}
		// The query limits and bans being added alongside.
		if n := cfg.anyPerMinute; n < 0 || n > maxAnyPerMinute {
			t.Fatalf("%q: any-per-minute %d outside 0..%d", text, n, maxAnyPerMinute)
		}
		if r, b := cfg.qps.rate, cfg.qps.burst; r < 0 || r > maxQPS || b < 0 || b > maxQPS || (r == 0) != (b == 0) {
			t.Fatalf("%q: queries-per-second %d burst %d outside 1..%d (or both 0)", text, r, b, maxQPS)
		}
		if b := cfg.ban; b.limited != 0 && (b.limited < 1 || b.limited > maxBanCount ||
			b.within < int64(time.Second) || b.within > int64(24*time.Hour) || b.dur < int64(time.Second) || b.dur > int64(24*time.Hour)) {
			t.Fatalf("%q: ban %+v outside 1..%d within 1s..24h for 1s..24h", text, b, maxBanCount)
		}
		for _, p := range append(slices.Clone(cfg.exempt), cfg.recursion...) {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("%q: exempt or recursion prefix %v is not a plain masked prefix", text, p)
			}
		}
		for _, z := range append(slices.Clone(cfg.zones), cfg.authoritative...) {
			// A zone ending in an escape, such as \0\, once slipped through
			// (testdata/fuzz/FuzzParse/b2b89620facb4e86).
			if !dns.IsFqdn(z) {
				t.Fatalf("%q: zone %q is not fully qualified, so no name would match it", text, z)
			}
		}
		// The same text parses to the same config, key included: an
		// unchanged block must find its state again after a reload.
		again, err := parse(caddy.NewTestController("dns", "floodguard "+text))
		if err != nil || again.key != cfg.key {
			t.Fatalf("%q: second parse gave key %q, error %v; first gave %q", text, again.key, err, cfg.key)
		}
	})
}

// Compile-time check that the fuzz writer is a full ResponseWriter.
var _ dns.ResponseWriter = (*fuzzWriter)(nil)

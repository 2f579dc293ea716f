package floodguard

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floodguard/floodguard/internal/cookie"

	"github.com/miekg/dns"
)

// DNS Cookies (RFC 7873) with RFC 9018's interoperable server cookies: a
// query that brings back a server cookie floodguard made for its client
// cookie and address has proved its address, as a TCP client has.

// cookieKind is what a query's COOKIE option says, once checked.
type cookieKind uint8

const (
	cookieNone      cookieKind = iota // no COOKIE option
	cookieMalformed                   // a length RFC 7873 §4 does not allow
	cookieClient                      // a client cookie alone: a first contact
	cookieValid                       // our server cookie for this client: the address is proven
	cookieBad                         // a server cookie that is stale, or not ours for this client
	numCookieKinds
)

var cookieKindNames = [numCookieKinds]string{"missing", "malformed", "client_only", "valid", "bad"}

func (k cookieKind) String() string { return cookieKindNames[k] }

// queryCookie is a query's COOKIE option, read without allocating.
type queryCookie struct {
	kind cookieKind
	text string // the option as miekg/dns holds it: hexadecimal
	// reply is the COOKIE option every reply carries, in hexadecimal: the
	// client cookie and our server cookie, the query's own if valid and
	// young (no new text to make), else a fresh one.
	reply string
}

// read reads r's COOKIE option, if any: only its form, not yet whether
// the server cookie is ours.
func (c *queryCookie) read(r *dns.Msg) {
	if len(r.Extra) == 0 {
		return // the common query: no OPT record
	}
	opt := r.IsEdns0()
	if opt == nil {
		return
	}
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_COOKIE); ok {
			// 8 bytes of client cookie, then none or 8 to 32 of server cookie.
			server := len(e.Cookie)/2 - cookie.ClientLen
			if len(e.Cookie)%2 != 0 || (server != 0 && (server < cookie.MinServerLen || server > cookie.MaxServerLen)) {
				c.kind = cookieMalformed
				return
			}
			c.kind, c.text = cookieClient, e.Cookie
			return
		}
	}
}

// unhex decodes hexadecimal s into dst, which is len(s)/2 bytes.
func unhex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi|lo > 0xf {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// hexValue maps a hexadecimal digit to its value, anything else to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = byte(c-'a'+10), byte(c-'a'+10)
	}
	return t
}()

// judgeCookie checks c's server cookie, if any, for the client at addr at
// cookie time now, and sets the cookie replies carry.
func (st *state) judgeCookie(c *queryCookie, addr netip.Addr, now uint32) {
	if c.kind != cookieClient {
		return
	}
	var cc [cookie.ClientLen]byte
	var sc [cookie.MaxServerLen]byte
	slen := len(c.text)/2 - cookie.ClientLen
	if !unhex(cc[:], c.text[:2*cookie.ClientLen]) || !unhex(sc[:slen], c.text[2*cookie.ClientLen:]) {
		c.kind = cookieMalformed // not hexadecimal: not from miekg/dns
		return
	}
	secrets := st.cookieSecrets()
	if slen > 0 {
		switch cookie.Check(secrets, &cc, sc[:slen], addr, now) {
		case cookie.Valid:
			c.kind, c.reply = cookieValid, c.text
			return
		case cookie.Renew:
			c.kind = cookieValid
		default:
			c.kind = cookieBad
		}
	}
	var reply [cookieLen]byte
	copy(reply[:], cc[:])
	fresh := cookie.Server(&secrets[0], &cc, addr, now)
	copy(reply[cookie.ClientLen:], fresh[:])
	c.reply = hex.EncodeToString(reply[:])
}

// wallClock is the time of day in seconds, for cookie timestamps; tests
// swap it. It is read once a second by the sweeper, never per query.
var wallClock = func() int64 { return time.Now().Unix() }

// cookieTime is the cookie timestamp of a query that read the clock at now:
// the wall clock, kept per second by the sweeper as an offset from the
// monotonic clock, so that no query reads the time of day.
func (st *state) cookieTime(now int64) uint32 {
	return uint32(st.cookieEpoch.Load() + now/nano)
}

// syncCookieTime sets the offset of cookie time from the state's clock.
func (st *state) syncCookieTime() {
	wall := wallClock
	if st.replay != nil {
		wall = st.replay.wallNow // the capture's time of day
	}
	st.cookieEpoch.Store(wall() - st.now()/nano)
}

// cookieKeys are the secrets cookies are made and checked with.
type cookieKeys struct {
	secrets atomic.Pointer[[]cookie.Secret] // the first makes cookies
	file    string                          // cookie-secret-file, re-read when it changes
	seen    fileStamp                       // the file as last read
	failed  bool                            // the last read failed (logged once)
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func (st *state) cookieSecrets() []cookie.Secret { return *st.cookies.secrets.Load() }

// randomSecret is the secret of blocks that name none: made once per
// process, so that a reload does not invalidate every client's cookie.
var randomSecret = sync.OnceValue(func() cookie.Secret {
	s, err := cookie.NewSecret()
	if err != nil {
		panic("floodguard: no randomness for a cookie secret: " + err.Error())
	}
	return s
})

// initCookies sets the state's secrets from the configuration.
func (st *state) initCookies(cfg config) {
	secrets := cfg.cookieSecrets
	if cfg.cookieFile != "" {
		st.cookies.file = cfg.cookieFile
		var err error
		secrets, st.cookies.seen, err = readSecretFileStamp(cfg.cookieFile)
		if err != nil { // read at setup already; gone since
			log.Errorf("cookie-secret-file %s: %v; using a random secret until it can be read", cfg.cookieFile, err)
			st.cookies.failed = true
		}
	}
	if len(secrets) == 0 {
		secrets = []cookie.Secret{randomSecret()}
	}
	st.cookies.secrets.Store(&secrets)
}

// reloadSecretFile re-reads cookie-secret-file if it changed since it was
// last read. A file that cannot be read keeps the secrets in use.
func (st *state) reloadSecretFile() {
	k := &st.cookies
	if k.file == "" {
		return
	}
	info, err := os.Stat(k.file)
	if err == nil && (fileStamp{info.ModTime(), info.Size()}) == k.seen {
		return
	}
	secrets, stamp, err := readSecretFileStamp(k.file)
	if err != nil {
		if !k.failed {
			log.Errorf("cookie-secret-file %s: %v; the secrets in use stay", k.file, err)
			k.failed = true
		}
		return
	}
	k.failed = false
	k.seen = stamp
	k.secrets.Store(&secrets)
	log.Infof("cookie-secret-file %s: %d secrets read", k.file, len(secrets))
}

// readSecretFile reads a secret file: secrets of 32 hexadecimal digits,
// separated by white space or on lines of their own, the first the one
// cookies are made with; lines starting with # are comments.
func readSecretFile(path string) ([]cookie.Secret, error) {
	secrets, _, err := readSecretFileStamp(path)
	return secrets, err
}

func readSecretFileStamp(path string) ([]cookie.Secret, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, err
	}
	if info.Size() > 1<<16 {
		return nil, fileStamp{}, errors.New("larger than 64 KiB: not a secret file")
	}
	text := make([]byte, info.Size())
	if _, err := f.ReadAt(text, 0); err != nil && info.Size() > 0 {
		return nil, fileStamp{}, err
	}
	var secrets []cookie.Secret
	for i, line := range strings.Split(string(text), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, field := range strings.Fields(line) {
			s, err := cookie.ParseSecret(field)
			if err != nil {
				// Never repeat the text: it may be a secret.
				return nil, fileStamp{}, fmt.Errorf("line %d: not a secret of 32 hexadecimal digits", i+1)
			}
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return nil, fileStamp{}, errors.New("no secret in it")
	}
	return secrets, fileStamp{info.ModTime(), info.Size()}, nil
}

// cookieReply is m with our COOKIE as its only one, made in one
// allocation: m belongs to another plugin.
type cookieReply struct {
	msg   dns.Msg
	opt   dns.OPT
	ck    dns.EDNS0_COOKIE
	extra [4]dns.RR
	opts  [2]dns.EDNS0
}

// withCookie returns m carrying exactly one COOKIE option, value (in
// hexadecimal), in its OPT record; an OPT record is added as CoreDNS's
// server would add it (the query's buffer size and DO bit) if m has none.
// The copy is made in r, or a new cookieReply if r is nil.
func withCookie(m, req *dns.Msg, value string, r *cookieReply) *dns.Msg {
	if r == nil {
		r = new(cookieReply)
	}
	r.msg = *m
	r.msg.Extra = r.extra[:0]
	var old *dns.OPT
	var tsig dns.RR
	for _, rr := range m.Extra {
		switch rr := rr.(type) {
		case *dns.OPT:
			old = rr
		case *dns.TSIG:
			tsig = rr
		default:
			r.msg.Extra = append(r.msg.Extra, rr)
		}
	}
	r.opt.Option = r.opts[:0]
	if old != nil {
		r.opt.Hdr = old.Hdr
		for _, o := range old.Option {
			if o.Option() != dns.EDNS0COOKIE {
				r.opt.Option = append(r.opt.Option, o)
			}
		}
	} else {
		r.opt.Hdr = dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}
		if q := req.IsEdns0(); q != nil {
			r.opt.SetUDPSize(q.UDPSize())
			if q.Do() {
				r.opt.SetDo()
			}
		} else {
			r.opt.SetUDPSize(dns.MinMsgSize)
		}
	}
	r.ck = dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: value}
	r.opt.Option = append(r.opt.Option, &r.ck)
	r.msg.Extra = append(r.msg.Extra, &r.opt)
	if tsig != nil {
		r.msg.Extra = append(r.msg.Extra, tsig) // TSIG stays last
	}
	return &r.msg
}

// badCookie is a BADCOOKIE reply to req (RFC 7873 §5.2.3): no records, and
// the fresh cookie its writer gives every reply, so that the client asks
// again at once with it.
func badCookie(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeBadCookie)
	m.SetEdns0(dns.MinMsgSize, false) // BADCOOKIE is an extended rcode: it needs an OPT record
	return m
}

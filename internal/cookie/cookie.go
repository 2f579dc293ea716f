// Package cookie makes and checks the interoperable DNS server cookies of
// RFC 9018 (version 1), for the DNS Cookies of RFC 7873.
//
// A server cookie is 16 bytes: version 1, three reserved bytes, a 32-bit
// timestamp (seconds since 1970, big-endian), and the 8-byte SipHash-2-4,
// keyed with the server secret, of the client cookie, version, reserved
// bytes, timestamp and client address (4 bytes for IPv4, 16 for IPv6).
// Servers that share a secret accept each other's cookies, whatever their
// software.
//
// The package has no state and no clock: callers pass the time in, so that
// tests are exact. Nothing here allocates.
package cookie

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"

	"github.com/dchest/siphash"
)

const (
	// ClientLen is the size of a client cookie.
	ClientLen = 8
	// ServerLen is the size of a version-1 server cookie.
	ServerLen = 16
	// MinServerLen and MaxServerLen bound a server cookie of any server
	// (RFC 7873 §4): a COOKIE option of another length is malformed.
	MinServerLen = 8
	MaxServerLen = 32

	version = 1

	// Window is how far a server cookie's timestamp may lie in the past
	// (an hour) or the future (five minutes) and still be accepted.
	maxAge    = 3600
	maxFuture = 300
	// RenewAge is the age from which a valid cookie is replaced by a fresh
	// one in the reply (RFC 9018 §4.3: half an hour).
	RenewAge = 1800
)

// Secret is a server secret: 16 bytes, the SipHash-2-4 key.
type Secret [16]byte

// NewSecret returns a random secret.
func NewSecret() (Secret, error) {
	var s Secret
	_, err := rand.Read(s[:])
	return s, err
}

// ParseSecret reads a secret written as 32 hexadecimal digits.
func ParseSecret(text string) (Secret, error) {
	var s Secret
	if len(text) != 2*len(s) {
		return s, errors.New("a cookie secret is 32 hexadecimal digits (16 bytes)")
	}
	if _, err := hex.Decode(s[:], []byte(text)); err != nil {
		return s, errors.New("a cookie secret is 32 hexadecimal digits (16 bytes)")
	}
	return s, nil
}

// Server returns the version-1 server cookie for client cookie cc from
// client address addr at timestamp ts (seconds since 1970, mod 2^32).
func Server(secret *Secret, cc *[ClientLen]byte, addr netip.Addr, ts uint32) [ServerLen]byte {
	var c [ServerLen]byte
	c[0] = version
	binary.BigEndian.PutUint32(c[4:8], ts)
	binary.LittleEndian.PutUint64(c[8:], hash(secret, cc, &c, addr))
	return c
}

// hash is the SipHash-2-4 of client cookie | version | reserved |
// timestamp | client address, the first 8 bytes of c being the server
// cookie's own (reserved bytes as received).
func hash(secret *Secret, cc *[ClientLen]byte, c *[ServerLen]byte, addr netip.Addr) uint64 {
	var in [ClientLen + 8 + 16]byte
	n := copy(in[:], cc[:])
	n += copy(in[n:], c[:8])
	addr = addr.Unmap()
	if addr.Is4() {
		a := addr.As4()
		n += copy(in[n:], a[:])
	} else {
		a := addr.As16()
		n += copy(in[n:], a[:])
	}
	k0 := binary.LittleEndian.Uint64(secret[:8])
	k1 := binary.LittleEndian.Uint64(secret[8:])
	return siphash.Hash(k0, k1, in[:n])
}

// Verdict is what Check found of a server cookie.
type Verdict uint8

const (
	// Valid: made with one of the secrets for this client cookie and
	// address, within the window.
	Valid Verdict = iota
	// Renew: valid, but half an hour old or more; reply with a fresh one.
	Renew
	// Stale: made by us, but outside the window.
	Stale
	// Invalid: not one of ours (another version, another secret, another
	// client cookie or address, or a length that is not ours).
	Invalid
)

var verdictNames = [...]string{"valid", "renew", "stale", "invalid"}

func (v Verdict) String() string { return verdictNames[v] }

// Check judges server cookie sc, sent with client cookie cc from addr, at
// time now (seconds since 1970, mod 2^32), against secrets: the first is
// the one cookies are made with, the others are still accepted (RFC 9018
// §4.3, for rolling a secret over). Hashes are compared in constant time.
func Check(secrets []Secret, cc *[ClientLen]byte, sc []byte, addr netip.Addr, now uint32) Verdict {
	if len(sc) != ServerLen || sc[0] != version {
		return Invalid
	}
	var c [ServerLen]byte
	copy(c[:], sc)
	ts := binary.BigEndian.Uint32(c[4:8])
	var got [8]byte
	copy(got[:], c[8:])
	mine := false
	for i := range secrets {
		var want [8]byte
		binary.LittleEndian.PutUint64(want[:], hash(&secrets[i], cc, &c, addr))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			mine = true
			break
		}
	}
	if !mine {
		return Invalid
	}
	// Serial arithmetic (RFC 1982): the signed distance from the cookie's
	// time to now, correct across the 32-bit wrap.
	age := int32(now - ts)
	switch {
	case age > maxAge || age < -maxFuture:
		return Stale
	case age >= RenewAge:
		return Renew
	}
	return Valid
}

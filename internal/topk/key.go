package topk

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
)

// key packs a prefix without pointers, so that counter arrays are not
// scanned by the garbage collector: the address (IPv4 as ::ffff:a.b.c.d)
// as two words, compared in two instructions, and a tag byte.
type key struct {
	hi, lo uint64
	tag    uint8
}

// The tag byte gives IPv4 and IPv6 disjoint ranges, so that 192.0.2.0/24
// and ::ffff:192.0.2.0/24 neither collide nor compare equal. Storing bits+1
// keeps invalid prefixes that still carry an address (bits -1) apart too.
const (
	tagV6   = 0   // 0 + bits + 1: 0..129
	tagV4   = 130 // 130 + bits + 1: 130..163
	tagZero = 255 // no address: the zero Prefix
)

func makeKey(p netip.Prefix) key {
	a := p.Addr()
	if !a.IsValid() {
		return key{tag: tagZero}
	}
	b := a.As16()
	tag := tagV6
	if a.Is4() {
		tag = tagV4
	}
	return key{
		hi:  binary.BigEndian.Uint64(b[:8]),
		lo:  binary.BigEndian.Uint64(b[8:]),
		tag: uint8(tag + p.Bits() + 1),
	}
}

// hash is the seeded hash of k. The 17 bytes are written with word
// stores into an array that stays on the stack.
func (k *key) hash(seed maphash.Seed) uint64 {
	var b [17]byte
	binary.LittleEndian.PutUint64(b[:8], k.hi)
	binary.LittleEndian.PutUint64(b[8:16], k.lo)
	b[16] = k.tag
	return maphash.Bytes(seed, b[:])
}

// prefix gives back the prefix makeKey packed.
func (k *key) prefix() netip.Prefix {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	switch tag := int(k.tag); {
	case tag == tagZero:
		return netip.Prefix{}
	case tag >= tagV4:
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[12:])), tag-tagV4-1)
	default:
		return netip.PrefixFrom(netip.AddrFrom16(b), tag-tagV6-1)
	}
}

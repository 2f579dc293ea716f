package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// First and last usable addresses of 127.0.0.0/8: the network and
// broadcast addresses are never used as sources.
const (
	loFirst = 0x7f000001
	loLast  = 0x7ffffffe
)

// checkLoopback refuses anything that is not 127.0.0.0/8 or ::1, so this
// tool can never be pointed at, or spoof, a real network.
func checkLoopback(what string, a netip.Addr) error {
	if !a.IsValid() || !a.Unmap().IsLoopback() {
		return fmt.Errorf("%s %v is not a loopback address (127.0.0.0/8 or ::1): refusing", what, a)
	}
	return nil
}

// sourceWalker hands out n distinct IPv4 loopback addresses round-robin,
// counting up from base, wrapping inside 127.0.0.0/8 and skipping the
// addresses in skip (the legitimate client, the server).
type sourceWalker struct {
	first, cur uint32
	n, i       int
	skip       map[uint32]bool
}

func newSourceWalker(base netip.Addr, n int, skip ...netip.Addr) (*sourceWalker, error) {
	base = base.Unmap()
	if err := checkLoopback("source base", base); err != nil {
		return nil, err
	}
	if !base.Is4() {
		return nil, fmt.Errorf("source base %v: many sources need IPv4 (127.0.0.0/8)", base)
	}
	w := &sourceWalker{n: n, skip: map[uint32]bool{}}
	for _, s := range skip {
		if s = s.Unmap(); s.Is4() && s.IsLoopback() {
			w.skip[addrU32(s)] = true
		}
	}
	if avail := loLast - loFirst + 1 - len(w.skip); n < 1 || n > avail {
		return nil, fmt.Errorf("sources must be 1..%d, got %d", avail, n)
	}
	w.first = addrU32(base)
	if w.first < loFirst || w.first > loLast || w.skip[w.first] {
		w.first = w.step(w.first)
	}
	w.cur = w.first
	return w, nil
}

// step returns the next usable address after x.
func (w *sourceWalker) step(x uint32) uint32 {
	for {
		if x++; x > loLast || x < loFirst {
			x = loFirst
		}
		if !w.skip[x] {
			return x
		}
	}
}

// next returns the next source; after n of them it starts over at base.
func (w *sourceWalker) next() netip.Addr {
	if w.i == w.n {
		w.i, w.cur = 0, w.first
	}
	a := w.cur
	w.cur = w.step(w.cur)
	w.i++
	return u32Addr(a)
}

func addrU32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func u32Addr(x uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x)
	return netip.AddrFrom4(b)
}

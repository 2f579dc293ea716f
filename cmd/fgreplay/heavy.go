package main

import (
	"net/netip"
	"slices"
)

// tally counts one client prefix's queries and what became of them.
type tally struct {
	prefix   netip.Prefix
	queries  uint64
	err      uint64 // queries counted for prefixes this entry replaced (Space-Saving's bound)
	outcomes [numOutcomes]uint64
	bytesIn  uint64
	bytesOut uint64
}

// heavy finds the client prefixes that sent the most queries in fixed
// memory, however many prefixes a flood spoofs: Space-Saving (Metwally et
// al., 2005) over a min-heap. Any prefix that sent more than a 1/size share
// of the queries is in it; an entry's queries overstate its true count by
// at most err.
type heavy struct {
	size int
	idx  map[netip.Prefix]int32 // prefix -> position in h
	h    []tally
}

func newHeavy(size int) *heavy {
	return &heavy{size: size, idx: make(map[netip.Prefix]int32, size)}
}

func (hv *heavy) add(p netip.Prefix, o outcome, in, out int) {
	i, ok := hv.idx[p]
	switch {
	case ok:
	case len(hv.h) < hv.size:
		hv.h = append(hv.h, tally{prefix: p})
		i = int32(len(hv.h) - 1)
		hv.idx[p] = i
		i = hv.up(i)
	default:
		// Replace the least counted: the newcomer may have been it all along.
		min := hv.h[0].queries
		delete(hv.idx, hv.h[0].prefix)
		hv.h[0] = tally{prefix: p, queries: min, err: min}
		hv.idx[p] = 0
		i = 0
	}
	t := &hv.h[i]
	t.queries++
	t.outcomes[o]++
	t.bytesIn += uint64(in)
	t.bytesOut += uint64(out)
	hv.down(i)
}

func (hv *heavy) less(a, b int32) bool { return hv.h[a].queries < hv.h[b].queries }

func (hv *heavy) swap(a, b int32) {
	hv.h[a], hv.h[b] = hv.h[b], hv.h[a]
	hv.idx[hv.h[a].prefix], hv.idx[hv.h[b].prefix] = a, b
}

func (hv *heavy) up(i int32) int32 {
	for i > 0 {
		parent := (i - 1) / 2
		if !hv.less(i, parent) {
			break
		}
		hv.swap(i, parent)
		i = parent
	}
	return i
}

func (hv *heavy) down(i int32) {
	n := int32(len(hv.h))
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && hv.less(r, l) {
			m = r
		}
		if !hv.less(m, i) {
			return
		}
		hv.swap(i, m)
		i = m
	}
}

// top returns the n most counted prefixes, most first (ties by prefix, so
// a report is the same every run).
func (hv *heavy) top(n int) []tally {
	out := slices.Clone(hv.h)
	slices.SortFunc(out, func(a, b tally) int {
		if a.queries != b.queries {
			if a.queries > b.queries {
				return -1
			}
			return 1
		}
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return a.prefix.Bits() - b.prefix.Bits()
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

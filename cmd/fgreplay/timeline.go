package main

import (
	"net/netip"
	"slices"
)

// bucket is one step of the timeline.
type bucket struct {
	queries     uint64
	udpIn       uint64 // UDP query bytes
	udpOut      uint64 // UDP reply bytes, as the replay sent them
	capturedOut uint64 // UDP response bytes the capture holds
	outcomes    [numOutcomes]uint64
}

// timeline keeps per-step totals in bounded memory: steps start at a
// second, and when a capture runs past maxBuckets steps each step doubles
// and neighbours merge.
type timeline struct {
	step    int64 // ns
	buckets []bucket
}

const maxBuckets = 4096

func newTimeline() *timeline { return &timeline{step: 1e9} }

// at returns the bucket of capture time t (ns since the first packet).
func (tl *timeline) at(t int64) *bucket {
	i := t / tl.step
	for i >= maxBuckets {
		tl.merge()
		i = t / tl.step
	}
	for int64(len(tl.buckets)) <= i {
		tl.buckets = append(tl.buckets, bucket{})
	}
	return &tl.buckets[i]
}

func (tl *timeline) merge() {
	half := make([]bucket, (len(tl.buckets)+1)/2)
	for i, b := range tl.buckets {
		h := &half[i/2]
		h.queries += b.queries
		h.udpIn += b.udpIn
		h.udpOut += b.udpOut
		h.capturedOut += b.capturedOut
		for o := range b.outcomes {
			h.outcomes[o] += b.outcomes[o]
		}
	}
	tl.buckets, tl.step = half, tl.step*2
}

// collateral counts the queries of the prefixes named as legitimate.
type collateral struct {
	byLen   map[int]map[netip.Prefix]*tally // by prefix length, for a lookup per length
	lengths []int
	order   []netip.Prefix // as given
}

func newCollateral(legit []netip.Prefix) *collateral {
	c := &collateral{byLen: map[int]map[netip.Prefix]*tally{}}
	for _, p := range legit {
		p = p.Masked()
		m := c.byLen[p.Bits()]
		if m == nil {
			m = map[netip.Prefix]*tally{}
			c.byLen[p.Bits()] = m
			c.lengths = append(c.lengths, p.Bits())
		}
		if _, dup := m[p]; !dup {
			m[p] = &tally{prefix: p}
			c.order = append(c.order, p)
		}
	}
	slices.Sort(c.lengths)
	return c
}

func (c *collateral) add(a netip.Addr, o outcome, in, out int) {
	for _, bits := range c.lengths {
		if bits > a.BitLen() {
			continue
		}
		p, _ := a.Prefix(bits)
		t := c.byLen[bits][p]
		if t == nil || t.prefix.Addr().Is4() != a.Is4() {
			continue
		}
		t.queries++
		t.outcomes[o]++
		t.bytesIn += uint64(in)
		t.bytesOut += uint64(out)
	}
}

func (c *collateral) list() []*tally {
	out := make([]*tally, 0, len(c.order))
	for _, p := range c.order {
		out = append(out, c.byLen[p.Bits()][p])
	}
	return out
}

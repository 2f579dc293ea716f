package topk

import (
	"cmp"
	"net/netip"
	"slices"
)

// Entry is one prefix of a ranking.
type Entry struct {
	Prefix   netip.Prefix
	Estimate uint64 // the ranking's estimate (queries or response bytes): an upper bound
	Error    uint64 // Estimate-Error is a lower bound of the true value

	// Counted exactly since the ranking's counter took the prefix (lower
	// bounds), summed over the epochs of the window.
	Queries, RequestBytes, ResponseBytes, Dropped, Slipped, Refused uint64
}

// Top lists at most n prefixes of the window that ends at now, heaviest
// first by the ranking by; ties go in prefix order.
func (s *Summary) Top(now int64, n int, by By) []Entry {
	if n <= 0 || by >= rankings {
		return nil
	}
	e := floorDiv(now, s.epochLen)
	perShard := s.epochs * s.m
	var (
		snaps = make([]snap, 0, s.epochs)
		buf   = make([]item, 0, perShard)
		out   = make([]agg, 0, nShards*perShard)
		seen  = make(map[key]int, perShard)
	)
	for i := range s.shards {
		snaps, buf = s.shards[i].snapshot(by, e, s.epochs, snaps[:0], buf[:0])
		clear(seen) // a key lives in one shard only: shards merge as a union
		out = merge(snaps, buf, seen, out)
	}
	out = heaviest(out, n)
	top := make([]Entry, len(out))
	for i := range top {
		top[i] = out[i].Entry
	}
	return top
}

// heaviest sorts the n heaviest entries first and cuts the rest. Prefix
// order breaks ties, but comparing prefixes is slow and a flood makes
// thousands of ties, so estimates alone sort first and only the entries
// that can make the cut are sorted again in full.
func heaviest(out []agg, n int) []agg {
	slices.SortFunc(out, func(a, b agg) int { return cmp.Compare(b.Estimate, a.Estimate) })
	n = min(n, len(out))
	end := n // past the ties of the n-th entry
	for end > 0 && end < len(out) && out[end].Estimate == out[n-1].Estimate {
		end++
	}
	slices.SortFunc(out[:end], func(a, b agg) int {
		if c := cmp.Compare(b.Estimate, a.Estimate); c != 0 {
			return c
		}
		if c := a.Prefix.Compare(b.Prefix); c != 0 {
			return c
		}
		// Compare may call distinct invalid prefixes equal.
		return cmp.Or(cmp.Compare(a.key.hi, b.key.hi), cmp.Compare(a.key.lo, b.key.lo), cmp.Compare(a.key.tag, b.key.tag))
	})
	return out[:n]
}

// item is a counter copied out, with its count.
type item struct {
	counter
	count uint64
}

// snap locates, in a copy buffer, the counters of one epoch.
type snap struct {
	lo, hi int
	full   bool
	min    uint64
}

// snapshot copies the counters of ranking by in the window ending at epoch
// e, so that the merge runs without holding the lock.
func (sh *shard) snapshot(by By, e int64, epochs int, snaps []snap, buf []item) ([]snap, []item) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i := range sh.rank[by] {
		sm := &sh.rank[by][i]
		if !sm.live || sm.n == 0 || !inWindow(sm.epoch, e, epochs) {
			continue
		}
		sn := snap{lo: len(buf), full: sm.full(), min: sm.min()}
		for _, h := range sm.heap[:sm.n] {
			buf = append(buf, item{sm.c[h.ci], h.count})
		}
		sn.hi = len(buf)
		snaps = append(snaps, sn)
	}
	return snaps, buf
}

// agg is an entry being merged.
type agg struct {
	Entry
	key     key
	fullMin uint64 // sum of the minimums of the full epochs that hold key
}

// merge adds the epochs of one shard to out, one entry per key.
func merge(snaps []snap, buf []item, seen map[key]int, out []agg) []agg {
	var fullMin uint64 // what an epoch that is full but lacks a key may hide
	for _, sn := range snaps {
		if sn.full {
			fullMin += sn.min
		}
	}
	start := len(out)
	for _, sn := range snaps {
		for i := sn.lo; i < sn.hi; i++ {
			c := &buf[i]
			j, ok := seen[c.key]
			if !ok {
				j = len(out)
				seen[c.key] = j
				out = append(out, agg{key: c.key})
				out[j].Prefix = c.key.prefix()
			}
			a := &out[j]
			a.Estimate += c.count
			a.Error += c.err
			a.add(&c.tally)
			if sn.full {
				a.fullMin += sn.min
			}
		}
	}
	for j := start; j < len(out); j++ {
		hidden := fullMin - out[j].fullMin
		out[j].Estimate += hidden
		out[j].Error += hidden
	}
	return out
}

func (a *agg) add(t *tally) {
	a.Queries += t.queries
	a.RequestBytes += t.reqBytes
	a.ResponseBytes += t.respBytes
	a.Dropped += t.dropped
	a.Slipped += t.slipped
	a.Refused += t.refused
}

package topk

import "math/bits"

// counter is one Space-Saving counter. Its count lives in the heap and its
// tag byte in the tag words, so that the hot loops read compact arrays.
type counter struct {
	key key
	err uint64 // how much of the count may belong to keys it replaced
	tally
}

// tally is what a counter saw, exactly, since it took its key.
type tally struct {
	queries, reqBytes, respBytes, dropped, slipped, refused uint64
}

// hit is one query, as it is added to a tally.
type hit struct {
	req, resp uint64
	o         Outcome
}

func (t *tally) add(x *hit) {
	t.queries++
	t.reqBytes += x.req
	t.respBytes += x.resp
	switch x.o {
	case Dropped:
		t.dropped++
	case Slipped:
		t.slipped++
	case Refused:
		t.refused++
	}
}

// summary is the Space-Saving summary of one ranking in one epoch of one
// shard. A key is found by comparing one hash byte per counter, eight at a
// time, which for a few dozen counters beats a hash table: no probe loops
// to mispredict and nothing to unlink on eviction. A min-heap finds the
// smallest count.
type summary struct {
	epoch int64
	live  bool // holds the counts of epoch
	n     int32
	total uint64 // weight counted in the epoch: N_s of the bound
	c     []counter
	tags  []uint64   // byte i%8 of word i/8: a hash byte of counter i's key
	heap  []heapSlot // smallest count first; heap[n] is a sentinel
	pos   []int32    // by counter: its place in heap
}

// newSummaries makes count summaries of m counters each from a few large
// allocations, to keep them together in memory.
func newSummaries(count, m int) []summary {
	words := (m + 7) / 8
	cs := make([]counter, count*m)
	ts := make([]uint64, count*words)
	hs := make([]heapSlot, count*(m+1))
	ps := make([]int32, count*m)
	ss := make([]summary, count)
	for i := range ss {
		ss[i].c = cs[i*m : (i+1)*m : (i+1)*m]
		ss[i].tags = ts[i*words : (i+1)*words : (i+1)*words]
		ss[i].heap = hs[i*(m+1) : (i+1)*(m+1) : (i+1)*(m+1)]
		ss[i].pos = ps[i*m : (i+1)*m : (i+1)*m]
		ss[i].heap[0] = sentinel
	}
	return ss
}

// reset empties s for epoch e. Counters and tags are not cleared: only
// the first n count, and each is written in full when it takes a key.
func (s *summary) reset(e int64) {
	s.epoch, s.live, s.n, s.total = e, true, 0, 0
	s.heap[0] = sentinel
}

func (s *summary) full() bool { return int(s.n) == len(s.c) }

// min is the smallest count, the weight a new key is charged on entry.
func (s *summary) min() uint64 { return s.heap[0].count }

// add counts weight w of key k, of hash h, for query x.
func (s *summary) add(k *key, h, w uint64, x *hit) {
	t := uint8(h)
	if i := s.find(k, t); i >= 0 {
		pos := s.pos[i]
		s.heap[pos].count += w
		s.c[i].tally.add(x)
		s.total += w
		s.down(pos)
		return
	}
	if w == 0 {
		return // nothing to rank: do not evict a counter for it
	}
	s.total += w
	if !s.full() {
		i := s.n
		s.n++
		s.take(i, k, t, 0, x)
		s.heap[i] = heapSlot{count: w, ci: i}
		s.heap[i+1] = sentinel
		s.up(i)
		return
	}
	// Replace the smallest count; it can only move down the heap.
	floor := s.heap[0].count
	i := s.heap[0].ci
	s.take(i, k, t, floor, x)
	s.heap[0].count = floor + w
	s.down(0)
}

// take gives counter i to key k, charged with floor: the weight it cannot
// tell apart from that of the keys it replaced.
func (s *summary) take(i int32, k *key, t uint8, floor uint64, x *hit) {
	c := &s.c[i]
	c.key, c.err = *k, floor
	c.tally = tally{}
	c.tally.add(x)
	shift := 8 * uint(i&7)
	s.tags[i>>3] = s.tags[i>>3]&^(0xff<<shift) | uint64(t)<<shift
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// find returns the counter of k, whose tag byte is t, or -1.
func (s *summary) find(k *key, t uint8) int32 {
	b := uint64(t) * ones
	for w, word := range s.tags[:(s.n+7)/8] {
		x := word ^ b
		// High bit set in each byte of x that is zero (and maybe in
		// bytes above one that is: the key check sorts those out).
		for m := (x - ones) &^ x & high; m != 0; m &= m - 1 {
			i := int32(w*8 + bits.TrailingZeros64(m)/8)
			if i < s.n && s.c[i].key == *k {
				return i
			}
		}
	}
	return -1
}

package topk

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"unsafe"
)

// Outcome is what became of a query.
type Outcome uint8

const (
	Answered Outcome = iota // sent as the next plugin wrote it (or changed but sent in full)
	Dropped                 // no reply
	Slipped                 // truncated (TC=1) or BADCOOKIE instead of the answer
	Refused                 // REFUSED by policy
)

// By names a ranking.
type By uint8

const (
	ByQueries By = iota // weight 1 per query
	ByBytes             // weight: the response bytes of the query
)

const (
	shardBits = 4
	nShards   = 1 << shardBits
	rankings  = 2

	// Upper clamps, so that a wild argument cannot ask for gigabytes or
	// make Add slow: it scans one byte per counter of a shard.
	maxCounters = 1 << 14
	maxEpochs   = 1 << 10

	cacheLine = 128 // two lines: adjacent-line prefetch shares pairs
)

// Summary is a sharded, windowed Space-Saving summary of client prefixes.
// It is safe for concurrent use.
type Summary struct {
	seed     maphash.Seed
	epochLen int64
	epochs   int
	m        int // counters per shard and ranking
	shards   [nShards]paddedShard
}

type shard struct {
	mu      sync.Mutex
	started bool
	cur     int64 // newest epoch counted: never goes back
	start   int64 // cur*epochLen, wrapping: where cur begins, in ns
	slot    int   // ring index of cur
	rank    [rankings][]summary
}

// paddedShard keeps each shard's lock on its own cache lines, so that
// cores adding to different shards do not slow each other down.
type paddedShard struct {
	shard
	_ [cacheLine - unsafe.Sizeof(shard{})%cacheLine]byte
}

// New makes a summary of counters counters per ranking in total, over a
// window of epochs epochs of epochLen nanoseconds each. Arguments out of
// range are clamped: counters is rounded up to a multiple of 16 (at least
// 16, at most 1<<14), epochs to 1..1024, and epochLen to at least 1.
func New(counters int, epochLen int64, epochs int) *Summary {
	counters = min(max(counters, nShards), maxCounters)
	epochs = min(max(epochs, 1), maxEpochs)
	s := &Summary{
		seed:     maphash.MakeSeed(),
		epochLen: max(epochLen, 1),
		epochs:   epochs,
		m:        (counters + nShards - 1) / nShards,
	}
	for i := range s.shards {
		for r := range s.shards[i].rank {
			s.shards[i].rank[r] = newSummaries(epochs, s.m)
		}
	}
	return s
}

// Counters is the number of counters per ranking in total.
func (s *Summary) Counters() int { return s.m * nShards }

// Bytes is the approximate memory the summary holds, all of it allocated
// by New.
func (s *Summary) Bytes() int {
	n := int(unsafe.Sizeof(*s))
	for i := range s.shards {
		for _, ring := range s.shards[i].rank {
			for j := range ring {
				n += int(unsafe.Sizeof(ring[j])) +
					len(ring[j].c)*int(unsafe.Sizeof(counter{})) +
					len(ring[j].tags)*8 +
					len(ring[j].heap)*int(unsafe.Sizeof(heapSlot{})) +
					len(ring[j].pos)*4
			}
		}
	}
	return n
}

// Add counts one query of prefix p at time now, in nanoseconds. Negative
// byte counts count as 0. The prefix is counted as given: callers pass it
// masked. The zero Prefix is a valid key.
func (s *Summary) Add(now int64, p netip.Prefix, requestBytes, responseBytes int, o Outcome) {
	k := makeKey(p)
	h := k.hash(s.seed)
	x := hit{req: uint64(max(requestBytes, 0)), resp: uint64(max(responseBytes, 0)), o: o}
	// The top bits pick the shard; the tags inside use the low byte.
	sh := &s.shards[h>>(64-shardBits)]
	sh.mu.Lock()
	slot := sh.slot
	// Most calls fall in the current epoch: spare them the division. The
	// unsigned difference is exact even where start wrapped.
	if !sh.started || uint64(now)-uint64(sh.start) >= uint64(s.epochLen) {
		slot = sh.advance(floorDiv(now, s.epochLen), s.epochLen, s.epochs)
	}
	sh.rank[ByQueries][slot].add(&k, h, 1, &x)
	sh.rank[ByBytes][slot].add(&k, h, x.resp, &x)
	sh.mu.Unlock()
}

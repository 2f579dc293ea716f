package topk

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// net24 is the i-th IPv4 /24.
func net24(i uint32) netip.Prefix {
	a := i << 8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
}

// randNets makes n pseudo-random /24s, the same on every run.
func randNets(seed uint64, n int) []netip.Prefix {
	r := rand.New(rand.NewPCG(seed, 0))
	ps := make([]netip.Prefix, n)
	for i := range ps {
		ps[i] = net24(r.Uint32() >> 8)
	}
	return ps
}

func shardOf(s *Summary, p netip.Prefix) *shard {
	k := makeKey(p)
	return &s.shards[k.hash(s.seed)>>(64-shardBits)].shard
}

// sameShard finds n /24s that land in one shard.
func sameShard(t *testing.T, s *Summary, n int) []netip.Prefix {
	t.Helper()
	byShard := map[*shard][]netip.Prefix{}
	for i := uint32(0); i < 10000; i++ {
		p := net24(0x0a0000 + i)
		sh := shardOf(s, p)
		byShard[sh] = append(byShard[sh], p)
		if len(byShard[sh]) == n {
			return byShard[sh]
		}
	}
	t.Fatal("no shard got enough prefixes")
	return nil
}

// bound is the accuracy bound of p's estimate at now: the sum over the
// window of the weight p's shard counted divided by its counters.
func bound(s *Summary, now int64, p netip.Prefix, by By) uint64 {
	sh := shardOf(s, p)
	e := floorDiv(now, s.epochLen)
	var b uint64
	for _, sm := range sh.rank[by] {
		if sm.live && inWindow(sm.epoch, e, s.epochs) {
			b += sm.total / uint64(s.m)
		}
	}
	return b
}

func entryOf(es []Entry, p netip.Prefix) (Entry, bool) {
	for _, e := range es {
		if e.Prefix == p {
			return e, true
		}
	}
	return Entry{}, false
}

package topk

import "math"

// heapSlot holds a counter's count: an upper bound of its key's weight.
type heapSlot struct {
	count uint64
	ci    int32
}

// sentinel sits after the last heap slot, so that a node with a left
// child always has a right one to compare, without a bounds test.
var sentinel = heapSlot{count: math.MaxUint64}

// up and down move the heap slot at j to its place, shifting the slots it
// passes instead of swapping, to write each slot once.
func (s *summary) up(j int32) {
	h := s.heap
	x := h[j]
	for j > 0 {
		p := (j - 1) / 2
		if h[p].count <= x.count {
			break
		}
		h[j] = h[p]
		s.pos[h[j].ci] = j
		j = p
	}
	h[j] = x
	s.pos[x.ci] = j
}

func (s *summary) down(j int32) {
	h := s.heap[:s.n+1] // with the sentinel
	x := h[j]
	for {
		m := 2*j + 1
		if m >= s.n {
			break
		}
		if h[m+1].count < h[m].count {
			m++
		}
		if h[m].count >= x.count {
			break
		}
		h[j] = h[m]
		s.pos[h[j].ci] = j
		j = m
	}
	h[j] = x
	s.pos[x.ci] = j
}

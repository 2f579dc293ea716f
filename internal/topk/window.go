package topk

// advance moves the shard to epoch e if e is newer, and returns the ring
// slot to count in. An older e counts in the current epoch.
func (sh *shard) advance(e, epochLen int64, epochs int) int {
	if sh.started && e <= sh.cur {
		return sh.slot
	}
	sh.started, sh.cur, sh.start = true, e, e*epochLen
	sh.slot = int(floorMod(e, int64(epochs)))
	for _, ring := range sh.rank {
		for i := range ring {
			if i == sh.slot {
				ring[i].reset(e)
			} else if ring[i].live && !inWindow(ring[i].epoch, e, epochs) {
				ring[i].live = false
			}
		}
	}
	return sh.slot
}

// inWindow reports whether epoch tag is in the window that ends at epoch e,
// or after it. The unsigned difference cannot overflow.
func inWindow(tag, e int64, epochs int) bool {
	return tag > e || uint64(e)-uint64(tag) < uint64(epochs)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

//go:build !unix

package floodguard

// allocSets allocates the table's sets on the heap where there is no mmap.
func allocSets(_ *table, n int) []set { return make([]set, n) }

//go:build unix

package floodguard

import (
	"runtime"
	"syscall"
	"unsafe"
)

// allocSets maps the table's sets outside the Go heap. The table is large,
// long-lived and holds no pointers; on the heap it would also raise the
// garbage collector's heap goal by its own size (GOGC doubles the live
// heap), so a 12 MB table would let CoreDNS's per-query garbage take 12 MB
// more under load. The mapping is released when the table is unreachable.
//
// The mapping has 2 MiB to spare so that the table can start on a 2 MiB
// boundary, where transparent huge pages can back all of it; the spare
// pages are never touched, so they take no memory.
func allocSets(t *table, n int) []set {
	const hugePage = 2 << 20
	size := n * int(unsafe.Sizeof(set{}))
	mem, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]set, n) // no mapping to be had: the heap will do
	}
	off := (hugePage - int(uintptr(unsafe.Pointer(&mem[0]))%hugePage)) % hugePage
	adviseHugePages(mem[off : off+size])
	runtime.SetFinalizer(t, func(*table) { syscall.Munmap(mem) })
	return unsafe.Slice((*set)(unsafe.Pointer(&mem[off])), n)
}

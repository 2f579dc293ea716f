package floodguard

import "syscall"

// adviseHugePages asks for transparent huge pages on the table's mapping.
// Each query touches a random slot of a 12 MB table: in 4 KiB pages that is
// a TLB miss and a page walk (two-dimensional in a virtual machine) nearly
// every time; in 2 MiB pages the whole table fits a handful of TLB entries.
// Where THP is off or unavailable, the advice is ignored.
func adviseHugePages(mem []byte) {
	_ = syscall.Madvise(mem, syscall.MADV_HUGEPAGE)
}

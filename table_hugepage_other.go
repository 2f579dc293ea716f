//go:build unix && !linux

package floodguard

// adviseHugePages: transparent huge pages are a Linux feature.
func adviseHugePages([]byte) {}

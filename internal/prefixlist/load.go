package prefixlist

import (
	"io"
	"os"
)

// Load reads and parses the list file at path.
func Load(path string) (*List, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readFile reads at most MaxBytes+1 bytes, enough for Parse to reject an
// oversized file without an unbounded one being read into memory.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxBytes+1))
}

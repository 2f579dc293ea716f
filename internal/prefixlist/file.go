package prefixlist

import (
	"crypto/sha256"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// File tracks one list file and re-reads it when its content changes.
type File struct {
	path string
	cur  atomic.Pointer[List] // read on the hot path without a lock

	mu      sync.Mutex // serialises Reload
	seen    bool       // last is set
	last    outcome    // of the last read, good or bad
	curSum  [sha256.Size]byte
	haveCur bool  // curSum is set
	stamp   stamp // the file as last read, so an unchanged one is not read again
}

// stamp is what os.Stat says of a file: a file that keeps its stamp is
// taken as unchanged without reading it. A ConfigMap update, a rename over
// the file or an edit in place changes the file's identity, size or mtime.
type stamp struct {
	fi      os.FileInfo
	size    int64
	modTime time.Time
}

func (s stamp) same(fi os.FileInfo) bool {
	return s.fi != nil && os.SameFile(s.fi, fi) && s.size == fi.Size() && s.modTime.Equal(fi.ModTime())
}

// outcome identifies what a read found: the content's hash, or the read
// error. Reload reports each distinct outcome once, so a caller polling
// every second logs a broken file once and not every second.
type outcome struct {
	sum     [sha256.Size]byte
	readErr string
}

// NewFile returns a File for path, with no list yet: call Reload.
func NewFile(path string) *File {
	return &File{path: path}
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Current returns the list in force: nil until a read has succeeded.
func (f *File) Current() *List { return f.cur.Load() }

// Reload reads the file, unless its stamp (identity, size, mtime) is the
// same as at the last read. The hash of its content is compared, not its
// mtime: Kubernetes swaps a symlink to update a ConfigMap volume, and a
// rewrite with the same content must not count as a change. If the content is the same as at the last read, good or bad, Reload
// returns (current, false, nil) without parsing. If it changed and parses,
// the new list is put in force and returned with changed true. If it changed
// and does not parse, or the file cannot be read, the current list stays in
// force and the error is returned, once: the next call with the same content
// (or the same read error) returns no error.
func (f *File) Reload() (l *List, changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.cur.Load()

	// Polled every second, a 16 MiB file must not be read and hashed every
	// second: an unchanged stamp is enough to skip it.
	fi, serr := os.Stat(f.path)
	if serr == nil && f.seen && f.stamp.same(fi) {
		return cur, false, nil
	}
	f.stamp = stamp{}
	if serr == nil {
		f.stamp = stamp{fi: fi, size: fi.Size(), modTime: fi.ModTime()}
	}
	data, rerr := readFile(f.path)
	var o outcome
	if rerr != nil {
		o.readErr = rerr.Error()
	} else {
		o.sum = sha256.Sum256(data)
	}
	if f.seen && o == f.last {
		return cur, false, nil
	}
	f.last, f.seen = o, true
	if rerr != nil {
		return cur, false, rerr
	}
	// Back to the content in force, after a bad spell: nothing to do.
	if f.haveCur && o.sum == f.curSum {
		return cur, false, nil
	}

	nl, err := Parse(f.path, data)
	if err != nil {
		return cur, false, err
	}
	f.cur.Store(nl)
	f.curSum, f.haveCur = o.sum, true
	return nl, true, nil
}

package prefixlist

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFileReload walks one file through the states an operator can put it
// in, one step after the other.
func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deny.txt")
	const (
		a      = "192.0.2.0/24\n"
		b      = "192.0.2.0/24\n198.51.100.0/24\n"
		broken = "192.0.2.0/24\n198.51.100.1/24\n"
		other  = "192.0.2.0/24\nbanana\n"
	)
	steps := []struct {
		name    string
		act     func()
		changed bool
		err     string // in the error; "" for none
		want    int    // Len of the list in force; -1 for none
	}{
		{"valid", func() { writeFile(t, path, a) }, true, "", 1},
		{"unchanged", func() {}, false, "", 1},
		{"rewritten the same", func() {
			writeFile(t, path, a)
			future := time.Now().Add(time.Hour)
			if err := os.Chtimes(path, future, future); err != nil {
				t.Fatal(err)
			}
		}, false, "", 1},
		{"changed valid", func() { writeFile(t, path, b) }, true, "", 2},
		{"changed broken", func() { writeFile(t, path, broken) }, false, "deny.txt:2: ", 2},
		{"still broken: said once", func() {}, false, "", 2},
		{"broken again, differently", func() { writeFile(t, path, other) }, false, `"banana"`, 2},
		{"fixed", func() { writeFile(t, path, a) }, true, "", 1},
		{"missing", func() { os.Remove(path) }, false, "no such file", 1},
		{"still missing: said once", func() {}, false, "", 1},
		{"back as it was", func() { writeFile(t, path, a) }, false, "", 1},
		{"broken then back", func() { writeFile(t, path, broken) }, false, "host bits", 1},
		{"back again", func() { writeFile(t, path, a) }, false, "", 1},
		{"new content", func() { writeFile(t, path, b) }, true, "", 2},
	}
	f := NewFile(path)
	if f.Path() != path || f.Current() != nil {
		t.Fatal("new File not empty")
	}
	for _, s := range steps {
		s.act()
		l, changed, err := f.Reload()
		if changed != s.changed {
			t.Errorf("%s: changed = %v, want %v", s.name, changed, s.changed)
		}
		switch {
		case s.err == "" && err != nil:
			t.Errorf("%s: unexpected error %v", s.name, err)
		case s.err != "" && (err == nil || !strings.Contains(err.Error(), s.err)):
			t.Errorf("%s: error %v, want %q", s.name, err, s.err)
		}
		if l != f.Current() {
			t.Errorf("%s: returned list is not Current()", s.name)
		}
		if l.Len() != s.want {
			t.Errorf("%s: list in force has %d entries, want %d", s.name, l.Len(), s.want)
		}
	}
}

func TestFileMissingAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow.txt")
	f := NewFile(path)
	l, changed, err := f.Reload()
	if !errors.Is(err, fs.ErrNotExist) || l != nil || changed {
		t.Fatalf("Reload() = %v, %v, %v; want nil, false, not-exist", l, changed, err)
	}
	if f.Current().Contains(netip.MustParseAddr("192.0.2.1"), time.Now()) {
		t.Error("nil list contains an address")
	}
	writeFile(t, path, "192.0.2.0/24\n")
	if l, changed, err := f.Reload(); err != nil || !changed || l.Len() != 1 {
		t.Fatalf("Reload() = %v, %v, %v; want the new list", l, changed, err)
	}
}

// TestFileSymlinkSwap updates a file as Kubernetes updates a ConfigMap
// volume: the file is a symlink through ..data to a directory, and ..data is
// replaced by rename. The new file's mtime is older, to show it is not used.
func TestFileSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, text string, mtime time.Time) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name, "deny.txt")
		writeFile(t, p, text)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	version("..v1", "192.0.2.0/24\n", old.Add(time.Hour))
	link("..v1", "..data")
	link("..data/deny.txt", "deny.txt")
	f := NewFile(filepath.Join(dir, "deny.txt"))
	if _, changed, err := f.Reload(); err != nil || !changed {
		t.Fatalf("first Reload: %v, %v", changed, err)
	}

	version("..v2", "192.0.2.0/24\n198.51.100.0/24\n", old)
	link("..v2", "..data_tmp")
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..v1")); err != nil {
		t.Fatal(err)
	}
	l, changed, err := f.Reload()
	if err != nil || !changed || !l.Contains(netip.MustParseAddr("198.51.100.1"), time.Now()) {
		t.Fatalf("after swap: %v, %v, %d entries; want the new list", changed, err, l.Len())
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data string // "" with size 0: no file
		size int    // if set, a file of this many bytes of comment
		err  string // in the error; "" for none
		want int
	}{
		{"good", "192.0.2.0/24\n2001:db8::/32\n", 0, "", 2},
		{"bad", "192.0.2.0/24\n\n192.0.2.1/24\n", 0, "bad.txt:3: ", 0},
		{"missing", "", 0, "no such file", 0},
		{"MaxBytes", "", MaxBytes, "", 0},
		{"too big", "", 4 * MaxBytes, "larger than", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".txt")
			switch {
			case tt.size > 0:
				writeFile(t, path, "#"+strings.Repeat(" ", tt.size-1))
			case tt.data != "":
				writeFile(t, path, tt.data)
			}
			l, err := Load(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != tt.want {
				t.Errorf("Len() = %d, want %d", l.Len(), tt.want)
			}
		})
	}
}

// TestFileConcurrent looks up while the file is reloaded, for the race
// detector.
func TestFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deny.txt")
	writeFile(t, path, "192.0.2.0/24\n")
	f := NewFile(path)
	if _, _, err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			addr := netip.MustParseAddr("192.0.2.1")
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !f.Current().Contains(addr, time.Now()) {
					t.Error("lost the entry during a reload")
					return
				}
			}
		})
	}
	texts := []string{"192.0.2.0/24\n", "192.0.2.0/24\n198.51.100.0/24\n", "broken\n"}
	for i := range 50 {
		writeFile(t, path+".tmp", texts[i%len(texts)])
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		f.Reload()
	}
	close(stop)
	wg.Wait()
}

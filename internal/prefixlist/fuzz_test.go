package prefixlist

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, and that what it accepts is
// well formed: canonical prefixes that Lookup finds, and that survive being
// written out and parsed again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"192.0.2.0/24\n",
		"192.0.2.7 2026-12-31T00:00:00Z # a comment\r\n",
		"2001:db8::/48\t#\n::ffff:192.0.2.0/120\n",
		"192.0.2.1/24\n",
		"fe80::1%eth0\n",
		"0.0.0.0/0 0000-01-01T00:00:00Z\n::/0 9999-12-31T23:59:59.999999999+14:00\n",
		"192.0.2.0/24 x y\n# only\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.txt", data)
		if err != nil {
			if l != nil {
				t.Fatal("list and error both returned")
			}
			if !strings.HasPrefix(err.Error(), "fuzz.txt:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		var out strings.Builder
		for _, e := range l.Entries() {
			p := e.Prefix
			if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("entry %v is not canonical", p)
			}
			// Live at its expiry, the entry (or a longer one) contains its
			// own address.
			got, ok := l.Lookup(p.Addr(), e.Expires)
			if !ok || got.Prefix.Bits() < p.Bits() {
				t.Fatalf("Lookup(%v) = %v, %v", p.Addr(), got.Prefix, ok)
			}
			out.WriteString(p.String())
			if !e.Expires.IsZero() {
				out.WriteString(" " + e.Expires.Format(time.RFC3339Nano))
			}
			out.WriteString(" #" + e.Comment + "\n")
		}
		again, err := Parse("again.txt", []byte(out.String()))
		if err != nil {
			t.Fatalf("written out %q, does not parse again: %v", out.String(), err)
		}
		if a, b := withoutLines(l.Entries()), withoutLines(again.Entries()); strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("entries\n%s\nwritten out and parsed again\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	})
}

// withoutLines describes entries leaving out their lines, which change when
// a list is written out again.
func withoutLines(es []Entry) []string {
	for i := range es {
		es[i].Line = 0
	}
	return describe(es)
}

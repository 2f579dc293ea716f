package prefixlist

import (
	"net/netip"
	"strings"
	"time"
)

const (
	// MaxEntries is the most entry lines a file may hold, so that a list's
	// memory stays bounded whatever is written into the file.
	MaxEntries = 100_000
	// MaxBytes is the largest file accepted (16 MiB).
	MaxBytes = 16 << 20
)

// Parse reads a list from the contents of a file. Path is only used in
// error messages. On error, Parse returns a nil List and an *Error that
// gives the line of the first problem.
func Parse(path string, data []byte) (*List, error) {
	if len(data) > MaxBytes {
		return nil, errorf(path, 0, "file is larger than %d bytes (MaxBytes)", MaxBytes)
	}
	byPrefix := make(map[netip.Prefix]Entry)
	text := string(data)
	entries := 0
	for lineNo := 1; len(text) > 0; lineNo++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		e, ok, err := parseLine(path, lineNo, line)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		// Counting lines rather than distinct prefixes stops a huge file
		// early, before the map has grown.
		if entries++; entries > MaxEntries {
			return nil, errorf(path, lineNo, "more than %d entries (MaxEntries)", MaxEntries)
		}
		byPrefix[e.Prefix] = e // a later line wins
	}
	return newList(byPrefix), nil
}

// parseLine reads one line; ok is false for blank and comment-only lines.
func parseLine(path string, lineNo int, line string) (e Entry, ok bool, err error) {
	line, comment, _ := strings.Cut(line, "#")
	fields := strings.Fields(line)
	switch {
	case len(fields) == 0:
		return Entry{}, false, nil
	case len(fields) > 2:
		return Entry{}, false, errorf(path, lineNo,
			"unexpected field %s (want PREFIX [EXPIRY] [# comment])", quote(fields[2]))
	}
	p, msg := parsePrefix(fields[0])
	if msg != "" {
		return Entry{}, false, errorf(path, lineNo, "%s", msg)
	}
	e = Entry{Prefix: p, Line: lineNo}
	if len(fields) == 2 {
		t, err := time.Parse(time.RFC3339, fields[1])
		if err != nil {
			return Entry{}, false, errorf(path, lineNo,
				"%s is not an RFC 3339 expiry time like 2026-12-31T00:00:00Z (comments start with #)",
				quote(fields[1]))
		}
		e.Expires = t
	}
	// Clone, or the comment would keep the whole file's text in memory.
	e.Comment = strings.Clone(strings.TrimSpace(comment))
	return e, true, nil
}

// parsePrefix reads a CIDR or a bare address. It returns a message, not an
// error, so that the caller adds the path and line.
func parsePrefix(s string) (netip.Prefix, string) {
	if strings.Contains(s, "%") {
		return netip.Prefix{}, quote(s) + " has a zone; zones are not allowed"
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, quote(s) + " is not an address or CIDR"
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, quote(s) + " is not an address or CIDR"
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, quote(s) + ": host bits set; did you mean " + m.String() + "?"
	}
	// Masking has kept the ::ffff: marker, so the prefix is at least /96.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p, ""
}

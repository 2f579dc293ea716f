// Package prefixlist reads lists of client prefixes from files, such as a
// deny list of banned prefixes or an allow list of trusted ones, and looks
// client addresses up in them without allocating.
//
// # File format
//
// One entry per line:
//
//	PREFIX [EXPIRY] [# comment]
//
// PREFIX is a CIDR (192.0.2.0/24, 2001:db8::/48) or a bare address, which
// stands for a /32 or a /128. A CIDR with host bits set (192.0.2.1/24) is an
// error, because it is most likely a typo. IPv4-mapped IPv6 addresses and
// prefixes (::ffff:192.0.2.0/120) are converted to their IPv4 form
// (192.0.2.0/24). An address with a zone (fe80::1%eth0) is an error.
//
// EXPIRY, optional, is an RFC 3339 time (2026-12-31T00:00:00Z). The entry
// applies up to and including that instant, and not after it.
//
// A # starts a comment, wherever it is on the line, that runs to the end of
// the line. The comment after an entry is kept, trimmed, in Entry.Comment.
// Blank lines and comment-only lines are ignored. Leading and trailing
// whitespace (spaces, tabs, the CR of CRLF files) is ignored, and fields are
// separated by any run of whitespace. Any other field is an error.
//
// When a prefix appears on several lines, the last line wins.
//
// A file may hold at most MaxEntries entry lines and MaxBytes bytes; a
// larger file is rejected as a whole.
//
// Errors name the file and the line, as in
//
//	/etc/coredns/deny.txt:7: "192.0.2.300/24" is not an address or CIDR
//
// Parse stops at the first error, and a file with any error is rejected as a
// whole: File keeps the list in force until the file is fixed.
//
// # Lookups
//
// Lookup finds the longest live prefix that contains an address. It tries
// each prefix length present in the list, longest first, with one map
// lookup each; IPv4 and IPv6 are kept apart, and an IPv4-mapped IPv6 address
// is looked up as IPv4. A List never changes after Parse, so lookups from
// many goroutines need no lock.
//
// # Reloading
//
// File re-reads a list file and parses it again only when the sha256 of its
// bytes has changed. Writers should replace a file atomically (write a new
// file, then rename it, as Kubernetes does for ConfigMap volumes): a
// half-written file that happens to parse is taken as it is.
package prefixlist

package floodguard

// longestZone returns the longest of zones that name is in (equal to or
// below), or "" for none. It matches as plugin.Zones.Matches does (ASCII
// case-insensitive, on label boundaries, escapes compared as written) but
// without dns.IsSubDomain's label-index slices (two allocations for each
// zone compared, on every query).
func longestZone(zones []string, name string) string {
	best := ""
	for _, z := range zones {
		if len(z) > len(best) && inZone(z, name) {
			best = z
		}
	}
	return best
}

// inZone reports whether name is zone or below it. Both are fully
// qualified presentation-format names.
func inZone(zone, name string) bool {
	if zone == "." {
		return true
	}
	cut := len(name) - len(zone)
	if cut < 0 || !equalFoldASCII(name[cut:], zone) {
		return false
	}
	if cut == 0 {
		return true
	}
	// The suffix must start a label: after a dot that is not escaped (an
	// even run of backslashes before it escapes only itself).
	if name[cut-1] != '.' {
		return false
	}
	slashes := 0
	for i := cut - 2; i >= 0 && name[i] == '\\'; i-- {
		slashes++
	}
	return slashes%2 == 0
}

// equalFoldASCII compares a and b ignoring ASCII case only, as DNS does.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x-'A' < 26 {
			x += 'a' - 'A'
		}
		if y-'A' < 26 {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

//go:build !race

package floodguard

// raceEnabled reports whether the race detector is on: tests that run
// millions of iterations size themselves down under it.
const raceEnabled = false

package floodguard

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
)

func TestLongestZone(t *testing.T) {
	zones := []string{"example.org.", "sub.example.org.", "example.net."}
	tests := []struct{ name, want string }{
		{"example.org.", "example.org."},
		{"www.example.org.", "example.org."},
		{"WWW.Example.ORG.", "example.org."},
		{"a.sub.example.org.", "sub.example.org."},
		{"sub.example.org.", "sub.example.org."},
		{"xsub.example.org.", "example.org."},
		{"badexample.org.", ""},
		{"org.", ""},
		{".", ""},
		{"", ""},
		{`a\.example.org.`, ""},              // an escaped dot joins the labels
		{`a\\.example.org.`, "example.org."}, // an escaped backslash, then a real dot
		{`a\\\.example.org.`, ""},
		{"www.example.net.", "example.net."},
	}
	for _, tt := range tests {
		if got := longestZone(zones, tt.name); got != tt.want {
			t.Errorf("longestZone(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := longestZone([]string{"."}, "anything.example."); got != "." {
		t.Errorf("root zone: %q", got)
	}
}

// TestLongestZoneMatchesCoreDNS: on random names made of labels with mixed
// case and escapes, longestZone agrees with plugin.Zones.Matches, which
// floodguard used before (and which allocates on every call).
func TestLongestZoneMatchesCoreDNS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"a", "A", "b", `\.`, `\\`, "0", "-"}
	label := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		return b.String()
	}
	fqdn := func(n int) string {
		labels := make([]string, n)
		for i := range labels {
			labels[i] = label()
		}
		return strings.Join(labels, ".") + "."
	}
	for i := range 20000 {
		zones := []string{fqdn(1 + rng.IntN(2)), fqdn(1 + rng.IntN(3))}
		name := fqdn(1 + rng.IntN(4))
		if rng.IntN(3) == 0 { // often below a zone, in another case
			name = label() + "." + strings.ToUpper(zones[rng.IntN(2)])
		}
		if got, want := longestZone(zones, name), plugin.Zones(zones).Matches(name); got != want {
			t.Fatalf("case %d: zones %q, name %q: got %q, CoreDNS %q", i, zones, name, got, want)
		}
	}
}

func TestLongestZoneAllocations(t *testing.T) {
	zones := []string{"example.org.", "example.net."}
	if n := testing.AllocsPerRun(100, func() { longestZone(zones, "www.Example.ORG.") }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

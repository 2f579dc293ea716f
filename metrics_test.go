package floodguard

import "testing"

// TestMetricsCache: each server label resolves to its own counters, the
// same ones every time, whichever label came first.
func TestMetricsCache(t *testing.T) {
	var c metricsCache
	a := c.get("dns://:1")
	b := c.get("dns://:2")
	if a == b {
		t.Fatal("two server labels share counters")
	}
	for i, tt := range []struct {
		server string
		want   *serverMetrics
	}{{"dns://:1", a}, {"dns://:2", b}, {"dns://:" + string('1'), a}, {"dns://:2", b}} {
		if got := c.get(tt.server); got != tt.want {
			t.Errorf("lookup %d of %q: other counters than at first", i, tt.server)
		}
	}
	if n := len(c.all()); n != 2 {
		t.Errorf("all() has %d labels, want 2", n)
	}
}

package floodguard

import (
	"context"
	"net"
	"testing"

	"github.com/miekg/dns"
)

// TestServeDNSAllocations pins the per-query allocations on the hot paths.
// Queries dropped before the next plugin allocate nothing. Those that reach
// it allocate two: CoreDNS's own plugin.NextOrFailure writer, and
// floodguard's limitWriter, made afresh for each query because a later
// plugin may keep it after the query is done (TestE2EWriterKeptByALaterPlugin).
func TestServeDNSAllocations(t *testing.T) {
	answer := answerFor(query("www.example.org", dns.TypeA, 1))
	q := query("www.example.org", dns.TypeA, 1)
	tests := []struct {
		name   string
		modify func(*config)
		prime  int     // queries sent before measuring
		want   float64 // allocations per query
	}{
		{"answer within the limit", func(c *config) { c.limits.perSecond[classResponse] = 1000 }, 0, 2},
		{"answer within the limit, named zones and authoritative", func(c *config) {
			c.zones = []string{"example.net.", "example.org."}
			c.authoritative = []string{"example.org."}
			c.rootMode = rootRefuse
			c.limits.perSecond[classResponse] = 1000
		}, 0, 2},
		{"answer dropped by the response limit", func(c *config) { c.limits.slip = 0 }, 100, 2},
		{"query dropped by queries-per-second", func(c *config) { c.qps, c.limits.slip = queryRate{1, 1}, 0 }, 10, 0},
		{"query dropped by a ban", func(c *config) {
			c.limits.perSecond[classResponse] = 1 // the name's second answer bans it
			c.ban = banConfig{limited: 1, within: 60 * nano, dur: 600 * nano}
		}, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.zones = []string{"."}
			tt.modify(&cfg)
			clk := &fakeClock{t: nano}
			f := newFloodguard(cfg, newState("alloc", cfg, clk.now))
			f.Next = answerBackend{answer}
			w := &benchWriter{addr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40212}}
			ctx := context.Background()
			for range tt.prime {
				f.ServeDNS(ctx, w, q)
			}
			got := testing.AllocsPerRun(200, func() { f.ServeDNS(ctx, w, q) })
			if got != tt.want {
				t.Errorf("%v allocations per query, want %v", got, tt.want)
			}
		})
	}
}

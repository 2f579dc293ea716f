package cookie

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

func mustSecret(t *testing.T, s string) Secret {
	t.Helper()
	sec, err := ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func mustClient(t *testing.T, s string) *[ClientLen]byte {
	t.Helper()
	var c [ClientLen]byte
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		t.Fatal(err)
	}
	return &c
}

func mustBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC9018Vectors reproduces RFC 9018 Appendix A: cookies made, and
// cookies checked, including one with reserved bytes that are not zero and
// one after a secret rollover.
func TestRFC9018Vectors(t *testing.T) {
	const (
		secret4  = "e5e973e5a6b2a43f48e7dc849e37bfcf"
		secret6  = "dd3bdf9344b678b185a6f5cb60fca715"
		rolled6  = "445536bcd2513298075a5d379663c962"
		client6  = "2001:db8:220:1:59de:d0f4:8769:82b8"
		cookie6b = "010000005cf7c609a6bb79d16625507a" // made with rolled6 at 1559741961
	)
	made := []struct {
		name   string
		secret string
		client string // client cookie
		addr   string
		ts     uint32
		want   string
	}{
		{"IPv4, first query", secret4, "2464c4abcf10c957", "198.51.100.100", 1559731985, "010000005cf79f111f8130c3eee29480"},
		{"IPv4, 40 minutes on", secret4, "2464c4abcf10c957", "198.51.100.100", 1559734385, "010000005cf7a871d4a564a1442aca77"},
		{"IPv6", secret6, "22681ab97d52c298", client6, 1559741817, "010000005cf7c57926556bd0934c72f8"},
		{"IPv6, after the rollover", rolled6, "22681ab97d52c298", client6, 1559741961, cookie6b},
	}
	for _, tt := range made {
		t.Run("make "+tt.name, func(t *testing.T) {
			sec := mustSecret(t, tt.secret)
			got := Server(&sec, mustClient(t, tt.client), netip.MustParseAddr(tt.addr), tt.ts)
			if h := hex.EncodeToString(got[:]); h != tt.want {
				t.Errorf("server cookie %s, want %s", h, tt.want)
			}
		})
	}

	checked := []struct {
		name    string
		secrets []string
		client  string
		cookie  string
		addr    string
		now     uint32
		want    Verdict
	}{
		{"reserved bytes hashed as received", []string{secret4}, "fc93fc62807ddb86", "01abcdef5cf78f71a314227b6679ebf5", "203.0.113.203", 1559727985, Valid},
		{"the same from another address", []string{secret4}, "fc93fc62807ddb86", "01abcdef5cf78f71a314227b6679ebf5", "203.0.113.204", 1559727985, Invalid},
		{"the same with another client cookie", []string{secret4}, "fc93fc62807ddb87", "01abcdef5cf78f71a314227b6679ebf5", "203.0.113.203", 1559727985, Invalid},
		{"IPv6 cookie of the old secret, the new one first", []string{rolled6, secret6}, "22681ab97d52c298", "010000005cf7c57926556bd0934c72f8", client6, 1559741961, Valid},
		{"IPv6 cookie of the old secret, once it is gone", []string{rolled6}, "22681ab97d52c298", "010000005cf7c57926556bd0934c72f8", client6, 1559741961, Invalid},
		{"3,600 s old", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 + 3600, Renew},
		{"3,601 s old", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 + 3601, Stale},
		{"300 s ahead", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 - 300, Valid},
		{"301 s ahead", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 - 301, Stale},
		{"1,799 s old", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 + 1799, Valid},
		{"1,800 s old: renew", []string{rolled6}, "22681ab97d52c298", cookie6b, client6, 1559741961 + 1800, Renew},
		{"version 2", []string{rolled6}, "22681ab97d52c298", "020000005cf7c609a6bb79d16625507a", client6, 1559741961, Invalid},
		{"a hash bit flipped", []string{rolled6}, "22681ab97d52c298", "010000005cf7c609a6bb79d16625507b", client6, 1559741961, Invalid},
		{"8 bytes: another server's", []string{rolled6}, "22681ab97d52c298", "010000005cf7c609", client6, 1559741961, Invalid},
		{"32 bytes: another server's", []string{rolled6}, "22681ab97d52c298", cookie6b + cookie6b, client6, 1559741961, Invalid},
	}
	for _, tt := range checked {
		t.Run("check "+tt.name, func(t *testing.T) {
			var secrets []Secret
			for _, s := range tt.secrets {
				secrets = append(secrets, mustSecret(t, s))
			}
			got := Check(secrets, mustClient(t, tt.client), mustBytes(t, tt.cookie), netip.MustParseAddr(tt.addr), tt.now)
			if got != tt.want {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}

// TestCheckAcrossTheWrap: timestamps compare in serial arithmetic, so a
// cookie made just before 2^32 seconds is still valid just after.
func TestCheckAcrossTheWrap(t *testing.T) {
	sec := mustSecret(t, "e5e973e5a6b2a43f48e7dc849e37bfcf")
	cc := mustClient(t, "2464c4abcf10c957")
	addr := netip.MustParseAddr("192.0.2.1")
	const made uint32 = 0xffffff00
	c := Server(&sec, cc, addr, made)
	for _, tt := range []struct {
		after int64 // seconds from the cookie's time to now
		want  Verdict
	}{
		{0, Valid},
		{512, Valid}, // past the wrap
		{3600, Renew},
		{3601, Stale},
		{-301, Stale},
	} {
		now := uint32(int64(made) + tt.after)
		if got := Check([]Secret{sec}, cc, c[:], addr, now); got != tt.want {
			t.Errorf("%d s after: %v, want %v", tt.after, got, tt.want)
		}
	}
}

// TestMappedAddressesAreIPv4: a client reaching a dual-stack socket as
// ::ffff:192.0.2.1 has the cookie of 192.0.2.1, as other servers make it.
func TestMappedAddressesAreIPv4(t *testing.T) {
	sec := mustSecret(t, "e5e973e5a6b2a43f48e7dc849e37bfcf")
	cc := mustClient(t, "2464c4abcf10c957")
	a := Server(&sec, cc, netip.MustParseAddr("198.51.100.100"), 1559731985)
	b := Server(&sec, cc, netip.MustParseAddr("::ffff:198.51.100.100"), 1559731985)
	if a != b {
		t.Errorf("mapped %x, plain %x", b, a)
	}
}

func TestParseSecret(t *testing.T) {
	for _, bad := range []string{"", "e5e973e5", "e5e973e5a6b2a43f48e7dc849e37bfcfaa", "g5e973e5a6b2a43f48e7dc849e37bfcf"} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseSecret("E5E973E5A6B2A43F48E7DC849E37BFCF"); err != nil {
		t.Errorf("upper case refused: %v", err)
	}
}

func TestNoAllocations(t *testing.T) {
	sec := mustSecret(t, "e5e973e5a6b2a43f48e7dc849e37bfcf")
	secrets := []Secret{sec}
	cc := mustClient(t, "2464c4abcf10c957")
	addr := netip.MustParseAddr("2001:db8::1")
	c := Server(&sec, cc, addr, 1559731985)
	if n := testing.AllocsPerRun(100, func() {
		c = Server(&sec, cc, addr, 1559731985)
		Check(secrets, cc, c[:], addr, 1559731985)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func BenchmarkCheck(b *testing.B) {
	sec := Secret{1, 2, 3}
	secrets := []Secret{sec}
	cc := &[ClientLen]byte{9, 8, 7}
	addr := netip.MustParseAddr("192.0.2.1")
	c := Server(&sec, cc, addr, 1559731985)
	b.ReportAllocs()
	for b.Loop() {
		if Check(secrets, cc, c[:], addr, 1559731985) != Valid {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkServer(b *testing.B) {
	sec := Secret{1, 2, 3}
	cc := &[ClientLen]byte{9, 8, 7}
	addr := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		Server(&sec, cc, addr, 1559731985)
	}
}

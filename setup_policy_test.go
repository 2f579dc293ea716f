package floodguard

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParsePolicyOptions(t *testing.T) {
	tests := []struct {
		input string
		check func(c config) bool
	}{
		{"floodguard", func(c config) bool {
			return c.anyMode == anyMinimal && c.rootMode == rootAllow && c.authoritative == nil
		}},
		{"floodguard {\n any truncate\n}", func(c config) bool { return c.anyMode == anyTruncate }},
		{"floodguard {\n any allow\n}", func(c config) bool { return c.anyMode == anyAllow }},
		{"floodguard {\n any-per-minute 4\n}", func(c config) bool { return c.anyPerMinute == 4 }},
		{"floodguard {\n authoritative example.org example.net\n}", func(c config) bool {
			return reflect.DeepEqual(c.authoritative, []string{"example.org.", "example.net."}) && c.rootMode == rootRefuse
		}},
		{"floodguard {\n authoritative example.org .\n}", func(c config) bool { return c.rootMode == rootAllow }},
		{"floodguard {\n authoritative example.org\n root drop\n}", func(c config) bool { return c.rootMode == rootDrop }},
		{"floodguard {\n authoritative example.org\n root allow\n}", func(c config) bool { return c.rootMode == rootAllow }},
		{"floodguard {\n recursion 10.0.0.0/8 2001:db8::/32\n}", func(c config) bool {
			return reflect.DeepEqual(c.recursion, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")})
		}},
		{"floodguard {\n recursion none\n}", func(c config) bool { return len(c.recursion) == 0 }},
		{"floodguard {\n queries-per-second 50\n}", func(c config) bool { return c.qps == queryRate{50, 50} }},
		{"floodguard {\n queries-per-second 50 200\n}", func(c config) bool { return c.qps == queryRate{50, 200} }},
		{"floodguard {\n ban 100 60s 10m\n}", func(c config) bool {
			return c.ban == banConfig{limited: 100, within: int64(time.Minute), dur: int64(10 * time.Minute)}
		}},
	}
	for _, tt := range tests {
		cfg, err := parse(newParseController(tt.input))
		if err != nil {
			t.Errorf("parse(%q): %v", tt.input, err)
			continue
		}
		if !tt.check(cfg) {
			t.Errorf("parse(%q) = %+v: not what was asked", tt.input, cfg)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct{ input, want string }{
		{"floodguard {\n any\n}", "any: needs one of"},
		{"floodguard {\n any everything\n}", `any: "everything" is not one of`},
		{"floodguard {\n any minimal drop\n}", "any: needs one of"},
		{"floodguard {\n any-per-minute 0\n}", "any-per-minute"},
		{"floodguard {\n any-per-minute 11\n}", "any-per-minute"},
		{"floodguard {\n any-per-minute\n}", "any-per-minute"},
		{"floodguard {\n root\n}", "root: needs one of"},
		{"floodguard {\n root forward\n}", `root: "forward" is not one of`},
		{"floodguard {\n authoritative\n}", "authoritative: needs at least one zone"},
		{"floodguard {\n authoritative exa..mple\n}", "authoritative:"},
		{"floodguard {\n recursion\n}", "recursion: needs at least one"},
		{"floodguard {\n recursion 10.0.0.0/33\n}", `recursion: "10.0.0.0/33"`},
		{"floodguard {\n recursion none 10.0.0.0/8\n}", `recursion: "none"`},
		{"floodguard {\n queries-per-second\n}", "queries-per-second: needs RATE"},
		{"floodguard {\n queries-per-second 0\n}", "queries-per-second"},
		{"floodguard {\n queries-per-second 10 0\n}", "queries-per-second"},
		{"floodguard {\n queries-per-second 10 20 30\n}", "queries-per-second: needs RATE"},
		{"floodguard {\n queries-per-second fast\n}", "queries-per-second"},
		{"floodguard {\n ban 100 60s\n}", "ban: needs LIMITED WITHIN FOR"},
		{"floodguard {\n ban 0 60s 10m\n}", "ban:"},
		{"floodguard {\n ban 100 60 10m\n}", `ban: WITHIN "60"`},
		{"floodguard {\n ban 100 60s 25h\n}", `ban: FOR "25h"`},
		{"floodguard {\n ban 100 500ms 10m\n}", `ban: WITHIN "500ms"`},
		{"floodguard {\n ban 100 60s 10m\n ban 5 1s 1s\n}", "ban: given more than once"},
	}
	for _, tt := range tests {
		_, err := parse(newParseController(tt.input))
		if err == nil {
			t.Errorf("parse(%q): no error, want %q", tt.input, tt.want)
			continue
		}
		line := "Testfile:2 "
		if strings.Count(tt.input, "\n") == 3 {
			line = "Testfile:3 "
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), line) {
			t.Errorf("parse(%q) = %q, want it to contain %q and %q", tt.input, err, tt.want, line)
		}
	}
}

func TestParseZoneEndingInEscape(t *testing.T) {
	for _, in := range []string{"floodguard \\0\\", "floodguard {\n authoritative \\0\\\n}"} {
		if _, err := parse(newParseController(in)); err == nil || !strings.Contains(err.Error(), "not a valid zone") {
			t.Errorf("parse(%q) = %v, want a not-a-valid-zone error", in, err)
		}
	}
}

func TestParseCookieOptions(t *testing.T) {
	const secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"
	file := t.TempDir() + "/secrets"
	if err := os.WriteFile(file, []byte("# rolled over\n"+secret+" dd3bdf9344b678b185a6f5cb60fca715\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir() + "/bad"
	if err := os.WriteFile(bad, []byte(secret+"\nnot-a-secret-"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := []struct {
		input string
		check func(c config) bool
	}{
		{"floodguard", func(c config) bool {
			return c.cookies == cookiesOn && c.cookieSecrets == nil && c.cookieQPS == queryRate{}
		}},
		{"floodguard {\n cookies require\n}", func(c config) bool { return c.cookies == cookiesRequire }},
		{"floodguard {\n cookies off\n}", func(c config) bool { return c.cookies == cookiesOff }},
		{"floodguard {\n cookie-secret " + secret + " DD3BDF9344B678B185A6F5CB60FCA715\n}", func(c config) bool { return len(c.cookieSecrets) == 2 }},
		{"floodguard {\n cookie-secret-file " + file + "\n}", func(c config) bool { return c.cookieFile == file }},
		// The per-address allowance follows queries-per-second unless given.
		{"floodguard {\n queries-per-second 50 100\n}", func(c config) bool { return c.cookieQPS == queryRate{50, 100} }},
		{"floodguard {\n queries-per-second 50\n cookie-queries-per-second 500 1000\n}", func(c config) bool {
			return c.cookieQPS == queryRate{500, 1000} && c.qps == queryRate{50, 50}
		}},
	}
	for _, tt := range good {
		cfg, err := parse(newParseController(tt.input))
		if err != nil {
			t.Errorf("parse(%q): %v", tt.input, err)
			continue
		}
		if !tt.check(cfg) {
			t.Errorf("parse(%q) = %+v: not what was asked", tt.input, cfg)
		}
	}

	errs := []struct{ input, want string }{
		{"floodguard {\n cookies maybe\n}", `cookies: "maybe" is not one of on, off, require`},
		{"floodguard {\n cookie-secret\n}", "cookie-secret: needs at least one secret"},
		{"floodguard {\n cookie-secret " + secret + " 0123" + secret[4:] + "x\n}", "cookie-secret: secret 2 is not 32 hexadecimal digits"},
		{"floodguard {\n cookie-secret-file\n}", "cookie-secret-file: needs one PATH"},
		{"floodguard {\n cookie-secret-file /nonexistent/secrets\n}", "cookie-secret-file:"},
		{"floodguard {\n cookie-secret-file " + bad + "\n}", "cookie-secret-file: line 2: not a secret"},
		{"floodguard {\n cookie-secret " + secret + "\n cookie-secret-file " + file + "\n}", "give one or the other"},
		{"floodguard {\n cookies off\n cookie-secret " + secret + "\n}", "cookie-secret: cookies are off"},
		{"floodguard {\n cookie-queries-per-second 0\n}", "cookie-queries-per-second"},
	}
	for _, tt := range errs {
		_, err := parse(newParseController(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("parse(%q) = %v, want an error with %q and the line", tt.input, err, tt.want)
			continue
		}
		if strings.Contains(strings.ToLower(err.Error()), secret[8:]) {
			t.Errorf("parse(%q): the error repeats a secret: %v", tt.input, err)
		}
	}
}

package floodguard

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAPIAndLists(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good.txt")
	bad := filepath.Join(dir, "bad.txt")
	for path, content := range map[string]string{
		token: "0123456789abcdef0123\n",
		short: "tooshort\n",
		good:  "192.0.2.0/24 # a comment\n2001:db8::/48 2030-01-01T00:00:00Z\n",
		bad:   "192.0.2.0/24\n\n192.0.2.1/24\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ok := []struct {
		input string
		check func(config) bool
	}{
		{"floodguard {\n api\n}", func(c config) bool { return c.api == "127.0.0.1:9154" }},
		{"floodguard {\n api [::1]:9154\n}", func(c config) bool { return c.api == "[::1]:9154" }},
		{"floodguard {\n api 0.0.0.0:9154\n api-token-file " + token + "\n}", func(c config) bool {
			return c.api == "0.0.0.0:9154" && c.apiTokenFile == token
		}},
		{"floodguard {\n deny-file " + good + "\n allow-file " + good + "\n}", func(c config) bool {
			return c.denyFile == good && c.allowFile == good
		}},
	}
	for _, tc := range ok {
		cfg, err := parse(newParseController(tc.input))
		if err != nil {
			t.Errorf("parse(%q): %v", tc.input, err)
		} else if !tc.check(cfg) {
			t.Errorf("parse(%q) = %+v", tc.input, cfg)
		}
	}
	bads := []struct {
		input string
		want  string
		line  int
	}{
		{"floodguard {\n api 127.0.0.1:9154 127.0.0.1:9155\n}", "api: needs at most one ADDRESS", 2},
		{"floodguard {\n api :9154\n}", `api: ":9154" has no host`, 2},
		{"floodguard {\n api localhost\n}", `api: "localhost" is not HOST:PORT`, 2},
		{"floodguard {\n slip 1\n api 127.0.0.1:http\n}", `api: "127.0.0.1:http" has no port`, 3},
		{"floodguard {\n api 127.0.0.1:70000\n}", `api: "127.0.0.1:70000" has no port`, 2},
		{"floodguard {\n api-token-file " + token + "\n}", "api-token-file: there is no api", 3},
		{"floodguard {\n api\n api-token-file\n}", "api-token-file: needs one PATH", 3},
		{"floodguard {\n api\n api-token-file /nonexistent/token\n}", "api-token-file: open /nonexistent/token", 3},
		{"floodguard {\n api\n api-token-file " + short + "\n}", "api-token-file: " + short + ": the token must be at least 16 characters", 3},
		{"floodguard {\n deny-file\n}", "deny-file: needs one PATH", 2},
		{"floodguard {\n deny-file " + good + " " + bad + "\n}", "deny-file: needs one PATH, got 2", 2},
		{"floodguard {\n deny-file /nonexistent/deny\n}", "deny-file: ", 2},
		{"floodguard {\n window 5\n deny-file " + bad + "\n}", "deny-file: " + bad + ":3:", 3},
		{"floodguard {\n allow-file " + bad + "\n}", "allow-file: " + bad + ":3: ", 2},
	}
	for _, tc := range bads {
		_, err := parse(newParseController(tc.input))
		if err == nil {
			t.Errorf("parse(%q): no error, want %q", tc.input, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q): %q, want it to contain %q", tc.input, err, tc.want)
		}
		if at := fmt.Sprintf("Testfile:%d - ", tc.line); !strings.HasPrefix(err.Error(), at) {
			t.Errorf("parse(%q): %q does not point at line %d", tc.input, err, tc.line)
		}
	}
}

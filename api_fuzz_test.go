package floodguard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzAPI sends the API arbitrary requests: none may panic, none gets a 5xx
// (507, too many bans, aside), and every reply is well-formed JSON.
//
//	go test -run '^$' -fuzz FuzzAPI -fuzztime 60s .
func FuzzAPI(f *testing.F) {
	tokenFile := filepath.Join(f.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(apiTestToken), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.zones = []string{"example.org."}
	cfg.api, cfg.apiTokenFile, cfg.name = defaultAPIAddress, tokenFile, "example.org:53"
	var now int64
	fg := newFloodguard(cfg, newState("fuzz", cfg, func() int64 { now += 1e6; return now }))
	al := &apiListener{addr: cfg.api, views: []*Floodguard{fg}}
	methods := []string{"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "get"}
	for _, seed := range []struct {
		m     uint8
		path  string
		body  string
		token bool
	}{
		{0, "/top?n=5&by=bytes", "", false},
		{0, "/limited", "", false},
		{0, "/bans?server=example.org:53", "", false},
		{2, "/bans", `{"prefix":"192.0.2.0/24","for":"10m"}`, true},
		{2, "/bans", `{"prefix":"2001:db8::/48","for":"1h","server":"example.org:53"}`, true},
		{3, "/bans/192.0.2.0/24", "", true},
		{3, "/bans/2001:db8::/48?server=x", "", true},
		{2, "/bans", `{"prefix":"::ffff:192.0.2.0/120"}`, true},
		{0, "/top?n=-1", "", false},
	} {
		f.Add(seed.m, seed.path, seed.body, seed.token)
	}
	f.Fuzz(func(t *testing.T, m uint8, path, body string, token bool) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest(http.MethodGet, "http://api"+"/", strings.NewReader(body))
		req.Method = methods[int(m)%len(methods)]
		u, err := req.URL.Parse(path)
		if err != nil {
			return
		}
		req.URL = u
		if token {
			req.Header.Set("Authorization", "Bearer "+apiTestToken)
		}
		rec := httptest.NewRecorder()
		al.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusInsufficientStorage {
			t.Fatalf("%s %s %q: %d %s", req.Method, path, body, rec.Code, rec.Body)
		}
		if req.Method != http.MethodHead && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: not JSON: %q", req.Method, path, body, rec.Body)
		}
	})
}

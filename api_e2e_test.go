package floodguard

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

// The view and control API, tested against a real CoreDNS over real
// sockets: an HTTP client on one side, UDP and TCP DNS clients on the other.

const apiTestToken = "s3cret-token-for-the-tests-0123456789"

// apiServer starts corefile with {api} standing for a free loopback
// address of the API, and {token} for a token file's path, and returns the
// DNS server and the API's base URL.
func startAPIServer(t *testing.T, corefile string) (*server, string) {
	t.Helper()
	api := "127.0.0.1:" + freePort(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(apiTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	corefile = strings.ReplaceAll(corefile, "{api}", api)
	corefile = strings.ReplaceAll(corefile, "{token}", tokenFile)
	return startServer(t, corefile), "http://" + api
}

// apiCall makes one API request and returns its status and body.
func apiCall(t *testing.T, method, url, token, body string, header ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // the client sends req.Host, not a Host header
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiGet decodes a GET's JSON into v.
func apiGet(t *testing.T, url string, v any) {
	t.Helper()
	code, body := apiCall(t, http.MethodGet, url, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

type apiBans struct {
	Bans []banEntry `json:"bans"`
}

func (b apiBans) has(prefix, trigger string) bool {
	for _, e := range b.Bans {
		if e.Prefix == prefix && (trigger == "" || e.Trigger == trigger) {
			return true
		}
	}
	return false
}

const apiCorefile = `example.org:{port} {
    bind 127.0.0.1
    floodguard {
        api {api}
        api-token-file {token}
        %s
    }
    prometheus {metrics}
    file testdata/example.org.zone
}
`

// The single-victim flood at 2,000 q/s, spoofed from one /24, with a real
// client in another /24 asking alongside: /top names the flood's prefix
// first within 2 s; /bans lists it once banned, and never the real
// client's; lifting the ban with the token gets the prefix's next query
// answered.
func TestE2EAPIUnderAttack(t *testing.T) {
	atLeastTwoCores(t)
	srv, api := startAPIServer(t, fmt.Sprintf(apiCorefile, "responses-per-second 10\n        slip 2\n        ban 100 1s 10m"))
	const victim, legit = "127.66.0.0/24", "127.77.0.0/24"

	start := time.Now()
	var firstTop atomic.Int64 // ns after start when /top first named the victim first
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the operator, polling /top every 100 ms
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var top struct{ Top []topEntry }
			apiGet(t, api+"/top?n=5", &top)
			if len(top.Top) > 0 && top.Top[0].Prefix == victim && firstTop.Load() == 0 {
				firstTop.Store(int64(time.Since(start)))
			}
		}
	})
	var legitAnswered, legitAsked atomic.Int64
	wg.Go(func() { // a real client, asking for a few names a second
		names := []string{"www", "mail", "ns1", "ns2", "alias"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			m := udpExchange(t, "127.77.0.1", srv.udp, query(names[i%len(names)]+".example.org", dns.TypeA, uint16(i)), time.Second)
			legitAsked.Add(1)
			if m != nil && len(m.Answer) > 0 {
				legitAnswered.Add(1)
			}
		}
	})
	o := flood(t, srv.udp, "127.66.0", func(i int) *dns.Msg { return query("www.example.org", dns.TypeA, uint16(i)) }, 2000, 3*time.Second)
	close(stop)
	wg.Wait()
	t.Logf("flood: %d queries, %d answered, %d truncated; real client: %d of %d answered",
		o.queries, o.answered, o.truncated, legitAnswered.Load(), legitAsked.Load())
	if d := time.Duration(firstTop.Load()); d == 0 || d > 2*time.Second {
		t.Errorf("/top named %s first %v after the flood started, want within 2s", victim, d)
	} else {
		t.Logf("/top named %s first after %v", victim, d.Round(time.Millisecond))
	}
	if legitAnswered.Load() != legitAsked.Load() {
		t.Errorf("the real client had %d of %d answered", legitAnswered.Load(), legitAsked.Load())
	}

	var bans apiBans
	apiGet(t, api+"/bans", &bans)
	if !bans.has(victim, "responses") {
		t.Fatalf("/bans does not list %s: %+v", victim, bans)
	}
	if bans.has(legit, "") {
		t.Errorf("/bans lists the real client's %s: %+v", legit, bans)
	}
	var limited struct{ Limited []limitedEntry }
	apiGet(t, api+"/limited", &limited)
	if len(limited.Limited) == 0 || limited.Limited[0].Prefix != victim || limited.Limited[0].Drops == 0 ||
		limited.Limited[0].Name != "www.example.org." || limited.Limited[0].Type != "A" {
		t.Errorf("/limited = %+v, want %s first, tipped by www.example.org. A, with drops", limited.Limited, victim)
	}
	code, text := apiCall(t, http.MethodGet, api+"/bans", "", "", "Accept", "text/plain")
	if code != http.StatusOK || !strings.Contains(text, "PREFIX") || !strings.Contains(text, victim) {
		t.Errorf("GET /bans as text: %d\n%s", code, text)
	}

	// Banned: the flooded name gets nothing (or this second's TC=1).
	ask := query("www.example.org", dns.TypeA, 7)
	if m := udpExchange(t, "127.66.0.9", srv.udp, ask, 300*time.Millisecond); m != nil && len(m.Answer) > 0 {
		t.Fatalf("a banned prefix's query was answered: %v", m)
	}
	code, body := apiCall(t, http.MethodDelete, api+"/bans/"+victim, apiTestToken, "")
	if code != http.StatusOK {
		t.Fatalf("DELETE /bans/%s: %d %s", victim, code, body)
	}
	if m := udpExchange(t, "127.66.0.9", srv.udp, ask, time.Second); m == nil || len(m.Answer) == 0 || m.Truncated {
		t.Errorf("after DELETE, the prefix's next query got %v, want the answer", m)
	}
	apiGet(t, api+"/bans", &bans)
	if bans.has(victim, "") {
		t.Errorf("/bans still lists %s after DELETE: %+v", victim, bans)
	}
	m := srv.scrapeFor(t, strings.TrimPrefix(api, "http://")+`"`)
	for _, series := range []string{
		`coredns_floodguard_api_requests_total{code="200",endpoint="top"}`,
		`coredns_floodguard_api_requests_total{code="200",endpoint="bans"}`,
	} {
		if m[series] == 0 {
			t.Errorf("%s = 0", series)
		}
	}
}

// A ban by hand covers the whole prefix over UDP, for every name, but
// clients proven by TCP or by a cookie still get through; lifting it
// answers the prefix again.
func TestE2EAPIManualBan(t *testing.T) {
	srv, api := startAPIServer(t, fmt.Sprintf(apiCorefile, "responses-per-second 0"))
	code, body := apiCall(t, http.MethodPost, api+"/bans", apiTestToken, `{"prefix":"127.88.0.0/24","for":"10m"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST /bans: %d %s", code, body)
	}
	var bans apiBans
	apiGet(t, api+"/bans", &bans)
	if !bans.has("127.88.0.0/24", "api") {
		t.Fatalf("/bans does not list the manual ban: %+v", bans)
	}
	// Over UDP: this second's truncated reply, then nothing, for any name;
	// each client prefix in a wider ban has a truncated reply of its own.
	if code, body := apiCall(t, http.MethodPost, api+"/bans", apiTestToken, `{"prefix":"127.89.0.0/16","for":"10m"}`); code != http.StatusCreated {
		t.Fatalf("POST /bans: %d %s", code, body)
	}
	for _, from := range []string{"127.89.1.1", "127.89.2.1"} {
		if m := udpExchange(t, from, srv.udp, query("www.example.org", dns.TypeA, 2), time.Second); m == nil || !m.Truncated {
			t.Errorf("first query from %s in a banned /16 got %v, want TC=1", from, m)
		}
	}
	first := udpExchange(t, "127.88.0.5", srv.udp, query("www.example.org", dns.TypeA, 1), time.Second)
	if first == nil || !first.Truncated || len(first.Answer) != 0 {
		t.Errorf("first query of a banned prefix got %v, want TC=1", first)
	}
	for i, name := range []string{"mail.example.org", "ns1.example.org", "www.example.org"} {
		if m := udpExchange(t, "127.88.0.6", srv.udp, query(name, dns.TypeA, uint16(10+i)), 300*time.Millisecond); m != nil {
			t.Errorf("%s from a banned prefix got %v, want no reply", name, m)
		}
	}
	// Proven by TCP.
	if m := tcpQuery(t, "127.88.0.5", srv.tcp, query("www.example.org", dns.TypeA, 20)); m == nil || len(m.Answer) == 0 {
		t.Errorf("TCP query from a banned prefix got %v, want the answer", m)
	}
	// Proven by a cookie: the once-a-second reply to a client cookie is
	// BADCOOKIE with a server cookie, and the query with it is answered.
	time.Sleep(1100 * time.Millisecond)
	bc := udpExchange(t, "127.88.0.7", srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 30), "0102030405060708"), time.Second)
	if bc == nil || bc.Rcode != dns.RcodeBadCookie || len(cookiesOf(bc)) == 0 {
		t.Fatalf("client cookie from a banned prefix got %v, want BADCOOKIE with a cookie", bc)
	}
	if m := udpExchange(t, "127.88.0.7", srv.udp, withCookieOption(query("www.example.org", dns.TypeA, 31), cookiesOf(bc)[0]), time.Second); m == nil || len(m.Answer) == 0 {
		t.Errorf("a valid cookie from a banned prefix got %v, want the answer", m)
	}
	// Lifted.
	if code, body := apiCall(t, http.MethodDelete, api+"/bans/127.88.0.0/24", apiTestToken, ""); code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if m := udpExchange(t, "127.88.0.6", srv.udp, query("mail.example.org", dns.TypeA, 40), time.Second); m == nil || len(m.Answer) == 0 {
		t.Errorf("after DELETE got %v, want the answer", m)
	}
	if got := srv.scrape(t)[`coredns_floodguard_requests_total{action="dropped",reason="banned"}`]; got < 3 {
		t.Errorf("requests_total{action=dropped,reason=banned} = %v, want at least 3", got)
	}
}

// Bad requests each get their 4xx, and none changes anything.
func TestE2EAPIBadRequests(t *testing.T) {
	logs := captureLogs(t)
	srv, api := startAPIServer(t, fmt.Sprintf(apiCorefile, "responses-per-second 5"))
	// Something to find: a ban the bad requests must leave alone.
	if code, body := apiCall(t, http.MethodPost, api+"/bans", apiTestToken, `{"prefix":"127.55.0.0/24","for":"1h"}`); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	var before apiBans
	apiGet(t, api+"/bans", &before)
	const tok = apiTestToken
	huge := `{"prefix":"127.56.0.0/24","for":"1h","x":"` + strings.Repeat("a", 10000) + `"}`
	tests := []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/nope", "", "", 404},
		{"GET", "/", "", "", 404},
		{"PUT", "/bans", tok, `{"prefix":"127.56.0.0/24"}`, 405},
		{"DELETE", "/bans", tok, "", 405},
		{"POST", "/top", tok, "", 405},
		{"POST", "/limited", tok, "", 405},
		{"GET", "/bans/127.55.0.0/24", tok, "", 405},
		{"PATCH", "/bans/127.55.0.0/24", tok, "", 405},
		{"GET", "/top?n=0", "", "", 400},
		{"GET", "/top?n=abc", "", "", 400},
		{"GET", "/top?n=100000", "", "", 400},
		{"GET", "/top?by=packets", "", "", 400},
		{"GET", "/bans?n=0", "", "", 400},
		{"POST", "/bans", "", `{"prefix":"127.56.0.0/24","for":"1h"}`, 401},
		{"POST", "/bans", "wrong-token-wrong-token", `{"prefix":"127.56.0.0/24","for":"1h"}`, 401},
		{"POST", "/bans", tok + "x", `{"prefix":"127.56.0.0/24","for":"1h"}`, 401},
		{"POST", "/bans", tok, `{"prefix":`, 400},
		{"POST", "/bans", tok, `not json`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24","for":"1h","until":"never"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24"} {"prefix":"127.57.0.0/24"}`, 400},
		{"POST", "/bans", tok, `{}`, 400},
		{"POST", "/bans", tok, `{"prefix":"300.1.1.0/24","for":"1h"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.1/24","for":"1h"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"0.0.0.0/0","for":"1h"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"2001:db8::/8","for":"1h"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24","for":"10x"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24","for":"0s"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24","for":"1000h"}`, 400},
		{"POST", "/bans", tok, `{"prefix":"127.56.0.0/24","for":"1h","server":"no such server"}`, 404},
		{"POST", "/bans", tok, huge, 413},
		{"DELETE", "/bans/not-a-prefix", tok, "", 400},
		{"DELETE", "/bans/127.55.0.0/24", "", "", 401},
		{"DELETE", "/bans/127.55.0.0/24", "wrong-token-wrong-token", "", 401},
		{"DELETE", "/bans/127.99.0.0/24", tok, "", 404},
	}
	for _, tc := range tests {
		code, body := apiCall(t, tc.method, api+tc.path, tc.token, tc.body)
		if code != tc.want {
			t.Errorf("%s %s %.40q: %d %s, want %d", tc.method, tc.path, tc.body, code, strings.TrimSpace(body), tc.want)
		}
		if !strings.Contains(body, `"error"`) {
			t.Errorf("%s %s: body %q has no error message", tc.method, tc.path, body)
		}
	}
	// A name for the loopback API, as DNS rebinding would use: refused.
	if code, body := apiCall(t, http.MethodGet, api+"/bans", "", "", "Host", "rebind.example:80"); code != http.StatusForbidden {
		t.Errorf("GET /bans with Host rebind.example: %d %s, want 403", code, body)
	}
	// Three wrong tokens within a second: logged once.
	if n := logs.lines("wrong token"); n != 1 {
		t.Errorf("wrong tokens logged %d times, want once", n)
	}
	var after apiBans
	apiGet(t, api+"/bans", &after)
	if len(after.Bans) != 1 || len(before.Bans) != 1 || after.Bans[0] != before.Bans[0] {
		t.Errorf("bad requests changed /bans: before %+v, after %+v", before, after)
	}
	m := srv.scrapeFor(t, strings.TrimPrefix(api, "http://")+`"`)
	if got := m[`coredns_floodguard_api_requests_total{code="401",endpoint="bans"}`]; got != 5 {
		t.Errorf("api_requests_total{code=401,endpoint=bans} = %v, want 5", got)
	}
}

// Without api-token-file the API only reads; two server blocks naming one
// address share its listener, and each entry names its block.
func TestE2EAPIReadOnlyAndShared(t *testing.T) {
	api := "127.0.0.1:" + freePort(t)
	corefile := strings.ReplaceAll(`example.org:{port} {
    bind 127.0.0.1
    floodguard {
        api {api}
    }
    file testdata/example.org.zone
}
example.net:{port} {
    bind 127.0.0.1
    floodguard {
        api {api}
    }
    whoami
}
`, "{api}", api)
	srv := startServer(t, corefile)
	code, body := apiCall(t, http.MethodPost, "http://"+api+"/bans", apiTestToken, `{"prefix":"127.56.0.0/24"}`)
	if code != http.StatusForbidden {
		t.Errorf("POST to a read-only API: %d %s, want 403", code, body)
	}
	udpExchange(t, "127.60.0.1", srv.udp, query("www.example.org", dns.TypeA, 1), time.Second)
	udpExchange(t, "127.61.0.1", srv.udp, query("www.example.net", dns.TypeA, 2), time.Second)
	// A query is counted after its reply is written: wait for both.
	var top struct{ Top []topEntry }
	servers := map[string]string{}
	waitFor(t, "both clients in /top", func() bool {
		apiGet(t, "http://"+api+"/top", &top)
		for _, e := range top.Top {
			servers[e.Prefix] = e.Server
		}
		return len(servers) == 2
	})
	if servers["127.60.0.0/24"] == "" || servers["127.61.0.0/24"] == "" || servers["127.60.0.0/24"] == servers["127.61.0.0/24"] {
		t.Errorf("/top = %+v, want each block's client under its own server", top.Top)
	}
	apiGet(t, "http://"+api+"/top?server="+servers["127.60.0.0/24"], &top)
	if len(top.Top) != 1 || top.Top[0].Prefix != "127.60.0.0/24" {
		t.Errorf("/top?server= = %+v, want that block's client alone", top.Top)
	}
}

// A reload keeps the API: an unchanged block keeps its bans by hand (they
// live in its state), and the listener answers again once the new
// instances start; a block that drops `api` closes it.
func TestE2EAPIAcrossReload(t *testing.T) {
	api := "127.0.0.1:" + freePort(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(apiTestToken), 0o600); err != nil {
		t.Fatal(err)
	}
	withAPI := "api " + api + "\n        api-token-file " + tokenFile
	srv := startServer(t, strings.NewReplacer("{api}", api, "{token}", tokenFile).Replace(fmt.Sprintf(apiCorefile, "")))
	text := func(opts string) caddy.Input {
		c := strings.NewReplacer("{port}", srv.port, "{metrics}", srv.metrics, "{api}", api, "{token}", tokenFile).
			Replace(strings.Replace(fmt.Sprintf(apiCorefile, ""), "api {api}\n        api-token-file {token}", opts, 1))
		return caddy.CaddyfileInput{Contents: []byte(c), Filepath: "Corefile", ServerTypeName: "dns"}
	}
	restart := func(in caddy.Input) {
		t.Helper()
		if err := srv.reload(t, in); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	if code, body := apiCall(t, http.MethodPost, "http://"+api+"/bans", apiTestToken, `{"prefix":"127.57.0.0/24","for":"1h"}`); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	restart(text(withAPI))
	var bans apiBans
	apiGet(t, "http://"+api+"/bans", &bans)
	if !bans.has("127.57.0.0/24", "api") {
		t.Errorf("after a reload of the unchanged block, /bans = %+v, want the ban by hand", bans)
	}
	if m := udpExchange(t, "127.57.0.9", srv.udp, query("www.example.org", dns.TypeA, 1), time.Second); m == nil || !m.Truncated {
		t.Errorf("after the reload, the banned prefix got %v, want this second's TC=1", m)
	}

	// A reload that fails (a second block on a port someone holds) after
	// the new instances started: the running block is shown again, with
	// its ban.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	failing := text(withAPI).(caddy.CaddyfileInput)
	failing.Contents = append(failing.Contents, fmt.Sprintf("example.net:%d {\n    bind 127.0.0.1\n    whoami\n}\n", taken.Addr().(*net.TCPAddr).Port)...)
	serverMu.Lock()
	_, err = srv.inst.Restart(failing)
	serverMu.Unlock()
	if err == nil {
		t.Fatal("the reload onto a taken port succeeded")
	}
	apiGet(t, "http://"+api+"/bans", &bans)
	if !bans.has("127.57.0.0/24", "api") {
		t.Errorf("after a failed reload, /bans = %+v, want the ban by hand", bans)
	}
	// The same with the block renamed (another key): the failed reload's
	// block, which never serves, must not stay shown.
	renamed := failing
	renamed.Contents = []byte(strings.NewReplacer(
		"example.org:"+srv.port+" {", "example.org:"+srv.port+" example.com:"+srv.port+" {",
		"file testdata/example.org.zone\n", "file testdata/example.org.zone example.org\n",
	).Replace(string(failing.Contents)))
	serverMu.Lock()
	_, err = srv.inst.Restart(renamed)
	serverMu.Unlock()
	if err == nil {
		t.Fatal("the reload onto a taken port succeeded")
	}
	apiMu.Lock()
	var shown []string
	for _, v := range apiListeners[api].views {
		shown = append(shown, v.state.name)
	}
	apiMu.Unlock()
	if len(shown) != 1 || strings.Contains(shown[0], "example.com") {
		t.Errorf("after a failed reload that renamed the block, the API shows %q, want the running block alone", shown)
	}

	// Without api, the listener closes: the failed reload left no hold on it.
	restart(text(""))
	if _, err := http.Get("http://" + api + "/bans"); err == nil {
		t.Error("the API still answers after a reload without api")
	}
}

// The README's commands, with curl: the text tables, and a ban lifted with
// the bearer token from its file.
func TestE2EAPIWithCurl(t *testing.T) {
	curl := needTool(t, "curl")
	srv, api := startAPIServer(t, fmt.Sprintf(apiCorefile, "responses-per-second 2\n        slip 0\n        ban 5 10s 10m"))
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	if err := os.WriteFile(tokenFile, []byte(apiTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// 20 identical queries at rps 2: 18 over the limit, banned after 5.
	udpBurst(t, "127.58.0.1", srv.udp, burst(20, same("www.example.org"), dns.TypeA), 300*time.Millisecond)
	top := run(t, curl, "-s", "-H", "Accept: text/plain", api+"/top")
	if !strings.HasPrefix(top, "SERVER ") || !strings.Contains(top, "127.58.0.0/24") {
		t.Errorf("curl /top as text:\n%s", top)
	}
	bans := run(t, curl, "-s", "-H", "Accept: text/plain", api+"/bans")
	if !strings.Contains(bans, "127.58.0.0/24") || !strings.Contains(bans, "response www.example.org. A") {
		t.Errorf("curl /bans as text:\n%s", bans)
	}
	// As README.md writes it.
	out := run(t, "sh", "-c", `curl -s -X DELETE -H "Authorization: Bearer $(cat `+tokenFile+`)" `+api+`/bans/127.58.0.0/24`)
	if !strings.Contains(out, `"lifted": 1`) {
		t.Errorf("curl DELETE: %s", out)
	}
	out = run(t, "sh", "-c", `curl -s -X POST -H "Authorization: Bearer $(cat `+tokenFile+`)" -d '{"prefix":"127.59.0.0/24","for":"30m"}' `+api+`/bans`)
	if !strings.Contains(out, `"trigger": "api"`) {
		t.Errorf("curl POST: %s", out)
	}
}

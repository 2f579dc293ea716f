package main

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProm answers the three API calls promcheck makes: the alerts given,
// one series for every query but those containing "empty_metric", and a
// range of three points.
func fakeProm(t *testing.T, alerts string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/alerts":
			fmt.Fprintf(w, `{"status":"success","data":{"alerts":[%s]}}`, alerts)
		case "/api/v1/query":
			if strings.Contains(r.URL.Query().Get("query"), "empty_metric") {
				fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
				return
			}
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`)
		case "/api/v1/query_range":
			start := r.URL.Query().Get("start")
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%s,"1"],[%s,"NaN"]]}]}}`, start, start)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func alert(name, state string) string {
	return fmt.Sprintf(`{"labels":{"alertname":%q},"state":%q}`, name, state)
}

func TestAlerts(t *testing.T) {
	tests := []struct {
		name   string
		alerts string
		args   []string
		errs   string // "" for success
	}{
		{"fires, quiet stays quiet", alert("A", "firing") + "," + alert("B", "pending"), []string{"-firing", "A", "-quiet", "C"}, ""},
		{"a quiet one pending", alert("A", "firing") + "," + alert("C", "pending"), []string{"-firing", "A", "-quiet", "C"}, "C is pending"},
		{"one never fires", alert("A", "pending"), []string{"-firing", "A", "-within", "1s"}, "not firing within 1s: A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(append([]string{"alerts", "-url", fakeProm(t, tc.alerts)}, tc.args...), &out)
			if tc.errs == "" && err != nil || tc.errs != "" && (err == nil || !strings.Contains(err.Error(), tc.errs)) {
				t.Errorf("err %v, want %q", err, tc.errs)
			}
		})
	}
	var out bytes.Buffer
	start := time.Now()
	if err := run([]string{"resolved", "-url", fakeProm(t, alert("X", "firing")), "-alerts", "A", "-within", "1s"}, &out); err != nil {
		t.Errorf("resolved with other alerts active: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Error("resolved waited although nothing was left")
	}
}

func TestDashboard(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"panels":[{"title":"P","targets":[{"expr":"rate(x{instance=~\"$instance\"}[$__rate_interval])"}]}]}`), 0o644)
	os.WriteFile(bad, []byte(`{"panels":[{"title":"Empty","targets":[{"expr":"empty_metric"}]}]}`), 0o644)
	url := fakeProm(t, "")
	var out bytes.Buffer
	if err := run([]string{"dashboard", "-url", url, "-dashboard", good}, &out); err != nil {
		t.Errorf("good dashboard: %v", err)
	}
	if !strings.Contains(out.String(), `rate(x{instance=~".*"}[1m])`) {
		t.Errorf("variables not filled in: %s", out.String())
	}
	if err := run([]string{"dashboard", "-url", url, "-dashboard", bad}, &out); err == nil || !strings.Contains(err.Error(), "Empty") {
		t.Errorf("empty panel: %v, want an error naming it", err)
	}
}

func TestPlot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.png")
	var out bytes.Buffer
	if err := run([]string{"plot", "-url", fakeProm(t, ""), "-since", "1m", "-png", file}, &out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:9090", "http://prometheus:9090", "http://[2001:db8::1]:9090"} {
		if err := run([]string{"alerts", "-url", u}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v, want a refusal", u, err)
		}
	}
	if err := run([]string{"bogus"}, &bytes.Buffer{}); err == nil {
		t.Error("unknown mode accepted")
	}
}

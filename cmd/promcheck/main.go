// Command promcheck checks floodguard's alerts and dashboard against a real
// Prometheus server through its HTTP API (bench/prometheus.sh runs it):
//
//	promcheck alerts    -url URL -firing A,B -quiet C,D -within 2m
//	promcheck resolved  -url URL -alerts A,B -within 8m
//	promcheck dashboard -url URL -dashboard FILE
//	promcheck plot      -url URL -since 10m -png FILE
//
// It only reads from Prometheus, on loopback, and each mode has a deadline.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "promcheck:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a mode: alerts, resolved, dashboard or plot")
	}
	mode, args := args[0], args[1:]
	fs := flag.NewFlagSet("promcheck "+mode, flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:9090", "Prometheus, on loopback")
	firing := fs.String("firing", "", "alerts that must fire (comma-separated)")
	quiet := fs.String("quiet", "", "alerts that must not fire")
	alerts := fs.String("alerts", "", "alerts that must resolve")
	within := fs.Duration("within", 2*time.Minute, "deadline")
	dashboard := fs.String("dashboard", "deploy/monitoring/floodguard-dashboard.json", "Grafana dashboard whose queries must return data")
	since := fs.Duration("since", 10*time.Minute, "plot: how far back")
	pngFile := fs.String("png", "prometheus.png", "plot: PNG to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if err := loopbackOnly(u); err != nil {
		return err
	}
	p := &prom{base: strings.TrimSuffix(*base, "/"), client: &http.Client{Timeout: 10 * time.Second}}
	switch mode {
	case "alerts":
		return checkAlerts(p, out, split(*firing), split(*quiet), *within)
	case "resolved":
		return checkResolved(p, out, split(*alerts), *within)
	case "dashboard":
		return checkDashboard(p, out, *dashboard)
	case "plot":
		return plotSeries(p, out, *since, *pngFile)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// loopbackOnly refuses a Prometheus anywhere but on this machine.
func loopbackOnly(u *url.URL) error {
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("-url %s: want a loopback address", u)
	}
	return nil
}

// prom is a Prometheus HTTP API client.
type prom struct {
	base   string
	client *http.Client
}

// get decodes the data of an API response into v.
func (p *prom) get(ctx context.Context, path string, q url.Values, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&env); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

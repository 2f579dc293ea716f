package floodguard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"sigs.k8s.io/yaml"
)

// The shipped alerting rules and dashboard (deploy/monitoring), checked
// against what a real CoreDNS with floodguard exports, and with promtool.

const (
	rulesFile     = "deploy/monitoring/floodguard-rules.yaml"
	rulesTestFile = "deploy/monitoring/floodguard-rules_test.yaml"
	dashboardFile = "deploy/monitoring/floodguard-dashboard.json"
	runbookFile   = "deploy/monitoring/RUNBOOK.md"
	runbookURL    = "https://github.com/floodguard/floodguard/blob/main/" + runbookFile + "#"
)

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record      string            `json:"record"`
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

// dashboardExprs returns each panel's title and its targets' expressions
// and legends.
func dashboardExprs(t *testing.T) (titles []string, exprs, legends [][]string) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr         string `json:"expr"`
				LegendFormat string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
		var e, l []string
		for _, tg := range p.Targets {
			e, l = append(e, tg.Expr), append(l, tg.LegendFormat)
		}
		exprs, legends = append(exprs, e), append(legends, l)
	}
	return titles, exprs, legends
}

// scrapeSeries reads every series the server exports: metric name -> its
// label names.
func scrapeSeries(t *testing.T, addr string) map[string]map[string]bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]map[string]bool{}
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, m := range label.FindAllStringSubmatch(rest, -1) {
			out[name][m[1]] = true
		}
	}
	return out
}

var (
	promName    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"`)
	promGroup   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	promString  = regexp.MustCompile(`"[^"]*"`)
	promRange   = regexp.MustCompile(`\[[^\]]*\]`)
	promOffset  = regexp.MustCompile(`\boffset\s+[0-9a-z]+`)
	templLabel  = regexp.MustCompile(`\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}|\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// promFuncs are the PromQL words the shipped expressions use that are not
// metric names.
var promFuncs = map[string]bool{
	"sum": true, "rate": true, "increase": true, "count": true, "by": true, "on": true, "and": true,
	"unless": true, "or": true, "offset": true, "max": true, "min": true, "avg": true, "without": true,
	"ignoring": true, "label_values": true, "irate": true, "e": true,
}

// exprRefs returns the metric names (and recording rules) and the label
// names an expression refers to.
func exprRefs(expr string) (metrics, labels []string) {
	for _, m := range promMatcher.FindAllStringSubmatch(expr, -1) {
		labels = append(labels, m[1])
	}
	for _, m := range promGroup.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
	}
	bare := promGroup.ReplaceAllString(expr, " ")
	bare = promString.ReplaceAllString(bare, `""`)
	bare = promRange.ReplaceAllString(bare, " ")
	bare = promOffset.ReplaceAllString(bare, " ")
	bare = promMatcher.ReplaceAllString(bare, " ")
	for _, w := range promName.FindAllString(bare, -1) {
		if !promFuncs[w] {
			metrics = append(metrics, w)
		}
	}
	return metrics, labels
}

// Every metric and label the rules and the dashboard name is one a real
// CoreDNS with floodguard exports (or a recording rule of the rules file,
// or job and instance, which Prometheus adds), checked against a live
// scrape, not a list typed here.
func TestMonitoringNamesExist(t *testing.T) {
	dir := t.TempDir()
	deny := filepath.Join(dir, "deny.txt")
	if err := os.WriteFile(deny, []byte("127.44.0.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, api := startAPIServer(t, fmt.Sprintf(apiCorefile, "deny-file "+deny))
	udpExchange(t, "127.43.0.1", srv.udp, query("www.example.org", dns.TypeA, 1), time.Second)
	apiCall(t, http.MethodGet, api+"/top", "", "")
	waitFor(t, "the list metrics", func() bool { return scrapeSeries(t, srv.metrics)["coredns_floodguard_list_entries"] != nil })
	series := scrapeSeries(t, srv.metrics)

	rf := readRules(t)
	recorded := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	check := func(where, expr string, extraLabels []string) {
		metrics, labels := exprRefs(expr)
		if len(metrics) == 0 {
			t.Errorf("%s: no metric found in %q", where, expr)
		}
		known := map[string]bool{"job": true, "instance": true}
		for _, m := range metrics {
			switch {
			case recorded[m]:
				known[m] = true
			case series[m] != nil:
				for l := range series[m] {
					known[l] = true
				}
			default:
				t.Errorf("%s: %s is not exported by CoreDNS with floodguard, nor recorded by the rules", where, m)
			}
		}
		// A recording rule keeps the labels of its own expression's grouping.
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" && slices.Contains(metrics, r.Record) {
					_, ls := exprRefs(r.Expr)
					for _, l := range ls {
						known[l] = true
					}
				}
			}
		}
		for _, l := range append(labels, extraLabels...) {
			if !known[l] {
				t.Errorf("%s: label %q is on none of %v", where, l, metrics)
			}
		}
	}
	templated := func(texts ...string) (out []string) {
		for _, s := range texts {
			for _, m := range templLabel.FindAllStringSubmatch(s, -1) {
				out = append(out, m[1]+m[2])
			}
		}
		return out
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			var ann []string
			for _, a := range r.Annotations {
				ann = append(ann, a)
			}
			check(rulesFile+" "+name, r.Expr, templated(ann...))
		}
	}
	titles, exprs, legends := dashboardExprs(t)
	if len(titles) < 6 {
		t.Fatalf("%d dashboard panels, want at least 6", len(titles))
	}
	for i, title := range titles {
		if len(exprs[i]) == 0 {
			t.Errorf("dashboard panel %q has no query", title)
		}
		for j, e := range exprs[i] {
			check(dashboardFile+" "+title, e, templated(legends[i][j]))
		}
	}
}

// Every alert has a runbook_url into RUNBOOK.md, at a section that exists,
// a severity, and promtool tests that see it fire and stay quiet.
func TestMonitoringAlertsDocumentedAndTested(t *testing.T) {
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(runbook), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-"))] = true
		}
	}
	b, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	// A case expecting no alert at all is one where the alert must stay quiet.
	cases := map[string]struct{ firing, quiet int }{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			c := cases[a.Alertname]
			if len(a.ExpAlerts) > 0 {
				c.firing++
			} else {
				c.quiet++
			}
			cases[a.Alertname] = c
		}
	}
	want := []string{"FloodguardAbsent", "FloodguardLimiting", "FloodguardLimitingCritical", "FloodguardTableEvictions",
		"FloodguardBanSurge", "FloodguardBansActive", "FloodguardAmplificationHigh", "FloodguardRefusalSpike"}
	var got []string
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			got = append(got, r.Alert)
			anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookURL)
			if !ok || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q is not a section of %s", r.Alert, r.Annotations["runbook_url"], runbookFile)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: wants a severity, a summary and a description", r.Alert)
			}
			if c := cases[r.Alert]; c.firing == 0 || c.quiet == 0 {
				t.Errorf("%s: %d promtool cases where it fires and %d where it must not, want one of each", r.Alert, c.firing, c.quiet)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

// promtool checks the rules and runs their unit tests.
func TestMonitoringPromtool(t *testing.T) {
	promtool := needTool(t, "promtool")
	run(t, promtool, "check", "rules", rulesFile)
	out := run(t, promtool, "test", "rules", rulesTestFile)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/floodguard/floodguard/internal/plot"
)

// grafanaVars stands in for the dashboard's variables, as Grafana would
// fill them in for "All" over the last minutes.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")

// checkDashboard runs every panel's queries and fails on one that returns
// no data.
func checkDashboard(p *prom, out io.Writer, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var empty []string
	for _, panel := range d.Panels {
		for _, t := range panel.Targets {
			var res struct {
				Result []json.RawMessage `json:"result"`
			}
			expr := grafanaVars.Replace(t.Expr)
			if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &res); err != nil {
				return fmt.Errorf("panel %q: %v", panel.Title, err)
			}
			fmt.Fprintf(out, "%-45s %3d series  %s\n", panel.Title, len(res.Result), expr)
			if len(res.Result) == 0 {
				empty = append(empty, panel.Title)
			}
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("panels without data: %s", strings.Join(empty, "; "))
	}
	return nil
}

// keyPanels are the series the PNG shows, a chart each.
var keyPanels = [][]struct {
	name, expr string
	color      color.RGBA
}{
	{
		{"SENT/S", `sum(rate(coredns_floodguard_responses_total{action="sent"}[1m]))`, plot.Green},
		{"DROPPED/S", `sum(rate(coredns_floodguard_responses_total{action="dropped"}[1m]))`, plot.Red},
		{"SLIPPED/S", `sum(rate(coredns_floodguard_responses_total{action="slipped"}[1m]))`, plot.Orange},
	},
	{
		{"AMPLIFICATION", `sum(rate(coredns_floodguard_response_bytes_total{action=~"sent|slipped|truncated"}[1m])) / sum(rate(coredns_floodguard_request_bytes_total[1m]))`, plot.Purple},
	},
	{
		{"TURNED AWAY/S", `sum(rate(coredns_floodguard_requests_total{action=~"refused|dropped|truncated"}[1m]))`, plot.Blue},
	},
	{
		{"BANS IN FORCE", `sum(coredns_floodguard_banned)`, plot.Red},
	},
}

// plotSeries draws the key series of the last since from Prometheus.
func plotSeries(p *prom, out io.Writer, since time.Duration, file string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	end := time.Now()
	start := end.Add(-since)
	step := max(since/200, time.Second)
	var panels []plot.Panel
	for _, kp := range keyPanels {
		var panel plot.Panel
		for _, s := range kp {
			values, err := p.rangeValues(ctx, s.expr, start, end, step)
			if err != nil {
				return err
			}
			panel.Series = append(panel.Series, plot.Series{Name: s.name, Color: s.color, Values: values})
			fmt.Fprintf(out, "%-14s %d points\n", s.name, len(values))
		}
		panels = append(panels, panel)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := plot.Figure(f, panels); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rangeValues runs a query_range whose result is one series, and returns
// its values at every step, NaN where it has none.
func (p *prom) rangeValues(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]float64, error) {
	var res struct {
		Result []struct {
			Values [][2]json.RawMessage `json:"values"`
		} `json:"result"`
	}
	q := url.Values{"query": {expr}, "start": {unix(start)}, "end": {unix(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	if err := p.get(ctx, "/api/v1/query_range", q, &res); err != nil {
		return nil, err
	}
	n := int(end.Sub(start)/step) + 1
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	if len(res.Result) == 0 {
		return values, nil
	}
	for _, v := range res.Result[0].Values {
		var ts float64
		var s string
		if json.Unmarshal(v[0], &ts) != nil || json.Unmarshal(v[1], &s) != nil {
			continue
		}
		i := int(math.Round((ts - float64(start.UnixMilli())/1000) / step.Seconds()))
		if f, err := strconv.ParseFloat(s, 64); err == nil && i >= 0 && i < n {
			values[i] = f
		}
	}
	return values, nil
}

func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }

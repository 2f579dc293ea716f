package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// alertStates reads the alerts Prometheus has now: name -> "firing" or
// "pending" (firing wins).
func (p *prom) alertStates(ctx context.Context) (map[string]string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get(ctx, "/api/v1/alerts", nil, &data); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range data.Alerts {
		if name := a.Labels["alertname"]; out[name] != "firing" {
			out[name] = a.State
		}
	}
	return out, nil
}

// checkAlerts waits until every alert of firing fires, within the
// deadline, and fails as soon as one of quiet fires or is pending.
func checkAlerts(p *prom, out io.Writer, firing, quiet []string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within+10*time.Second)
	defer cancel()
	start := time.Now()
	fired := map[string]time.Duration{}
	for {
		states, err := p.alertStates(ctx)
		if err != nil {
			return err
		}
		for _, q := range quiet {
			if s := states[q]; s != "" {
				return fmt.Errorf("%s is %s, and must stay quiet", q, s)
			}
		}
		for _, f := range firing {
			if _, ok := fired[f]; !ok && states[f] == "firing" {
				fired[f] = time.Since(start)
				fmt.Fprintf(out, "%s firing after %v\n", f, fired[f].Round(time.Second))
			}
		}
		if len(fired) == len(firing) {
			fmt.Fprintf(out, "quiet all along: %s\n", strings.Join(quiet, ", "))
			return nil
		}
		if time.Since(start) > within {
			var missing []string
			for _, f := range firing {
				if _, ok := fired[f]; !ok {
					missing = append(missing, f)
				}
			}
			return fmt.Errorf("not firing within %v: %s", within, strings.Join(missing, ", "))
		}
		time.Sleep(2 * time.Second)
	}
}

// checkResolved waits until none of alerts is firing or pending.
func checkResolved(p *prom, out io.Writer, alerts []string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within+10*time.Second)
	defer cancel()
	start := time.Now()
	for {
		states, err := p.alertStates(ctx)
		if err != nil {
			return err
		}
		var left []string
		for _, a := range alerts {
			if states[a] != "" {
				left = append(left, a)
			}
		}
		if len(left) == 0 {
			fmt.Fprintf(out, "resolved after %v: %s\n", time.Since(start).Round(time.Second), strings.Join(alerts, ", "))
			return nil
		}
		if time.Since(start) > within {
			slices.Sort(left)
			return fmt.Errorf("still active after %v: %s", within, strings.Join(left, ", "))
		}
		time.Sleep(5 * time.Second)
	}
}

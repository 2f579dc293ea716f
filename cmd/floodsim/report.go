package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"
)

func (r *result) writeTable(out io.Writer) {
	t := r.totals
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(out, "floodsim: %s, %.1fs, %d sources (%s), rate %d/s, mix %v\n",
		r.cfg.server, t.DurationS, t.Sources, t.SourceMode, r.cfg.rate, r.cfg.kinds)
	fmt.Fprintf(out, "attack:  sent %d (%d B, %d send errors), replies %d (%d B), TC %d, amplification %.2f\n",
		t.AttackSent, t.AttackSentBytes, t.AttackSendErrors, t.AttackReplies, t.AttackReplyBytes, t.AttackTC, t.Amplification)
	codes := make([]string, 0, len(t.Rcodes))
	for k := range t.Rcodes {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	fmt.Fprint(out, "rcodes: ")
	for _, k := range codes {
		fmt.Fprintf(out, " %s=%d", k, t.Rcodes[k])
	}
	fmt.Fprintf(out, "\nlegit:   %d queries, answered %.3f, TCP retries %d, latency p50 %.2fms p99 %.2fms max %.2fms\n",
		t.LegitQueries, t.LegitFraction, t.LegitTCPRetries, t.LegitP50Ms, t.LegitP99Ms, t.LegitMaxMs)
	if r.cfg.pid > 0 {
		drops := "n/a"
		if t.ServerUDPDrops != nil {
			drops = strconv.FormatInt(*t.ServerUDPDrops, 10)
		}
		fmt.Fprintf(out, "server:  cpu %.2fs, peak RSS %d kB (VmHWM %d kB), UDP drops %s\n",
			t.ServerCPUSeconds, t.ServerPeakRSSKB, t.ServerVmHWMKB, drops)
	}
	fmt.Fprintln(w, "sec\tsent\tsent B\treplies\treply B\tTC\tamp\tlegit\tanswered\tretries\tcpu s\tRSS kB\t")
	for _, s := range r.series {
		fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%s\t%d\t%.2f\t%d\t\n", s.Sec, s.Sent, s.SentBytes,
			s.Recv, s.RecvBytes, s.TC, amplification(s.RecvBytes, s.SentBytes),
			s.LegitDone, fmtFrac(fraction(s.LegitOK, s.LegitDone)), s.LegitRetr, s.ServerCPU, s.ServerRSSKB)
	}
	w.Flush()
}

func fmtFrac(f float64) string {
	if math.IsNaN(f) {
		return "" // no legit query finished in that second
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// csvHeader names each plotted column with its colour in the PNG.
var csvHeader = []string{"second", "attack_sent", "attack_sent_bytes(plot:blue)",
	"attack_send_errors", "attack_replies", "attack_reply_bytes(plot:red)", "attack_tc",
	"amplification", "legit_queries", "legit_answered", "legit_answered_fraction(plot:green)",
	"legit_tcp_retries", "server_cpu_s", "server_rss_kb"}

func (r *result) writeCSV(out io.Writer) error {
	w := csv.NewWriter(out)
	w.Write(csvHeader)
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, s := range r.series {
		w.Write([]string{strconv.Itoa(s.Sec), i(s.Sent), i(s.SentBytes), i(s.SendErrs), i(s.Recv),
			i(s.RecvBytes), i(s.TC), strconv.FormatFloat(amplification(s.RecvBytes, s.SentBytes), 'f', 3, 64),
			i(s.LegitDone), i(s.LegitOK), fmtFrac(fraction(s.LegitOK, s.LegitDone)), i(s.LegitRetr),
			strconv.FormatFloat(s.ServerCPU, 'f', 3, 64), i(s.ServerRSSKB)})
	}
	w.Flush()
	return w.Error()
}

func (r *result) writeFiles(cfg *config) error {
	write := func(name string, f func(io.Writer) error) error {
		if name == "" {
			return nil
		}
		fh, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := f(fh); err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		return fh.Close()
	}
	if err := write(cfg.csv, r.writeCSV); err != nil {
		return err
	}
	if err := write(cfg.png, func(w io.Writer) error { return plotSeries(w, r.series) }); err != nil {
		return err
	}
	return write(cfg.json, func(w io.Writer) error {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(r.totals)
	})
}

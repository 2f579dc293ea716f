package main

import (
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what fgreplay prints; its JSON names are stable (README.md,
// "Replay a capture").
type report struct {
	Capture    string    `json:"capture"`
	Corefile   string    `json:"corefile"`
	Start      time.Time `json:"start"`
	Seconds    float64   `json:"seconds"` // from the first packet to the last
	Packets    int       `json:"packets"`
	Queries    int       `json:"queries"` // replayed
	UDPQueries int       `json:"udp_queries"`
	TCPQueries int       `json:"tcp_queries"`
	Responses  responses `json:"responses"`
	BytesIn    int64     `json:"bytes_in"`
	BytesOut   int64     `json:"bytes_out"`
	UDPIn      int64     `json:"udp_bytes_in"`
	UDPOut     int64     `json:"udp_bytes_out"`
	// Amplification is UDP reply bytes over UDP query bytes, as this
	// Corefile would have sent them.
	Amplification float64  `json:"amplification"`
	Captured      captured `json:"captured"`
	// CapturedAmplification is the same ratio in the capture's own
	// responses; null when it holds none.
	CapturedAmplification *float64     `json:"captured_amplification"`
	Top                   []topEntry   `json:"top"`
	Bans                  []banEntry   `json:"bans"`
	BansTotal             int          `json:"bans_total"`
	Table                 tableReport  `json:"table"`
	Collateral            []collEntry  `json:"collateral"`
	Stubs                 *stubsReport `json:"stubs"`
	Skipped               skipped      `json:"skipped"`
	Warnings              []string     `json:"warnings"`
	Replay                replayStats  `json:"replay"`
}

// responses counts the replayed queries by what became of them; the
// counts add up to queries.
type responses struct {
	Sent       int `json:"sent"`
	Dropped    int `json:"dropped"`
	Slipped    int `json:"slipped"`
	Truncated  int `json:"truncated"`
	Refused    int `json:"refused"`
	MinimalAny int `json:"minimal_any"`
	Banned     int `json:"banned"`
	BadCookie  int `json:"badcookie"`
	WouldDrop  int `json:"would_drop"`
	WouldSlip  int `json:"would_slip"`
}

func responsesOf(o [numOutcomes]uint64) responses {
	return responses{Sent: int(o[sent]), Dropped: int(o[dropped]), Slipped: int(o[slipped]), Truncated: int(o[truncated]),
		Refused: int(o[refused]), MinimalAny: int(o[minimal]), Banned: int(o[banned]), BadCookie: int(o[badcookie]),
		WouldDrop: int(o[wouldDrop]), WouldSlip: int(o[wouldSlip])}
}

type captured struct {
	Queries     int   `json:"queries"`
	Responses   int   `json:"responses"`
	UDPBytesIn  int64 `json:"udp_bytes_in"`
	UDPBytesOut int64 `json:"udp_bytes_out"`
}

// prefixCounts is what became of one prefix's queries.
type prefixCounts struct {
	Prefix    string `json:"prefix"`
	Queries   uint64 `json:"queries"`
	Sent      uint64 `json:"sent"`
	Dropped   uint64 `json:"dropped"`
	Slipped   uint64 `json:"slipped"`
	Truncated uint64 `json:"truncated"`
	Refused   uint64 `json:"refused"`
	Minimal   uint64 `json:"minimal_any"`
	Banned    uint64 `json:"banned"`
	BadCookie uint64 `json:"badcookie"`
	WouldDrop uint64 `json:"would_drop"`
	WouldSlip uint64 `json:"would_slip"`
}

func countsOf(t *tally) prefixCounts {
	o := &t.outcomes
	return prefixCounts{Prefix: t.prefix.String(), Queries: t.queries, Sent: o[sent], Dropped: o[dropped], Slipped: o[slipped],
		Truncated: o[truncated], Refused: o[refused], Minimal: o[minimal], Banned: o[banned],
		BadCookie: o[badcookie], WouldDrop: o[wouldDrop], WouldSlip: o[wouldSlip]}
}

// countsHeader heads the outcome columns of the text tables: the would_*
// of log-only are added to dropped and slipped there (-json has them
// apart), and BADCOOKIE to slipped.
const countsHeader = "sent\tdropped\tslipped\ttruncated\trefused\tminimal\tbanned\t"

func (c prefixCounts) columns() string {
	return fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d\t%d\t", c.Sent, c.Dropped+c.WouldDrop, c.Slipped+c.WouldSlip+c.BadCookie,
		c.Truncated, c.Refused, c.Minimal, c.Banned)
}

type topEntry struct {
	prefixCounts
	Error    uint64 `json:"error"` // queries may overstate the prefix's by this much
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

type banEntry struct {
	Prefix string    `json:"prefix"`
	What   string    `json:"what"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

type tableReport struct {
	Size            int  `json:"size"`
	PeakEntries     int  `json:"peak_entries"`
	Evictions       int  `json:"evictions"`
	RecommendedSize int  `json:"recommended_size"`
	Full            bool `json:"full"` // it evicted at half full or more: the need is above size
}

type collEntry = prefixCounts

type stubsReport struct {
	Plugins  []string `json:"plugins"`
	Captured int      `json:"answered_from_capture"`
	ServFail int      `json:"servfail"`
}

// skipped counts what was not replayed, and why.
type skipped struct {
	NotIP      int `json:"not_ip"`    // ARP and the like
	Transport  int `json:"transport"` // neither UDP nor TCP (ICMP...)
	LinkType   int `json:"link_type"` // a link type fgreplay cannot read
	Headers    int `json:"malformed_headers"`
	Fragments  int `json:"fragments"`    // later IP fragments; a first fragment's size is counted
	Other      int `json:"other"`        // traffic of no server the Corefile builds
	NotDNS     int `json:"not_dns"`      // a payload too short for a DNS header
	Malformed  int `json:"malformed"`    // queries that do not unpack, or ask no or several questions
	Opcode     int `json:"opcode"`       // queries of an opcode other than QUERY
	TCPLost    int `json:"tcp_lost"`     // TCP messages the capture lost part of
	OutOfOrder int `json:"out_of_order"` // packets earlier than one read before: replayed at the later time
	Cut        int `json:"cut"`          // queries the capture's snap length cut short
	Upstream   int `json:"upstream"`     // the server's own queries to its upstreams (forward, grpc), and their answers
}

type replayStats struct {
	Seconds          float64 `json:"seconds"`
	QueriesPerSecond float64 `json:"queries_per_second"`
}

// makeReport gathers the replayer's tallies.
func (r *replayer) makeReport(elapsed time.Duration) *report {
	t := &r.rep
	rep := &report{
		Capture: r.opts.capture, Corefile: r.opts.conf, Start: r.start.UTC(),
		Seconds: time.Duration(r.read).Seconds(), Packets: t.packets,
		Queries: t.queries, UDPQueries: t.udpQueries, TCPQueries: t.tcpQueries,
		BytesIn: t.bytesIn, BytesOut: t.bytesOut, UDPIn: t.udpIn, UDPOut: t.udpOut,
		Amplification: ratio(t.udpOut, t.udpIn),
		Captured:      captured{Queries: t.capturedQueries, Responses: t.capturedResponses, UDPBytesIn: t.capturedUDPIn, UDPBytesOut: t.capturedUDPOut},
		BansTotal:     r.rec.bansTotal,
		Warnings:      append([]string{}, t.warnings...),
	}
	var o [numOutcomes]uint64
	for i, n := range t.outcomes {
		o[i] = uint64(n)
	}
	rep.Responses = responsesOf(o)
	if t.capturedResponses > 0 && t.capturedUDPIn > 0 {
		a := ratio(t.capturedUDPOut, t.capturedUDPIn)
		rep.CapturedAmplification = &a
	}
	rep.Top = []topEntry{}
	for _, e := range r.heavy.top(r.opts.top) {
		rep.Top = append(rep.Top, topEntry{prefixCounts: countsOf(&e), Error: e.err, BytesIn: e.bytesIn, BytesOut: e.bytesOut})
	}
	rep.Bans = []banEntry{}
	for _, b := range r.rec.bans {
		rep.Bans = append(rep.Bans, banEntry{Prefix: b.prefix.String(), What: b.what,
			Start: r.start.Add(time.Duration(b.start)).UTC(), End: r.start.Add(time.Duration(b.end)).UTC()})
	}
	sort.SliceStable(rep.Bans, func(i, j int) bool { return rep.Bans[i].Start.Before(rep.Bans[j].Start) })
	rep.Table = recommend(r.table.Capacity, r.table.Peak, r.rec.evictions)
	rep.Collateral = []collEntry{}
	for _, c := range r.legit.list() {
		rep.Collateral = append(rep.Collateral, countsOf(c))
	}
	if names := stubs.names(); len(names) > 0 {
		captured, servfail := stubs.counts()
		rep.Stubs = &stubsReport{Plugins: names, Captured: captured, ServFail: servfail}
	}
	sk := t.skipped
	rep.Skipped = skipped{NotIP: sk[errNotIP.Error()], Transport: sk[errTransport.Error()], LinkType: sk[errLinkType.Error()],
		Headers: sk[errMalformed.Error()], Fragments: sk[errFragment.Error()] + t.fragments, Other: t.others,
		NotDNS: t.notDNS, Malformed: t.malformed, Opcode: t.opcode, TCPLost: r.tcp.lost, OutOfOrder: t.outOfOrder, Cut: t.cut, Upstream: t.upstream}
	rep.Replay = replayStats{Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		rep.Replay.QueriesPerSecond = float64(t.queries) / elapsed.Seconds()
	}
	return rep
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// recommend sizes the table: twice the peak of live entries, so that a
// flood twice as wide still fits, as a power of two of at least 1,024
// slots. A table that evicted at a peak of half its size or more was full
// (a few evictions at a lower load are sets that filled by chance): its
// need is unknown, so it gets four times its size, and the report says to
// replay with that size (-table-size) to check.
func recommend(size, peak, evictions int) tableReport {
	t := tableReport{Size: size, PeakEntries: peak, Evictions: evictions, Full: evictions > 0 && 2*peak >= size}
	need := 2 * peak
	if t.Full {
		need = 4 * size
	}
	rec := 1024
	if need > rec {
		rec = 1 << bits.Len(uint(need-1))
	}
	t.RecommendedSize = min(rec, 1<<24)
	return t
}

// writeText prints the report for people.
func (rep *report) writeText(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("fgreplay: %s through %s\n", rep.Capture, rep.Corefile)
	p("capture   %s, %.1f s, %s packets, %s queries to the Corefile's servers, %s responses from them\n",
		rep.Start.Format(time.RFC3339), rep.Seconds, num(rep.Packets), num(rep.Captured.Queries), num(rep.Captured.Responses))
	p("\nreplayed  %s queries (%s UDP, %s TCP)\n", num(rep.Queries), num(rep.UDPQueries), num(rep.TCPQueries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	r := rep.Responses
	for _, row := range []struct {
		name string
		n    int
	}{{"sent", r.Sent}, {"dropped", r.Dropped}, {"slipped", r.Slipped}, {"truncated", r.Truncated}, {"refused", r.Refused},
		{"minimal ANY", r.MinimalAny}, {"banned", r.Banned}, {"badcookie", r.BadCookie}, {"would drop", r.WouldDrop}, {"would slip", r.WouldSlip}} {
		if row.n == 0 && (row.name == "badcookie" || strings.HasPrefix(row.name, "would") || row.name == "minimal ANY") {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.1f%%\t\n", row.name, num(row.n), pct(row.n, rep.Queries))
	}
	tw.Flush()
	p("\nbytes     in %s, out %s; UDP in %s, out %s\n", size(rep.BytesIn), size(rep.BytesOut), size(rep.UDPIn), size(rep.UDPOut))
	p("amplification (UDP out / UDP in): %.2f with this Corefile", rep.Amplification)
	if rep.CapturedAmplification != nil {
		p(", %.2f in the capture", *rep.CapturedAmplification)
	} else {
		p("; the capture holds no responses")
	}
	p("\n")

	if len(rep.Top) > 0 {
		p("\ntop client prefixes by queries\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  prefix\tqueries\t%samplification\t\n", countsHeader)
		for _, e := range rep.Top {
			q := fmt.Sprint(e.Queries)
			if e.Error > 0 {
				q = fmt.Sprintf("%d (±%d)", e.Queries, e.Error)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s%.2f\t\n", e.Prefix, q, e.columns(), ratio(int64(e.BytesOut), int64(e.BytesIn)))
		}
		tw.Flush()
	}
	p("\nbans      %s", num(rep.BansTotal))
	if rep.BansTotal > len(rep.Bans) {
		p(" (the first %s listed)", num(len(rep.Bans)))
	}
	p("\n")
	for i, b := range rep.Bans {
		if i == 20 {
			p("  ... %s more in -json\n", num(len(rep.Bans)-20))
			break
		}
		p("  %s  %s to %s  (%s)\n", b.Prefix, b.Start.Format("15:04:05.000"), b.End.Format("15:04:05.000"), b.What)
	}
	if rep.Table.Size == 0 {
		p("\ntable     none: the Corefile has no floodguard block\n")
	} else {
		rep.writeTable(p)
	}
	if len(rep.Collateral) > 0 {
		p("\ncollateral (the -legit prefixes)\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "  prefix\tqueries\t%s\n", countsHeader)
		for _, c := range rep.Collateral {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", c.Prefix, c.Queries, c.columns())
		}
		tw.Flush()
	}
	if s := rep.Stubs; s != nil {
		p("\nstubs     %s replaced by stubs that ask no one: %s queries answered with the captured response, %s SERVFAIL (none captured)\n",
			strings.Join(s.Plugins, ", "), num(s.Captured), num(s.ServFail))
	}
	sk := rep.Skipped
	p("\nskipped   %s not IP, %s not UDP/TCP, %s to and from upstreams, %s of other traffic, %s malformed queries, %s cut by the snap length, %s later fragments, %s TCP messages lost, %s out of order\n",
		num(sk.NotIP), num(sk.Transport), num(sk.Upstream), num(sk.Other), num(sk.Malformed+sk.NotDNS+sk.Headers), num(sk.Cut), num(sk.Fragments), num(sk.TCPLost), num(sk.OutOfOrder))
	for _, wn := range rep.Warnings {
		p("warning   %s\n", wn)
	}
	p("\nreplayed in %.2f s: %s queries a second\n", rep.Replay.Seconds, num(int(rep.Replay.QueriesPerSecond)))
	return nil
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// num writes n with thousands separators.
func num(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func size(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// writeTable prints the rate-limit table's line.
func (rep *report) writeTable(p func(string, ...any)) {
	t := rep.Table
	p("\ntable     peak %s live entries of %s, %s evictions; recommended max-table-size %d",
		num(t.PeakEntries), num(t.Size), num(t.Evictions), t.RecommendedSize)
	if t.Full {
		p(" (the table was full: replay with -table-size %d to check)", t.RecommendedSize)
	}
	p("\n")
}

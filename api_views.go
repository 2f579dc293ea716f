package floodguard

import (
	"cmp"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/floodguard/floodguard/internal/topk"

	"github.com/miekg/dns"
)

// The listing endpoints. None scans the rate table: they read the top
// talkers' summary, and the rosters, which list the few slots of interest
// by key; each slot is then looked up under its own set's lock alone.

// topEntry is one line of /top.
type topEntry struct {
	Server        string  `json:"server"`
	Prefix        string  `json:"prefix"`
	Estimate      uint64  `json:"estimate"`
	Error         uint64  `json:"error"`
	Queries       uint64  `json:"queries"`
	RequestBytes  uint64  `json:"request_bytes"`
	ResponseBytes uint64  `json:"response_bytes"`
	Dropped       float64 `json:"dropped"`
	Slipped       float64 `json:"slipped"`
	Refused       float64 `json:"refused"`
}

// maxTop is the most /top lists per server: every counter of a ranking.
const maxTop = topCounters

func (al *apiListener) top(w *statusRecorder, r *http.Request) {
	n, by, ok := topArgs(w, r)
	if !ok {
		return
	}
	out := struct {
		By            string     `json:"by"`
		WindowSeconds int        `json:"window_seconds"`
		Top           []topEntry `json:"top"`
	}{By: "queries", WindowSeconds: int((topEpochs - 1) * topEpoch / nano), Top: []topEntry{}}
	if by == topk.ByBytes {
		out.By = "bytes"
	}
	// Each block's heaviest n, then the heaviest n of them all: one list,
	// heaviest first, whichever block each entry is from.
	for _, v := range al.shown(r.URL.Query().Get("server")) {
		if v.top == nil {
			continue
		}
		for _, e := range v.top.Top(v.now(), n, by) {
			out.Top = append(out.Top, topEntry{
				Server: v.state.name, Prefix: prefixText(e.Prefix),
				Estimate: e.Estimate, Error: e.Error, Queries: e.Queries,
				RequestBytes: e.RequestBytes, ResponseBytes: e.ResponseBytes,
				Dropped: share(e.Dropped, e.Queries), Slipped: share(e.Slipped, e.Queries), Refused: share(e.Refused, e.Queries),
			})
		}
	}
	slices.SortStableFunc(out.Top, func(a, b topEntry) int { return cmp.Compare(b.Estimate, a.Estimate) })
	out.Top = out.Top[:min(n, len(out.Top))]
	rows := [][]string{{"SERVER", "PREFIX", "ESTIMATE", "QUERIES", "REQ_BYTES", "RESP_BYTES", "DROPPED", "SLIPPED", "REFUSED"}}
	for _, e := range out.Top {
		rows = append(rows, []string{e.Server, e.Prefix, strconv.FormatUint(e.Estimate, 10), strconv.FormatUint(e.Queries, 10),
			strconv.FormatUint(e.RequestBytes, 10), strconv.FormatUint(e.ResponseBytes, 10), percent(e.Dropped), percent(e.Slipped), percent(e.Refused)})
	}
	writeJSONOrText(w, r, http.StatusOK, out, rows)
}

// topArgs reads /top's n (default 10) and by (queries or bytes).
func topArgs(w *statusRecorder, r *http.Request) (int, topk.By, bool) {
	q := r.URL.Query()
	n := 10
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxTop {
			fail(w, r, http.StatusBadRequest, "n: "+strconv.Quote(s)+" is not a whole number from 1 to "+strconv.Itoa(maxTop))
			return 0, 0, false
		}
		n = v
	}
	switch b := q.Get("by"); b {
	case "", "queries":
		return n, topk.ByQueries, true
	case "bytes":
		return n, topk.ByBytes, true
	default:
		fail(w, r, http.StatusBadRequest, "by: "+strconv.Quote(b)+" is not queries or bytes")
		return 0, 0, false
	}
}

// limitedEntry is one line of /limited.
type limitedEntry struct {
	Server string `json:"server"`
	Prefix string `json:"prefix"`
	Class  string `json:"class"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type,omitempty"`
	Since  string `json:"since"`
	Drops  uint32 `json:"drops"` // responses over the limit (dropped or slipped) since
}

func (al *apiListener) limited(w *statusRecorder, r *http.Request) {
	out := struct {
		Limited  []limitedEntry `json:"limited"`
		Unlisted int64          `json:"unlisted"`
	}{Limited: []limitedEntry{}}
	for _, v := range al.shown(r.URL.Query().Get("server")) {
		for _, e := range v.limiting.snapshot() {
			s, st := v.lim.table.find(e.key)
			if s == nil {
				continue
			}
			limiting, drops := s.flags&flagLimiting != 0, s.slips
			st.mu.Unlock()
			if !limiting {
				continue
			}
			name, typ := scopeNameType(e.scope)
			out.Limited = append(out.Limited, limitedEntry{Server: v.state.name, Prefix: prefixText(e.prefix), Class: e.scope.c.String(),
				Name: name, Type: typ, Since: v.wallText(e.since), Drops: drops})
		}
		out.Unlisted += v.limiting.full.Load()
	}
	slices.SortFunc(out.Limited, func(a, b limitedEntry) int { return int(b.Drops) - int(a.Drops) })
	rows := [][]string{{"SERVER", "PREFIX", "CLASS", "NAME", "TYPE", "SINCE", "DROPS"}}
	for _, e := range out.Limited {
		rows = append(rows, []string{e.Server, e.Prefix, e.Class, e.Name, e.Type, e.Since, strconv.FormatUint(uint64(e.Drops), 10)})
	}
	writeJSONOrText(w, r, http.StatusOK, out, rows)
}

// banEntry is one line of /bans, and the answer to a POST.
type banEntry struct {
	Server  string `json:"server"`
	Prefix  string `json:"prefix"`
	Scope   string `json:"scope"`   // what the ban covers
	Trigger string `json:"trigger"` // responses, any-per-minute, api or deny-file
	Since   string `json:"since,omitempty"`
	Until   string `json:"until,omitempty"`
	Times   uint32 `json:"times"` // bans of this scope in a row
	Comment string `json:"comment,omitempty"`
}

// maxBansListed bounds /bans: a deny-file can hold 100,000 entries.
const maxBansListed = 10000

func (al *apiListener) bans(w *statusRecorder, r *http.Request) {
	n := 1000
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxBansListed {
			fail(w, r, http.StatusBadRequest, "n: "+strconv.Quote(s)+" is not a whole number from 1 to "+strconv.Itoa(maxBansListed))
			return
		}
		n = v
	}
	out := struct {
		Bans     []banEntry `json:"bans"`
		Unlisted int64      `json:"unlisted"` // bans in force past n, or past what the rosters hold
	}{Bans: []banEntry{}}
	for _, v := range al.shown(r.URL.Query().Get("server")) {
		out.Bans = v.appendBans(out.Bans)
		out.Unlisted += v.banning.full.Load()
	}
	if len(out.Bans) > n {
		out.Unlisted += int64(len(out.Bans) - n)
		out.Bans = out.Bans[:n]
	}
	rows := [][]string{{"SERVER", "PREFIX", "SCOPE", "TRIGGER", "SINCE", "UNTIL", "TIMES", "COMMENT"}}
	for _, e := range out.Bans {
		rows = append(rows, []string{e.Server, e.Prefix, e.Scope, e.Trigger, e.Since, e.Until, strconv.FormatUint(uint64(e.Times), 10), e.Comment})
	}
	writeJSONOrText(w, r, http.StatusOK, out, rows)
}

// appendBans appends the bans in force in f's state: automatic, through
// the API, and from the deny-file.
func (f *Floodguard) appendBans(out []banEntry) []banEntry {
	now := f.now()
	auto := f.banning.snapshot()
	slices.SortFunc(auto, func(a, b rosteredSlot) int { return comparePrefixes(a.prefix, b.prefix) })
	for _, e := range auto {
		s, st := f.lim.table.find(e.key)
		if s == nil {
			continue
		}
		active, until, times := s.flags&flagBanned != 0 && now < s.mark, s.mark, s.slips
		st.mu.Unlock()
		if !active {
			continue
		}
		trigger := "responses"
		if e.scope.anyQueries {
			trigger = "any-per-minute"
		}
		out = append(out, banEntry{Server: f.state.name, Prefix: prefixText(e.prefix), Scope: scopeText(e.scope), Trigger: trigger,
			Since: f.wallText(e.since), Until: f.wallText(until), Times: times})
	}
	wall := f.wallAt(now)
	for _, m := range f.ops.manualBans(wall) {
		out = append(out, banEntry{Server: f.state.name, Prefix: prefixText(m.prefix), Scope: "all", Trigger: "api",
			Since: timeText(m.since), Until: timeText(m.until), Times: uint32(m.times)})
	}
	if l := f.ops.denyList.Load(); l != nil {
		for _, e := range l.Entries() {
			if !e.Expires.IsZero() && !wall.Before(e.Expires) {
				continue
			}
			b := banEntry{Server: f.state.name, Prefix: prefixText(e.Prefix), Scope: "all", Trigger: "deny-file", Times: 1,
				Comment: e.Comment}
			if !e.Expires.IsZero() {
				b.Until = timeText(e.Expires)
			}
			out = append(out, b)
		}
	}
	return out
}

// scopeText names what a ban covers.
func scopeText(s banScope) string {
	if s.anyQueries {
		return "ANY queries"
	}
	name, typ := scopeNameType(s)
	switch {
	case typ != "":
		return s.c.String() + " " + name + " " + typ
	case name != "":
		return s.c.String() + " " + name
	}
	return s.c.String()
}

// scopeNameType is the name and type of a limit's or a ban's bucket, as far
// as its class has them.
func scopeNameType(s banScope) (name, typ string) {
	switch s.c {
	case classResponse:
		return s.name, dns.Type(s.qtype).String()
	case classError, classAll:
		return "", ""
	}
	return s.name, ""
}

func (f *Floodguard) wallText(now int64) string { return timeText(f.wallAt(now)) }

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func share(n, of uint64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// parseAPIPrefix reads a prefix an operator gives the API: a CIDR or an
// address, with no host bits set, and no wider than a /8 (IPv4) or a /16
// (IPv6), so one mistyped request cannot ban the internet.
func parseAPIPrefix(s string) (netip.Prefix, string) {
	p, err := parseCIDR(s)
	if err != nil {
		return netip.Prefix{}, strconv.Quote(s) + " is not an address or CIDR"
	}
	if raw, err := netip.ParsePrefix(s); err == nil && raw.Masked() != raw {
		return netip.Prefix{}, strconv.Quote(s) + " has host bits set; did you mean " + raw.Masked().String() + "?"
	}
	if p.Addr().Is4() && p.Bits() < 8 || p.Addr().Is6() && p.Bits() < 16 {
		return netip.Prefix{}, strconv.Quote(s) + " is wider than a /8 (IPv4) or a /16 (IPv6)"
	}
	return p, ""
}

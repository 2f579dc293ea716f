package floodguard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// Manual bans last from a second to a week; a ban without "for" lasts an hour.
const (
	defaultManualBan = time.Hour
	maxManualBan     = 7 * 24 * time.Hour
)

var errManualFull = errors.New("too many bans set through the API (" + strconv.Itoa(maxManualBans) + "); lift some, or use deny-file")

// banRequest is POST /bans's body.
type banRequest struct {
	Prefix string `json:"prefix"`
	For    string `json:"for"`
	Server string `json:"server"` // optional: one server block; else every block the listener shows
}

// ban bans a prefix by hand: the whole prefix over UDP, in every block
// shown (or the one named), until the time given. Clients proven by TCP
// or by a valid cookie still get through.
func (al *apiListener) ban(w *statusRecorder, r *http.Request) {
	if r.ContentLength > maxAPIBody {
		fail(w, r, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.Itoa(maxAPIBody)+" bytes")
		return
	}
	var req banRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, r, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.Itoa(maxAPIBody)+" bytes")
			return
		}
		fail(w, r, http.StatusBadRequest, `the body must be JSON like {"prefix":"192.0.2.0/24","for":"10m"}: `+err.Error())
		return
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		fail(w, r, http.StatusBadRequest, "the body must hold one JSON object")
		return
	}
	p, msg := parseAPIPrefix(req.Prefix)
	if msg != "" {
		fail(w, r, http.StatusBadRequest, "prefix: "+msg)
		return
	}
	d := defaultManualBan
	if req.For != "" {
		v, err := time.ParseDuration(req.For)
		if err != nil || v < time.Second || v > maxManualBan {
			fail(w, r, http.StatusBadRequest, "for: "+strconv.Quote(req.For)+" is not a duration from 1s to 168h")
			return
		}
		d = v
	}
	views, ok := al.targets(w, r, req.Server)
	if !ok || !authorized(w, r, views) {
		return
	}
	out := struct {
		Bans []banEntry `json:"bans"`
	}{}
	for _, v := range views { // all or none
		if !v.ops.canBan(p, v.wallAt(v.now())) {
			fail(w, r, http.StatusInsufficientStorage, errManualFull.Error()+" ("+v.state.name+")")
			return
		}
	}
	created := false
	for _, v := range views {
		// A block's state is kept across reloads once it is held, which
		// otherwise happens at its first query: a ban by hand must outlive a
		// reload even on a server nobody has asked anything yet.
		v.hold()
		b, isNew, err := v.ops.ban(p, v.wallAt(v.now()), d)
		if err != nil {
			fail(w, r, http.StatusInsufficientStorage, err.Error())
			return
		}
		created = created || isNew
		log.Infof("banned %s for %s through the API (%s)", prefixText(p), d, v.state.name)
		out.Bans = append(out.Bans, banEntry{Server: v.state.name, Prefix: prefixText(p), Scope: "all", Trigger: "api",
			Since: timeText(b.since), Until: timeText(b.until), Times: uint32(b.times)})
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSONOrText(w, r, code, out, nil)
}

// unban lifts every ban of a prefix and of the prefixes within it, in every
// block shown (or the one named by ?server=): those set through the API,
// and the automatic ones, whose escalation it resets along with the limits
// that led to them, so the prefix's next query is answered. A deny-file
// entry stays: the file is the place to change it.
func (al *apiListener) unban(w *statusRecorder, r *http.Request, arg string) {
	p, msg := parseAPIPrefix(arg)
	if msg != "" {
		fail(w, r, http.StatusBadRequest, "prefix: "+msg+" (DELETE /bans/192.0.2.0/24)")
		return
	}
	views, ok := al.targets(w, r, r.URL.Query().Get("server"))
	if !ok || !authorized(w, r, views) {
		return
	}
	lifted := 0
	for _, v := range views {
		n := v.ops.unban(p, v.wallAt(v.now())) + v.pardon(p)
		if n > 0 {
			log.Infof("lifted %d bans of %s through the API (%s)", n, prefixText(p), v.state.name)
		}
		lifted += n
	}
	if lifted == 0 {
		msg := "no ban in force of " + prefixText(p) + " or within it"
		for _, v := range views {
			if n := v.banning.full.Load(); n > 0 {
				msg += "; " + v.state.name + " has had " + strconv.FormatInt(n, 10) + " bans too many to list, which cannot be lifted by prefix"
			}
		}
		fail(w, r, http.StatusNotFound, msg)
		return
	}
	writeJSONOrText(w, r, http.StatusOK, struct {
		Prefix string `json:"prefix"`
		Lifted int    `json:"lifted"`
	}{prefixText(p), lifted}, nil)
}

// targets are the blocks a write concerns: the one named, or every one shown.
func (al *apiListener) targets(w *statusRecorder, r *http.Request, server string) ([]*Floodguard, bool) {
	views := al.shown(server)
	if len(views) == 0 {
		fail(w, r, http.StatusNotFound, "no server block named "+strconv.Quote(server)+" here")
		return nil, false
	}
	return views, true
}

// pardon lifts the automatic bans of the prefixes within p and forgets
// their escalation and the limits that led to them, and reports how many
// bans were in force.
func (f *Floodguard) pardon(p netip.Prefix) int {
	now := f.now()
	lifted := 0
	var gone []uint64
	for _, e := range f.banning.snapshot() {
		if !within(e.prefix, p) {
			continue
		}
		if f.lim.table.forget(e.key, func(s *slot) bool { return s.flags&flagBanned != 0 && now < s.mark }) {
			lifted++
		}
		gone = append(gone, e.key)
		f.forgetLimits(e.prefix, e.scope)
	}
	f.banning.remove(gone)
	gone = gone[:0]
	for _, e := range f.limiting.snapshot() {
		if within(e.prefix, p) {
			f.forgetLimits(e.prefix, e.scope)
			gone = append(gone, e.key)
		}
	}
	f.limiting.remove(gone)
	return lifted
}

// forgetLimits clears prefix p's buckets that scope s names, and its
// client, query and ANY slots: the prefix starts afresh.
func (f *Floodguard) forgetLimits(p netip.Prefix, s banScope) {
	l := &f.lim
	if !s.anyQueries {
		l.table.forget(l.key(byte(s.c), p, s.qtype, s.name), nil)
	}
	for _, kind := range []byte{clientKind, queryKind, anyKind} {
		l.table.forget(l.key(kind, p, 0, ""), nil)
	}
}

// forget clears hash h's slot, if it has one, and reports what was (if
// given) said of it before.
func (t *table) forget(h uint64, was func(*slot) bool) bool {
	s, st := t.find(h)
	if s == nil {
		return false
	}
	defer st.mu.Unlock()
	ok := was != nil && was(s)
	*s = slot{}
	return ok
}

package main

import (
	"net/netip"
	"sync"
)

// outcome is what became of one replayed query.
type outcome uint8

const (
	sent      outcome = iota // answered in full (whatever the rcode the chain chose)
	dropped                  // no reply: a limit (or another plugin) dropped it
	slipped                  // an empty TC=1 reply (or BADCOOKIE) in place of a limited one
	truncated                // TC=1: too big for max-udp-size or the client's buffer, or a truncate policy
	refused                  // REFUSED by floodguard's root or recursion policy, or any refuse
	minimal                  // a minimal ANY answer (RFC 8482)
	banned                   // dropped, or its one TC=1 a second, under a ban or the deny-file
	badcookie                // BADCOOKIE or FORMERR for its COOKIE option
	wouldDrop                // log-only: floodguard would have dropped it
	wouldSlip                // log-only: floodguard would have slipped it
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"sent", "dropped", "slipped", "truncated", "refused", "minimal_any", "banned", "badcookie", "would_drop", "would_slip"}

func (o outcome) String() string { return outcomeNames[o] }

// recorder hears floodguard's decisions on the query being replayed
// (floodguard.ReplayRecorder) and the bans it starts.
type recorder struct {
	mu        sync.Mutex
	reqAction string // the first decision on the query, if any
	reqReason string
	resp      uint16 // response decisions, one bit per outcome
	evictions int
	bans      []ban
	bansTotal int
	onBan     func(ban)
}

// ban is one ban that started during the replay, on its clock.
type ban struct {
	prefix     netip.Prefix
	what       string
	start, end int64
}

// maxBans bounds the bans a report lists; all are counted.
const maxBans = 10000

func (r *recorder) Request(action, reason string) {
	r.mu.Lock()
	if r.reqAction == "" {
		r.reqAction, r.reqReason = action, reason
	}
	r.mu.Unlock()
}

// Response notes a decision on the reply; its actions (sent, dropped,
// slipped, truncated, would_drop, would_slip) are named as outcomes are.
func (r *recorder) Response(action string) {
	for o, name := range outcomeNames {
		if name == action {
			r.mu.Lock()
			r.resp |= 1 << o
			r.mu.Unlock()
			return
		}
	}
}

func (r *recorder) Evicted(n int) {
	r.mu.Lock()
	r.evictions += n
	r.mu.Unlock()
}

func (r *recorder) Banned(p netip.Prefix, what string, start, end int64) {
	r.mu.Lock()
	r.bansTotal++
	b := ban{prefix: p, what: what, start: start, end: end}
	if len(r.bans) < maxBans {
		r.bans = append(r.bans, b)
	}
	r.mu.Unlock()
}

// reset forgets the decisions on the last query.
func (r *recorder) reset() {
	r.mu.Lock()
	r.reqAction, r.reqReason, r.resp = "", "", 0
	r.mu.Unlock()
}

// outcome is what became of the query: under a ban, banned; else what the
// response limits did to its reply, if they limited it (floodguard's own
// replies, REFUSED, minimal ANY and slips alike, are limited as any
// other, and a dropped REFUSED is a drop to the client); else floodguard's
// first decision on the query; else whether anything was written.
func (r *recorder) outcome(written bool) outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.reqReason {
	case "banned", "denied":
		if r.reqAction == "would_drop" {
			return wouldDrop
		}
		return banned
	}
	for _, o := range []outcome{dropped, slipped} {
		if r.resp&(1<<o) != 0 {
			return o
		}
	}
	switch r.reqAction {
	case "dropped":
		return dropped
	case "refused":
		return refused
	case "minimal":
		return minimal
	case "truncated":
		if r.reqReason == "queries" {
			return slipped
		}
		return truncated
	case "badcookie":
		if r.reqReason == "queries" {
			return slipped
		}
		return badcookie
	case "formerr":
		return badcookie
	case "would_drop":
		return wouldDrop
	}
	for _, o := range []outcome{truncated, wouldDrop, wouldSlip} {
		if r.resp&(1<<o) != 0 {
			return o
		}
	}
	if written {
		return sent
	}
	return dropped
}

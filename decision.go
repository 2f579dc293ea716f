package floodguard

import "github.com/floodguard/floodguard/internal/topk"

// queryAction is what floodguard did with a query before the next plugin
// saw it, as the requests_total metric names it.
type queryAction uint8

const (
	queryDropped queryAction = iota
	queryRefused
	queryTruncated
	queryMinimal
	queryWouldDrop // log-only: any of the above, not carried out
	queryBadCookie // BADCOOKIE with a fresh cookie
	queryFormErr   // FORMERR: a malformed COOKIE option
	numQueryActions
)

var queryActionNames = [numQueryActions]string{"dropped", "refused", "truncated", "minimal", "would_drop", "badcookie", "formerr"}

func (a queryAction) String() string { return queryActionNames[a] }

// reason is why floodguard acted on a query.
type reason uint8

const (
	reasonAny reason = iota
	reasonRoot
	reasonRecursion
	reasonQueries
	reasonBanned
	reasonCookie // the query's COOKIE option: malformed, bad, or missing where cookies are required
	reasonDenied // the client's prefix is in the deny-file
	numReasons
)

var reasonNames = [numReasons]string{"any", "root", "recursion", "queries", "banned", "cookie", "denied"}

func (r reason) String() string { return reasonNames[r] }

// outcome is what a query action is, as the top talkers count it.
func (a queryAction) outcome() topk.Outcome {
	switch a {
	case queryDropped:
		return topk.Dropped
	case queryRefused:
		return topk.Refused
	case queryTruncated, queryBadCookie:
		return topk.Slipped
	}
	return topk.Answered
}

package floodguard

// queryAction is what floodguard did with a query before the next plugin
// saw it, as the requests_total metric names it.
type queryAction uint8

const (
	queryDropped queryAction = iota
	queryRefused
	queryTruncated
	queryMinimal
	queryWouldDrop // log-only: any of the above, not carried out
	numQueryActions
)

var queryActionNames = [numQueryActions]string{"dropped", "refused", "truncated", "minimal", "would_drop"}

func (a queryAction) String() string { return queryActionNames[a] }

// reason is why floodguard acted on a query.
type reason uint8

const (
	reasonAny reason = iota
	reasonRoot
	reasonRecursion
	reasonQueries
	reasonBanned
	numReasons
)

var reasonNames = [numReasons]string{"any", "root", "recursion", "queries", "banned"}

func (r reason) String() string { return reasonNames[r] }

// Package topk keeps a fixed-memory summary of the heaviest DNS client
// prefixes over a sliding time window: the "top talkers" of the last minute,
// even while a flood from a million spoofed sources passes through.
//
// # Algorithm
//
// Each ranking, by queries (weight 1) and by response bytes (weight: the
// bytes of the response), is a Space-Saving summary (Metwally, Agrawal and
// El Abbadi, 2005): a fixed set of counters; a prefix that holds a counter
// adds its weight to it; a new prefix takes a free counter or, when none is
// left, the counter with the smallest count c_min, starting at c_min plus
// its weight with an error of c_min. A query of weight 0 (no response
// bytes) takes no counter in the bytes ranking.
//
// Prefixes are spread over 16 shards by a seeded hash, each with its own
// lock and counters, so that concurrent Add calls rarely meet, and a prefix
// always lands in the same shard. Time is cut into epochs; each shard keeps
// one summary per epoch of the window and Top merges them: a prefix's
// estimate is the sum of its counts, plus, for each epoch whose counters
// were all taken but not by the prefix, that epoch's smallest count, which
// is added to the error too.
//
// # Accuracy
//
// Let m_s be the counters per shard (Counters()/16) and N_s the weight a
// shard counted in one epoch. Every estimate is at least the true weight of
// the prefix in the window, and at most the true weight plus the sum, over
// the epochs of the window, of N_s/m_s; Estimate-Error is at most the true
// weight. Every prefix whose true weight in the window exceeds that sum
// holds a counter in at least one epoch, so Top lists it (given an n large
// enough). The per-entry query, byte and outcome counts are exact since the
// prefix took its counter, so they are lower bounds.
//
// # Time
//
// There is no clock inside: callers pass now, in nanoseconds, to every call.
// The window is the epoch of now and the epochs-1 before it. A shard's
// epoch never goes back: a late reading of the clock (taken before another
// core's, but locked after it) counts in the shard's current epoch.
//
// # Cost
//
// New allocates all the memory up front (Bytes tells how much). Add does
// not allocate; it hashes the prefix, takes one shard's lock, and in each
// ranking compares one hash byte per counter of the shard, eight at a time,
// then moves a count in a heap. Top, meant for an operator API, copies the
// counters of each shard out under its lock and merges them outside it.
package topk
